"""`hil certify`: the certification suites on a rig against one firmware image, with live progress."""

from __future__ import annotations

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
    from hil.cli.certify_select import print_line, selection

    chosen = selection(out_dir, suite, last_failed, keyword, console)
    if chosen is None:
        return
    suite, extra = chosen
    lines = not console.is_terminal    # a log or a pipe: a line per finished test instead of a bar
    with Progress(TextColumn("[bold]certify[/bold] {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[tally]}"), TimeElapsedColumn(), console=console,
                  disable=lines) as progress:
        task = progress.add_task("starting the rig", total=None, tally="")
        tally = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}

        def on_event(event: dict[str, Any]) -> None:
            if lines:
                print_line(console, event)
            if event["event"] == "collected":
                progress.update(task, total=event["n"], description="running")
                return
            outcome = event["outcome"]
            tally[outcome if outcome in tally else "error"] += 1
            if not event.get("teardown"):
                progress.advance(task)
            name = event["nodeid"].split("::")[-1][:60]
            progress.update(task, description=name,
                            tally=", ".join(f"{v} {k}" for k, v in tally.items() if v))
            if outcome not in ("passed", "skipped") and not lines:
                progress.console.print(f"[red]{outcome.upper()}[/red] {event['nodeid']}")

        try:
            result = certify(rig, image, out_dir, workers=workers, suites=suite, extra=extra,
                             on_event=on_event)
        except (CertifyError, RigError) as exc:
            console.print(f"[red]certify: {exc}[/red]", soft_wrap=True)
            raise typer.Exit(2) from None
    color = "green" if result.verdict == "PASS" else "red"
    out.print(f"[{color}]{result.line()}[/{color}]", soft_wrap=True, highlight=False)
    out.print(f"record {result.out / 'record.json'}; JUnit {result.out / 'junit.xml'}; "
              f"pytest log {result.out / 'pytest.log'}", soft_wrap=True, highlight=False)
    if result.verdict != "PASS":
        raise typer.Exit(1)
