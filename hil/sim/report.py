"""The figures of a run: monthly peaks and capacity cost, appliance energy, switching, self-consumption."""

from __future__ import annotations

from typing import Any

from hil.sim.capacity import FLOOR_W, MonthBill, MonthPeak, bill, monthly_peaks, yearly_cost_eur
from hil.sim.engine import RunResult
from hil.sim.multi import PlugRun


def month_rows(bills: list[MonthBill]) -> list[dict[str, Any]]:
    """Return the bills as JSON-able rows (kW rounded to W)."""
    return [{"month": "%04d-%02d" % (b.year, b.month), "peak_kw": round(b.peak_w / 1000.0, 3),
             "billed_kw": round(b.billed_w / 1000.0, 3), "mean12_kw": round(b.mean12_w / 1000.0, 3),
             "months_in_mean": b.months_in_mean, "charge_eur": round(b.charge_eur, 2), "quarters": b.quarters}
            for b in bills]


def capacity_figures(peaks: list[MonthPeak], eur_per_kw_year: float) -> dict[str, Any]:
    """Return monthly rows, the yearly capacity cost and the peak figures of a list of month peaks."""
    bills = bill(peaks, eur_per_kw_year)
    return {
        "months": month_rows(bills),
        "max_peak_kw": round(max((p.peak_w for p in peaks), default=0.0) / 1000.0, 3),
        "mean_billed_kw": round(sum(b.billed_w for b in bills) / len(bills) / 1000.0, 3) if bills else 0.0,
        "capacity_cost_eur": round(sum(b.charge_eur for b in bills), 2),
        "yearly_capacity_cost_eur": round(yearly_cost_eur(bills), 2),
    }


def run_figures(r: RunResult, eur_per_kw_year: float, served_none_wh: float | None = None) -> dict[str, Any]:
    """Return every figure of one simulated run as a JSON-able dict."""
    a = r.appliance
    out = capacity_figures(monthly_peaks(r.quarters), eur_per_kw_year)
    sc = r.energy.self_consumption()
    solar = r.energy.appliance_solar_share()
    out.update({
        "appliance": {
            "served_kwh": round(a["served_wh"] / 1000.0, 3),
            "deferred_kwh": round(a["deferred_wh"] / 1000.0, 3),
            "unmet_kwh": round(a["unmet_wh"] / 1000.0, 3),
            "comfort_deficit_kh": round(a["comfort_kh"], 2),
            "starts": int(a["starts"]),
            "served_vs_no_control": (round(a["served_wh"] / served_none_wh, 4)
                                     if served_none_wh else None),
        },
        "switches": r.switches,
        "switches_per_day": round(r.switches / r.days, 2),
        "import_kwh": round(r.energy.import_wh / 1000.0, 3),
        "export_kwh": round(r.energy.export_wh / 1000.0, 3),
        "pv_kwh": round(r.energy.pv_wh / 1000.0, 3),
        "plug_measured_kwh": round(r.energy.plug_wh / 1000.0, 3),
        "self_consumption": None if sc is None else round(sc, 4),
        "appliance_solar_share": None if solar is None or r.energy.pv_wh <= 0 else round(solar, 4),
        "quarters_over_floor": sum(1 for q in r.quarters if q.import_wh * 4.0 > FLOOR_W),
        "counters": {k: v for k, v in r.counters.items() if v},
        "warnings": list(r.warnings),
    })
    return out


def plug_figures(p: PlugRun, days: float, served_none_wh: float | None) -> dict[str, Any]:
    """Return one plug's figures in a multi-plug run: its appliance's energy and its switching."""
    a = p.appliance
    return {
        "name": p.name, "kind": p.kind,
        "served_kwh": round(a["served_wh"] / 1000.0, 3),
        "deferred_kwh": round(a["deferred_wh"] / 1000.0, 3),
        "unmet_kwh": round(a["unmet_wh"] / 1000.0, 3),
        "comfort_deficit_kh": round(a["comfort_kh"], 2),
        "served_vs_no_control": round(a["served_wh"] / served_none_wh, 4) if served_none_wh else None,
        "switches": len(p.switch_times),
        "switches_per_day": round(len(p.switch_times) / days, 2),
    }
