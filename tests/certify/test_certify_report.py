"""The static certification report: titles instead of node ids, limits rounded to what the measurement
resolves, and each test's plots inline (from the allure results, without the allure command)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from hil.certify import allure_read
from hil.certify.html import decimals, fmt, render, title_of

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
                       "AAAABJRU5ErkJggg==")
NODE = "test_suites/e2e/test_e2e_heat_pump.py::test_contact_follows_plug"


def allure_dir(tmp_path: Path) -> Path:
    d = tmp_path / "allure-results"
    d.mkdir()
    (d / "p-attachment.png").write_bytes(PNG)
    (d / "r-result.json").write_text(json.dumps({
        "uuid": "u1", "name": "test_contact_follows_plug", "stop": 2,
        "titlePath": ["test_suites", "e2e", "test_e2e_heat_pump.py"],
        "description": "The PowerDetector's contact follows the plug's relay.\n\nMore text.",
        "attachments": [{"name": "log", "source": "x.txt", "type": "text/plain"}]}))
    (d / "c-container.json").write_text(json.dumps({
        "children": ["u1"], "afters": [{"name": "rig_test::1", "attachments": [
            {"name": "hil world plot", "source": "p-attachment.png", "type": "image/png"}]}]}))
    return d


def test_allure_results_give_titles_and_plots(tmp_path: Path) -> None:
    extras = allure_read.read(allure_dir(tmp_path))
    assert extras == {NODE: {"title": "The PowerDetector's contact follows the plug's relay.",
                             "images": [("hil world plot", PNG)]}}
    assert allure_read.read(tmp_path / "missing") == {}


def test_report_shows_titles_rounded_limits_and_inline_plots(tmp_path: Path) -> None:
    record = {"outcome": "PASS", "counts": {"PASS": 2}, "measurement_count": 2, "metadata": {},
              "phases": [
                  {"name": NODE, "outcome": "PASS", "duration_s": 1.0, "steps": [], "measurements": [
                      {"name": "plug power", "measured_value": 311.3, "units": "W", "low": 311.3 * 0.98,
                       "high": 311.3 * 1.02, "outcome": "PASS", "docs": ""}]},
                  {"name": "test_suites/e2e/test_e2e_x.py::test_meter_link_survives[cable]",
                   "outcome": "PASS", "duration_s": 2.0, "steps": [], "measurements": [
                       {"name": "difference", "measured_value": 0.1 + 0.2, "units": "V", "low": -2.3039999999,
                        "high": 2.3039999999, "outcome": "PASS", "docs": ""}]}]}
    page = render(record, allure_read.read(allure_dir(tmp_path)))
    assert "<b>The PowerDetector&#x27;s contact follows the plug&#x27;s relay.</b>" in page
    assert "<b>Meter link survives [cable]</b>" in page          # no docstring: the name in words
    assert "305.1 .. 317.5 W" in page and "311.3 W" in page       # 0.1 W resolution
    assert "-2.30 .. 2.30 V" in page and "0.30 V" in page          # a computed value: 3 significant digits
    assert "304.9" not in page and "2.3039" not in page
    assert page.count("data:image/png;base64,") == 1 and base64.b64encode(PNG).decode() in page


def test_rounding_rules() -> None:
    assert decimals({"measured_value": 3.0}) == 0 and decimals({"measured_value": 0.654}) == 3
    assert fmt(2.25, 1) == "2.3" and fmt(-2.25, 1) == "-2.3" and fmt(-0.0001, 2) == "0.00"
    assert title_of("a.py::test_x_y") == "X y"
