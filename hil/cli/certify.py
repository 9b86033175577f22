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
    image: Annotated[list[Path] | None, typer.Option(
        help="Firmware image the real boards run (emulated boards run firmware/: its tarball is the image); "
             "OTA images (.bchfw, one per module, repeatable) are installed over the air on every board.")
    ] = None,
    out_dir: Annotated[Path, typer.Option(
        "--out", help="Output folder; emptied first when it holds an earlier certification.")] = DEFAULT_OUT,
    workers: Annotated[int | None, typer.Option(
        min=1, help="rigs, one pytest worker each (default: 2 on an all-emulated rig, else 1); with more "
                    "than one, one more worker runs the suite files that start their own boards.")] = None,
    suite: Annotated[list[str] | None, typer.Option(
        help="Suite path to run instead of test_suites/e2e (repeatable).")] = None,
    last_failed: Annotated[bool, typer.Option(
        "--last-failed", help="Run only the tests that failed (or errored) in the certification in --out.")
    ] = False,
    keyword: Annotated[str | None, typer.Option(
        "-k", "--keyword", help="Run only the tests whose names match this pytest -k expression.")] = None,
    repeat: Annotated[int, typer.Option(
        min=1, help="Certify N times (OUT/run-NN each); print every run's verdict and each measurement's "
        "spread across the runs (OUT/repeat.json).")] = 1,
    clock: Annotated[str | None, typer.Option(
        help="Run an emulated rig on this clock: virtual or realtime (default: the rig file's).")] = None,
    hog: Annotated[int, typer.Option(
        min=0, help="With --repeat: load the host with this many busy-loop processes during the runs "
        "(2 loads both cores of a 2-core machine).")] = 0,
) -> None:
    """Run the certification suites on the rig; write record.json, JUnit, allure results and a report."""
    from hil.certify.run import CertifyError, certify
    from hil.cli.certify_select import print_line, selection

    if clock not in (None, "virtual", "realtime"):
        raise typer.BadParameter(f"--clock {clock!r}: expected virtual or realtime")
    chosen = selection(out_dir, suite, last_failed, keyword, console)
    if chosen is None:
        return
    suite, extra = chosen
    extra = list(extra) + ([] if clock is None else ["--rig-clock", clock])
    if repeat > 1:
        _repeat(repeat, rig, image, out_dir, workers, suite, extra, hog)
        return
    if hog:
        raise typer.BadParameter(f"--hog {hog}: only with --repeat N (N >= 2)")
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
    rig_s = result.record.get("rig_seconds")
    if rig_s:
        out.print(f"rig time simulated: {rig_s:.0f} s (the tests' own, setup and boot not counted)",
                  highlight=False)
    meta = result.record.get("metadata", {})
    out.print(f"CPU {meta.get('cpu_s')} s (pytest, its rigs and boards, the memory measurement); "
              f"load average at the end {meta.get('load_average')}", highlight=False)
    out.print(f"record {result.out / 'record.json'}; JUnit {result.out / 'junit.xml'}; "
              f"pytest log {result.out / 'pytest.log'}", soft_wrap=True, highlight=False)
    if result.verdict != "PASS":
        raise typer.Exit(1)


def _repeat(n: int, rig: Path | None, image: list[Path] | None, out_dir: Path, workers: int | None,
            suite: list[str] | None, extra: list[str], hog: int) -> None:
    """Certify ``n`` times and print the verdicts and the measurements' spread."""
    from rich.table import Table

    from hil.certify.repeat import repeat
    from hil.certify.run import CertifyError

    def on_run(i: int, result: Any, wall: float) -> None:
        color = "green" if result.verdict == "PASS" else "red"
        meta = result.record.get("metadata", {})
        console.print(f"run {i}/{n}: [{color}]{result.verdict}[/{color}] in {wall:.1f} s wall, "
                      f"{meta.get('cpu_s')} CPU s, load average {meta.get('load_average')}")

    try:
        summary = repeat(n, rig, image, out_dir, workers=workers, suites=suite, extra=extra, hog=hog,
                         on_run=on_run)
    except (CertifyError, RigError) as exc:
        console.print(f"[red]certify: {exc}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None
    table = Table(title=f"{n} runs: verdicts {', '.join(sorted(set(summary['verdicts'])))}")
    for col in ("measurement", "unit", "kind", "min", "max", "spread", "identical"):
        table.add_column(col)
    for name, m in summary["measurements"].items():
        cells = [f"{m[k]:g}" if m[k] is not None else "-" for k in ("min", "max", "spread")]
        table.add_row(name, m["unit"], m["kind"], *cells, "yes" if m["identical"] else "NO")
    out.print(table)
    verdicts = summary["verdicts"]
    out.print(f"REPEAT {n}: verdicts {verdicts.count('PASS')} PASS of {n}; "
              f"{summary['identical_measurements']} of {len(summary['measurements'])} measurements identical "
              f"in every run; wall {min(summary['wall_s'])}..{max(summary['wall_s'])} s for "
              f"{max(summary['rig_seconds']):.0f} rig s ({min(summary['rig_s_per_wall_s'] or [0])}.."
              f"{max(summary['rig_s_per_wall_s'] or [0])} rig s per wall s); "
              f"{hog} hog processes; "
              f"summary {out_dir / 'repeat.json'}", soft_wrap=True, highlight=False)
    if not summary["same_verdict"] or verdicts[0] != "PASS":
        raise typer.Exit(1)
