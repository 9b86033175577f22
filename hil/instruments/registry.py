"""Which driver class serves which instrument kind, and opening one from a rig description."""

from __future__ import annotations

from hil.instruments.ac_load import AcLoad
from hil.instruments.base import InstrumentError, ScpiInstrument
from hil.instruments.dmm import Dmm
from hil.instruments.models import AC_LOAD, DMM, PDU, POWER_ANALYZER
from hil.instruments.pdu import Pdu
from hil.instruments.power_analyzer import PowerAnalyzer

DRIVERS: dict[str, type[ScpiInstrument]] = {
    POWER_ANALYZER: PowerAnalyzer,
    AC_LOAD: AcLoad,
    DMM: Dmm,
    PDU: Pdu,
}


def driver_for(kind: str) -> type[ScpiInstrument]:
    """Return the driver class of an instrument kind."""
    try:
        return DRIVERS[kind]
    except KeyError:
        raise InstrumentError(
            f"no driver for instrument kind {kind!r}; expected one of {', '.join(DRIVERS)}"
        ) from None


def open_instrument(
    kind: str,
    resource: str,
    *,
    name: str = "",
    model: str | None = None,
    backend: str = "@py",
    timeout_ms: int = 3000,
    **options: int,
) -> ScpiInstrument:
    """Open the driver of ``kind`` on ``resource`` and check ``*IDN?`` against ``model``."""
    driver = driver_for(kind)
    return driver.open(resource, name=name, model=model, backend=backend, timeout_ms=timeout_ms, **options)
