"""Peak Guard in the simulator: the multi-plug loop, the multi-appliance bound, the goal on the scenarios."""

import pytest

from hil.sim.capacity import monthly_peaks
from hil.sim.engine import simulate
from hil.sim.multi import simulate_multi
from hil.sim.plot import save_plot
from hil.sim.prescient import prescient_peaks, prescient_peaks_multi
from hil.sim.run import build, decider_for, run_scenario
from hil.sim.scenarios import BUILTIN, scenario_from_dict


def test_multi_loop_with_one_plug_is_the_single_loop():
    sc = BUILTIN["peak-shaving"]
    t0 = sc.start_utc()
    t1 = t0 + 3 * 86400
    for variant in ("plug", "peakguard"):
        site, app = build(sc, 1)
        one = simulate(site, app, decider_for(variant, sc, 60), t0, t1, poll_s=60)
        site, app = build(sc, 1)
        multi, plugs = simulate_multi(site, [app], [decider_for(variant, sc, 60)], t0, t1, poll_s=60)
        assert one.quarters == multi.quarters, variant
        assert one.switch_times == multi.switch_times == plugs[0].switch_times
        assert one.appliance == multi.appliance == plugs[0].appliance
        assert list(one.trace.net_w) == list(multi.trace.net_w)


def test_multi_bound_with_one_load_is_the_single_bound():
    sc = BUILTIN["ev-peak-shaving"]
    run = run_scenario(sc, seed=2, days=10, variants=("none",))
    none = run.runs["none"]
    site, app = build(sc, 2)
    windows = app.flex_windows(none.t0, none.t1)
    single = prescient_peaks(none.t0, none.step_s, none.trace.base_net_w, none.trace.app_w, windows,
                             app.rated_w)
    multi = prescient_peaks_multi(none.t0, none.step_s, none.trace.base_net_w,
                                  [(none.trace.app_w, windows, app.rated_w)], resolution_w=2.0)
    assert [(p.year, p.month) for p in single] == [(p.year, p.month) for p in multi]
    for a, b in zip(single, multi, strict=True):
        assert abs(a.peak_w - b.peak_w) <= 3.0, (a, b)


def test_multi_bound_is_below_every_run_that_serves_the_appliances():
    sc = BUILTIN["multi-appliance"]
    run = run_scenario(sc, seed=1, days=7, variants=("none", "peakguard", "prescient"))
    f = run.figures
    bound = f["prescient"]["max_peak_kw"]
    assert bound <= f["none"]["max_peak_kw"]
    assert f["peakguard"]["appliance"]["served_vs_no_control"] > 0.98
    assert bound <= f["peakguard"]["max_peak_kw"] + 1e-9
    # a whole day of three appliances that could all run at once is not the bound's answer
    assert bound < f["none"]["max_peak_kw"] - 1.0
    assert [p["name"] for p in f["peakguard"]["plugs"]] == ["EV charger", "water heater", "heat pump"]


@pytest.mark.parametrize("name", ["peak-shaving", "boiler-lockout"])
def test_peak_guard_reaches_the_bound_on_resistive_loads(name):
    run = run_scenario(BUILTIN[name], seed=1, days=31, variants=("none", "peakguard", "prescient"))
    g = run.goal()
    assert g["within_5_percent"], g
    assert g["served_vs_no_control"] > 0.99, g          # a guard that never runs the appliance does not count
    assert g["switches_per_day"] < 6, g
    pg = run.runs["peakguard"]
    # no quarter above the month's peak it kept to, and that peak is the household's own
    bound_w = run.figures["prescient"]["months"][0]["peak_kw"] * 1000
    assert monthly_peaks(pg.quarters)[0].peak_w <= bound_w * 1.05


def test_peak_guard_respects_minimum_times_in_the_closed_loop():
    sc = BUILTIN["heat-pump"]
    run = run_scenario(sc, seed=1, days=10, variants=("peakguard",))
    times = run.runs["peakguard"].switch_times
    assert times
    for i in range(1, len(times)):
        gap = times[i] - times[i - 1]
        # the relay starts on: switch 0 sheds, switch 1 restores, ...; back on after >= 10 min off, off
        # after >= 20 min on (the guard's settings for this heat pump)
        assert gap >= (sc.guard.min_off_s if i % 2 == 1 else sc.guard.min_on_s), (i, gap)


def test_scenario_file_sets_guard_and_loads():
    sc = scenario_from_dict({"name": "mine", "base": "peak-shaving", "guard": {"cap_w": 4000, "priority": 2}})
    assert sc.guard.cap_w == 4000 and sc.guard.priority == 2 and sc.guard.min_on_s == 300
    with pytest.raises(ValueError, match="Peak Guard cap"):
        scenario_from_dict({"name": "bad", "base": "peak-shaving", "guard": {"cap_w": 1000}})
    m = scenario_from_dict({"name": "two", "base": "peak-shaving", "loads": [
        {"name": "a", "kind": "heater", "guard": {"priority": 1}},
        {"name": "b", "kind": "boiler", "plug": {"on_kwh": "0.025", "off_kwh": "0.625"}}]})
    assert [ld.name for ld in m.loads] == ["a", "b"] and m.loads[0].guard.priority == 1


def test_plots_are_written(tmp_path):
    for name, days in (("peak-shaving", 3), ("self-consumption", 3), ("multi-appliance", 2)):
        run = run_scenario(BUILTIN[name], seed=1, days=days)
        p = save_plot(run, tmp_path / (name + ".png"))
        assert p.stat().st_size > 20000
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
