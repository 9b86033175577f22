"""Emulated single-phase power analyzer speaking the Yokogawa WT310E command subset.

Values are taken from the world callback once per update period (``:RATE``, default 250 ms) by
a ticker thread, held between updates and integrated while ``:INTEGrate`` runs, as the real
instrument does. Numeric output uses ``:NUMeric[:NORMal]`` items (the WT300E / GPM-8213 way);
``:MEASure:{VOLTage|CURRent|POWer|ENERgy}?`` are emulator conveniences a WT310E does not have.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from hil.emulators.instruments import integrator as integ
from hil.emulators.instruments.scpi import (
    DATA_OUT_OF_RANGE,
    DEVICE_SPECIFIC_ERROR,
    SETTINGS_CONFLICT,
    Call,
    ScpiDevice,
    ScpiError,
    nr3,
)
from hil.emulators.instruments.world import AcSample, Clock, PowerWorld, nothing_connected

FUNCTIONS = ("U", "I", "P", "S", "Q", "LAMBda", "PHI", "FU", "FI", "TIME", "WH", "WHP", "WHM", "AH")
DEFAULT_ITEMS = ("U", "I", "P", "S", "Q", "LAMBda", "PHI", "FU", "TIME", "WH")
RATES_S = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
MAX_ITEMS = 10
IDN = "YOKOGAWA,WT310E,EMULATED,F1.03"


class PowerAnalyzerDevice(ScpiDevice):
    """WT310E-like analyzer: one input element, numeric items, integrator, update rate."""

    def __init__(
        self, world: PowerWorld = nothing_connected, clock: Clock | None = None, idn: str = IDN
    ) -> None:
        super().__init__(idn)
        self.world = world
        self.clock: Clock = clock or time.monotonic
        self._ticker: threading.Thread | None = None
        self.clocked = False   # True: a rig's virtual clock calls update(t) each round (no ticker thread)
        self.on_error: Callable[[str], None] | None = None   # also told of every world error (a rig)
        self._halt = threading.Event()
        self.held = AcSample()
        self.updates = 0
        self.reset()
        self.add("NUMeric[:NORMal]:VALue?", self._value)
        self.add("NUMeric[:NORMal]:NUMber", self._set_number)
        self.add("NUMeric[:NORMal]:NUMber?", lambda c: str(self.number))
        self.add("NUMeric[:NORMal]:ITEM<n>", self._set_item)
        self.add("NUMeric[:NORMal]:ITEM<n>?", self._item)
        self.add("RATE", self._set_rate)
        self.add("RATE?", lambda c: nr3(self.rate_s))
        self.add("INTEGrate:STARt", lambda c: self.integrator.start(self.clock()))
        self.add("INTEGrate:STOP", lambda c: self.integrator.stop(self.clock(), self._sample()))
        self.add("INTEGrate:RESet", lambda c: self.integrator.reset())
        self.add("INTEGrate:STATe?", self._state)
        self.add("INTEGrate:MODE", self._set_mode)
        self.add("INTEGrate:MODE?", lambda c: "NORM" if not self.verbose else "NORMAL")
        self.add("INTEGrate:TIMer", self._set_timer)
        self.add("INTEGrate:TIMer?", self._timer)
        self.add("COMMunicate:HEADer", self._set_header)
        self.add("COMMunicate:HEADer?", lambda c: "0")
        self.add("COMMunicate:VERBose", self._set_verbose)
        self.add("COMMunicate:VERBose?", lambda c: "1" if self.verbose else "0")
        self.add("COMMunicate:REMote", self._set_remote)
        self.add("COMMunicate:REMote?", lambda c: "1" if self.remote else "0")
        self.add("STATus:ERRor?", lambda c: self.next_error())
        for name, fn in (("VOLTage", "U"), ("CURRent", "I"), ("POWer", "P"), ("ENERgy", "WH")):
            self.add(f"MEASure:{name}?", lambda c, fn=fn: nr3(self.value_of(fn)))

    # --- state ---------------------------------------------------------------------------------
    def reset(self) -> None:
        """*RST: default items, 10 items, 250 ms rate, integrator zeroed and stopped."""
        self.items = list(DEFAULT_ITEMS)
        self.number = MAX_ITEMS
        self.rate_s = 0.25
        self.verbose = False
        self.remote = False
        self.integrator = integ.Integrator()

    def update(self, now: float | None = None) -> None:
        """One measurement update: sample the world, hold it, integrate it."""
        with self.lock:
            now = self.clock() if now is None else now
            self.held = self._sample()
            self.integrator.accumulate(now, self.held)
            self.updates += 1

    def start(self) -> None:
        """Start the update-rate ticker (called by the server); none when the rig's clock drives updates."""
        self.update()
        if self.clocked:
            return
        self._halt.clear()
        self._ticker = threading.Thread(target=self._tick, name="wt310-ticker", daemon=True)
        self._ticker.start()

    def stop(self) -> None:
        """Stop the ticker."""
        self._halt.set()
        if self._ticker is not None:
            self._ticker.join(timeout=2.0)

    def _tick(self) -> None:
        while not self._halt.wait(self.rate_s):
            try:
                self.update()
            except Exception as exc:  # a broken world must not stop the instrument: hold, queue, go on
                text = f"update: world: {type(exc).__name__}: {exc}"
                with self.lock:
                    self.push_error(ScpiError(DEVICE_SPECIFIC_ERROR, text))
                if self.on_error is not None:
                    self.on_error(f"analyzer {text}")

    def _sample(self) -> AcSample:
        sample = self.world()
        if not isinstance(sample, AcSample):
            raise TypeError(f"world callback: expected an AcSample, got {type(sample).__name__}")
        return sample

    # --- values --------------------------------------------------------------------------------
    def value_of(self, function: str) -> float:
        """Return the held value of one numeric function (NaN where the analyzer shows no data)."""
        s, i = self.held, self.integrator
        pf = s.power_factor
        values = {
            "U": s.volts,
            "I": s.amps,
            "P": s.watts,
            "S": s.va,
            "Q": s.var,
            "LAMBda": pf,
            "PHI": math.degrees(math.acos(max(-1.0, min(1.0, pf)))) if not math.isnan(pf) else math.nan,
            "FU": s.hz if s.volts > 0 else math.nan,
            "FI": s.hz if s.amps > 0 else math.nan,
            "TIME": float(int(i.seconds)),
            "WH": i.wh,
            "WHP": i.whp,
            "WHM": i.whm,
            "AH": i.ah,
        }
        return values[function]

    def _format(self, function: str) -> str:
        if function == "TIME":
            return str(int(self.integrator.seconds))  # NR1, as the manual says for TIME
        return nr3(self.value_of(function))

    def _value(self, c: Call) -> str:
        c.count(0, 1)
        if c.args:
            n = c.integer(0, 1, MAX_ITEMS)
            return self._format(self.items[n - 1])
        return ",".join(self._format(f) for f in self.items[: self.number])

    def _set_number(self, c: Call) -> None:
        c.count(1)
        self.number = MAX_ITEMS if c.text(0).upper() == "ALL" else c.integer(0, 1, MAX_ITEMS)

    def _set_item(self, c: Call) -> None:
        n = c.suffix(0, 1, MAX_ITEMS)
        c.count(1, 2)
        function = c.choice(0, FUNCTIONS)
        if len(c.args) == 2:
            c.integer(1, 1, 1)  # element: the WT310E has one input element
        self.items[n - 1] = function

    def _item(self, c: Call) -> str:
        n = c.suffix(0, 1, MAX_ITEMS)
        function = self.items[n - 1]
        name = function.upper() if self.verbose else "".join(ch for ch in function if ch.isupper())
        return f"{name},1"

    def _set_rate(self, c: Call) -> None:
        c.count(1)
        if self.integrator.state == integ.START:
            raise ScpiError(SETTINGS_CONFLICT, "RATE: cannot change the update rate while integrating")
        value = c.number(0, 0.1, 5.0, unit="S")
        if not any(math.isclose(value, r) for r in RATES_S):
            allowed = ", ".join(f"{int(r * 1000)}MS" if r < 1 else f"{int(r)}S" for r in RATES_S)
            raise ScpiError(DATA_OUT_OF_RANGE, f"RATE: expected one of {allowed}, got {c.args[0]}")
        self.rate_s = value

    # --- integrator ----------------------------------------------------------------------------
    def _state(self, c: Call) -> str:
        state = self.integrator.state
        return state.upper() if self.verbose else "".join(ch for ch in state if ch.isupper())

    def _set_mode(self, c: Call) -> None:
        c.count(1)
        mode = c.choice(0, ("NORMal", "CONTinuous", "RNORmal", "RCONtinuous"))
        if mode != "NORMal":
            raise ScpiError(SETTINGS_CONFLICT, f"INTEGrate:MODE: only NORMal is emulated, got {mode}")

    def _set_timer(self, c: Call) -> None:
        c.count(3)
        if self.integrator.state == integ.START:
            raise ScpiError(SETTINGS_CONFLICT, "INTEGrate:TIMer: cannot change the timer while integrating")
        h, m, s = c.integer(0, 0, 10000), c.integer(1, 0, 59), c.integer(2, 0, 59)
        self.integrator.timer_s = h * 3600.0 + m * 60.0 + s

    def _timer(self, c: Call) -> str:
        total = int(self.integrator.timer_s)
        return f"{total // 3600},{total // 60 % 60},{total % 60}"

    # --- communication -------------------------------------------------------------------------
    def _set_header(self, c: Call) -> None:
        c.count(1)
        if c.boolean(0):
            raise ScpiError(SETTINGS_CONFLICT, "COMMunicate:HEADer ON is not emulated; expected OFF")

    def _set_verbose(self, c: Call) -> None:
        c.count(1)
        self.verbose = c.boolean(0)

    def _set_remote(self, c: Call) -> None:
        c.count(1)
        self.remote = c.boolean(0)
