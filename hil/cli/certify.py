"""`hil certify`: the certification suites on a rig against one firmware image, with live progress."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hil.rig import RigError

console = Console(stderr=True)
out = Console()
DEFAULT_OUT = Path("reports/certify")


def certify_cmd(
    rig: Annotated[Path | None, typer.Option(
        help="Rig file (default: the embedded emulated rig, rigs/emulated.yaml).")] = None,
    image: Annotated[Path | None, typer.Option(
        help="Firmware image the real boards run (emulated boards run firmware/: its tarball is the image).")
    ] = None,
    out_dir: Annotated[Path, typer.Option(
        "--out", help="Output folder; emptied first when it holds an earlier certification.")] = DEFAULT_OUT,
    workers: Annotated[int | None, typer.Option(
        min=1, help="pytest workers, one rig each (default: 2 on an all-emulated rig, else 1).")] = None,
    suite: Annotated[list[str] | None, typer.Option(
        help="Suite path to run instead of test_suites/e2e (repeatable).")] = None,
    last_failed: Annotated[bool, typer.Option(
        "--last-failed", help="Run only the tests that failed (or errored) in the certification in --out.")
    ] = False,
    keyword: Annotated[str | None, typer.Option(
        "-k", "--keyword", help="Run only the tests whose names match this pytest -k expression.")] = None,
) -> None:
    """Run the certification suites on the rig; write record.json, JUnit, allure results and a report."""
    from hil.certify.run import CertifyError, certify
    from hil.cli.errors import fail

    if last_failed:
        if suite:
            fail("certify", "--last-failed runs the failed tests of the last certification: expected no "
                            "--suite with it")
        suite = failed_tests(out_dir)
        if not suite:
            out.print(f"certify --last-failed: nothing failed in the certification in {out_dir}; nothing to "
                      "run", soft_wrap=True, highlight=False)
            return
        console.print(f"certify --last-failed: {len(suite)} test(s) that failed last time", soft_wrap=True)
    extra = ["-k", keyword] if keyword else []
    tally = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
    lines = not console.is_terminal    # a log or a pipe: a line per finished test instead of a bar

    def count(event: dict[str, Any]) -> str:
        outcome = event["outcome"]
        tally[outcome if outcome in tally else "error"] += 1
        return outcome

    def on_line(event: dict[str, Any]) -> None:
        if event["event"] == "collected":
            console.print(f"certify: {event['n']} tests collected", soft_wrap=True, highlight=False)
            return
        outcome = count(event)
        when = " (teardown)" if event.get("teardown") else ""
        secs = f" {event['seconds']:.1f} s" if "seconds" in event else ""
        console.print(f"{outcome.upper():7} {event['nodeid']}{when}{secs}", soft_wrap=True, highlight=False,
                      markup=False)

    progress = None if lines else Progress(
        TextColumn("[bold]certify[/bold] {task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[tally]}"), TimeElapsedColumn(), console=console)

    def on_bar(event: dict[str, Any]) -> None:
        assert progress is not None
        if event["event"] == "collected":
            progress.update(task, total=event["n"], description="running")
            return
        outcome = count(event)
        if not event.get("teardown"):
            progress.advance(task)
        name = event["nodeid"].split("::")[-1][:60]
        progress.update(task, description=name, tally=", ".join(f"{v} {k}" for k, v in tally.items() if v))
        if outcome not in ("passed", "skipped"):
            progress.console.print(f"[red]{outcome.upper()}[/red] {event['nodeid']}")

    with progress if progress is not None else contextlib.nullcontext():
        if progress is not None:
            task = progress.add_task("starting the rig", total=None, tally="")
        else:
            console.print("certify: starting the rig", highlight=False)
        try:
            result = certify(rig, image, out_dir, workers=workers, suites=suite, extra=extra,
                             on_event=on_line if lines else on_bar)
        except (CertifyError, RigError) as exc:
            fail("certify", str(exc))
    color = "green" if result.verdict == "PASS" else "red"
    out.print(f"[{color}]{result.line()}[/{color}]", soft_wrap=True, highlight=False)
    out.print(f"record {result.out / 'record.json'}; JUnit {result.out / 'junit.xml'}; "
              f"pytest log {result.out / 'pytest.log'}", soft_wrap=True, highlight=False)
    if result.verdict != "PASS":
        raise typer.Exit(1)


def failed_tests(out_dir: Path) -> list[str]:
    """Return the node ids that failed or errored in the record in out_dir (exit 2 when there is none)."""
    import json

    from hil.cli.errors import fail

    path = out_dir / "record.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        fail("certify", f"--last-failed: expected the record of a certification at {path}, got: {e}")
    return [p["name"] for p in record.get("phases", []) if p.get("outcome") in ("FAIL", "ERROR")]
