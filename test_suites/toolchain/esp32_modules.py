"""The modules a `firmware/` file may import: what MicroPython's ESP32 port provides, plus our own.

Sources (checked for MicroPython 1.2x, the generic ESP32 board):
- https://docs.micropython.org/en/latest/library/index.html - the built-in modules ("Python standard
  libraries and micro-libraries", "MicroPython-specific libraries", "Libraries specific to the ESP8266
  and ESP32": esp, esp32, espnow). Availability per port is decided by the port's configuration:
- micropython/micropython ports/esp32/mpconfigport.h - MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES (array,
  binascii, cmath, collections, errno, hashlib, heapq, io, json, math, os, platform, random, re, select,
  struct, time, uctypes, deflate, framebuf, ...) and the port's extras: machine, network (WLAN), socket,
  ssl/tls (mbedTLS), cryptolib, hashlib sha1/sha256, btree, onewire, webrepl, websocket, bluetooth
  (NimBLE), espnow, _thread. MICROPY_FLOAT_IMPL_FLOAT: floats are 32-bit on the device.
- micropython/micropython ports/esp32/boards/manifest.py - the frozen Python modules:
  ports/esp32/modules (_boot, inisetup, flashbdev, apa106, espnow), extmod/asyncio, the
  micropython-lib "bundle-networking" (mip, ntptime, requests, urequests, webrepl, ssl), aioespnow, dht,
  ds18x20, neopixel, onewire, umqtt.simple, umqtt.robust, upysh.
- microdot: not part of MicroPython; the SmartMeter/SmartPlug image installs it (pyproject lists the
  same package for the host), so the firmware may import it.
Not available on the device, hence refused here: typing, dataclasses, enum, abc, pathlib, datetime,
logging (micropython-lib, not frozen), os.path, threading, serial, anything from PyPI but microdot.
"""

# Built into the firmware image (C modules), by their current (non u-prefixed) names.
BUILTIN = frozenset({
    "array", "asyncio", "binascii", "bluetooth", "btree", "builtins", "cmath", "collections", "cryptolib",
    "deflate", "errno", "esp", "esp32", "espnow", "framebuf", "gc", "hashlib", "heapq", "io", "json",
    "machine", "math", "micropython", "network", "os", "platform", "random", "re", "select", "socket",
    "ssl", "struct", "sys", "time", "tls", "uctypes", "vfs", "websocket", "_thread",
})

# Frozen into the generic ESP32 image from Python sources (ports/esp32/boards/manifest.py).
FROZEN = frozenset({
    "aioespnow", "apa106", "dht", "ds18x20", "mip", "neopixel", "ntptime", "onewire", "requests",
    "umqtt", "umqtt.robust", "umqtt.simple", "upysh", "urequests", "webrepl", "webrepl_setup",
})

# Installed on our devices next to the firmware (not part of MicroPython).
# microdot.multipart reads the OTA form upload (firmware/ota/http.py); the image manifests carry it.
INSTALLED = frozenset({"microdot", "microdot.multipart"})

ALLOWED = BUILTIN | FROZEN | INSTALLED

# `from X import Y` where Y is a submodule CPython has and the device lacks.
MISSING_SUBMODULES = frozenset({("os", "path"), ("collections", "abc"), ("asyncio", "subprocess")})


def allowed(module: str) -> bool:
    """Whether `import module` works on the ESP32 (our own `firmware.*` packages are checked apart).

    A dotted name must be listed itself (umqtt.simple): `os.path` is refused although `os` is fine.
    """
    return module in ALLOWED
