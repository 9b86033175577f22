"""hil.memory's pure parts: the budget check and the import order of an image."""

from pathlib import Path

from hil import memory


def figures(**kw: int) -> memory.Figures:
    base = {"code_inplace": 30_000, "code_files": 100_000, "import_peak_files": 120_000, "app_live": 5_000,
            "steady_live": 10_000, "telegram_peak": 40_000, "request_peak": 10_000}
    base.update(kw)
    return memory.Figures("smartmeter", **base)


def test_a_figure_within_every_limit_passes():
    assert memory.check(figures(), "esp32") == []
    assert memory.check(figures(), "esp32-psram") == []


def test_each_figure_over_its_limit_is_named_with_value_and_limit():
    got = memory.check(figures(request_peak=20_000), "esp32")
    assert [(v.figure, v.value, v.limit) for v in got] == [("request_peak", 20_000, 16 * 1024)]
    assert "expected at most 16384" in str(got[0]) and "smartmeter on esp32" in str(got[0])


def test_worst_case_adds_code_live_and_both_peaks_for_the_class():
    f = figures(code_inplace=40_000, steady_live=16_000, telegram_peak=45_000, request_peak=16_000)
    assert f.worst_case(memory.BOARD_CLASSES["esp32"]) == 117_000
    assert [v.figure for v in memory.check(f, "esp32")] == ["worst_case"]
    # the PSRAM class counts the code loaded from files instead
    assert f.worst_case(memory.BOARD_CLASSES["esp32-psram"]) == 100_000 + 16_000 + 45_000 + 16_000


def test_import_order_puts_dependencies_first(tmp_path: Path):
    src = {"pkg/__init__.py": "from pkg.core import X\n", "pkg/core.py": "from . import util\nX = 1\n",
           "pkg/util.py": "import json\n", "app.py": "import pkg\nfrom pkg.util import *\n"}
    files = []
    for dest, text in src.items():
        p = tmp_path / dest
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        files.append((p, dest))
    order = [n for n, _ in memory.import_order(files)]
    assert order.index("pkg.util") < order.index("pkg.core") < order.index("pkg") < order.index("app")
    assert sorted(order) == ["app", "pkg", "pkg.core", "pkg.util"]


def test_a_rig_board_names_its_board_class(tmp_path: Path):
    from hil.rig import load_rig
    from hil.rig.errors import RigError

    src = (Path(__file__).resolve().parents[1] / "rigs" / "emulated.yaml").read_text()
    mac = '    mac: "02:00:5e:00:00:01"\n'
    marked = src.replace(mac, mac + "    board_class: esp32-psram\n")
    assert marked != src
    (tmp_path / "rig.yaml").write_text(marked)
    rig = load_rig(tmp_path / "rig.yaml")
    assert rig.boards["meter"].board_class == "esp32-psram" and rig.boards["plug1"].board_class == "esp32"
    (tmp_path / "bad.yaml").write_text(marked.replace("esp32-psram", "esp8266"))
    try:
        load_rig(tmp_path / "bad.yaml")
    except RigError as e:
        assert "board_class" in str(e) and "esp32-psram" in str(e) and "esp8266" in str(e)
    else:
        raise AssertionError("a board class the budget table does not know must be refused")
