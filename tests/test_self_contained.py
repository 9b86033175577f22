"""A clone anywhere works: no tracked file names a folder outside the repository, and the test data is here.

Every relative path written in a tracked text file (`../x`, also inside strings like `_HERE + '/../x'`) must
stay inside the checkout: in code it is resolved from the file's folder (that is how code opens it), in prose
from the repository root (how a reader takes a path in backticks), except a Markdown link target, which is
resolved from the file's folder. No absolute path of a particular machine (`/work/...`, `/root/...`,
`/home/...`, `/Users/...`) may appear at all.
"""

import re
import subprocess
from pathlib import Path

import pytest

from hil import testdata

ROOT = Path(__file__).resolve().parents[1]
RELATIVE = re.compile(r"(?:(?<=[\s'\"`(=+,])|^)/?((?:\.\./)+[\w.\-/]*)")
LINK = re.compile(r"\]\(((?:\.\./)+[^)\s]*)\)")
PROSE = {".md", ".txt", ".rst", ".yaml", ".yml", ".toml", ".cfg", ".ini", ""}
MACHINE = re.compile(r"(?<![\w.\-])/(?:work|root|home|Users|mnt/data)/[\w.\-]+")


def tracked_text_files() -> list[Path]:
    """Every file git tracks or would add (not ignored), read as text where it is text."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split("\n")
    return [ROOT / p for p in out if p and (ROOT / p).is_file()]


def text_of(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\0" in data[:4096]:
        return None
    return data.decode("utf-8", errors="replace")


def outside_references(path: Path, text: str) -> list[str]:
    """The lines of `text` that name a folder outside ROOT (relative paths resolved from `path`'s folder)."""
    bad = []
    where = path.relative_to(ROOT)
    prose = path.suffix in PROSE
    for n, line in enumerate(text.splitlines(), 1):
        links = {m.group(1) for m in LINK.finditer(line)}
        for m in RELATIVE.finditer(line):
            base = ROOT if prose and m.group(1) not in links else path.parent
            target = (base / m.group(1)).resolve()
            if not target.is_relative_to(ROOT):
                bad.append(f"{where}:{n}: {m.group(1)!r} leaves the repository: {line.strip()}")
        for m in MACHINE.finditer(line):
            bad.append(f"{where}:{n}: {m.group(0)!r} is a path of one machine: {line.strip()}")
    return bad


def test_no_file_names_a_folder_outside_the_repository():
    files = tracked_text_files()
    assert len(files) > 100, f"expected the repository's files, git listed {len(files)}"
    bad = []
    for f in files:
        text = text_of(f)
        if text is not None and f != Path(__file__).resolve():
            bad += outside_references(f, text)
    assert not bad, "files name folders outside the repository:\n" + "\n".join(bad)


@pytest.mark.parametrize("where, line, ok", [
    ("test_suites/core/x.py", "TELEGRAMS = _HERE + '/../../../sibling/telegrams'", False),
    ("test_suites/core/x.py", "TELEGRAMS = Path('/work/sibling/telegrams')", False),
    ("test_suites/core/x.py", "return _HERE + '/../data/telegrams'", True),
    ("test_suites/core/x.py", "open('/dev/ttyUSB0')", True),
    ("README.md", "read `../sibling/SPEC.md` first", False),
    ("docs/x.md", "read `../sibling/SPEC.md` first", False),
    ("docs/x.md", "see [the README](../README.md)", True),
    ("docs/x.md", "see [the spec](../../sibling/SPEC.md)", False),
])
def test_the_check_itself_tells_inside_from_outside(where, line, ok):
    assert (outside_references(ROOT / where, line) == []) is ok, line


def test_the_example_telegrams_are_in_the_repository(monkeypatch):
    monkeypatch.delenv(testdata.ENV_VAR, raising=False)
    assert testdata.telegram_dir() == ROOT / "test_suites" / "data" / "telegrams"
    names = sorted(p.name for p in testdata.DEFAULT_TELEGRAMS.glob("*.txt"))
    assert len(names) >= 30, names
    sources = (testdata.DEFAULT_TELEGRAMS / "SOURCES.md").read_text()
    missing = [n for n in names if f"| {n} |" not in sources]
    assert not missing, f"SOURCES.md names no origin for {missing}"
    for n in ("dsmr_parser", "dsmr-reader"):
        assert re.search(rf"{n}.*licen[cs]e", sources, re.I | re.S), f"SOURCES.md gives no licence for {n}"
    assert any((testdata.DEFAULT_TELEGRAMS / "streams").glob("*.txt"))


def test_an_env_var_points_elsewhere(tmp_path, monkeypatch):
    (tmp_path / "mine.txt").write_bytes(b"/X\r\n\r\n!\r\n")
    monkeypatch.setenv(testdata.ENV_VAR, str(tmp_path))
    assert testdata.telegram_dir() == tmp_path
    monkeypatch.setenv(testdata.ENV_VAR, str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="nope"):
        testdata.telegram_dir()
