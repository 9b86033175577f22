"""`HostHal`: the HAL object an app gets on an emulated board (same surface as firmware/hal/esp32.py).

Built from a `BoardConfig`: UARTs are the configured pyserial URLs, GPIO lines are files in
`<io_dir>/gpio`, WiFi is the configured table, mDNS goes through zeroconf on loopback, flash is the
configured folder, the unique id is the configured MAC. See firmware/hal/__init__.py for the surface.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from firmware.hal import TICKS_MAX, pin_direction, ticks_diff, uart_format

from .config import BoardConfig
from .gpio import GpioFolder, HostPin
from .mdns import HostMdns
from .rigloop import BoardClock, current, install
from .uart import HostUart
from .wifi import HostWifi

RESET_EXIT_CODE = 75  # reset mode "exit": the supervising rig restarts the process
RESET_CAUSE_ENV = "HIL_BOARD_RESET_CAUSE"  # carried across a re-exec: why the last reset happened
LWIP_SND_BUF = 5744   # bytes: the ESP32's TCP send buffer (CONFIG_LWIP_TCP_SND_BUF_DEFAULT)
TLS_OUT_BUF = 4096    # bytes: mbedTLS's output record buffer in MicroPython's ESP32 build



def _lwip_send_buffer(writer: asyncio.StreamWriter) -> None:
    """Give a connection's socket a send buffer as small as lwIP's (where the kernel lets us)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, LWIP_SND_BUF)
        except OSError:
            pass

class HostHal:
    """Everything physical about one emulated board."""

    def __init__(self, config: BoardConfig) -> None:
        """Create the flash and io folders; lines are opened on first use."""
        self.config = config
        self.kind = config.kind
        self.flash_root = str(config.flash)
        config.flash.mkdir(parents=True, exist_ok=True)
        io_dir = Path(config.io_dir or config.flash.with_name(config.flash.name + ".io"))
        self.gpio = GpioFolder(io_dir / "gpio")
        self.wifi = HostWifi(config.networks, io_dir, sta_ip=config.sta_ip, ap_ip=config.http_host_port[0],
                             assoc_s=config.wifi_assoc_s)
        self.mdns = HostMdns(config.mdns_interface, config.sta_ip, config.mdns_suffix)
        self._uarts: dict[str, HostUart] = {}
        self._pins: dict[str, HostPin] = {}
        # on a rig (HIL_RIG_CLOCK in the environment): asyncio, ticks_ms and time() follow the rig's clock
        self.clock: BoardClock | None = current() or install()
        self._time_offset: float | None = 0.0 if config.wall_clock else None
        self._reset_cause = os.environ.pop(RESET_CAUSE_ENV, "power on")
        self.io_dir = io_dir

    # flash faults the rig injects
    def flash_fault(self, name: str) -> bool:
        """Whether a write of flash file `name` must fail now: `<io_dir>/flash_fail` lists names (or `*`).

        The rig writes that file to make writes fail (a worn or full flash); removing it heals the flash.
        """
        try:
            text = (self.io_dir / "flash_fail").read_text(encoding="utf-8")
        except FileNotFoundError:
            return False
        names = text.split()
        return "*" in names or name in names

    # the ESP32's limits
    def http_sockets(self) -> int:
        """Client connections the web server may hold at once: the ESP32's socket budget.

        MicroPython's ESP32 port builds lwIP with 16 sockets (CONFIG_LWIP_MAX_SOCKETS); the listening
        socket, the mDNS responder's two and the plug's outgoing HTTP client take four: 12 (board config
        `http_sockets`).
        """
        return self.config.http_sockets

    def http_accepted(self, writer: asyncio.StreamWriter) -> None:
        """Make a connection's buffers as small as lwIP's.

        A client that does not read then blocks the writer the way it would on the device (no megabytes
        of kernel and asyncio buffers on the way).
        """
        _lwip_send_buffer(writer)
        transport = writer.transport
        if hasattr(transport, "set_write_buffer_limits"):
            transport.set_write_buffer_limits(high=0)  # drain() waits until the kernel took everything

    def tls_sessions(self) -> int:
        """TLS sessions the HTTPS server may hold at once (board config `tls_sessions`, default 2).

        Each costs mbedTLS about 25-30 KiB of the ESP32's heap (docs/security.md): the budget keeps the
        emulated board as short of sessions as the device.
        """
        return self.config.tls_sessions

    async def tls_listen(self, cb: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
                         host: str, port: int, ctx: ssl.SSLContext) -> asyncio.Server:
        """Listen for the HTTPS server: plain TCP whose connections read nothing until tls_accept.

        A stream would read the client's first TLS bytes before the server could count the connection and
        hand it to the handshake (which then never sees them): the connections start paused. ctx is
        tls_accept's to use (the ESP32's HAL gives it to asyncio's start_server).
        """
        loop = asyncio.get_running_loop()
        return await loop.create_server(lambda: _PausedStream(asyncio.StreamReader(), cb), host, port)

    async def tls_accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         ctx: ssl.SSLContext, timeout_s: float) -> str | None:
        """Shake hands on an accepted connection inside the HTTPS server's budget: None, or why not.

        On MicroPython the handshake runs in the connection's first read, after the server counted it;
        CPython's `start_server(ssl=...)` would shake hands before the server sees the connection, so the
        server listens plain and this upgrades (within timeout_s, as the device's read timeout).
        """
        _lwip_send_buffer(writer)
        try:
            await asyncio.wait_for(writer.start_tls(ctx), timeout_s)
        except asyncio.TimeoutError:
            return "timeout"
        except (ssl.SSLError, OSError) as e:
            return f"handshake: {e!r}"
        transport = writer.transport
        if hasattr(transport, "set_write_buffer_limits"):
            # mbedTLS's output buffer on the ESP32 (CONFIG_MBEDTLS_SSL_OUT_CONTENT_LEN, 4 KiB); 0 as on
            # plain connections would stall the TLS transport, which always holds a record's remainder
            transport.set_write_buffer_limits(high=TLS_OUT_BUF)
        return None

    def host_names(self) -> list[str]:
        """Extra Host names this board answers to: its mDNS name with the rig's suffix."""
        if not self.config.mdns_suffix:
            return []
        return [f"{self.config.name}{self.config.mdns_suffix}.local"]

    # identity
    def unique_id(self) -> bytes:
        """Return the board's MAC (6 bytes)."""
        return self.config.mac_bytes

    def name(self) -> str:
        """Return 'smartmeter' or 'smartplug-xxxxxx'."""
        return self.config.name

    # lines
    def uart(self, name: str) -> HostUart:
        """Open (once) the named UART at its board format; 'p1' also raises the data-request line."""
        if name not in self._uarts:
            baud, bits, parity, stop = uart_format(self.kind, name)
            url = self.config.uarts.get(name)
            if url is None:
                raise ValueError(f"UART {name!r} of this {self.kind} is not wired: give its pyserial URL "
                                 f"in the board config (uarts: {{{name}: URL}})")
            self._uarts[name] = HostUart(url, baud, bits, parity, stop, rxbuf=self.config.rxbuf)
            if self.clock is not None:
                self.clock.uarts[name] = self._uarts[name]   # virtual time waits for bytes in flight
            if name == "p1":
                self.pin("p1_request", 1)
        return self._uarts[name]

    def pin(self, name: str, value: int | None = None) -> HostPin:
        """Return the named GPIO line (an output starts at value, or 0 as after reset)."""
        if name in self._pins:
            p = self._pins[name]
            if value is not None:
                p.value(value)
            return p
        p = HostPin(self.gpio, name, pin_direction(self.kind, name), value)
        self._pins[name] = p
        return p

    # network
    def http_bind(self) -> tuple[str, int]:
        """Where the web server listens."""
        return self.config.http_host_port

    def https_bind(self) -> tuple[str, int]:
        """Where the HTTPS server listens (the ESP32: port 443)."""
        return self.config.https_host_port

    def mdns_start(self, host: str, services: list[tuple[str, int, dict[str, str]]]) -> None:
        """Answer host.local and advertise services (plus the web server as _http._tcp); never blocks."""
        if self.config.mdns:
            self.mdns.start(host, services, self.config.http_host_port[1])

    def mdns_stop(self) -> None:
        """Withdraw the advertisements (in the background)."""
        self.mdns.stop()

    async def mdns_resolve(self, host: str, timeout_ms: int = 3000) -> tuple[str, int] | None:
        """Find another board's web server by its mDNS name: (address, port) or None."""
        if not self.config.mdns:
            return None
        return await asyncio.to_thread(self.mdns.resolve, host, "_http._tcp", timeout_ms)

    # time
    def ticks_ms(self) -> int:
        """Return monotonic milliseconds, wrapping at 2**30 like MicroPython's (rig time on a rig)."""
        if self.clock is not None:
            return self.clock.ticks_ms() & TICKS_MAX
        return int(time.monotonic() * 1000) & TICKS_MAX

    def ticks_diff(self, a: int, b: int) -> int:
        """Return a - b for wrapping ticks."""
        return ticks_diff(a, b)

    def _wall(self) -> float:
        """Return the host's (or the rig's) UTC seconds."""
        return time.time() if self.clock is None else self.clock.now_us() / 1e6

    def time(self) -> int | None:
        """UTC epoch seconds, or None while the board does not know the time."""
        if self._time_offset is None:
            return None
        return int(self._wall() + self._time_offset)

    def set_time(self, t: int) -> None:
        """Set the wall clock (e.g. from the meter's timestamp)."""
        self._time_offset = t - self._wall()

    # OTA (firmware/ota): what images this board takes, its flash space, the watchdog
    @property
    def hw_rev(self) -> int:
        """Return the board's hardware revision."""
        return self.config.hw_rev

    @property
    def mpy_abi(self) -> int:
        """Return the .mpy version the board's MicroPython loads."""
        return self.config.mpy_abi

    ota_flavor = "py"  # emulated boards install the image's sources; an ESP32 its .mpy files

    def flash_free(self) -> int:
        """Return the bytes free in the flash folder (within flash_size when one is configured)."""
        if self.config.flash_size is None:
            st = os.statvfs(self.flash_root)
            return st.f_bavail * st.f_frsize
        used = sum(p.stat().st_size for p in Path(self.flash_root).rglob("*") if p.is_file())
        return max(0, self.config.flash_size - used)

    def reset_cause(self) -> str:
        """Return why this boot happened: 'power on', 'soft' (reset()) or 'watchdog'."""
        return self._reset_cause

    def watchdog(self, timeout_ms: int) -> HostWatchdog:
        """Arm the watchdog: reset() unless feed() comes within timeout_ms (by this HAL's clock)."""
        return HostWatchdog(self, timeout_ms)

    # lifecycle
    def reset(self) -> None:
        """Restart the firmware: re-execute this process (or exit for the rig to restart it)."""
        os.environ.setdefault(RESET_CAUSE_ENV, "soft")
        self.close()
        sys.stdout.flush()
        sys.stderr.flush()
        if self.config.reset == "exec":
            os.execv(sys.executable, sys.orig_argv)  # the same command line, `-m` included
        os._exit(RESET_EXIT_CODE)

    def close(self) -> None:
        """Release lines and advertisements (the files in flash and io stay)."""
        for u in self._uarts.values():
            u.close()
        self._uarts.clear()
        self.mdns.close()


class _PausedStream(asyncio.StreamReaderProtocol):
    """A server stream that reads nothing until its TLS handshake starts (HostHal.tls_listen)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Pause reading, then be the usual stream."""
        transport.pause_reading()  # type: ignore[attr-defined]
        super().connection_made(transport)


class HostWatchdog:
    """machine.WDT on the host: a thread that resets the board when nobody fed it for timeout_ms.

    Time is the HAL's ticks_ms (the board's clock), so a hung application, even one spinning in Python
    and holding the interpreter, is reset as on the ESP32. Like machine.WDT it cannot be stopped.
    """

    def __init__(self, hal: HostHal, timeout_ms: int) -> None:
        """Arm it and start watching."""
        self.hal = hal
        self.timeout_ms = timeout_ms
        self.fed = hal.ticks_ms()
        self.feeds = 0
        threading.Thread(target=self._watch, name="watchdog", daemon=True).start()

    def feed(self) -> None:
        """Restart the countdown."""
        self.fed = self.hal.ticks_ms()
        self.feeds += 1

    def _watch(self) -> None:
        while True:
            time.sleep(0.05)
            if self.hal.ticks_diff(self.hal.ticks_ms(), self.fed) > self.timeout_ms:
                print(f"watchdog: not fed for {self.timeout_ms} ms; resetting", flush=True)
                os.environ[RESET_CAUSE_ENV] = "watchdog"
                self.hal.reset()
