"""State of an emulated electricity meter (with one gas meter on M-Bus) that advances with power over time.

Pure: no I/O, no wall clock. The caller says how long the last interval lasted and which power flowed
during it; the meter integrates that into its registers exactly as a real meter would:

- import/export registers per tariff (1 day, 2 night; see `tariff.belgian_tariff`), kept as integers in
  W*ms internally and shown in Wh (`import_wh`, `export_wh`), so no energy is lost to rounding;
- instantaneous total and per-phase power (W), voltage (dV) and current (cA);
- capacity-tariff objects: `demand_w` (1-0:1.4.0, average import power over the elapsed part of the
  running quarter-hour), `peak` (1-0:1.6.0, the month's highest completed quarter, timestamped at the
  end of that quarter), `history` (0-0:98.1.0, up to 13 closed months, oldest first) with the monthly
  rollover at local midnight of the 1st;
- a gas register (dm3) captured every `gas_period_s` seconds with its own timestamp (M-Bus 0-n:24.2.x);
- power failure counters and the long-failure log (0-0:96.7.21, 0-0:96.7.9, 1-0:99.97.0).

Power is piecewise constant: the power given to `advance` flowed during the whole interval and is what
the meter shows afterwards. An interval that crosses a quarter-hour, a tariff switch, a month boundary or
a gas capture is split there, so each piece of energy lands in the right register and quarter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from firmware.timebase import CET, local_fields, local_to_utc

from .tariff import belgian_tariff

QUARTER_MS = 900_000
WMS_PER_WH = 3_600_000          # W*ms in one Wh
HISTORY_MAX = 13                # e-MUCS keeps 13 closed months
FAILURE_LOG_MAX = 10            # DSMR keeps the last 10 long power failures
LONG_FAILURE_S = 180            # DSMR: a failure of 3 minutes or more is "long"


class HistoryEntry(tuple):
    """One closed month: (month_start, peak_at, peak_w); times UTC epoch s, peak_at None = no data."""

    __slots__ = ()

    def __new__(cls, month_start: int, peak_at: int | None, peak_w: int) -> HistoryEntry:
        """Build an entry; month_start is when the month closed (local midnight of the next 1st)."""
        return tuple.__new__(cls, (month_start, peak_at, peak_w))

    @property
    def month_start(self) -> int:
        """UTC instant the month closed (local midnight on the 1st of the following month)."""
        return self[0]

    @property
    def peak_at(self) -> int | None:
        """End of the peak quarter, or None when the meter had no data that month."""
        return self[1]

    @property
    def peak_w(self) -> int:
        """The month's highest quarter-hour average import power in W."""
        return self[2]


def _per_phase(value: float | Sequence[float] | None, phases: int, name: str) -> tuple[float, ...] | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return (value,) * phases
    vals = tuple(value)
    if len(vals) != phases:
        raise ValueError('%s: expected %d values (one per phase), got %d' % (name, phases, len(vals)))
    return vals


def _watts(value: float, name: str) -> int:
    w = round(value)
    if w < 0:
        raise ValueError('%s: expected a power >= 0 W, got %r' % (name, value))
    return w


def _split(total: int, phases: int) -> tuple[int, ...]:
    base, rest = divmod(total, phases)
    return (base + rest,) + (base,) * (phases - 1)


def month_start_utc(t: int, std: int = CET) -> int:
    """Return the UTC instant of local midnight on the 1st of the month that contains UTC instant t."""
    y, m = local_fields(t, std)[:2]
    return local_to_utc(y, m, 1, 0, 0, 0, None, std)


def next_month_utc(t: int, std: int = CET) -> int:
    """Return the UTC instant of local midnight on the 1st of the month after the one containing t."""
    y, m = local_fields(t, std)[:2]
    y, m = (y, m + 1) if m < 12 else (y + 1, 1)
    return local_to_utc(y, m, 1, 0, 0, 0, None, std)


class MeterState:
    """A two-tariff import/export meter with per-phase values, capacity objects and an M-Bus gas meter."""

    def __init__(self, start_utc: int, *, phases: int = 3, std: int = CET,
                 import_wh: tuple[int, int] = (0, 0), export_wh: tuple[int, int] = (0, 0),
                 gas_dm3: int = 0, gas_period_s: int = 300, gas_offset_s: int = 0,
                 voltage_v: float | Sequence[float] = 230.0,
                 history: Iterable[tuple[int, int | None, int]] = (),
                 holidays: Iterable[int] = ()) -> None:
        """Meter at UTC instant start_utc with the given register readings and no power flowing.

        gas_period_s / gas_offset_s: the gas meter's reading is captured at UTC instants
        k * gas_period_s + gas_offset_s (e-MUCS / DSMR 5 every 5 min, DSMR 4 every hour).
        history: closed months to start with, oldest first (at most 13 are kept).
        holidays: local day numbers billed at the night tariff (see `tariff.holiday`).
        """
        if phases not in (1, 3):
            raise ValueError('phases: expected 1 or 3, got %r' % (phases,))
        if std % 15:
            raise ValueError('std: expected an offset in whole quarter-hours, got %r min' % (std,))
        if gas_period_s <= 0 or not 0 <= gas_offset_s < gas_period_s:
            raise ValueError('gas capture: expected period > 0 and 0 <= offset < period, got %r, %r'
                             % (gas_period_s, gas_offset_s))
        for name, regs in (('import_wh', import_wh), ('export_wh', export_wh)):
            if len(regs) != 2 or min(regs) < 0:
                raise ValueError('%s: expected two registers >= 0 Wh, got %r' % (name, regs))
        if gas_dm3 < 0:
            raise ValueError('gas_dm3: expected >= 0, got %r' % (gas_dm3,))
        self.phases = phases
        self.std = std
        self.holidays = frozenset(holidays)
        self.t_ms = int(start_utc) * 1000
        self._imp = [int(import_wh[0]) * WMS_PER_WH, int(import_wh[1]) * WMS_PER_WH]
        self._exp = [int(export_wh[0]) * WMS_PER_WH, int(export_wh[1]) * WMS_PER_WH]
        self._gas = int(gas_dm3) * WMS_PER_WH         # dm3*ms/h: dm3/h flow times ms
        self.gas_period_ms = gas_period_s * 1000
        self.gas_offset_ms = gas_offset_s * 1000
        self.gas_reading = (self._last_capture_ms() // 1000, int(gas_dm3))
        self.import_w = 0
        self.export_w = 0
        self.phase_import_w: tuple[int, ...] = (0,) * phases
        self.phase_export_w: tuple[int, ...] = (0,) * phases
        volts = _per_phase(voltage_v, phases, 'voltage_v')
        self.voltage_dv: tuple[int, ...] = tuple(round(v * 10) for v in volts or ())
        if min(self.voltage_dv) < 0:
            raise ValueError('voltage_v: expected >= 0 V, got %r' % (voltage_v,))
        self.gas_flow_dm3_h = 0
        # capacity tariff
        self._q_start = self.t_ms - self.t_ms % QUARTER_MS
        self._q_import = 0                  # W*ms imported in the running quarter
        self.last_quarter_w = 0
        self._tariff = belgian_tariff(self._q_start // 1000, std, self.holidays)
        self._month_start = month_start_utc(self.t_ms // 1000, std)
        self._next_month_ms = next_month_utc(self.t_ms // 1000, std) * 1000
        self.peak: tuple[int, int] = (self._month_start, 0)
        self.history: list[HistoryEntry] = [HistoryEntry(*h) for h in history][-HISTORY_MAX:]
        # power quality
        self.power_failures = 0
        self.long_power_failures = 0
        self.failure_log: list[tuple[int, int]] = []   # (end of failure UTC, duration s), oldest first
        self.voltage_sags: tuple[int, ...] = (0,) * phases
        self.voltage_swells: tuple[int, ...] = (0,) * phases

    # ---- readings ------------------------------------------------------------------------------------
    @property
    def t(self) -> int:
        """The meter's clock, UTC epoch seconds."""
        return self.t_ms // 1000

    @property
    def import_wh(self) -> tuple[int, int]:
        """Import registers (tariff 1, tariff 2) in Wh."""
        return self._imp[0] // WMS_PER_WH, self._imp[1] // WMS_PER_WH

    @property
    def export_wh(self) -> tuple[int, int]:
        """Export registers (tariff 1, tariff 2) in Wh."""
        return self._exp[0] // WMS_PER_WH, self._exp[1] // WMS_PER_WH

    @property
    def gas_dm3(self) -> int:
        """The gas meter's register right now (the telegram shows `gas_reading`, its last capture)."""
        return self._gas // WMS_PER_WH

    @property
    def tariff(self) -> int:
        """Tariff in force now (0-0:96.14.0)."""
        return belgian_tariff(self.t, self.std, self.holidays)

    @property
    def current_ca(self) -> tuple[int, ...]:
        """Per-phase current in cA (centi-ampere), from the phase's power and voltage."""
        out = []
        for i in range(self.phases):
            w = self.phase_import_w[i] + self.phase_export_w[i]
            dv = self.voltage_dv[i]
            out.append((2000 * w // dv + 1) // 2 if dv > 0 else 0)   # 1000*W/dV cA, rounded half up
        return tuple(out)

    @property
    def demand_w(self) -> int:
        """1-0:1.4.0: average import power over the elapsed part of the running quarter-hour (W)."""
        elapsed = self.t_ms - self._q_start
        if elapsed <= 0:
            return self.last_quarter_w
        return (2 * self._q_import // elapsed + 1) // 2

    @property
    def quarter_start(self) -> int:
        """UTC start of the running quarter-hour."""
        return self._q_start // 1000

    # ---- time passes -----------------------------------------------------------------------------------
    def advance(self, dt_s: float, import_w: float | None = None, export_w: float | None = None, *,
                phase_import_w: Sequence[float] | None = None, phase_export_w: Sequence[float] | None = None,
                voltage_v: float | Sequence[float] | None = None, gas_dm3_h: float = 0) -> None:
        """Let dt_s seconds pass (ms resolution) with the given power flowing, then show it.

        Totals and per-phase powers (W, >= 0) may be given alone or together:
        - only totals: they are spread evenly over the phases;
        - only phases: the totals are the net of all phases (a Belgian meter nets phases against each
          other: import = max(0, sum(import) - sum(export)), export = the opposite);
        - both: their nets must agree, or ValueError.
        dt_s = 0 only sets what the meter shows. Nothing changes when a ValueError is raised.
        """
        dt_ms = round(dt_s * 1000)
        if dt_ms < 0:
            raise ValueError('dt_s: expected >= 0 s, got %r' % (dt_s,))
        imp, exp, ph_imp, ph_exp = self._powers(import_w, export_w, phase_import_w, phase_export_w)
        volts = _per_phase(voltage_v, self.phases, 'voltage_v')
        dv = self.voltage_dv if volts is None else tuple(round(v * 10) for v in volts)
        if min(dv) < 0:
            raise ValueError('voltage_v: expected >= 0 V, got %r' % (voltage_v,))
        gas = round(gas_dm3_h)
        if gas < 0:
            raise ValueError('gas_dm3_h: expected a flow >= 0 dm3/h, got %r' % (gas_dm3_h,))
        self.import_w, self.export_w = imp, exp
        self.phase_import_w, self.phase_export_w = ph_imp, ph_exp
        self.voltage_dv = dv
        self.gas_flow_dm3_h = gas
        self._run(dt_ms, imp, exp, gas)

    def power_failure(self, duration_s: int) -> None:
        """Cut the mains for duration_s seconds (no energy flows): counted, and logged when long."""
        if duration_s <= 0:
            raise ValueError('duration_s: expected > 0 s, got %r' % (duration_s,))
        self.advance(duration_s, 0, 0)
        self.power_failures += 1
        if duration_s >= LONG_FAILURE_S:
            self.long_power_failures += 1
            self.failure_log.append((self.t, int(duration_s)))
            del self.failure_log[:-FAILURE_LOG_MAX]

    # ---- internals -------------------------------------------------------------------------------------
    def _powers(self, import_w: float | None, export_w: float | None, phase_import_w: Sequence[float] | None,
                phase_export_w: Sequence[float] | None) -> tuple[int, int, tuple[int, ...], tuple[int, ...]]:
        n = self.phases
        pi = _per_phase(phase_import_w, n, 'phase_import_w')
        pe = _per_phase(phase_export_w, n, 'phase_export_w')
        ph_imp = tuple(_watts(v, 'phase_import_w') for v in pi) if pi is not None else None
        ph_exp = tuple(_watts(v, 'phase_export_w') for v in pe) if pe is not None else None
        imp = _watts(import_w, 'import_w') if import_w is not None else None
        exp = _watts(export_w, 'export_w') if export_w is not None else None
        if ph_imp is None and ph_exp is None:
            imp = imp or 0
            exp = exp or 0
            return imp, exp, _split(imp, n), _split(exp, n)
        ph_imp = ph_imp or (0,) * n
        ph_exp = ph_exp or (0,) * n
        net = sum(ph_imp) - sum(ph_exp)
        if imp is None and exp is None:
            return max(net, 0), max(-net, 0), ph_imp, ph_exp
        imp = imp or 0
        exp = exp or 0
        if imp - exp != net:
            raise ValueError('power: totals say net %d W (import %d - export %d) but the phases say %d W'
                             % (imp - exp, imp, exp, net))
        return imp, exp, ph_imp, ph_exp

    def _last_capture_ms(self) -> int:
        k = (self.t_ms - self.gas_offset_ms) // self.gas_period_ms
        return k * self.gas_period_ms + self.gas_offset_ms

    def _run(self, dt_ms: int, imp: int, exp: int, gas: int) -> None:
        end = self.t_ms + dt_ms
        tariff_i = self._tariff - 1
        while self.t_ms < end:
            q_end = self._q_start + QUARTER_MS
            g_next = self._last_capture_ms() + self.gas_period_ms
            nxt = min(end, q_end, g_next)
            step = nxt - self.t_ms
            self._imp[tariff_i] += imp * step
            self._exp[tariff_i] += exp * step
            self._q_import += imp * step
            self._gas += gas * step
            self.t_ms = nxt
            if nxt == g_next:
                self.gas_reading = (nxt // 1000, self._gas // WMS_PER_WH)
            if nxt == q_end:
                self._close_quarter(q_end)
                tariff_i = self._tariff - 1

    def _close_quarter(self, q_end: int) -> None:
        q_w = (2 * self._q_import // QUARTER_MS + 1) // 2
        self.last_quarter_w = q_w
        if q_w > self.peak[1]:
            self.peak = (q_end // 1000, q_w)
        self._q_start = q_end
        self._q_import = 0
        if (q_end // 1000 + self.std * 60) % 3600 == 0:   # tariffs switch on local full hours only
            self._tariff = belgian_tariff(q_end // 1000, self.std, self.holidays)
        if q_end >= self._next_month_ms:
            month = self._next_month_ms // 1000
            peak_at, peak_w = self.peak
            if peak_w == 0:
                peak_at = self._month_start
            self.history.append(HistoryEntry(month, peak_at, peak_w))
            del self.history[:-HISTORY_MAX]
            self._month_start = month
            self._next_month_ms = next_month_utc(month, self.std) * 1000
            self.peak = (month, 0)
