"""`hil board`: run an emulated board (a SmartMeter or a SmartPlug) as a real process.

`hil board run smartmeter --flash DIR --p1 URL --http 127.0.0.1:8080` builds the host HAL
(`hil.board.hal.HostHal`) from the options and runs the firmware app unchanged on it until killed. The
same command runs as `python -m hil.cli_board run ...` (what `hil.board_process` starts: it needs no
other part of the CLI).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated

import typer

board_app = typer.Typer(help="Emulated boards: run the firmware apps on the host HAL.", no_args_is_help=True)

DEFAULT_MAC = {"smartmeter": "24:0a:c4:00:00:01", "smartplug": "24:0a:c4:10:02:1e"}


@board_app.callback()
def _group() -> None:
    """Emulated boards: run the firmware apps on the host HAL."""


APPS = {"smartmeter": "firmware.apps.smartmeter.app", "smartplug": "firmware.apps.smartplug.app"}
KINDS = tuple(APPS)


def parse_networks(items: list[str]) -> dict[str, str]:
    """['Home=secret', 'Open='] -> {'Home': 'secret', 'Open': ''}; BadParameter names a bad item."""
    out: dict[str, str] = {}
    for item in items:
        ssid, sep, pwd = item.partition("=")
        if not sep or not ssid:
            raise typer.BadParameter(f"--network {item!r}: expected SSID=PASSWORD")
        out[ssid] = pwd
    return out


def build_config(kind: str, flash: Path, p1: str | None, metering: str | None, http: str, mac: str | None,
                 networks: dict[str, str] | Path | None, mdns: bool, mdns_suffix: str,
                 io_dir: Path | None) -> object:
    """Return the `BoardConfig` for these options (ValueError names a bad one)."""
    from hil.board.config import BoardConfig

    uarts: dict[str, str] = {}
    if p1 is not None:
        uarts["p1"] = p1
    if metering is not None:
        uarts["metering"] = metering
    return BoardConfig(kind=kind, mac=mac or DEFAULT_MAC[kind], flash=flash, io_dir=io_dir, uarts=uarts,
                       http=http, networks=networks, mdns=mdns, mdns_suffix=mdns_suffix)


def _report_port(path: Path) -> None:
    """Have the web layer write the port it listens on to path (atomically) once it listens."""
    from firmware.apps.common import web

    def hook(host: str, port: int) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(f"{port}\n", encoding="ascii")
        tmp.replace(path)

    web.LISTEN_HOOKS.append(hook)


@board_app.command("run")
def run(
    kind: Annotated[str, typer.Argument(help="Board kind: smartmeter or smartplug.")],
    flash: Annotated[Path, typer.Option(help="The board's flash: a folder (created if missing) that keeps "
                                        "settings and state across runs.")],
    p1: Annotated[str | None, typer.Option(help="SmartMeter: pyserial URL of the P1 line (a /dev/pts/N, "
                                           "socket://HOST:PORT, /dev/ttyUSB0).")] = None,
    metering: Annotated[str | None, typer.Option(help="SmartPlug: pyserial URL of the CSE7766 line.")] = None,
    http: Annotated[str, typer.Option(help="Where the web server listens, HOST:PORT.")] = "127.0.0.1:8080",
    mac: Annotated[str | None, typer.Option(help="The board's MAC (names a plug smartplug-xxxxxx).")] = None,
    network: Annotated[list[str] | None, typer.Option(help="A WiFi network around the board, SSID=PASSWORD "
                                                      "(repeat for more).")] = None,
    networks_file: Annotated[Path | None, typer.Option(help="A JSON/YAML {ssid: password} file of the "
                                                       "networks around the board; the rig may rewrite "
                                                       "it while the board runs.")] = None,
    io_dir: Annotated[Path | None, typer.Option(help="Folder for the rig-visible GPIO and WiFi state "
                                                "(default: FLASH.io beside the flash folder).")] = None,
    mdns: Annotated[bool, typer.Option(help="Advertise over mDNS (zeroconf, loopback).")] = True,
    mdns_suffix: Annotated[str, typer.Option(help="Appended to every mDNS name (parallel rigs).")] = "",
    stale_s: Annotated[int | None, typer.Option(min=1, max=600, help="SmartMeter: seconds after which the "
                                                "last telegram is no longer shown (this run only; the "
                                                "stored setting otherwise).")] = None,
    max_event_clients: Annotated[int, typer.Option(min=1, help="Concurrent /events streams allowed.")] = 4,
    port_file: Annotated[Path | None, typer.Option(help="Write the HTTP port the board listens on to this "
                                                   "file (useful with --http 127.0.0.1:0).")] = None,
    meter: Annotated[str | None, typer.Option(help="SmartPlug: HOST:PORT of the SmartMeter for LANs without "
                                              "mDNS (this run only; meter.json otherwise).")] = None,
    poll_s: Annotated[float | None, typer.Option(min=0.5, max=60, help="SmartPlug: seconds between two "
                                                 "SmartMeter polls (this run only; default 5).")] = None,
) -> None:
    """Run the firmware app of KIND on an emulated board until the process is killed."""
    if kind not in KINDS:
        raise typer.BadParameter(f"board kind {kind!r}: expected one of {', '.join(KINDS)}")
    if network and networks_file:
        raise typer.BadParameter("give --network or --networks-file, not both")
    networks: dict[str, str] | Path | None = networks_file or (parse_networks(network) if network else None)
    try:
        cfg = build_config(kind, flash, p1, metering, http, mac, networks, mdns, mdns_suffix, io_dir)
    except (ValueError, TypeError) as e:
        raise typer.BadParameter(str(e)) from e
    from hil.board.hal import HostHal

    sys.stdout.reconfigure(line_buffering=True)  # the log survives a kill -9 line by line
    from rich.console import Console

    Console(stderr=True).print(f"[bold]{cfg.name}[/] board: flash {flash}, web server on {http}, "
                               f"UARTs {cfg.uarts or 'none'}; its log follows (Ctrl-C stops it)")
    hal = HostHal(cfg)
    app = importlib.import_module(APPS[kind])
    config: dict[str, int | float | str] = {"max_event_clients": max_event_clients}
    if port_file is not None:
        _report_port(port_file)
    if stale_s is not None:
        config["stale_s"] = stale_s
    if kind != "smartplug" and (meter is not None or poll_s is not None):
        raise typer.BadParameter("--meter and --poll-s are SmartPlug options")
    if meter is not None:
        config["meter"] = meter
    if poll_s is not None:
        config["poll_s"] = poll_s
    try:
        app.run(hal, config)
    except KeyboardInterrupt:
        pass
    finally:
        hal.close()


if __name__ == "__main__":
    board_app()
