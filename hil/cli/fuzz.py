"""`hil fuzz`: coverage-guided fuzzing of the firmware's P1 reader and parser (atheris / libFuzzer)."""

from __future__ import annotations

import tempfile
import time
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

fuzz_app = typer.Typer(help="Coverage-guided fuzzing of the firmware (atheris / libFuzzer).",
                       no_args_is_help=True)
console = Console()

WORK = Path(".fuzz-work") / "p1"


@fuzz_app.command("p1")
def fuzz_p1(
    corpus: Annotated[Path, typer.Option(help="Folder where inputs that reach new code are kept (grows "
                                         "across runs; seeds come from the example telegrams and "
                                         "test_suites/fuzz/corpus).")] = WORK / "corpus",
    runs: Annotated[int | None, typer.Option(min=1, help="Stop after this many inputs.")] = None,
    seconds: Annotated[int | None, typer.Option(min=1, help="Stop after this many seconds (default 60 "
                                                "when --runs is not given).")] = None,
    crashes: Annotated[Path, typer.Option(help="Folder for inputs that break an invariant: <sha1>.bin is "
                                          "the input, <sha1>.txt the traceback.")] = WORK / "crashes",
    seed: Annotated[int | None, typer.Option(help="libFuzzer random seed (reproducible run).")] = None,
    max_len: Annotated[int, typer.Option(min=16, help="Largest input libFuzzer generates, bytes.")] = 8192,
    merge_into: Annotated[Path | None, typer.Option(help="After a clean run, add the inputs that bring "
                                                    "new coverage to this folder (e.g. "
                                                    "test_suites/fuzz/corpus).")] = None,
    selftest_crash: Annotated[str | None, typer.Option(hidden=True, help="Crash on inputs containing "
                                                       "this text (tests the crash path).")] = None,
) -> None:
    """Fuzz the P1 stack (reader + parser) until the run or time budget is spent or an invariant breaks."""
    from hil.fuzz import session

    if runs is not None and seconds is not None:
        raise typer.BadParameter("give --runs or --seconds, not both")
    if runs is None and seconds is None:
        seconds = 60
    cfg = session.FuzzConfig(corpus=corpus, crashes=crashes, runs=runs, seconds=seconds, max_len=max_len,
                             seed=seed, selftest_crash=selftest_crash)
    total = float(runs if runs is not None else seconds or 1)
    with Progress(TextColumn("[bold]fuzz p1[/]"), BarColumn(), TextColumn("{task.description}"),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        task = progress.add_task("starting", total=total)
        t0 = time.monotonic()

        def update(execs: int, cov: int, corp: int) -> None:
            done = execs if runs is not None else min(time.monotonic() - t0, total)
            progress.update(task, completed=done, description=f"{execs} inputs, cov {cov}, corpus {corp}")

        rep = session.run(cfg, on_progress=update)
        progress.update(task, completed=total)

    t = Table(title="hil fuzz p1", show_header=False)
    t.add_row("inputs run", str(rep.execs))
    t.add_row("rate", f"{rep.execs / rep.seconds:.0f}/s" if rep.seconds else "-")
    t.add_row("coverage (edges / features)", f"{rep.coverage} / {rep.features}")
    t.add_row("corpus", f"{corpus} ({rep.new_inputs} new this run)")
    t.add_row("crashes", str(len(rep.crashes)))
    console.print(t)
    if not rep.ok:
        for c in rep.crashes:
            console.print(f"[red]CRASH[/] input saved to {c}; traceback in {c.with_suffix('.txt')}")
            console.print(c.with_suffix(".txt").read_text()[-2000:])
        if not rep.crashes:
            console.print(f"[red]libFuzzer exited with {rep.returncode}[/]; last lines of its log:")
            console.print("".join(rep.log.splitlines(keepends=True)[-30:]))
        raise typer.Exit(1)
    if merge_into is not None:
        before = len(list(merge_into.glob("*"))) if merge_into.is_dir() else 0
        with tempfile.TemporaryDirectory(prefix="hil-fuzz-seeds-") as tmp:
            rc, log = session.merge(merge_into, [corpus, session.prepare_seeds(Path(tmp))], edges_only=True)
        if rc != 0:
            console.print(f"[red]merge failed (exit {rc})[/]\n{log[-2000:]}")
            raise typer.Exit(1)
        console.print(f"merged into {merge_into}: {len(list(merge_into.glob('*'))) - before} inputs added")


@fuzz_app.command("check")
def fuzz_check(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False,
                                                help="Inputs to replay (e.g. a saved crash).")],
) -> None:
    """Replay inputs through the P1 stack and its invariants; print what breaks, exit 1 if anything does."""
    from hil.fuzz.p1_check import check_stream

    bad = 0
    for f in files:
        try:
            n = check_stream(f.read_bytes())
            console.print(f"ok    {f}: {n} telegram(s)")
        except Exception:
            bad += 1
            console.print(f"[red]FAIL[/]  {f}:\n{traceback.format_exc()}")
    if bad:
        raise typer.Exit(1)
