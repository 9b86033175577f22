"""The power analyzer's energy integrator as a pure state machine (Yokogawa WT310 NORMal mode).

States as ``:INTEGrate:STATe?`` names them: RESet (zeroed), STARt (running), STOP (held),
TIMeup (stopped by the integration timer). Energy is accumulated from samples fed with their
time; the caller decides when samples happen (the emulator's update-rate ticker).
"""

from __future__ import annotations

import attrs

from hil.emulators.instruments.scpi import EXECUTION_ERROR, ScpiError
from hil.emulators.instruments.world import AcSample

RESET = "RESet"
START = "STARt"
STOP = "STOP"
TIMEUP = "TIMeup"


@attrs.define
class Integrator:
    """Accumulates Wh (total, positive WH+, negative WH-), Ah and elapsed seconds while running."""

    timer_s: float = 0.0  # 0: no timer
    state: str = RESET
    seconds: float = 0.0
    wh: float = 0.0
    whp: float = 0.0
    whm: float = 0.0
    ah: float = 0.0
    last_t: float = 0.0

    def start(self, t: float) -> None:
        """Start (or resume after STOP); an error while running or after a time-up."""
        if self.state == START:
            raise ScpiError(EXECUTION_ERROR, "INTEGrate:STARt: integration is already running")
        if self.state == TIMEUP:
            raise ScpiError(EXECUTION_ERROR, "INTEGrate:STARt: the timer ran out; expected RESet first")
        self.state = START
        self.last_t = t

    def stop(self, t: float, sample: AcSample) -> None:
        """Integrate up to t, then hold; an error unless running."""
        if self.state != START:
            raise ScpiError(
                EXECUTION_ERROR, f"INTEGrate:STOP: expected a running integration, state is {self.state}"
            )
        self.accumulate(t, sample)
        if self.state == START:
            self.state = STOP

    def reset(self) -> None:
        """Zero all values; an error while running (stop first, as on the real instrument)."""
        if self.state == START:
            raise ScpiError(EXECUTION_ERROR, "INTEGrate:RESet: integration is running; expected STOP first")
        timer = self.timer_s
        self.__init__(timer_s=timer)  # type: ignore[misc]

    def accumulate(self, t: float, sample: AcSample) -> None:
        """Add ``sample`` held over (last_t, t]; stops at the timer. No-op unless running."""
        if self.state != START:
            return
        dt = max(t - self.last_t, 0.0)
        self.last_t = t
        if self.timer_s > 0 and self.seconds + dt >= self.timer_s:
            dt = self.timer_s - self.seconds
            self.state = TIMEUP
        hours = dt / 3600.0
        self.seconds += dt
        energy = sample.watts * hours
        self.wh += energy
        if energy >= 0:
            self.whp += energy
        else:
            self.whm += energy  # WH- is shown negative, as on the WT310
        self.ah += abs(sample.amps) * hours
