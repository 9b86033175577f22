"""`hil board`: run an emulated board (a SmartMeter or a SmartPlug) as a real process.

`hil board run smartmeter --flash DIR --p1 URL --http 127.0.0.1:8080` builds the host HAL
(`hil.board.hal.HostHal`) from the options and runs the firmware app unchanged on it until killed. The
same command runs as `python -m hil.cli.board run ...` (what `hil.board_process` starts: it needs no
other part of the CLI).
"""

from __future__ import annotations

import os
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
                 io_dir: Path | None, https: str = "", tls_sessions: int = 2) -> object:
    """Return the `BoardConfig` for these options (ValueError names a bad one)."""
    from hil.board.config import BoardConfig

    uarts: dict[str, str] = {}
    if p1 is not None:
        uarts["p1"] = p1
    if metering is not None:
        uarts["metering"] = metering
    return BoardConfig(kind=kind, mac=mac or DEFAULT_MAC[kind], flash=flash, io_dir=io_dir, uarts=uarts,
                       http=http, networks=networks, mdns=mdns, mdns_suffix=mdns_suffix, https=https,
                       tls_sessions=tls_sessions)


REBIND_ENV = "HIL_BOARD_HTTP_PORT"
REBIND_HTTPS_ENV = "HIL_BOARD_HTTPS_PORT"


def _rebind(http: str, env: str = REBIND_ENV) -> str:
    """HOST:0 after a reset (re-exec) of a board that listened on PORT: HOST:PORT, as clients expect."""
    host, _, port = http.rpartition(":")
    again = os.environ.get(env)
    return f"{host}:{again}" if port == "0" and again and again.isdigit() else http


def _report_https_port(path: Path) -> None:
    """Have the HTTPS server write the port it listens on to path (atomically) once it listens."""
    try:
        from firmware.apps.common import https
    except ImportError:     # an image from before API v2 (OTA suites): it serves no HTTPS
        return

    def hook(host: str, port: int) -> None:
        os.environ[REBIND_HTTPS_ENV] = str(port)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(f"{port}\n", encoding="ascii")
        tmp.replace(path)

    https.HTTPS_LISTEN_HOOKS.append(hook)


def provision_tls(flash: Path, name: str, host: str) -> None:
    """Give an emulated board its TLS identity in flash once, as a factory would (hil/devcert.py)."""
    from hil.devcert import provision

    fp, made = provision(flash, name, [host] if host not in ("", "0.0.0.0", "::") else [])
    if made:
        print(f"provision: {name}: new TLS key and certificate in {flash}, SHA-256 {fp}", flush=True)


def _report_port(path: Path) -> None:
    """Have the web layer write the port it listens on to path (atomically) once it listens."""
    from firmware.apps.common import web

    def hook(host: str, port: int) -> None:
        os.environ[REBIND_ENV] = str(port)  # a reset re-executes the board: it comes back on this port
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
    https: Annotated[str, typer.Option(help="Where the HTTPS server (API v2) listens, HOST:PORT "
                                       "(default: the --http host, a port the OS picks).")] = "",
    https_port_file: Annotated[Path | None, typer.Option(help="Write the HTTPS port the board listens on to "
                                                         "this file.")] = None,
    tls_sessions: Annotated[int, typer.Option(min=1, help="TLS sessions the HTTPS server holds at once "
                                              "(the ESP32's heap: 2).")] = 2,
    meter: Annotated[str | None, typer.Option(help="SmartPlug: HOST:PORT of the SmartMeter for LANs without "
                                              "mDNS (this run only; meter.json otherwise).")] = None,
    poll_s: Annotated[float | None, typer.Option(min=0.5, max=60, help="SmartPlug: seconds between two "
                                                 "SmartMeter polls (this run only; default 5).")] = None,
    hw_rev: Annotated[int, typer.Option(min=0, help="OTA: the board's hardware revision.")] = 1,
    flash_size: Annotated[int | None, typer.Option(min=4096, help="OTA: bytes of flash (default: the "
                                                   "host disk's free space).")] = None,
    ota_health_s: Annotated[int | None, typer.Option(min=1, help="OTA: seconds a new image must run "
                                                     "healthy before it confirms itself (default 30).")
                            ] = None,
    ota_wdt_ms: Annotated[int | None, typer.Option(min=100, help="OTA: watchdog timeout of a trial boot "
                                                   "in ms (default 30000).")] = None,
    ota_stall_s: Annotated[int | None, typer.Option(min=1, help="OTA: an upload silent this long is "
                                                    "abandoned (default 10).")] = None,
    ota_max_tries: Annotated[int | None, typer.Option(min=1, help="OTA: failed trial boots before the "
                                                      "loader rolls back (default 3).")] = None,
) -> None:
    """Run the firmware app of KIND on an emulated board until the process is killed."""
    if kind not in KINDS:
        raise typer.BadParameter(f"board kind {kind!r}: expected one of {', '.join(KINDS)}")
    if network and networks_file:
        raise typer.BadParameter("give --network or --networks-file, not both")
    networks: dict[str, str] | Path | None = networks_file or (parse_networks(network) if network else None)
    http = _rebind(http)
    if not https:
        https = f"{http.rpartition(':')[0]}:0"
    https = _rebind(https, REBIND_HTTPS_ENV)
    try:
        cfg = build_config(kind, flash, p1, metering, http, mac, networks, mdns, mdns_suffix, io_dir, https,
                           tls_sessions)
    except (ValueError, TypeError) as e:
        raise typer.BadParameter(str(e)) from e
    from hil.cli.errors import check_free, check_serial, fail

    for option, url in (("--p1", p1), ("--metering", metering)):
        if url is not None:
            check_serial(option, url)     # a missing line is bad usage, not a task that retries forever
    host, _, port = http.rpartition(":")
    check_free("--http", host.strip("[]"), int(port))
    from hil.board.hal import HostHal

    sys.stdout.reconfigure(line_buffering=True)  # the log survives a kill -9 line by line
    from rich.console import Console

    Console(stderr=True).print(f"[bold]{cfg.name}[/] board: flash {flash}, web server on {http}, "
                               f"UARTs {cfg.uarts or 'none'}; its log follows (Ctrl-C stops it)")
    cfg.hw_rev = hw_rev
    cfg.flash_size = flash_size
    hal = HostHal(cfg)
    config: dict[str, int | float | str] = {"max_event_clients": max_event_clients}
    if ota_health_s is not None:
        config["ota_health_s"] = ota_health_s
    if ota_max_tries is not None:
        config["ota_max_tries"] = ota_max_tries
    if ota_wdt_ms is not None:
        config["ota_wdt_ms"] = ota_wdt_ms
    if ota_stall_s is not None:
        config["ota_stall_s"] = ota_stall_s
    hooks = [lambda: _report_port(port_file)] if port_file is not None else []
    if https_port_file is not None:
        hooks.append(lambda: _report_https_port(https_port_file))
    provision_tls(flash, cfg.name, http.rpartition(":")[0].strip("[]"))
    if stale_s is not None:
        config["stale_s"] = stale_s
    if kind != "smartplug" and (meter is not None or poll_s is not None):
        raise typer.BadParameter("--meter and --poll-s are SmartPlug options")
    if meter is not None:
        config["meter"] = meter
    if poll_s is not None:
        config["poll_s"] = poll_s
    from firmware import main as loader  # picks the slot the application runs from (docs/ota.md)

    try:
        loader.boot(hal, config, hooks)
    except KeyboardInterrupt:
        pass
    except OSError as e:  # the web server could not listen after all (taken since the check)
        fail("board run", f"--http {http}: expected to listen there, got: {e}", 1)
    finally:
        hal.close()


if __name__ == "__main__":
    board_app()
