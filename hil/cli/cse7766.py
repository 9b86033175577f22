"""`hil cse7766`: run an emulated CSE7766 metering chip on a serial line (for a SmartPlug's --metering)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

cse7766_app = typer.Typer(help="CSE7766 metering chip: emulate one on a serial line.", no_args_is_help=True)
console = Console(stderr=True)

Prob = Annotated[float, typer.Option(min=0.0, max=1.0)]


@cse7766_app.command("emulate")
def emulate(
    port: Annotated[str | None, typer.Option(
        help="pyserial URL to write to (/dev/ttyUSB0, socket://host:port, a pty). Default: a new pty pair; "
             "the plug's end is printed.")] = None,
    volts: Annotated[float, typer.Option(min=0, help="RMS voltage, V.")] = 230.0,
    amps: Annotated[float, typer.Option(min=0, help="RMS current, A.")] = 4.35,
    watts: Annotated[float, typer.Option(min=0, help="Active power, W.")] = 1000.0,
    relay_file: Annotated[Path | None, typer.Option(help="A board's relay line file (<io_dir>/gpio/relay): "
                                                    "no current while it reads 0.")] = None,
    period: Annotated[float, typer.Option(min=0.005, help="Seconds between frames (real: 0.105).")] = 0.105,
    seconds: Annotated[float | None, typer.Option(min=0.1, help="Stop after this long (default: Ctrl-C).")
                       ] = None,
    garbage: Prob = 0.0,
    bad_checksum: Prob = 0.0,
    not_calibrated: Prob = 0.0,
    truncated: Prob = 0.0,
    dropped: Prob = 0.0,
    jitter: Annotated[float, typer.Option(min=0.0, max=0.5, help="Relative noise on every register.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the faults and noise.")] = 0,
) -> None:
    """Send CSE7766 frames for a load at 4800 8E1, with optional faults, showing a live status line."""
    from hil.board.gpio import GpioFolder
    from hil.emulators.cse7766 import Cse7766Chip, Cse7766Emulator, Faults
    from hil.serial_lines import PtyPair

    faults = Faults(garbage=garbage, bad_checksum=bad_checksum, not_calibrated=not_calibrated,
                    truncated=truncated, dropped=dropped, jitter=jitter)
    gate = None
    if relay_file is not None:
        folder = GpioFolder(relay_file.parent)
        gate = lambda: folder.read(relay_file.name, 0) == 1  # noqa: E731
    pair = None
    if port is None:
        pair = PtyPair()
        port, where = pair.names[0], pair.names[1]
        console.print(f"plug side (--metering): [bold]{where}[/bold]")
    chip = Cse7766Chip(faults=faults, seed=seed)
    em = Cse7766Emulator(port, chip, period_s=period, gate=gate)
    em.set_load(volts, amps, watts)

    def status() -> Text:
        inj = chip.injected
        return Text(f"frames {em.sent_frames}  CF {chip.cf:5d}  pulses {chip.pulses}  "
                    f"energy {chip.energy_uj / 3.6e9:.4f} Wh  load {chip.load.watts:.1f} W  "
                    f"faults: garbage {inj.garbage} checksum {inj.bad_checksum} uncal {inj.not_calibrated} "
                    f"trunc {inj.truncated} drop {inj.dropped}")

    stop = threading.Event()
    t_end = None if seconds is None else time.monotonic() + seconds
    try:
        with em, Live(status(), console=console, refresh_per_second=4) as live:
            while not stop.wait(0.25):
                live.update(status())
                if em.error is not None:
                    raise typer.Exit(f"line {port} failed: {em.error}")
                if t_end is not None and time.monotonic() >= t_end:
                    break
            live.update(status())
    except KeyboardInterrupt:
        pass
    finally:
        if pair is not None:
            pair.close()
