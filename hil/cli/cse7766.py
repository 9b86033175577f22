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

cse7766_app = typer.Typer(help="CSE7766 metering chip: emulate one on a serial line, or read one.",
                          no_args_is_help=True)
console = Console(stderr=True)


def _prob(what: str) -> object:
    """Return a fault probability option (0 ... 1 per frame) with its help text."""
    return typer.Option(min=0.0, max=1.0, help=f"Probability per frame (0 ... 1) of {what}.")


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
    garbage: Annotated[float, _prob("1-8 random bytes before the frame (line noise)")] = 0.0,
    bad_checksum: Annotated[float, _prob("a payload byte flipped in transit (checksum fails)")] = 0.0,
    not_calibrated: Annotated[float, _prob("a state 0xAA frame instead of a measurement")] = 0.0,
    truncated: Annotated[float, _prob("a frame cut off part-way (chip brown-out or reset)")] = 0.0,
    dropped: Annotated[float, _prob("a frame never sent")] = 0.0,
    jitter: Annotated[float, typer.Option(min=0.0, max=0.5, help="Relative noise on every register.")] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the faults and noise.")] = 0,
) -> None:
    """Send CSE7766 frames for a load at 4800 8E1, with optional faults; print where to connect (stdout)."""
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
    else:
        from hil.cli.errors import check_serial

        check_serial("--port", port)
        where = port
    console.print(f"CSE7766 emulator: {volts:g} V, {amps:g} A, {watts:g} W, a frame every {period:g} s at "
                  f"4800 8E1; connect the plug (--metering) to [bold green]{where}[/]")
    print(where, flush=True)  # stdout: just the port, for scripts (as `hil p1 emulate`)
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
                    from hil.cli.errors import fail

                    fail("cse7766 emulate", f"{port}: the line failed: {em.error}", 1)
                if t_end is not None and time.monotonic() >= t_end:
                    break
            live.update(status())
        if not console.is_terminal:
            console.print()
    except KeyboardInterrupt:
        pass
    finally:
        if pair is not None:
            pair.close()


@cse7766_app.command("monitor")
def monitor(
    port: Annotated[str, typer.Argument(help="pyserial URL of the chip's line (the pty `emulate` printed, "
                                        "/dev/ttyUSB0, socket://...).")],
    count: Annotated[int | None, typer.Option(min=1, help="Stop after this many accepted frames.")] = None,
    duration: Annotated[float | None, typer.Option(min=0.1, help="Stop after this many seconds.")] = None,
    every: Annotated[int, typer.Option(min=1, help="Print every Nth accepted frame (the chip sends ~10/s)."
                                       )] = 1,
) -> None:
    """Read a CSE7766 line with the firmware's parser; a line per accepted frame: V, A, W, energy, errors."""
    import serial

    from firmware.metering.cse7766 import Cse7766
    from hil.cli.errors import fail, open_serial
    from hil.emulators.cse7766 import UART_SETTINGS

    out = Console(soft_wrap=True, highlight=False)
    ser = open_serial("cse7766 monitor", port, **UART_SETTINGS, timeout=0.1)
    chip = Cse7766()
    seen = 0
    ended: Exception | None = None
    t0 = time.monotonic()

    def milli(v: int | None, unit: str, decimals: int) -> str:
        return "-" if v is None else f"{v / 1000:.{decimals}f} {unit}"

    console.print(f"Reading {port} at 4800 8E1 (Ctrl-C stops)")
    try:
        while (count is None or seen < count) and (duration is None or time.monotonic() - t0 < duration):
            before = chip.counters["accepted"]
            chip.feed(ser.read(max(1, ser.in_waiting)))
            for _ in range(chip.counters["accepted"] - before):
                seen += 1
                if seen % every == 0:
                    out.print(f"{time.monotonic() - t0:8.2f} s  {milli(chip.voltage_mv, 'V', 1)}  "
                              f"{milli(chip.current_ma, 'A', 3)}  {milli(chip.power_mw, 'W', 1)}  "
                              f"energy {chip.energy_mwh / 1000:.3f} Wh")
            if chip.last_error is not None:
                console.print(f"[yellow]{chip.last_error}[/]")
                chip.last_error = None
    except KeyboardInterrupt:
        pass
    except (serial.SerialException, OSError) as e:  # the emulator (or the adapter) went away
        ended = e
    finally:
        ser.close()
    console.print("counters: " + ", ".join(f"{k} {v}" for k, v in chip.counters.items()))
    if ended is not None:
        fail("cse7766 monitor", f"{port}: the line ended after {seen} frames (expected more: the emulator "
                                f"or device went away): {ended}", 1)
