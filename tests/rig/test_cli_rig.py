"""`hil rig`: check, show and serve from the command line."""

from pathlib import Path

from typer.testing import CliRunner

from hil.cli import app

runner = CliRunner()
RIGS = Path(__file__).resolve().parents[2] / "rigs"


def test_check_accepts_the_shipped_rigs() -> None:
    result = runner.invoke(app, ["rig", "check"])
    assert result.exit_code == 0, result.output
    assert "rig 'emulated' OK: 4 boards, 4 instruments, 7 wires" in result.output
    result = runner.invoke(app, ["rig", "check", str(RIGS / "bench-example.yaml")])
    assert result.exit_code == 0, result.output


def test_check_lists_every_problem_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = (RIGS / "emulated.yaml").read_text()
    bad.write_text(text.replace("kind: dmm", "kind: multimeter").replace("profile: emucs2-1p", "profile: x"))
    result = runner.invoke(app, ["rig", "check", str(bad)])
    assert result.exit_code == 1
    assert (
        "instruments.dmm.kind: expected one of power_analyzer, ac_load, dmm, pdu; got 'multimeter'"
        in result.output
    )
    assert "p1.profile: expected one of" in result.output
    assert "2 problem(s)" in result.output


def test_show_and_serve() -> None:
    result = runner.invoke(app, ["rig", "show", str(RIGS / "bench-example.yaml")])
    assert result.exit_code == 0, result.output
    assert "63804" in result.output  # columns fold, never truncate
    assert "pd1.contact" in result.output
    result = runner.invoke(app, ["rig", "serve", "--seconds", "0.2"])
    assert result.exit_code == 0, result.output
    assert result.output.count("TCPIP::127.0.0.1::") == 4
    for verb in ("check", "show", "serve"):
        assert runner.invoke(app, ["rig", verb, "--help"]).exit_code == 0
