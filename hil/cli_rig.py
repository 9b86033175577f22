"""`hil rig`: check a rig file, show what it describes, serve its emulated instruments."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated, Any

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


# ---- a running rig: up and status (hil.rig.runtime) ------------------------------------------------------
def _status_tables(status: dict[str, Any]) -> list[Table]:
    """Return tables of a running rig's status: boards, then the world and the P1 line."""
    from firmware.timebase import iso_utc

    boards = Table(title=f"rig {status['rig']}: boards (run folder {status['run_dir']})")
    for column in ("name", "role", "http", "pid", "powered", "wifi", "console"):
        boards.add_column(column)
    for b in status["boards"].values():
        boards.add_row(b["name"], b["role"], b["http"], str(b.get("pid")), str(b["powered"]),
                       str(b.get("wifi")), b["console"])
    world = status.get("world") or {}
    p1 = status["p1"]
    meter_t = status.get("meter_time")
    about = Table(title="world and P1", show_header=False)
    about.add_row("meter time", iso_utc(int(meter_t)) if meter_t else "-")
    about.add_row("time scale", f"{status['time_scale']:g} rig s per host s")
    about.add_row("household net", f"{world.get('net_w', 0)} W")
    about.add_row("P1", f"{p1['profile']} on {p1['port']} -> {p1['board_end']}, "
                  f"{p1['telegrams']} telegrams, line {p1['line']}")
    for plug, s in (world.get("plugs") or {}).items():
        state = "live" if s["live"] else "off"
        about.add_row(plug, f"{s['appliance']} ({s['kind']}): {state}, {s['watts']} W")
    for name, resource in status["instruments"].items():
        about.add_row(f"instrument {name}", resource)
    return [boards, about]


@rig_app.command("up")
def up(
    path: RigArg = None,
    time_scale: Annotated[float | None, typer.Option(
        min=0.001, help="Rig seconds per host second (emulated rigs only; default: the rig file's).")] = None,
    seconds: Annotated[float | None, typer.Option(
        min=0.1, help="Stop after this long (host seconds; rig seconds on a virtual clock; default: Ctrl-C).")
    ] = None,
    keep: Annotated[bool, typer.Option(
        help="Keep the run folder (flash, consoles, rig.log) after stopping.")] = False,
    clock: Annotated[str, typer.Option(
        help="realtime (people watching: the rig file's time scale) or virtual (as fast as the events "
        "allow; docs/rig-clock.md).")] = "realtime",
) -> None:
    """Bring the rig up (world, P1 emulator, instruments, boards) and keep it running until Ctrl-C."""
    import time

    from rich.live import Live

    from hil.rig.runtime import RigRuntime, RuntimeOptions
    from hil.rig.runtime.state import remove_state, write_state

    rig = _load(path)
    if clock not in ("realtime", "virtual"):
        raise typer.BadParameter(f"--clock {clock!r}: expected realtime or virtual")
    runtime = RigRuntime(rig, RuntimeOptions(time_scale=time_scale, keep_run_dir=keep, clock=clock))
    with console.status(f"starting rig {rig.name}"):
        runtime.start()
    try:
        # --seconds: host seconds on a realtime clock, rig seconds on a virtual one
        now = runtime.now if runtime.virtual else time.monotonic
        deadline = None if seconds is None else now() + seconds
        with Live(console=out, refresh_per_second=2) as live:
            while deadline is None or now() < deadline:
                status = runtime.status()
                write_state(rig.name, status)
                table = Table.grid()
                for t in _status_tables(status):
                    table.add_row(t)
                table.add_row("[dim]Ctrl-C stops the rig; `hil rig status` shows it from another shell[/dim]")
                live.update(table)
                if runtime.virtual:
                    runtime.clock.sleep(1.0)   # virtual time runs while someone waits for it
                else:
                    time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        remove_state(rig.name)
        runtime.stop()
        out.print(f"rig {rig.name} stopped" + (f"; run folder kept: {runtime.run_dir}" if keep else ""))


@rig_app.command("status")
def status_cmd(
    name: Annotated[str | None, typer.Argument(help="Rig name (default: every running rig).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw status JSON.")] = False,
) -> None:
    """Show the rigs `hil rig up` runs on this machine: boards (answering or not), world, P1, instruments."""
    import json

    from hil.rig.runtime.http import BoardHttp
    from hil.rig.runtime.state import running_rigs

    rigs = [r for r in running_rigs() if name is None or r["status"]["rig"] == name]
    if not rigs:
        console.print(f"no running rig{' named ' + name if name else ''} (start one with `hil rig up`)")
        raise typer.Exit(1)
    for r in rigs:
        st = r["status"]
        for b in st["boards"].values():
            b["answers"] = BoardHttp(b["http"], b["name"]).alive(timeout=1.0)
        if as_json:
            out.print_json(json.dumps(r))
            continue
        out.print(f"rig {st['rig']} run by pid {r['pid']} ({st['source']})")
        for t in _status_tables(st):
            out.print(t)
        down = [b["name"] for b in st["boards"].values() if not b["answers"]]
        out.print(f"boards answering: {len(st['boards']) - len(down)}/{len(st['boards'])}"
                  + (f"; not answering: {', '.join(down)}" if down else ""))
