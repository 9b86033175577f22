"""HostHal: one object with the same surface as the ESP32's, built from a board config."""

import ast
import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from firmware.hal import TICKS_MAX
from hil.board.config import BoardConfig
from hil.board.gpio import GpioFolder, HostPin
from hil.board.hal import HostHal
from hil.board.uart import HostUart
from hil.board.wifi import HostWifi
from hil.serial_lines import PtyPair

ROOT = Path(__file__).resolve().parents[2]


def public(cls_node: ast.ClassDef) -> set[str]:
    return {n.name for n in cls_node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
            and not n.name.startswith("_")}


def esp32_classes() -> dict[str, ast.ClassDef]:
    tree = ast.parse((ROOT / "firmware/hal/esp32.py").read_text())
    return {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}


@pytest.mark.parametrize(("esp_name", "host_cls"), [
    ("Esp32Hal", HostHal), ("Esp32Uart", HostUart), ("Esp32Wifi", HostWifi), ("Esp32Pin", HostPin)])
def test_the_esp32_and_host_hals_have_the_same_surface(esp_name, host_cls):
    esp = public(esp32_classes()[esp_name])
    host = {n for n in dir(host_cls) if not n.startswith("_") and callable(getattr(host_cls, n))}
    missing_on_host = esp - host
    missing_on_esp32 = (host - esp) - {"from_mapping"}
    assert not missing_on_host, f"{host_cls.__name__} lacks {sorted(missing_on_host)}"
    # the host may have rig-only extras, but nothing the apps could call and the device lacks
    rig_only = {"read_now"} if host_cls is HostUart else set()
    assert missing_on_esp32 <= rig_only | {"infos_for"}, f"{esp_name} lacks {sorted(missing_on_esp32)}"
    for name in esp & host:
        esp_async = any(isinstance(n, ast.AsyncFunctionDef) and n.name == name
                        for n in esp32_classes()[esp_name].body)
        assert esp_async == asyncio.iscoroutinefunction(getattr(host_cls, name)), name


def make(tmp_path: Path, **kw: object) -> HostHal:
    return HostHal(BoardConfig(kind=kw.pop("kind", "smartplug"), mac="24:6f:28:10:02:1e",
                               flash=tmp_path / "flash", mdns=False, **kw))


def test_identity_flash_and_http(tmp_path):
    hal = make(tmp_path, http="127.0.0.1:18123")
    try:
        assert hal.unique_id() == bytes.fromhex("246f2810021e")
        assert hal.name() == "smartplug-10021e"
        assert Path(hal.flash_root).is_dir() and hal.flash_root == str(tmp_path / "flash")
        assert hal.http_bind() == ("127.0.0.1", 18123)
        assert hal.wifi.ap_start(hal.name()) == "127.0.0.1"
    finally:
        hal.close()


def test_pins_by_board_kind(tmp_path):
    hal = make(tmp_path)
    rig = GpioFolder(tmp_path / "flash.io" / "gpio")
    relay = hal.pin("relay", 1)  # restored from flash at boot: no off-glitch
    assert rig.read("relay") == 1
    assert hal.pin("relay") is relay
    hal.pin("relay", 0)
    assert rig.read("relay") == 0
    with pytest.raises(ValueError, match="no pin 'p1_request' on a smartplug"):
        hal.pin("p1_request")


async def read_exactly(uart, n):
    """Await UART reads until n bytes came (each read waits for bytes to arrive)."""
    got = b""
    while len(got) < n:
        got += await uart.read(n - len(got))
    return got


def test_uart_by_name_from_the_config(tmp_path):
    with PtyPair() as pty:
        hal = make(tmp_path, kind="smartmeter", uarts={"p1": pty.names[0]})
        far = serial.serial_for_url(pty.names[1], timeout=1)
        try:
            u = hal.uart("p1")
            assert hal.uart("p1") is u
            assert u.format == (115200, 8, None, 1)
            # opening P1 holds the data-request line active, as the device does
            assert GpioFolder(tmp_path / "flash.io" / "gpio").read("p1_request") == 1
            far.write(b"/ISK5\\2M550T-1012\r\n")
            # a UART read returns what has arrived (as MicroPython's does): read until 5 bytes came
            assert asyncio.run(asyncio.wait_for(read_exactly(u, 5), 10)) == b"/ISK5"
            with pytest.raises(ValueError, match="no UART 'metering' on a smartmeter"):
                hal.uart("metering")
        finally:
            far.close()
            hal.close()
    plug = make(tmp_path / "p")
    with pytest.raises(ValueError, match=r"UART 'metering' of this smartplug is not wired: give its"):
        plug.uart("metering")


def test_clock(tmp_path):
    hal = make(tmp_path)
    a = hal.ticks_ms()
    assert 0 <= a <= TICKS_MAX
    assert hal.ticks_diff(hal.ticks_ms(), a) >= 0
    assert abs(hal.time() - time.time()) <= 1
    hal.set_time(1_700_000_000)
    assert abs(hal.time() - 1_700_000_000) <= 1
    blind = make(tmp_path / "b", wall_clock=False)
    assert blind.time() is None  # like a device after power-up, before the meter tells the time
    blind.set_time(1_700_000_000)
    assert abs(blind.time() - 1_700_000_000) <= 1


BOOT = """
import sys
from pathlib import Path
from hil.board.config import BoardConfig
from hil.board.hal import HostHal
hal = HostHal(BoardConfig(kind='smartplug', mac='24:6f:28:10:02:1e', flash=sys.argv[1], mdns=False,
                          reset=sys.argv[2]))
count = Path(hal.flash_root) / 'boots'
n = int(count.read_text()) + 1 if count.exists() else 1
count.write_text(str(n))
print('boot', n, flush=True)
if n == 1:
    hal.reset()
"""


@pytest.mark.parametrize(("mode", "code", "boots"), [("exec", 0, "boot 1\nboot 2\n"),
                                                     ("exit", 75, "boot 1\n")])
def test_reset_restarts_the_firmware(tmp_path, mode, code, boots):
    r = subprocess.run([sys.executable, "-c", BOOT, str(tmp_path / "flash"), mode], cwd=ROOT,
                       capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stdout) == (code, boots), r.stderr
