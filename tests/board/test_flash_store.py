"""firmware/storage.py: atomic settings/state files; a bad file gives defaults and a logged error."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from firmware.storage import Store

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = {"threshold_on_wh": 0, "interval_min": 15, "mode": False, "name": "plug", "ratio": 1.0}


def store(tmp_path: Path) -> tuple[Store, list[str]]:
    logged: list[str] = []
    return Store(str(tmp_path), log=logged.append), logged


def test_round_trip_and_defaults_on_first_boot(tmp_path):
    s, logged = store(tmp_path)
    assert s.load("settings.json", DEFAULTS) == DEFAULTS
    assert logged == [] and s.errors == 0  # a missing file is a first boot, not an error
    new = dict(DEFAULTS, threshold_on_wh=-200, mode=True)
    assert s.save("settings.json", new)
    assert json.loads((tmp_path / "settings.json").read_text()) == new
    assert Store(str(tmp_path)).load("settings.json", DEFAULTS) == new
    assert not (tmp_path / "settings.json.tmp").exists()


def test_new_keys_get_defaults_and_unknown_keys_are_ignored(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"interval_min": 6, "old_key": 1}))
    s, logged = store(tmp_path)
    assert s.load("s.json", DEFAULTS) == dict(DEFAULTS, interval_min=6)
    assert logged == []


@pytest.mark.parametrize("content", [
    b"", b"{", b'{"interval_min": 6', b"\x00\x00\x00\x00", b"\xff\xfe garbage", b"[1, 2]", b"42", b"null",
    b'{"interval_min": 6}garbage',
])
def test_corrupt_or_partial_file_gives_defaults_and_a_logged_error(tmp_path, content):
    (tmp_path / "s.json").write_bytes(content)
    s, logged = store(tmp_path)
    assert s.load("s.json", DEFAULTS) == DEFAULTS
    assert s.errors == 1 and len(logged) == 1
    assert "s.json" in logged[0]
    assert "expected a JSON object" in logged[0] or "cannot read" in logged[0]
    # kept aside for diagnosis; the next boot starts clean, without the error
    assert (tmp_path / "s.json.bad").read_bytes() == content
    s2, logged2 = store(tmp_path)
    assert s2.load("s.json", DEFAULTS) == DEFAULTS and logged2 == []


def test_a_value_of_the_wrong_type_keeps_its_default_only(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"interval_min": "15", "mode": True, "ratio": 2}))
    s, logged = store(tmp_path)
    got = s.load("s.json", DEFAULTS)
    assert got == dict(DEFAULTS, mode=True, ratio=2)
    assert len(logged) == 1 and '"interval_min"' in logged[0] and "expected int" in logged[0]
    assert 'found "15"' in logged[0]  # what came as JSON (jsonw.shown): the same on MicroPython


def test_check_refuses_out_of_bounds_content(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"interval_min": 0}))
    s, logged = store(tmp_path)

    def check(d):
        return None if 1 <= d["interval_min"] <= 60 else "interval_min %d outside 1..60" % d["interval_min"]

    assert s.load("s.json", DEFAULTS, check) == DEFAULTS
    assert "interval_min 0 outside 1..60" in logged[0]


def test_an_unchanged_save_does_not_write(tmp_path):
    s, _ = store(tmp_path)
    s.save("s.json", {"a": 1})
    mtime = os.stat(tmp_path / "s.json").st_mtime_ns
    assert s.save("s.json", {"a": 1})
    assert s.saves == 1 and os.stat(tmp_path / "s.json").st_mtime_ns == mtime
    assert s.save("s.json", {"a": 2}) and s.saves == 2


def test_a_failed_write_keeps_the_old_content(tmp_path):
    s, logged = store(tmp_path)
    s.save("s.json", {"a": 1})
    (tmp_path / "s.json.tmp").mkdir()  # the temporary file cannot be created (even by root)
    assert not s.save("s.json", {"a": 2})
    assert "cannot save" in logged[-1] and "previous content is kept" in logged[-1]
    assert s.errors == 1
    assert Store(str(tmp_path)).load_raw("s.json") == {"a": 1}


def test_fat_style_rename_and_a_cut_between_remove_and_rename(tmp_path, monkeypatch):
    s, logged = store(tmp_path)
    s.save("s.json", {"a": 1})
    real_rename = os.rename

    def fat_rename(src, dst):
        if os.path.exists(dst):
            raise OSError(17, "EEXIST")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", fat_rename)
    assert s.save("s.json", {"a": 2})
    assert json.loads((tmp_path / "s.json").read_text()) == {"a": 2}
    # power cut after the remove, before the rename: only the complete .tmp is left
    (tmp_path / "s.json.tmp").write_text(json.dumps({"a": 3}))
    (tmp_path / "s.json").unlink()
    s2, logged2 = store(tmp_path)
    assert s2.load_raw("s.json") == {"a": 3}
    assert s2.recovered == 1 and "recovered" in logged2[0]
    assert json.loads((tmp_path / "s.json").read_text()) == {"a": 3}


def test_a_partial_tmp_file_is_ignored(tmp_path):
    s, _ = store(tmp_path)
    (tmp_path / "s.json.tmp").write_text('{"a": 3')
    assert s.load("s.json", {"a": 0}) == {"a": 0}
    assert not (tmp_path / "s.json.tmp").exists()


CHILD_BLOCK_BEFORE_RENAME = """
import os, sys
from firmware.storage import Store
real = os.rename
def blocked(src, dst):
    print('ready', flush=True)
    sys.stdin.read()  # until killed
os.rename = blocked
Store(sys.argv[1]).save('s.json', {'a': 2, 'pad': 'y' * 5000})
"""

CHILD_SAVE_FOREVER = """
import sys
from firmware.storage import Store
s = Store(sys.argv[1])
i = 0
while True:
    i += 1
    s.save('s.json', {'n': i, 'pad': 'x' * (i % 7000)})
    if i == 1:
        print('ready', flush=True)
"""


def spawn(code: str, folder: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, str(folder)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def test_kill_between_write_and_rename_leaves_the_old_content(tmp_path):
    Store(str(tmp_path)).save("s.json", {"a": 1})
    child = spawn(CHILD_BLOCK_BEFORE_RENAME, tmp_path)
    try:
        assert child.stdout.readline().strip() == "ready"
        # the new content is completely written to the temporary file ...
        assert json.loads((tmp_path / "s.json.tmp").read_text())["a"] == 2
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=5)
        child.stdin.close()
        child.stdout.close()
    # ... but the settings are the old ones, and the next boot reads them without error
    s, logged = store(tmp_path)
    assert s.load("s.json", {"a": 0}) == {"a": 1}
    assert logged == []
    assert s.save("s.json", {"a": 5}) and Store(str(tmp_path)).load_raw("s.json") == {"a": 5}


def test_kill_at_random_instants_never_loses_the_file(tmp_path):
    rng = random.Random(4)
    last_n = 0
    for _ in range(12):
        child = spawn(CHILD_SAVE_FOREVER, tmp_path)
        try:
            assert child.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.05))  # the kill instant is the point of this test
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=5)
            child.stdin.close()
            child.stdout.close()
        s, logged = store(tmp_path)
        got = s.load_raw("s.json")
        assert got is not None and logged == [], logged
        assert got["n"] >= 1 and len(got["pad"]) == got["n"] % 7000
        last_n = max(last_n, got["n"])
    assert last_n > 1
