"""The PowerDetector: a relay coil on a SmartPlug's output and a normally-open dry contact.

:class:`PowerDetector` is a pure state machine stepped with time: ``step(t, output_live)`` says
that from time ``t`` on the plug's output is live (or dead) and returns whether the contact is
closed at ``t``. The armature makes ``pickup_s`` after the coil is energised and releases
``dropout_s`` after it is de-energised; a pulse shorter than the pick-up time never closes the
contact, a gap shorter than the drop-out time never opens it. On every make the contact bounces
(a seeded number of open/close edges within ``bounce_s``). Faults: stuck open (a burnt contact),
stuck closed (a welded contact). :meth:`PowerDetector.resistance` is what a DMM across the
contact reads: ~0.05 ohm closed, overload (9.9e37) open.

Because the output is piecewise constant between steps, stepping at every output change and at
every read gives exact contact timing, however far apart the steps are.
:class:`LivePowerDetector` is that thin shell for a running rig (a clock and a lock).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import attrs

STUCK_OPEN = "stuck_open"
STUCK_CLOSED = "stuck_closed"
FAULTS = (STUCK_OPEN, STUCK_CLOSED)
OVERLOAD_OHM = 9.9e37
CONTACT_OHM = 0.05


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"PowerDetector.{attribute.name}: expected a time > 0 s, got {value!r}")


def _not_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0:
        raise ValueError(f"PowerDetector.{attribute.name}: expected a value >= 0, got {value!r}")


@attrs.define
class PowerDetector:
    """Coil, armature and contact of one PowerDetector (times in seconds, any origin)."""

    pickup_s: float = attrs.field(default=0.030, validator=_positive)
    dropout_s: float = attrs.field(default=0.020, validator=_positive)
    bounce_s: float = attrs.field(default=0.004, validator=_not_negative)
    max_bounces: int = attrs.field(default=3, validator=_not_negative)
    seed: int = 0
    contact_ohm: float = attrs.field(default=CONTACT_OHM, validator=_positive)
    fault: str | None = None
    coil: bool = False
    made: bool = False
    now: float | None = None
    pending: tuple[float, bool] | None = None  # (time, made) of the armature's next move
    bounce_start: float = 0.0
    bounce_edges: tuple[float, ...] = ()
    closed_ohm: float = CONTACT_OHM
    makes: int = 0
    _rng: random.Random = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.closed_ohm = self.contact_ohm
        if self.fault is not None:
            self.set_fault(self.fault)

    # --- inputs -------------------------------------------------------------------------------------
    def step(self, t: float, output_live: bool) -> bool:
        """Advance to ``t``, then apply the plug's output from ``t`` on; return the contact at ``t``."""
        if self.now is not None and t < self.now:
            raise ValueError(f"PowerDetector.step: time went backwards: t={t!r} after t={self.now!r}")
        self._advance(t)
        if output_live != self.coil:
            self.coil = output_live
            if output_live:
                self.pending = None if self.made else (t + self.pickup_s, True)
            else:
                self.pending = (t + self.dropout_s, False) if self.made else None
            self._advance(t)
        self.now = t
        return self.closed()

    def set_fault(self, fault: str | None) -> None:
        """Inject ``stuck_open`` or ``stuck_closed``; None clears it (the contact follows the coil again)."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(
                f"PowerDetector fault: expected one of {', '.join(FAULTS)} or None, got {fault!r}"
            )
        self.fault = fault

    # --- outputs ------------------------------------------------------------------------------------
    def closed(self) -> bool:
        """Return whether the contact conducts at the time of the last step."""
        if self.fault == STUCK_OPEN:
            return False
        if self.fault == STUCK_CLOSED:
            return True
        if not self.made:
            return False
        t = self.now if self.now is not None else 0.0
        passed = sum(1 for edge in self.bounce_edges if self.bounce_start + edge <= t)
        return passed % 2 == 0  # edges alternate open, close, ...; an even count leaves it closed

    def resistance(self) -> float:
        """Return what a DMM across the contact reads, in ohms (open: overload 9.9e37)."""
        if not self.closed():
            return OVERLOAD_OHM
        return self.contact_ohm if self.fault == STUCK_CLOSED else self.closed_ohm

    def next_change(self) -> float | None:
        """Return when the contact next changes if the output stays as it is (None: never)."""
        if self.fault is not None or self.now is None:
            return None
        times = [self.bounce_start + e for e in self.bounce_edges if self.bounce_start + e > self.now]
        if self.pending is not None:
            times.append(self.pending[0])
        return min(times) if times else None

    # --- internals ----------------------------------------------------------------------------------
    def _advance(self, t: float) -> None:
        if self.pending is None or self.pending[0] > t:
            return
        at, made = self.pending
        self.pending = None
        self.made = made
        if made:
            self.makes += 1
            self.bounce_start = at
            self.bounce_edges = self._bounce_schedule()
            self.closed_ohm = self.contact_ohm * self._rng.uniform(0.8, 1.2)
        else:
            self.bounce_edges = ()

    def _bounce_schedule(self) -> tuple[float, ...]:
        if self.bounce_s <= 0 or self.max_bounces <= 0:
            return ()
        bounces = self._rng.randint(1, self.max_bounces)
        edges = sorted(self._rng.uniform(0.0, self.bounce_s) for _ in range(2 * bounces))
        return tuple(edges)


class LivePowerDetector:
    """A PowerDetector in a running rig: steps on output changes and on reads, under one lock.

    Hand :meth:`resistance` to the DMM emulator as its resistance world, and call
    :meth:`set_output` whenever the plug's relay line changes.
    """

    def __init__(self, detector: PowerDetector, clock: Callable[[], float]) -> None:
        self.detector = detector
        self.clock = clock
        self.output_live = False
        self.lock = threading.Lock()

    def set_output(self, live: bool) -> bool:
        """Record the plug's output changing now; returns the contact state."""
        with self.lock:
            self.output_live = live
            return self.detector.step(self.clock(), live)

    def contact_closed(self) -> bool:
        """Return the contact state now."""
        with self.lock:
            return self.detector.step(self.clock(), self.output_live)

    def resistance(self) -> float:
        """Return the contact resistance now (the DMM's world callback)."""
        with self.lock:
            self.detector.step(self.clock(), self.output_live)
            return self.detector.resistance()

    def set_fault(self, fault: str | None) -> None:
        """Inject or clear a fault (see :meth:`PowerDetector.set_fault`)."""
        with self.lock:
            self.detector.set_fault(fault)
