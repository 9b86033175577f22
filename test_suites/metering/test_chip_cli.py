"""`hil cse7766 emulate`: frames on a line for a load, until --seconds."""

import serial
import typer
from typer.testing import CliRunner

from firmware.metering.cse7766 import Cse7766
from hil.cli.cse7766 import cse7766_app
from hil.emulators.cse7766 import UART_SETTINGS
from hil.serial_lines import PtyPair

app = typer.Typer()  # as hil/cli/main.py registers it: `hil cse7766 emulate`
app.add_typer(cse7766_app, name="cse7766")


def test_emulate_sends_frames_for_the_load():
    with PtyPair() as pty:
        port = serial.serial_for_url(pty.names[1], **UART_SETTINGS, timeout=0.05)
        try:
            r = CliRunner().invoke(app, ["cse7766", "emulate", "--port", pty.names[0], "--seconds", "0.5",
                                         "--period", "0.02", "--volts", "231", "--amps", "2.2",
                                         "--watts", "480"])
            assert r.exit_code == 0, r.output
            m = Cse7766()
            m.feed(port.read(100_000))
        finally:
            port.close()
    assert m.counters["accepted"] >= 10
    assert abs(m.power_mw - 480_000) < 500 and abs(m.voltage_mv - 231_000) < 300


def test_emulate_refuses_a_bad_probability():
    r = CliRunner().invoke(app, ["cse7766", "emulate", "--garbage", "1.5", "--seconds", "0.1"])
    assert r.exit_code == 2 and "less than or equal to 1" in r.output
