"""Full fidelity: every 1 s telegram encoded by the P1 emulator and parsed by the firmware stack."""

import pytest

from hil.sim.capacity import monthly_peaks
from hil.sim.fidelity import simulate_telegrams
from hil.sim.run import build, decider_for, run_scenario
from hil.sim.scenarios import BUILTIN


@pytest.fixture(scope="module")
def one_hour():
    sc = BUILTIN["peak-shaving"]
    site, app = build(sc, 4)
    t0 = sc.start_utc() + 17 * 3600           # 18:00 local: cooking, heater, decisions
    d = decider_for("plug", sc, poll_s=1)
    return simulate_telegrams(site, app, d, t0, t0 + 3600)


def test_every_telegram_is_accepted_parsed_and_read(one_hour):
    c = one_hour.counters
    assert c["p1_telegrams"] == 3600 and c["p1_accepted"] == 3600
    assert c.get("p1_crc_errors", 0) == 0 and c.get("p1_parse_errors", 0) == 0
    assert c.get("p1_unreadable", 0) == 0
    assert c["readings"] == 3600 and c.get("stale", 0) == 0
    assert c["boundaries"] == 3 and c["decisions"] >= 2      # :15, :30, :45 crossed within the hour


def test_meter_registers_agree_with_the_simulators_energy(one_hour):
    # the meter emulator integrates the same whole watts; its register is in whole Wh
    assert abs(one_hour.counters["p1_meter_import_wh"] - one_hour.energy.import_wh) <= 1.0


def test_capacity_accounting_agrees_with_the_meters_own_1_6_0_peak(one_hour):
    # 1-0:1.6.0 as the firmware parsed it from the last telegram: the month's highest completed quarter
    completed = one_hour.quarters[:-1] if one_hour.t1 % 900 == 0 else one_hour.quarters
    (peak,) = monthly_peaks(completed)
    assert abs(one_hour.counters["p1_meter_peak_w"] - peak.peak_w) <= 1.0


def test_switches_land_on_quarter_boundaries(one_hour):
    assert all(t % 900 == 0 for t in one_hour.switch_times)


def test_poll_fidelity_reads_a_telegram_every_20_s():
    run = run_scenario(BUILTIN["self-consumption"], seed=1, days=1, fidelity="poll", poll_s=20,
                       variants=("plug",))
    c = run.runs["plug"].counters
    assert c["p1_telegrams"] == 86400 // 20 and c["readings"] == 86400 // 20
    assert all(t % 360 == 0 for t in run.runs["plug"].switch_times)
    with pytest.raises(ValueError, match="multiple of encode_every_s"):
        sc = BUILTIN["self-consumption"]
        site, app = build(sc, 1)
        simulate_telegrams(site, app, decider_for("plug", sc), sc.start_utc(), sc.start_utc() + 60,
                           read_every_s=30, encode_every_s=20)
