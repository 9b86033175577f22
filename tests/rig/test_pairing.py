"""Pairing the rig with a board it reaches as a real board: the button, the token file, the rig file keys."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from hil.board_process import BoardProcess
from hil.rig import RigError, load_rig
from hil.rig.model import Board
from hil.rig.pairing import PairingError, pair, read_token, write_token
from hil.rig.runtime.boards import RealBoard
from hil.rig.runtime.http import BoardHttp

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = {"stale_s": 30, "p1_line": "auto"}


def test_a_factory_fresh_board_pairs_after_its_button_and_the_rig_then_changes_it(tmp_path: Path) -> None:
    with BoardProcess("smartmeter", tmp_path / "flash", rig_token=False) as board:
        board.start()
        http = BoardHttp(board.base_url, "meter")
        with pytest.raises(PairingError, match=r"press the module's button.*got 403"):
            pair(http)                                  # no press, no user
        board.press_button()
        token = pair(http)
        write_token(tmp_path / "meter.token", token)
        assert stat.S_IMODE((tmp_path / "meter.token").stat().st_mode) == 0o600
        assert read_token(tmp_path / "meter.token") == token

        spec = Board(name="meter", role="smartmeter", emulated=False, console="socket://127.0.0.1:1",
                     http=board.base_url.removeprefix("http://"), mac="24:6f:28:a1:00:01",
                     token_file=str(tmp_path / "meter.token"))
        real = RealBoard(spec, tmp_path / "run")
        assert real.http.json("PUT", "/api/smartmeter/v1/settings", DEFAULTS)[0] == 200
        assert BoardHttp(board.base_url, "stranger").json("PUT", "/api/smartmeter/v1/settings",
                                                           DEFAULTS)[0] == 401


def test_a_token_file_that_is_missing_or_no_token_says_so(tmp_path: Path) -> None:
    with pytest.raises(PairingError, match=r"meter.token: expected a board's API token"):
        read_token(tmp_path / "meter.token")
    (tmp_path / "meter.token").write_text("not a token\n")
    with pytest.raises(PairingError, match=r"expected 32 hex digits .*; got 11 characters"):
        read_token(tmp_path / "meter.token")


def _bench(tmp_path: Path, change) -> Path:
    data = yaml.safe_load((ROOT / "rigs" / "bench-example.yaml").read_text())
    change(data)
    path = tmp_path / "rigs" / "bench.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_rig_file_names_a_token_file_beside_it_never_the_token(tmp_path: Path) -> None:
    rig = load_rig(_bench(tmp_path, lambda d: d["boards"]["meter"].update(token_file="meter.token")))
    assert rig.boards["meter"].token_file == str(tmp_path / "rigs" / "meter.token")
    assert rig.boards["meter"].token is None
    with pytest.raises(RigError) as err:
        load_rig(_bench(tmp_path, lambda d: d["boards"]["meter"].update(token="0" * 32)))
    assert any("boards.meter.token: expected one of the keys" in p.text(err.value.source)
               for p in err.value.problems), err.value.problems


def test_an_emulated_board_has_no_token_file() -> None:
    data = yaml.safe_load((ROOT / "rigs" / "emulated.yaml").read_text())
    first = next(iter(data["boards"]))
    data["boards"][first]["token_file"] = "x.token"
    from hil.rig.load import load_rig_text
    with pytest.raises(RigError) as err:
        load_rig_text(yaml.safe_dump(data))
    assert any(f"boards.{first}.token_file: expected no token_file on an emulated board" in p.text("")
               for p in err.value.problems), err.value.problems


def test_hil_rig_pair_writes_the_token_file_the_rig_then_uses(tmp_path: Path) -> None:
    import subprocess
    import sys

    with BoardProcess("smartmeter", tmp_path / "flash", rig_token=False) as board:
        board.start()
        address = board.base_url.removeprefix("http://")
        rig = _bench(tmp_path, lambda d: d["boards"]["meter"].update(token_file="meter.token", http=address))
        pair_cmd = [sys.executable, "-m", "hil.cli", "rig", "pair", "meter", str(rig)]
        r = subprocess.run(pair_cmd, input="\n", capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert r.returncode == 1 and "got 403" in r.stderr, r.stderr     # nobody pressed the button
        assert not (tmp_path / "rigs" / "meter.token").exists()
        board.press_button()
        r = subprocess.run(pair_cmd, input="\n", capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert r.returncode == 0, r.stderr
        assert f"meter: paired; token in {tmp_path / 'rigs' / 'meter.token'}" in r.stdout
        real = RealBoard(load_rig(rig).boards["meter"], tmp_path / "run")
        assert real.http.json("PUT", "/api/smartmeter/v1/settings", DEFAULTS)[0] == 200
