"""CSE7766 metering-chip emulator: the frames a SmartPlug's chip sends for a given voltage, current, power.

Two layers:

- `Cse7766Chip` is pure (no I/O, no wall clock): `frame(dt_ms)` advances the chip by dt_ms of virtual
  time under the present load and returns the bytes it sends for that frame, faults included. It keeps
  the CF pulse register exactly: energy is integrated in integer microjoules, one pulse is `coef.p` uJ,
  the 16-bit register wraps and toggles bit 7 of the adjustment byte on each wrap, as the chip does.
- `Cse7766Emulator` runs a chip in real time on a serial line (any pyserial URL, a pty pair in tests)
  at 4800 baud 8E1, one frame every `period_s` (~105 ms, as captures of real chips show).

The register layout is documented in `firmware/metering/cse7766.py` and docs/cse7766.md. Measured values
become registers like a real chip does it: cycle = coefficient / value (a period in us), so the decoder's
value = coefficient / cycle reproduces the value to the register's resolution. A register is flagged as
refreshed in a frame only when one full period of its signal fitted since the last refresh, so at low
power the power register refreshes every few seconds, as on the real chip. Below `no_load_w` the chip
cannot time the power period: state 0xF2, power not refreshed, and the current register holds noise.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType

import attrs
import serial

FRAME_LEN = 24
MAX_BURST = 12    # clocked mode: frames sent at once at most (the UART's 4 KB buffer holds 170)
PERIOD_S = 0.105  # frame pace of real chips (Tasmota/ESPEasy captures: one frame every 101-109 ms)
UART_SETTINGS = {"baudrate": 4800, "bytesize": serial.EIGHTBITS, "parity": serial.PARITY_EVEN,
                 "stopbits": serial.STOPBITS_ONE}
MAX24 = 0xFFFFFF


def checksum(frame: bytes | bytearray) -> int:
    """Low byte of the sum of bytes 2..22."""
    return sum(frame[2:23]) & 0xFF


def encode_frame(state: int, v_param: int, v_cycle: int, i_param: int, i_cycle: int, p_param: int,
                 p_cycle: int, adj: int, cf: int, check: int = 0x5A) -> bytes:
    """Build the 24 bytes of one frame, checksum included (registers 24-bit big-endian, cf 16-bit).

    The frame is composed as one 192-bit integer: a rig's three plugs send ~30 frames per rig second,
    and this is the rig's hottest loop.
    """
    if not (0 <= v_param <= MAX24 and 0 <= v_cycle <= MAX24 and 0 <= i_param <= MAX24
            and 0 <= i_cycle <= MAX24 and 0 <= p_param <= MAX24 and 0 <= p_cycle <= MAX24
            and 0 <= cf <= 0xFFFF and 0 <= state <= 0xFF and 0 <= adj <= 0xFF):
        _refuse(v_param=v_param, v_cycle=v_cycle, i_param=i_param, i_cycle=i_cycle, p_param=p_param,
                p_cycle=p_cycle, cf=cf, state=state, adj=adj)
    body = ((state << 184) | (check << 176) | (v_param << 152) | (v_cycle << 128) | (i_param << 104)
            | (i_cycle << 80) | (p_param << 56) | (p_cycle << 32) | (adj << 24) | (cf << 8))
    b = body.to_bytes(FRAME_LEN, "big")
    return (body | checksum(b)).to_bytes(FRAME_LEN, "big")


def _refuse(**regs: int) -> None:
    """Raise for the first register whose value does not fit it."""
    for name, v in regs.items():
        top = 0xFFFF if name == "cf" else 0xFF if name in ("state", "adj") else MAX24
        if not 0 <= v <= top:
            raise ValueError(f"{name} = {v} does not fit its register (0..{top})")


@attrs.frozen
class Coefficients:
    """The chip's factory calibration registers (constant per chip). Defaults: a real Sonoff POW R2."""

    v: int = attrs.field(default=0x02F760, validator=attrs.validators.in_(range(1, MAX24 + 1)))
    i: int = attrs.field(default=0x004010, validator=attrs.validators.in_(range(1, MAX24 + 1)))
    p: int = attrs.field(default=0x51A658, validator=attrs.validators.in_(range(1, MAX24 + 1)))


@attrs.frozen
class Faults:
    """Per-frame probabilities of the faults a real chip and its UART line show."""

    garbage: float = 0.0         # random bytes (1..8) before the frame (line noise)
    bad_checksum: float = 0.0    # one payload byte flipped in transit
    not_calibrated: float = 0.0  # state 0xAA frame instead of a measurement
    truncated: float = 0.0       # frame cut off part-way (chip brown-out / reset)
    dropped: float = 0.0         # frame never sent
    jitter: float = 0.0          # relative measurement noise on every cycle register (e.g. 0.002)

    def __attrs_post_init__(self) -> None:
        """Reject probabilities outside 0..1 when the faults are built."""
        for f in attrs.fields(Faults):
            v = getattr(self, f.name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"fault {f.name} = {v}: expected a probability between 0 and 1")


@attrs.define
class Load:
    """What the plug's output draws: RMS volts and amps, active watts."""

    volts: float = 230.0
    amps: float = 0.0
    watts: float = 0.0


@attrs.define
class Injected:
    """How many faults the chip injected, by kind (tests compare the decoder's counters with these)."""

    frames: int = 0
    garbage: int = 0
    garbage_bytes: int = 0
    bad_checksum: int = 0
    not_calibrated: int = 0      # intact 0xAA frames sent
    truncated: int = 0
    dropped: int = 0
    no_load: int = 0


class Cse7766Chip:
    """Pure model of one chip: load in, frames out, CF pulses integrated exactly."""

    def __init__(self, coef: Coefficients | None = None, faults: Faults | None = None, seed: int = 0,
                 no_load_w: float = 1.0, cf_start: int = 0) -> None:
        """Build a chip with its coefficients; cf_start is the CF register at power-on (any value)."""
        self.coef = coef or Coefficients()
        self.faults = faults or Faults()
        self.rng = random.Random(seed)
        self.no_load_w = no_load_w
        self.load = Load()
        self.energy_uj = 0          # energy integrated since power-on, exact
        self.pulses = 0             # CF pulses since power-on
        self.cf_start = cf_start & 0xFFFF
        self.pf_toggle = 0          # bit 7 of adj, toggled on every CF wrap
        self.injected = Injected()
        self._since_us = {"v": 0, "i": 0, "p": 0}
        self._last = {"v": 0, "i": 0, "p": 0}

    @property
    def cf(self) -> int:
        """The 16-bit CF pulse register."""
        return (self.cf_start + self.pulses) & 0xFFFF

    def set_load(self, volts: float, amps: float, watts: float) -> None:
        """Set the load from now on (negative values are refused: the chip measures magnitudes)."""
        if volts < 0 or amps < 0 or watts < 0:
            raise ValueError(f"load must be non-negative, got {volts} V, {amps} A, {watts} W")
        self.load = Load(volts, amps, watts)

    def _cycle(self, param: int, value: float) -> int:
        """Period register for a value: param / value us, with the configured jitter, clamped to 24 bits."""
        c = param / value
        if self.faults.jitter:
            c *= 1.0 + self.rng.uniform(-self.faults.jitter, self.faults.jitter)
        if not c < MAX24:  # also a value so small that the period is infinite
            return MAX24
        return max(1, round(c))

    def _refreshed(self, key: str, cycle_us: int, dt_us: int) -> bool:
        """Whether a full period of the signal fitted since the register's last refresh."""
        self._since_us[key] += dt_us
        if self._since_us[key] >= cycle_us:
            self._since_us[key] %= max(cycle_us, 1)
            return True
        return False

    def advance(self, dt_ms: int) -> None:
        """Integrate the present power over dt_ms into the CF pulse register."""
        before = self.cf_start + self.pulses
        self.energy_uj += round(self.load.watts * dt_ms * 1000)
        self.pulses = self.energy_uj // self.coef.p
        wraps = (self.cf_start + self.pulses) // 0x10000 - before // 0x10000
        if wraps % 2:
            self.pf_toggle ^= 0x80

    def measurement(self, dt_ms: int) -> bytes:
        """Advance dt_ms under the present load; return the well-formed frame the chip sends."""
        self.advance(dt_ms)
        dt_us = dt_ms * 1000
        co = self.coef
        ld = self.load
        adj = self.pf_toggle | 0x01
        state = 0x55
        vc = self._cycle(co.v, ld.volts) if ld.volts > 0 else MAX24
        if ld.volts > 0 and self._refreshed("v", vc, dt_us):
            adj |= 0x40
            self._last["v"] = vc
        if ld.watts >= self.no_load_w:
            pc = self._cycle(co.p, ld.watts)
            if self._refreshed("p", pc, dt_us):
                adj |= 0x10
                self._last["p"] = pc
            ic = self._cycle(co.i, ld.amps) if ld.amps > 0 else MAX24
            if ld.amps > 0 and self._refreshed("i", ic, dt_us):
                adj |= 0x20
                self._last["i"] = ic
        else:
            # no load: the power period is too long to time; the current register holds noise
            state = 0xF2
            self.injected.no_load += 1
            self._since_us["p"] = 0
            self._last["p"] = self.rng.randrange(0x10000, MAX24)
            noise_a = ld.amps if ld.amps > 0 else self.rng.uniform(0.02, 0.09)
            self._last["i"] = self._cycle(co.i, noise_a)
            adj |= 0x20
        return encode_frame(state, co.v, self._last["v"] or vc, co.i, self._last["i"] or MAX24, co.p,
                            self._last["p"] or MAX24, adj, self.cf)

    def not_calibrated_frame(self) -> bytes:
        """Return what an uncalibrated chip sends: state 0xAA, registers without meaning."""
        regs = [self.rng.randrange(0, MAX24) for _ in range(6)]
        return encode_frame(0xAA, *regs, adj=self.rng.randrange(256), cf=self.cf)

    def frame(self, dt_ms: int) -> bytes:
        """Advance one frame period of dt_ms; return the bytes on the line: a frame, maybe damaged."""
        f = self.faults
        r = self.rng
        inj = self.injected
        out = b""
        if f.garbage and r.random() < f.garbage:
            n = r.randint(1, 8)
            out += bytes(r.randrange(256) for _ in range(n))
            inj.garbage += 1
            inj.garbage_bytes += n
        uncalibrated = bool(f.not_calibrated) and r.random() < f.not_calibrated
        if uncalibrated:
            self.advance(dt_ms)
            body = self.not_calibrated_frame()
        else:
            body = self.measurement(dt_ms)
        if f.dropped and r.random() < f.dropped:
            inj.dropped += 1
            return out
        if f.bad_checksum and r.random() < f.bad_checksum:
            b = bytearray(body)
            pos = r.randrange(2, FRAME_LEN)
            b[pos] ^= 1 << r.randrange(8)
            body = bytes(b)
            inj.bad_checksum += 1
        elif f.truncated and r.random() < f.truncated:
            body = body[: r.randrange(1, FRAME_LEN)]
            inj.truncated += 1
        elif uncalibrated:
            inj.not_calibrated += 1  # counted when it reaches the line intact
        inj.frames += 1
        return out + body


class Cse7766Emulator:
    """A chip sending frames on a serial line in real time (4800 8E1) from a background thread."""

    def __init__(self, url: str, chip: Cse7766Chip | None = None, period_s: float = PERIOD_S,
                 gate: Callable[[], bool] | None = None) -> None:
        """Open the line (any pyserial URL); frames start with `start()`.

        gate, when given, says before every frame whether the plug's output is live (its relay closed):
        while it is not, the chip measures the mains voltage and no current, whatever the load.
        """
        if period_s <= 0:
            raise ValueError(f"period_s must be positive, got {period_s}")
        self.url = url
        self.chip = chip or Cse7766Chip()
        self.period_s = period_s
        self.gate = gate
        self.load = self.chip.load
        self.port = serial.serial_for_url(url, **UART_SETTINGS, write_timeout=2)
        self.lock = threading.Lock()
        self.sent_frames = 0
        self.sent_bytes = 0
        # (monotonic time, chip pulses since power-on, CF register) of every write, newest last
        self.log: deque[tuple[float, int, int]] = deque(maxlen=100_000)
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._clock_ms: int | None = None   # clocked mode: the chip's time (ms) and its next frame's
        self._next_ms = 0
        self._rephase = False

    def set_load(self, volts: float, amps: float, watts: float) -> None:
        """Change the load behind the plug (thread-safe; takes effect from the next frame on)."""
        with self.lock:
            self.chip.set_load(volts, amps, watts)
            self.load = self.chip.load

    def _apply_gate(self) -> None:
        try:
            live = bool(self.gate())  # type: ignore[misc]
        except (OSError, ValueError):  # the rig's line is unreadable for a moment: keep the last state
            return
        ld = self.load
        self.chip.set_load(ld.volts, ld.amps if live else 0.0, ld.watts if live else 0.0)

    def clocked(self, until_ms: int, powered: bool = True) -> int:
        """Clocked mode (a rig's virtual clock): send the frames due by ``until_ms``; return how many.

        The first call sets the phase. Frames are due every ``period_s``; at most ``MAX_BURST`` go out at
        once: after a long step (a jump) the first of them covers the time before, so the CF pulses (the
        energy) stay exact. ``powered`` False: the chip has no supply (its plug is off): nothing is sent.
        """
        period = round(self.period_s * 1000)
        if self._rephase and self._clock_ms is not None and until_ms > self._clock_ms:
            self._rephase = False
            self._next_ms = until_ms
            return self.clocked(until_ms, powered)
        if self._clock_ms is None:
            self._clock_ms = self._next_ms = until_ms
            self._next_ms += period
            return 0
        if until_ms < self._next_ms:
            return 0
        n = (until_ms - self._next_ms) // period + 1
        last = self._next_ms + (n - 1) * period
        times = [last - i * period for i in range(min(n, MAX_BURST) - 1, -1, -1)]
        burst = bytearray()
        sent = 0
        for t in times:
            with self.lock:
                if self.gate is not None:
                    self._apply_gate()
                data = self.chip.frame(t - self._clock_ms) if powered else b""
            self._clock_ms = t
            if data:
                burst += data
                self.sent_frames += 1
                self.log.append((t / 1000, self.chip.pulses, self.chip.cf))
                sent += 1
        if burst:
            # one write for the frames of one instant: they reach the board together, however busy the
            # host (written one by one, how many of them a read returns would depend on the scheduler)
            self.port.write(bytes(burst))
            self.sent_bytes += len(burst)
        self._next_ms = last + period
        return sent

    def rephase(self) -> None:
        """Clocked mode: restart the frame schedule at the next :meth:`clocked` call.

        That call sends one frame with the energy since the last one (exact as ever) and the frames go on
        every period from there: the same phase after every rephase at the same instant of a grid.
        """
        self._rephase = True

    def start(self) -> Cse7766Emulator:
        """Start sending frames."""
        self._thread = threading.Thread(target=self._run, name=f"cse7766 {self.url}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        t_prev = time.monotonic()
        t_next = t_prev
        try:
            while not self._stop.is_set():
                t_next += self.period_s
                if self._stop.wait(max(0.0, t_next - time.monotonic())):
                    break
                now = time.monotonic()
                with self.lock:
                    if self.gate is not None:
                        self._apply_gate()
                    data = self.chip.frame(round((now - t_prev) * 1000))
                t_prev = now
                if data:
                    self.port.write(data)
                    self.sent_bytes += len(data)
                    self.sent_frames += 1
                    self.log.append((now, self.chip.pulses, self.chip.cf))
        except (OSError, serial.SerialException) as e:  # the line went away: report, do not hang
            self.error = e

    def stop(self) -> None:
        """Stop sending and close the line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.port.close()

    def __enter__(self) -> Cse7766Emulator:
        """Start on entering a with-block."""
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Stop on leaving it."""
        self.stop()
