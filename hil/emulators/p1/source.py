"""A meter that produces one telegram per period: meter state + profile + a load, no I/O, no clock.

The load decides the power flowing in each period: a callable taking the meter's UTC time and returning
keyword arguments for `MeterState.advance` (import_w, export_w, phase_import_w, voltage_v, gas_dm3_h...),
or `ConstantLoad`. The world models drive the same `MeterState` directly when they need finer steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from firmware.timebase import CET

from .encoder import Identity, encode_telegram
from .meter import MeterState
from .profiles import Profile

Load = Callable[[int], Mapping[str, Any]]


@attrs.frozen
class ConstantLoad:
    """The same power every period."""

    import_w: float = 0
    export_w: float = 0
    gas_dm3_h: float = 0

    def __call__(self, t: int) -> Mapping[str, Any]:
        """Return advance() arguments for the period ending at UTC time t."""
        return {'import_w': self.import_w, 'export_w': self.export_w, 'gas_dm3_h': self.gas_dm3_h}


def new_meter(profile: Profile, start_utc: int, std: int = CET, **kwargs: Any) -> MeterState:
    """Return a meter with the profile's phase count and gas capture rate (kwargs go to MeterState)."""
    return MeterState(start_utc, phases=profile.phases, std=std, gas_period_s=profile.gas_period_s,
                      gas_offset_s=profile.gas_offset_s, **kwargs)


@attrs.define
class Telegram:
    """One telegram produced: its number, the meter's clock in it, its bytes."""

    index: int
    meter_ts: int
    data: bytes


class TelegramSource:
    """Telegram k shows the meter at start + k * period, after the load of the period before it."""

    def __init__(self, profile: Profile, meter: MeterState, load: Load | None = None,
                 identity: Identity | None = None, period_s: float | None = None) -> None:
        """Produce the profile's telegrams from meter, driven by load (no power when None)."""
        self.profile = profile
        self.meter = meter
        self.load: Load = load or ConstantLoad()
        self.identity = identity or Identity()
        self.period_s = profile.period_s if period_s is None else period_s
        if self.period_s <= 0:
            raise ValueError('period_s: expected > 0 s, got %r' % (self.period_s,))
        self.produced = 0

    def next(self) -> Telegram:
        """Advance the meter by one period (none before the first telegram) and encode it."""
        dt = 0 if self.produced == 0 else self.period_s
        self.meter.advance(dt, **self.load(self.meter.t + round(dt)))
        t = Telegram(self.produced, self.meter.t, encode_telegram(self.meter, self.profile, self.identity))
        self.produced += 1
        return t

    def __iter__(self) -> Iterator[Telegram]:
        """Yield telegrams forever."""
        while True:
            yield self.next()
