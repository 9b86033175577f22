"""`hil rig`: check a rig file, show what it describes, serve its emulated instruments."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hil.rig import Rig, RigError, default_rig_path, load_rig

rig_app = typer.Typer(
    help="Rig files: validate them, list their parts, serve emulated instruments.", no_args_is_help=True
)
console = Console(stderr=True)
out = Console()

RigArg = Annotated[
    Path | None,
    typer.Argument(help="Rig file (YAML). Default: the embedded emulated rig, rigs/emulated.yaml."),
]


def _load(path: Path | None) -> Rig:
    try:
        return load_rig(path)
    except RigError as err:
        for problem in err.problems:
            console.print(problem.text(err.source), markup=False, highlight=False, soft_wrap=True)
        console.print(f"[red]{err.source}: {len(err.problems)} problem(s)[/red]", soft_wrap=True)
        raise typer.Exit(1) from None


@rig_app.command("check")
def check(path: RigArg = None) -> None:
    """Validate a rig file; print every problem (file:line: key: expected ...; got ...) or a summary."""
    rig = _load(path)
    out.print(
        f"{rig.source}: rig {rig.name!r} OK: {len(rig.boards)} boards, {len(rig.instruments)} instruments, "
        f"{len(rig.wiring)} wires; features: {', '.join(sorted(rig.features()))}; sha256 {rig.sha256[:16]}",
        soft_wrap=True,
    )


@rig_app.command("show")
def show(path: RigArg = None) -> None:
    """Print the rig's boards, appliances, instruments and wiring as tables."""
    rig = _load(path)
    boards = Table(title=f"{rig.name}: boards")
    for column in ("name", "role", "emulated", "console", "http", "mac", "power"):
        boards.add_column(column, overflow="fold")
    for b in rig.boards.values():
        outlet = rig.outlet(b.name)
        power = f"{outlet[0].name} outlet {outlet[1]}" if outlet else "-"
        boards.add_row(b.name, b.role, str(b.emulated), b.console, b.http, b.mac, power)
    out.print(boards)
    apps = Table(title="appliances")
    for column in ("name", "plug", "via", "kind", "played by"):
        apps.add_column(column, overflow="fold")
    for a in rig.appliances.values():
        apps.add_row(a.name, a.plug, a.via, a.kind, a.instrument or "-")
    out.print(apps)
    instruments = Table(title="instruments")
    for column in ("name", "kind", "model", "emulated", "resource", "wired to"):
        instruments.add_column(column, overflow="fold")
    for i in rig.instruments.values():
        wired = ", ".join(
            w.to + (f" (outlet {w.outlet})" if w.outlet else "") for w in rig.wiring if w.instrument == i.name
        )
        instruments.add_row(
            i.name, i.kind, i.model or "(emulated)", str(i.emulated), i.resource, wired or "-"
        )
    out.print(instruments)
    out.print(f"P1 emulator: profile {rig.p1.profile} -> {rig.p1.port} -> {rig.p1.board}")


@rig_app.command("serve")
def serve(
    path: RigArg = None,
    seconds: Annotated[
        float | None, typer.Option(min=0.1, help="Stop after this long (default: Ctrl-C).")
    ] = None,
) -> None:
    """Serve the rig's emulated instruments on loopback (nothing connected) and print their VISA resources."""
    from hil.emulators.instruments.launch import start_emulated

    rig = _load(path or default_rig_path())
    with start_emulated(rig) as running:
        table = Table(title=f"{rig.name}: emulated instruments (pyvisa-py: ResourceManager('@py'))")
        table.add_column("name")
        table.add_column("resource")
        for name, resource in running.resources.items():
            table.add_row(name, resource)
        out.print(table)
        stop = threading.Event()
        with console.status("serving; Ctrl-C to stop"):
            try:
                stop.wait(seconds)
            except KeyboardInterrupt:
                pass
