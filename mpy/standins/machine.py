"""Stand-in for the ESP32 port's `machine` module: enough for firmware/hal/esp32.py to build a board.

For the memory measurement only (mpy/memory.py): pins remember their level, UARTs read nothing, the RTC
takes the time. It is not part of any image and holds no state worth measuring.
"""


class Pin:
    IN = 1
    OUT = 3
    PULL_UP = 2
    PULL_DOWN = 1

    def __init__(self, gpio, mode=IN, pull=None, value=None):
        self.gpio = gpio
        self.v = value or 0

    def value(self, v=None):
        if v is None:
            return self.v
        self.v = v


class UART:
    INV_RX = 4

    def __init__(self, n, **kw):
        self.n = n

    def init(self, **kw):
        pass

    def read(self, n=-1):
        return None

    def any(self):
        return 0

    def write(self, b):
        return len(b)

    def deinit(self):
        pass


class RTC:
    def datetime(self, t=None):
        return t


def unique_id():
    return b'\x24\x6f\x28\x10\x02\x1e'


def reset():
    raise SystemExit('machine.reset()')
