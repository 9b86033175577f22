"""Each module's image fits its board classes' heap budgets, measured under the real MicroPython.

`hil.memory.measure` runs the image (hil.manifest) in the MicroPython WebAssembly interpreter: in place
(the frozen / ROMFS estimate) and as .mpy files with the app built as main.py builds it, fed every
example telegram (SmartMeter) or seconds of metering frames (SmartPlug) and every route. The figures go
to reports/mpy-memory-<module>.json; docs/memory.md says what they mean on the ESP32.
"""

import json
from dataclasses import asdict

import pytest

from hil import memory, mpy

pytestmark = pytest.mark.mpy

REPORTS = mpy.ROOT / "reports"
# statuses of the requests of hil.memory.REQUESTS, in order
WRITES = {"smartmeter": [200, 200, 400, 404], "smartplug": [200, 200, 400, 400, 404]}


@pytest.mark.parametrize("module", ["smartmeter", "smartplug"])
def test_image_fits_every_board_class(module: str):
    try:
        mpy.node_binary()
    except mpy.MpyUnavailable as e:
        pytest.fail(str(e))
    fig = memory.measure(module)
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / f"mpy-memory-{module}.json").write_text(json.dumps(asdict(fig), indent=2) + "\n")
    assert fig.micropython.startswith("1."), fig
    # the split measures something: code in place keeps far less than the same code loaded as .mpy files
    assert 0 < fig.code_inplace < fig.code_files / 2, fig.summary()
    assert fig.import_peak_files >= fig.code_files > 0
    assert 0 < fig.app_live <= fig.steady_live
    # every route answered (GET /wifisave without an SSID is refused) with well-formed JSON where JSON
    n = len(memory.REQUESTS[module])  # the runner sends the automatic GETs first, then these
    auto, writes = fig.requests[:-n], fig.requests[-n:]
    assert len(auto) >= 10
    assert [r["status"] for r in auto if r["path"] != "/wifisave"] == [200] * (len(auto) - 1)
    assert [(r["method"], r["path"]) for r in writes] == [(m, p) for m, p, _ in memory.REQUESTS[module]]
    assert [r["status"] for r in writes] == WRITES[module]
    assert all(r["json_ok"] and r["bytes"] > 0 and r["alloc"] > 0 for r in fig.requests)
    assert fig.events["bytes"] > 0 and fig.events["clients_after_close"] == 0
    if module == "smartmeter":
        # the app takes nearly every example telegram (a few are refused on purpose: wrong CRC, DSMR 3
        # meters' trailing bytes), the largest among them
        taken = {f["file"] for f in fig.feeds if f["taken"]}
        assert len(taken) >= 0.85 * len(fig.feeds) and len(fig.feeds) >= 20, fig.feeds
        assert max(fig.feeds, key=lambda f: f["bytes"])["file"] in taken
    else:
        assert len(fig.feeds) == 4 and all(f["alloc"] > 0 for f in fig.feeds)
    over = [str(v) for b in memory.BOARD_CLASSES for v in memory.check(fig, b)]
    assert not over, "\n".join(over) + "\n\n" + memory.table({module: fig})


def test_the_rig_fails_an_image_that_would_run_out_of_memory(monkeypatch: pytest.MonkeyPatch):
    # a board class with a quarter of the heap of an ESP32 without PSRAM: the same image must FAIL there
    small = memory.BoardClass("esp32-32k", "an ESP32 left with 32 KB of heap", 32 * 1024, "inplace",
                              {"worst_case": 32 * 1024})
    monkeypatch.setitem(memory.BOARD_CLASSES, small.name, small)
    entry = memory.rig_entry([("plug1", "smartplug", "esp32"), ("plug2", "smartplug", "esp32-32k")])
    assert entry["outcome"] == "FAIL" and entry["micropython"].startswith("1.")
    ok, bad = entry["boards"]["plug1"], entry["boards"]["plug2"]
    assert ok["outcome"] == "PASS" and ok["violations"] == [] and ok["heap"] == 128 * 1024
    assert bad["outcome"] == "FAIL" and len(bad["violations"]) == 1
    assert "worst_case" in bad["violations"][0] and "expected at most 32768" in bad["violations"][0]
    assert bad["figures"]["worst_case"] > 32 * 1024 and ok["figures"] == bad["figures"]
