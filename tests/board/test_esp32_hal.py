"""firmware/hal/esp32.py under CPython with stand-ins for MicroPython's machine and network modules.

This checks the device HAL's own logic (polarity, pinout overrides, UART setup, WiFi status mapping,
the 2000 epoch) against the MicroPython API as documented; it cannot prove the hardware behaves.
"""

import asyncio
import importlib
import json
import sys
import time
import types

import pytest


class FakePin:
    OUT, IN, PULL_UP, PULL_DOWN = 1, 0, 2, 1
    made: list = []

    def __init__(self, gpio, mode, pull=None, value=None):
        self.gpio, self.mode, self.pull, self.level = gpio, mode, pull, value
        FakePin.made.append(self)

    def value(self, v=None):
        if v is None:
            return self.level
        self.level = v


class FakeUART:
    INV_RX = 4
    made: list = []

    def __init__(self, uid, **kw):
        self.uid, self.kw = uid, kw
        FakeUART.made.append(self)

    def init(self, **kw):
        self.kw = kw


class FakeRTC:
    last = None

    def datetime(self, t):
        FakeRTC.last = t


class FakeWLAN:
    statuses: list = []

    def __init__(self, iface):
        self.iface = iface
        self._active = False

    def active(self, v=None):
        if v is None:
            return self._active
        self._active = v

    def config(self, *a, **kw):
        if a == ("mac",):
            return b"\x24\x6f\x28\x10\x02\x1e"
        self.cfg = kw

    def connect(self, ssid, pwd):
        self.ssid = ssid

    def disconnect(self):
        pass

    def status(self):
        return FakeWLAN.statuses.pop(0) if len(FakeWLAN.statuses) > 1 else FakeWLAN.statuses[0]

    def isconnected(self):
        return FakeWLAN.statuses[0] == 1010

    def ifconfig(self):
        return ("192.168.4.1" if self.iface == 1 else "10.0.0.7", "255.255.255.0", "", "")


@pytest.fixture
def esp32(monkeypatch, tmp_path):
    machine = types.ModuleType("machine")
    machine.Pin, machine.UART, machine.RTC = FakePin, FakeUART, FakeRTC
    machine.reset = lambda: None
    network = types.ModuleType("network")
    network.STA_IF, network.AP_IF, network.AUTH_OPEN = 0, 1, 0
    network.STAT_GOT_IP, network.STAT_WRONG_PASSWORD, network.STAT_NO_AP_FOUND = 1010, 202, 201
    network.STAT_HANDSHAKE_TIMEOUT, network.STAT_CONNECTING = 204, 1001
    network.WLAN = FakeWLAN
    network.hostname = lambda h: setattr(network, "host", h)
    monkeypatch.setitem(sys.modules, "machine", machine)
    monkeypatch.setitem(sys.modules, "network", network)
    mod = importlib.reload(importlib.import_module("firmware.hal.esp32"))
    # MicroPython's time.gmtime(0) is 2000-01-01 on the ESP32
    mod.time = types.SimpleNamespace(gmtime=lambda t=0: time.gmtime(t + 946684800), time=lambda: 0,
                                     ticks_ms=lambda: int(time.monotonic() * 1000) & 0x3FFFFFFF,
                                     ticks_diff=lambda a, b: a - b)
    mod.asyncio = types.SimpleNamespace(StreamReader=lambda u: ("reader", u),
                                        sleep_ms=lambda ms: asyncio.sleep(ms / 1000))
    FakePin.made.clear()
    FakeUART.made.clear()
    yield mod, network, tmp_path
    sys.modules.pop("firmware.hal.esp32", None)


def test_logical_levels_follow_the_wiring(esp32):
    mod, _, _ = esp32
    hal = mod.Esp32Hal("smartplug")
    relay = hal.pin("relay", 1)
    assert relay.p.gpio == 12 and relay.p.level == 1  # active high, on from the start (no glitch)
    led = hal.pin("led")
    assert led.p.level == 1  # active low LED: off = high
    led.on()
    assert led.p.level == 0 and led.value() == 1
    button = hal.pin("button")
    assert button.p.pull == FakePin.PULL_UP
    button.p.level = 0  # pressed: pulled to ground
    assert button.value() == 1
    with pytest.raises(ValueError, match="'button' is an input"):
        button.on()
    assert hal.name() == "smartplug-10021e"


def test_p1_uart_is_inverted_and_raises_the_request_line(esp32):
    mod, _, _ = esp32
    hal = mod.Esp32Hal("smartmeter")
    u = hal.uart("p1")
    kw = FakeUART.made[-1].kw
    assert FakeUART.made[-1].uid == 2
    assert (kw["baudrate"], kw["bits"], kw["parity"], kw["stop"]) == (115200, 8, None, 1)
    assert kw["invert"] == FakeUART.INV_RX and kw["rx"] == 16 and kw["timeout"] == 0
    req = [p for p in FakePin.made if p.gpio == 4][0]
    assert req.level == 1
    u.reformat(9600, 7, 0, 1)
    assert FakeUART.made[-1].kw["bits"] == 7 and FakeUART.made[-1].kw["parity"] == 0
    assert u.format == (9600, 7, 0, 1)


def test_metering_uart_is_4800_8e1_not_inverted(esp32):
    mod, _, _ = esp32
    mod.Esp32Hal("smartplug").uart("metering")
    kw = FakeUART.made[-1].kw
    assert (kw["baudrate"], kw["bits"], kw["parity"], kw["stop"]) == (4800, 8, 0, 1) and "invert" not in kw


def test_board_json_overrides_the_pinout(esp32):
    mod, _, tmp = esp32
    (tmp / "board.json").write_text(json.dumps({"relay": [5, 0], "metering": {"rx": 3}}))
    hal = mod.Esp32Hal("smartplug", str(tmp))
    hal.pin("relay", 1)
    assert FakePin.made[-1].gpio == 5 and FakePin.made[-1].level == 0  # active low relay driver
    hal.uart("metering")
    assert FakeUART.made[-1].kw["rx"] == 3 and FakeUART.made[-1].uid == 1
    (tmp / "board.json").write_text("{oops")
    assert mod.Esp32Hal("smartplug", str(tmp)).pinout["relay"] == [12, 1]  # bad file: defaults


@pytest.mark.parametrize(("statuses", "result"), [
    ([1001, 1001, 1010], (True, None)),
    ([1001, 202], (False, "wrong password")),
    ([1001, 204], (False, "wrong password")),
    ([201], (False, "network not found")),
])
def test_wifi_connect_maps_the_station_status(esp32, statuses, result):
    mod, _, _ = esp32
    FakeWLAN.statuses = list(statuses)
    hal = mod.Esp32Hal("smartplug")
    assert asyncio.run(hal.wifi.connect("home", "pw", 5000)) == result
    assert hal.wifi.ap_start("smartplug-10021e") == "192.168.4.1"


def test_wall_clock_unknown_until_set_and_epoch_2000(esp32):
    mod, _, _ = esp32
    hal = mod.Esp32Hal("smartmeter")
    assert hal.time() is None
    hal.set_time(1_700_000_000)  # 2023-11-14 22:13:20 UTC
    assert FakeRTC.last[:3] == (2023, 11, 14) and FakeRTC.last[4:7] == (22, 13, 20)
    assert mod.epoch_offset() == 946684800
    assert hal.time() == 946684800  # the fake RTC reads 0 s after 2000-01-01
