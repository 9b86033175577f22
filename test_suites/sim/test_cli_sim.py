"""`hil sim`: help, JSON figures, plots, scenario files, and clear errors."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from hil.cli import app

runner = CliRunner()


def sim(*args):
    return runner.invoke(app, ["sim", *args])


def test_help_on_every_verb():
    for args in (["sim", "--help"], ["sim", "list", "--help"]):
        r = runner.invoke(app, args)
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["sim", "--help"])
    for opt in ("--scenario", "--days", "--seed", "--json", "--plot", "--scenario-file", "--fidelity"):
        assert opt in r.output


def test_the_installed_command_runs():
    r = subprocess.run([sys.executable, "-m", "hil.cli", "sim", "--help"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "--scenario" in r.stdout


def test_json_has_every_figure_for_every_variant():
    r = sim("--scenario", "peak-shaving", "--days", "2", "--seed", "3", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["scenario"] == "peak-shaving" and data["days"] == 2 and data["seed"] == 3
    assert data["plug"]["off_kwh"] == "0.625" and data["plug"]["interval_min"] == 15
    v = data["variants"]
    assert set(v) == {"none", "plug", "naive", "peakguard", "prescient", "schedule"}
    for name in ("none", "plug", "naive", "peakguard", "schedule"):
        f = v[name]
        for key in ("months", "yearly_capacity_cost_eur", "switches_per_day", "self_consumption",
                    "import_kwh"):
            assert key in f
        for key in ("served_kwh", "deferred_kwh", "unmet_kwh"):
            assert key in f["appliance"]
        assert f["months"][0]["month"] == "2025-01"
    assert v["prescient"]["max_peak_kw"] <= v["none"]["max_peak_kw"]
    assert v["none"]["switches_per_day"] == 0
    g = data["goal"]
    assert g["peakguard_eur"] == v["peakguard"]["yearly_capacity_cost_eur"]
    assert g["prescient_eur"] == v["prescient"]["yearly_capacity_cost_eur"]
    assert g["within_5_percent"] == (g["peakguard_eur"] <= 1.05 * g["prescient_eur"])
    assert g["schedule_eur"] == v["schedule"]["yearly_capacity_cost_eur"] >= g["prescient_eur"] - 0.005
    assert isinstance(g["bound_reached_under_constraints"], bool)


def test_same_seed_same_figures_other_seed_other_figures():
    a = json.loads(sim("-s", "self-consumption", "-d", "2", "--json", "--variants", "plug").stdout)
    b = json.loads(sim("-s", "self-consumption", "-d", "2", "--json", "--variants", "plug").stdout)
    c = json.loads(sim("-s", "self-consumption", "-d", "2", "--json", "--variants", "plug",
                       "--seed", "9").stdout)
    assert a["variants"] == b["variants"]
    assert a["variants"] != c["variants"]
    assert set(a["variants"]) == {"plug"}


def test_table_output_and_plot(tmp_path):
    png = tmp_path / "run.png"
    r = sim("-s", "heat-pump", "-d", "2", "--plot", str(png))
    assert r.exit_code == 0, r.output
    assert "monthly peaks" in r.stdout and "capacity cost" in r.stdout
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20000


def test_scenario_file_yaml_with_a_base_and_json_from_scratch(tmp_path):
    y = tmp_path / "mine.yaml"
    y.write_text(
        "scenarios:\n"
        "  - name: my-heater\n"
        "    base: peak-shaving\n"
        "    plug: {off_kwh: '0.700', on_kwh: '0.700'}\n"
        "    household: {annual_kwh: 4200}\n"
        "    appliance: {kind: heater, params: {rated_w: 1500}}\n"
        "    eur_per_kw_year: 60\n")
    r = sim("-f", str(y), "-s", "my-heater", "-d", "1", "--json", "--variants", "none,plug")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["plug"]["off_kwh"] == "0.700" and data["eur_per_kw_year"] == 60
    assert data["appliance"] == "heater"
    j = tmp_path / "ev.json"
    j.write_text(json.dumps({"name": "ev-solar", "appliance": {"kind": "ev", "params": {"arrive_h": 9,
                                                                                       "depart_h": 17}},
                             "plug": {"on_kwh": "-0.230", "off_kwh": "0.000", "interval_min": 6},
                             "pv": {"kwp": 8}, "start": "2025-06-01", "days": 3}))
    r = sim("-f", str(j), "-s", "ev-solar", "--json", "--variants", "plug")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["days"] == 3 and data["pv_kwp"] == 8
    r = sim("list", "-f", str(j))
    assert "ev-solar" in r.stdout and "peak-shaving" in r.stdout


@pytest.mark.parametrize("content, message", [
    ("name: x\nplug: {on_kwh: '12.000'}\n", "expected -10.000 ... 10.000 kWh"),
    ("name: x\nplugg: {}\n", "unknown key(s) plugg"),
    ("name: x\nappliance: {kind: sauna}\n", "appliance kind: expected one of"),
    ("name: x\nhousehold: {annual_kwh: 100}\n", "annual_kwh 100 is too small"),
    ("name: x\nbase: nope\n", "base 'nope' is not a built-in"),
    ("name: x\nstart: yesterday\n", "expected a date YYYY-MM-DD"),
    ("- [unclosed\n", "not valid YAML"),
])
def test_a_bad_scenario_file_is_refused_with_the_reason(tmp_path, content, message):
    f = tmp_path / "bad.yaml"
    f.write_text(content)
    r = sim("-f", str(f), "-s", "x", "-d", "1")
    assert r.exit_code == 2
    assert message in r.stderr, r.stderr


def test_unknown_or_missing_scenario_and_bad_options_are_errors():
    r = sim("-s", "nope", "-d", "1")
    assert r.exit_code == 2 and "expected one of" in r.stderr and "peak-shaving" in r.stderr
    r = sim("-d", "1")
    assert r.exit_code == 2 and "--scenario" in r.stderr
    r = sim("-s", "peak-shaving", "-d", "1", "--variants", "best")
    assert r.exit_code == 2 and "--variants" in r.stderr
    r = sim("-s", "peak-shaving", "-d", "1", "--fidelity", "perfect")
    assert r.exit_code == 2 and "--fidelity" in r.stderr
    r = sim("-f", "/nonexistent/file.yaml", "-s", "x")
    assert r.exit_code == 2 and "/nonexistent/file.yaml" in r.stderr


def test_list_shows_the_manuals_scenarios():
    r = sim("list")
    assert r.exit_code == 0
    for name in ("peak-shaving", "self-consumption", "self-consumption-80", "heat-pump", "boiler-lockout"):
        assert name in r.stdout
