"""Open the drivers of a rig's instruments, real or emulated alike, by their rig-file names."""

from __future__ import annotations

from hil.instruments.base import InstrumentError, ScpiInstrument
from hil.instruments.models import PDU, emulated_model
from hil.instruments.registry import open_instrument
from hil.rig.model import Rig


def open_instruments(rig: Rig, names: list[str] | None = None) -> dict[str, ScpiInstrument]:
    """Open each instrument's driver and check its ``*IDN?`` against the rig's model.

    Emulated instruments must have been started (their resource is no longer ``auto``: see
    ``Rig.with_resources``). On any failure the drivers opened so far are closed again.
    """
    opened: dict[str, ScpiInstrument] = {}
    try:
        for name in names or list(rig.instruments):
            spec = rig.instruments[name]
            if spec.resource == "auto":
                raise InstrumentError(
                    f"instrument {name}: resource is still 'auto'; start the emulated instruments and use "
                    "rig.with_resources(running.resources)"
                )
            options = {"slot": spec.slot or 1, "outlets": spec.outlets or 20} if spec.kind == PDU else {}
            opened[name] = open_instrument(
                spec.kind,
                spec.resource,
                name=name,
                model=spec.model or emulated_model(spec.kind),
                backend=rig.visa_backend,
                timeout_ms=spec.timeout_ms,
                **options,
            )
    except BaseException:
        for instrument in opened.values():
            instrument.close()
        raise
    return opened
