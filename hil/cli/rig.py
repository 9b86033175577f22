"""`hil rig`: check a rig file, show what it describes, serve its emulated instruments."""

from __future__ import annotations

import signal
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


@rig_app.command("pair")
def pair_cmd(
    board: Annotated[str, typer.Argument(help="The real board to pair (its name in the rig file).")],
    path: RigArg = None,
) -> None:
    """Pair the rig with a real board: press its button, then Enter; the token goes to its token_file."""
    from hil.rig.pairing import PairingError, pair, write_token
    from hil.rig.runtime.http import BoardHttp

    rig = _load(path)
    spec = rig.boards.get(board)
    if spec is None or spec.emulated or spec.token_file is None:
        got = "no such board" if spec is None else "an emulated board" if spec.emulated else "no token_file"
        console.print(f"board {board!r}: expected a real board of rig {rig.name} with a token_file; "
                      f"got {got} (boards: {', '.join(rig.boards)})", style="red", markup=False)
        raise typer.Exit(1)
    typer.prompt(f"Press the button of {board} ({spec.http}), then Enter", default="", show_default=False,
                 err=True)
    host = spec.http if "://" in spec.http else f"http://{spec.http}"
    try:
        token = pair(BoardHttp(host, board))
    except (PairingError, OSError) as exc:
        console.print(str(exc), style="red", soft_wrap=True, markup=False)
        raise typer.Exit(1) from None
    write_token(spec.token_file, token)
    out.print(f"{board}: paired; token in {spec.token_file}", soft_wrap=True, highlight=False)


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
        table.add_column("kind")
        table.add_column("resource")
        for name, resource in running.resources.items():
            table.add_row(name, rig.instruments[name].kind if name in rig.instruments else "-", resource)
        out.print(table)
        out.print(SCPI_HOWTO, soft_wrap=True, highlight=False, markup=False)
        out.file.flush()
        stop = threading.Event()
        with console.status("serving; Ctrl-C to stop"):
            try:
                stop.wait(seconds)
            except KeyboardInterrupt:
                pass


SCPI_HOWTO = (
    "SCPI over TCP, one command per line: open with pyvisa's ResourceManager('@py') and set "
    "read_termination='\\n' and write_termination='\\n' (LF both ways; no EOI, no echo), e.g.\n"
    "  inst = pyvisa.ResourceManager('@py').open_resource(RESOURCE, read_termination='\\n', "
    "write_termination='\\n'); inst.query('*IDN?')"
)


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
    export: Annotated[Path | None, typer.Option(
        help="Export the rig as a labgrid place (docs/lab.md): exporter.yaml, places.yaml, rig.yaml go "
             "here; real time; the P1 line is fed through the place.")] = None,
    coordinator: Annotated[str | None, typer.Option(
        help="With --export: create the place there and run the exporter (supervised).")] = None,
    exporter: Annotated[str, typer.Option(help="With --export: the exporter's name.")] = "",
    place: Annotated[str | None, typer.Option(help="With --export: the place's name (default: exporter).")]
    = None,
    tag: Annotated[list[str] | None, typer.Option(help="With --export: a place tag key=value (repeatable).")]
    = None,
    world: Annotated[bool, typer.Option(
        help="With --export: serve the world controls (household, P1 line, the rig's clock) to the place's "
             "holder, keep the rig's own P1 emulator and its clock: the e2e suites run through the place "
             "(docs/lab.md).")] = False,
    clock: Annotated[str, typer.Option(
        help="realtime (people watching: the rig file's time scale) or virtual (as fast as the events "
        "allow; docs/rig-clock.md).")] = "realtime",
) -> None:
    """Bring the rig up (world, P1 emulator, instruments, boards) and keep it running until Ctrl-C."""
    import time

    from rich.live import Live

    from hil.rig.runtime import RigRuntime, RuntimeOptions
    from hil.rig.runtime.state import remove_state, write_state

    # Ctrl-C stops the rig even when it was started as a shell's background job, which ignores SIGINT
    # (Python then installs no KeyboardInterrupt handler, and a SIGINT would leave the rig running)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    rig = _load(path)
    if clock not in ("realtime", "virtual"):
        raise typer.BadParameter(f"--clock {clock!r}: expected realtime or virtual")
    if world and export is None:
        raise typer.BadParameter("--world: expected --export DIR too (the world controls are a place's)")
    if export is not None and not world:
        if clock == "virtual":
            raise typer.BadParameter("--export runs the rig in real time (real boards may join it): "
                                     "expected --clock realtime, got virtual")
        if time_scale is None:
            time_scale = 1.0    # through a place the boards are real boards: real time
    runtime = RigRuntime(rig, RuntimeOptions(time_scale=time_scale, keep_run_dir=keep, clock=clock))
    with console.status(f"starting rig {rig.name}"):
        runtime.start()
    unexport = None
    try:
        if export is not None:
            from hil.cli.lab import up_export

            unexport = up_export(runtime, export, coordinator, exporter, place, tag, world)
        write_state(rig.name, runtime.status())
        _say_where(rig.name, runtime.status())   # at once, in a terminal or not (a Live shows only there)
        # --seconds: host seconds on a realtime clock, rig seconds on a virtual one
        # with --world the place's holder runs the rig's time (virtual: only while it waits for it)
        driven = runtime.virtual and not world
        now = runtime.now if driven else time.monotonic
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
                if driven:
                    runtime.clock.sleep(1.0)   # virtual time runs while someone waits for it
                else:
                    time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        if unexport is not None:
            unexport()
        remove_state(rig.name)
        runtime.stop()
        out.print(f"rig {rig.name} stopped" + (f"; run folder kept: {runtime.run_dir}" if keep else ""))


def _say_where(name: str, status: dict[str, Any]) -> None:
    """Print where every board and instrument is, and how to stop and watch the rig; flushed at once."""
    for line in _url_lines(status):
        out.print(line, soft_wrap=True, highlight=False)
    out.print(f"rig {name} up; Ctrl-C stops it; `hil rig status --watch` shows it from another shell",
              soft_wrap=True, highlight=False)
    out.file.flush()


def _url_lines(status: dict[str, Any]) -> list[str]:
    """One line per board: its web page, its console; then each instrument's resource."""
    lines = []
    for b in status["boards"].values():
        url = b["http"] if "://" in b["http"] else f"http://{b['http']}"
        lines.append(f"{b['name']}: {url.rstrip('/')}/ ({b['role']}, console {b['console']})")
    lines += [f"{name}: {resource}" for name, resource in status["instruments"].items()]
    return lines


def _status_grid(status: dict[str, Any], note: str = "Ctrl-C stops the rig") -> Table:
    table = Table.grid()
    for t in _status_tables(status):
        table.add_row(t)
    table.add_row(f"[dim]{note}[/dim]")
    return table


def _one_line(status: dict[str, Any]) -> str:
    """Return the running rig in one line (for a watch outside a terminal)."""
    from firmware.timebase import iso_utc

    meter_t = status.get("meter_time")
    boards = ", ".join(f"{b['name']} {'up' if b.get('answers', True) else 'DOWN'}"
                       for b in status["boards"].values())
    plugs = ", ".join(f"{plug} relay {'ON' if s['live'] else 'OFF'} {s['watts']} W"
                      for plug, s in ((status.get("world") or {}).get("plugs") or {}).items())
    p1 = status["p1"]
    return (f"rig {status['rig']}: {boards}; {plugs or 'no plugs'}; P1 {p1['telegrams']} telegrams, last "
            f"{iso_utc(int(meter_t)) if meter_t else '-'}; {len(status['instruments'])} instruments")


@rig_app.command("status")
def status_cmd(
    name: Annotated[str | None, typer.Argument(help="Rig name (default: every running rig).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw status JSON.")] = False,
    watch: Annotated[bool, typer.Option("--watch", help="Keep showing the running rig (boards, relays, last "
                                        "telegram, instruments) until it stops or Ctrl-C.")] = False,
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between two looks with --watch.")] = 1.0,
) -> None:
    """Show the rigs `hil rig up` runs on this machine: boards (answering or not), world, P1, instruments."""
    import json
    import time

    from rich.live import Live

    from hil.rig.runtime.http import BoardHttp
    from hil.rig.runtime.state import running_rigs

    def look() -> list[dict[str, Any]]:
        rigs = [r for r in running_rigs() if name is None or r["status"]["rig"] == name]
        for r in rigs:
            for b in r["status"]["boards"].values():
                b["answers"] = BoardHttp(b["http"], b["name"]).alive(timeout=1.0)
        return rigs

    rigs = look()
    if not rigs:
        console.print(f"no running rig{' named ' + name if name else ''} (start one with `hil rig up`)")
        raise typer.Exit(1)
    if watch:
        try:
            if out.is_terminal and not as_json:
                with Live(console=out, refresh_per_second=2) as live:
                    while rigs:
                        grid = Table.grid()
                        for r in rigs:
                            grid.add_row(_status_grid(r["status"], "Ctrl-C stops watching (the rig goes on)"))
                        live.update(grid)
                        time.sleep(interval)
                        rigs = look()
            else:
                while rigs:
                    for r in rigs:
                        line = json.dumps(r) if as_json else _one_line(r["status"])
                        print(line, flush=True)
                    time.sleep(interval)
                    rigs = look()
        except KeyboardInterrupt:
            return
        out.print("the rig stopped")
        return
    for r in rigs:
        st = r["status"]
        if as_json:
            out.print_json(json.dumps(r))
            continue
        out.print(f"rig {st['rig']} run by pid {r['pid']} ({st['source']})")
        for t in _status_tables(st):
            out.print(t)
        down = [b["name"] for b in st["boards"].values() if not b["answers"]]
        out.print(f"boards answering: {len(st['boards']) - len(down)}/{len(st['boards'])}"
                  + (f"; not answering: {', '.join(down)}" if down else ""))
