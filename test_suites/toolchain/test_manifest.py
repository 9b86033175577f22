"""The image manifests (firmware/manifest_<module>.py) describe complete images and nothing foreign."""

import ast
import sys
from pathlib import Path

import pytest

from hil import manifest, memory

ROOT = manifest.ROOT


def firmware_imports(path: Path, mod: str) -> set[str]:
    """Dotted `firmware.*` names a file imports (the modules and, for `from X import Y`, X.Y too)."""
    out = memory.module_imports(path.read_text(encoding="utf-8"), mod, path.name == "__init__.py")
    return {m for m in out if m == "firmware" or m.startswith("firmware.")}


def source_of(mod: str) -> Path | None:
    p = ROOT.joinpath(*mod.split("."))
    if (p / "__init__.py").is_file():
        return p / "__init__.py"
    if p.with_suffix(".py").is_file():
        return p.with_suffix(".py")
    return None


def closure(roots: list[str]) -> set[str]:
    """Image paths of every firmware module the roots import, directly or not, with their packages."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        src = source_of(m)
        if src is None:  # `from firmware.p1 import crc16` names a function or a module: both are tried
            continue
        seen.add(m)
        parts = m.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        todo += sorted(firmware_imports(src, m))
    return {source_of(m).relative_to(ROOT).as_posix() for m in seen}


@pytest.mark.parametrize("module", manifest.MODULES)
def test_image_holds_everything_the_app_imports(module: str):
    m = manifest.load(module)
    dests = set(m.dests())
    need = closure([f"firmware.apps.{module}.app", "firmware.hal.esp32"])
    missing = sorted(need - dests)
    assert not missing, f"{m.path.name} lacks modules the {module} imports on the ESP32: {missing}"
    for f in m.files:
        assert f.src.is_file() and f.dest.endswith(".py")
        if f.origin == "firmware":
            assert f.src.resolve() == (ROOT / f.dest).resolve(), f"{f.dest} comes from {f.src}"


@pytest.mark.parametrize("module", manifest.MODULES)
def test_image_carries_the_microdot_modules_it_imports_and_no_host_code(module: str):
    m = manifest.load(module)
    dests = m.dests()
    micro = {d for d in dests if d.startswith("microdot/")}
    assert {"microdot/__init__.py", "microdot/microdot.py"} <= micro
    # every microdot module an image file imports (at the top or inside a function) is in the image, and
    # the image carries no other (no test client, no ASGI adapter)
    wanted = {"microdot/__init__.py", "microdot/microdot.py"}
    for f in m.files:
        tree = ast.parse(f.src.read_text(encoding="utf-8"))
        for n in ast.walk(tree):
            names = [a.name for a in n.names] if isinstance(n, ast.Import) else (
                [n.module or ""] if isinstance(n, ast.ImportFrom) and not n.level else [])
            wanted |= {name.replace(".", "/") + ".py" for name in names if name.startswith("microdot.")}
    assert micro == wanted
    # host-only parts never go onto a board
    assert not [d for d in dests if d.startswith(("hil/", "tests/", "test_suites/"))]
    assert m.metadata["version"] and m.metadata["description"]


def test_images_differ_where_the_modules_differ():
    meter = set(manifest.load("smartmeter").dests())
    plug = set(manifest.load("smartplug").dests())
    assert "firmware/p1/parser.py" in meter and "firmware/p1/parser.py" not in plug
    assert "firmware/control/controller.py" in plug and "firmware/control/controller.py" not in meter
    assert "firmware/apps/common/web.py" in meter & plug


def test_files_api_is_sorted_pairs():
    got = manifest.files("smartplug")
    assert got == sorted(got, key=lambda t: t[1])
    assert all(isinstance(src, Path) and isinstance(dest, str) for src, dest in got)


def test_reader_follows_micropython_manifest_semantics(tmp_path: Path):
    lib = tmp_path / "src" / "pkg"
    (lib / "sub").mkdir(parents=True)
    for name in ("__init__.py", "a.py", "sub/__init__.py", "sub/b.py", "notes.txt"):
        (lib / name).write_text("x = 1\n")
    (tmp_path / "main.py").write_text("run()\n")
    (tmp_path / "inc.py").write_text("module('main.py')\n")
    top = tmp_path / "m.py"
    top.write_text("metadata(version='2.0')\ninclude('inc.py')\ninclude('inc.py')\n"
                   "package('pkg', base_path='src')\npackage('pkg/sub', files=('b.py',), base_path='src')\n")
    m = manifest.load("probe", top)
    assert m.dests() == ["main.py", "pkg/__init__.py", "pkg/a.py", "pkg/sub/__init__.py", "pkg/sub/b.py"]
    assert m.metadata == {"version": "2.0"}


@pytest.mark.parametrize("text, expect", [
    ("package('nope')\n", "expected a package folder"),
    ("module('gone.py')\n", "expected a file at"),
    ("require('requests')\n", "unknown package"),
    ("module('../x.py', base_path='.')\n", "leaves the image root"),
    ("metadata(colour='red')\n", "unknown keys"),
    ("frobnicate()\n", "NameError"),
])
def test_reader_says_what_is_wrong_and_where(tmp_path: Path, text: str, expect: str):
    (tmp_path / "x.py").write_text("")
    top = tmp_path / "m.py"
    top.write_text(text)
    with pytest.raises(manifest.ManifestError) as e:
        manifest.load("probe", top)
    assert expect in str(e.value) and "m.py" in str(e.value)


def test_unknown_module_is_refused():
    with pytest.raises(manifest.ManifestError, match="expected one of smartmeter, smartplug"):
        manifest.manifest_path("powermeter")


def test_the_loader_is_its_own_manifest_and_in_no_image():
    m = manifest.loader()
    assert m.dests() == ["boot.py", "main.py"]
    want = [(ROOT / "firmware" / n).resolve() for n in ("boot.py", "main.py")]
    assert [f.src.resolve() for f in m.files] == want
    for module in manifest.MODULES:
        dests = manifest.load(module).dests()
        assert not {"boot.py", "main.py", "firmware/boot.py", "firmware/main.py"} & set(dests)


def test_the_import_whitelist_allows_exactly_the_microdot_modules_the_images_carry():
    sys.path.insert(0, str(Path(__file__).parent))
    import esp32_modules

    carried = {"microdot." + n[:-3] for n in manifest.DEVICE_FILES["microdot"] if n != "__init__.py"}
    assert {m for m in esp32_modules.INSTALLED if m.startswith("microdot.")} == carried
