"""The P1 side of a running rig: a meter fed by the world, and a line that can be pulled or go silent.

:class:`WorldSource` is a :class:`TelegramSource` whose load is the world's energy: each telegram
advances the meter by the telegram period (plus any time jump) with the average import and export power
the world integrated since the last telegram, at the world's mains voltage. It keeps the last telegrams
it produced for failure reports.

:class:`RigLine` is the P1 writer's fault injector, extended with the faults a test asks for on a
running rig: the cable pulled (cut mid-telegram, nothing until plugged back), a meter reboot (cut,
silent for a while, power-up noise before the first telegram) plus every on-demand fault of
:class:`FaultInjector` (``inject('bitflip')`` ...). Every fault is recorded with its expected effect on
the SmartMeter's reader counters.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from hil.emulators.p1.encoder import Identity, encode_telegram
from hil.emulators.p1.faults import FaultInjector, Transmission, end_mark, random_bytes
from hil.emulators.p1.meter import MeterState
from hil.emulators.p1.profiles import Profile
from hil.emulators.p1.source import Telegram, TelegramSource
from hil.emulators.p1.uart import UartFormat
from hil.rig.runtime.world import World

POWER_UP_NOISE = 6  # bytes a rebooting meter's UART puts on the line before its first telegram


class WorldSource(TelegramSource):
    """Telegrams of a meter whose load is the world's integrated energy."""

    def __init__(self, profile: Profile, meter: MeterState, world: World, period_s: float,
                 identity: Identity | None = None, keep: int = 20, follow_world: bool = False) -> None:
        """Meter ``meter`` in the profile's format, one telegram every ``period_s`` meter seconds.

        follow_world (realtime rigs): a telegram covers the rig time the world really ran since the last
        one, not the nominal period. A writer thread the host wakes 35 ms late then still shows the
        household's power (energy / the time it took), not 3.5 % more, and the meter's clock stays on
        rig time. On a virtual clock both are the same: telegrams go out at their exact instants.
        """
        super().__init__(profile, meter, None, identity, period_s)
        self.world = world
        self.follow_world = follow_world
        self.lock = threading.Lock()
        self.pending_jump = 0.0
        self.last: deque[Telegram] = deque(maxlen=keep)

    def jump(self, seconds: float) -> None:
        """Add ``seconds`` to the next telegram's period (the caller holds ``lock``)."""
        self.pending_jump += seconds

    def next(self) -> Telegram:
        """Advance the meter by the period (and any jump) with the world's average power, then encode."""
        with self.lock:
            m = self.meter
            imp_ws, exp_ws, span = self.world.take()
            if self.produced == 0:
                dt = 0.0
            elif self.follow_world:
                dt = span                # the world stepped through any jump too
            else:
                dt = float(self.period_s) + self.pending_jump
            self.pending_jump = 0.0
            volts = self.world.volts
            if dt > 0:
                m.advance(dt, import_w=imp_ws / dt, export_w=exp_ws / dt, voltage_v=volts)
            else:
                imp, exp = self.world.power_now()
                m.advance(0, import_w=imp, export_w=exp, voltage_v=volts)
            tg = Telegram(self.produced, m.t, encode_telegram(m, self.profile, self.identity))
            self.produced += 1
            self.last.append(tg)
            return tg

    def last_telegrams(self, n: int = 3) -> list[Telegram]:
        """Return the last ``n`` telegrams produced (oldest first)."""
        with self.lock:
            return list(self.last)[-n:]


class RigLine(FaultInjector):
    """Fault injector with a cable that stays out until plugged back and a meter that reboots."""

    def __init__(self, line: UartFormat, crc: bool = True, seed: int = 0) -> None:
        """Line settings and CRC use as for :class:`FaultInjector`."""
        super().__init__(line, crc, seed)
        self._state = "in"              # in | cutting | out | rebooting
        self._reboot_left = 0           # telegram periods still silent in a reboot
        self._noise_next = False
        self._cut_done = False

    @property
    def state(self) -> str:
        """'in' (telegrams flow), 'cutting' / 'out' (cable pulled), 'rebooting'."""
        with self._lock:
            return self._state

    def pull(self) -> None:
        """Pull the cable: the next telegram is cut off mid-way, nothing follows until :meth:`plug`."""
        with self._lock:
            if self._state == "in":
                self._state = "cutting"

    def plug(self) -> None:
        """Plug the cable back: the next telegram period sends a whole telegram."""
        with self._lock:
            if self._state in ("cutting", "out"):
                self._state = "in"

    def reboot(self, periods: int) -> None:
        """Reboot the meter: cut the next telegram, stay silent ``periods`` periods, then power-up noise."""
        if periods < 1:
            raise ValueError(f"meter reboot: expected at least 1 silent telegram period, got {periods}")
        with self._lock:
            self._state = "rebooting"
            self._reboot_left = periods + 1   # +1: the telegram cut off by the reboot itself

    def process(self, index: int, meter_ts: int, telegram: bytes) -> Transmission:
        """Apply the cable / reboot state, then the ordinary faults."""
        with self._lock:
            state = self._state
            noise = self._noise_next
            self._noise_next = False
        if state == "in":
            was_open = self._open
            tx = super().process(index, meter_ts, telegram)
            if not noise:
                return tx
            junk = random_bytes(POWER_UP_NOISE, self.rng)
            # noise after a cut-off telegram joins that open frame, which the next '/' ends as truncated
            rec = self._record("power_up_noise", index, meter_ts, {"bytes": junk},
                               {"garbage_bytes": 0 if was_open else POWER_UP_NOISE})
            self.log.append(rec)
            return Transmission(junk + tx.data, tx.delay_chars, (*tx.records, rec))
        with self._lock:
            if state == "cutting":
                self._state = "out"
                cut_now = True
            elif state == "rebooting":
                cut_now = not self._cut_done
                self._cut_done = True
                self._reboot_left -= 1
                if self._reboot_left <= 0:
                    self._state = "in"
                    self._noise_next = True
                    self._cut_done = False
            else:
                cut_now = False
        if cut_now:
            cut = self.rng.randrange(1, end_mark(telegram))
            kind = "meter_reboot" if state == "rebooting" else "cable_pull"
            rec = self._record(kind, index, meter_ts, {"cut": cut}, {"accepted": -1, "truncated": 1})
            self._open = True
            self.log.append(rec)
            return Transmission(telegram[:cut], 0, (rec,))
        rec = self._record("line_silent", index, meter_ts, {"why": state}, {"accepted": -1})
        self.log.append(rec)
        return Transmission(b"", 0, (rec,))

    def summary(self) -> dict[str, Any]:
        """Return the line state and how many faults of each kind were recorded."""
        kinds: dict[str, int] = {}
        for rec in self.log:
            kinds[rec.kind] = kinds.get(rec.kind, 0) + 1
        return {"state": self.state, "faults": kinds}
