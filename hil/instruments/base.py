r"""The common part of every SCPI instrument driver: open, write, query, identity, error queue.

Drivers open VISA resources through pyvisa (backend ``@py``, pyvisa-py, unless the rig says
otherwise) with ``\\n`` read and write termination. Every setter checks the instrument's error
queue afterwards, so a refused command raises :class:`InstrumentError` at the line that sent it,
naming the instrument, the command and the instrument's own error text.
"""

from __future__ import annotations

import re
import threading
from types import TracebackType
from typing import ClassVar, Self

import attrs
import pyvisa
from pyvisa import constants
from pyvisa.resources import MessageBasedResource, TCPIPSocket

from hil.instruments.models import MODELS

_MANAGERS: dict[str, pyvisa.ResourceManager] = {}
_MANAGERS_LOCK = threading.Lock()


def resource_manager(backend: str = "@py") -> pyvisa.ResourceManager:
    """Return the process-wide pyvisa ResourceManager of one backend (created on first use)."""
    with _MANAGERS_LOCK:
        if backend not in _MANAGERS:
            _MANAGERS[backend] = pyvisa.ResourceManager(backend)
        return _MANAGERS[backend]


class InstrumentError(Exception):
    """An instrument refused a command, answered nonsense, or did not answer."""


@attrs.frozen
class Identity:
    """The four fields of an ``*IDN?`` answer."""

    manufacturer: str
    model: str
    serial: str
    firmware: str

    @classmethod
    def parse(cls, text: str) -> Identity:
        """Split ``maker,model,serial,firmware``; missing fields become empty strings."""
        fields = [f.strip() for f in text.strip().split(",", 3)]
        fields += [""] * (4 - len(fields))
        return cls(*fields)

    @property
    def emulated(self) -> bool:
        """Whether this is one of the project's emulated instruments."""
        return self.serial == "EMULATED"


_ERROR = re.compile(r'\s*([+-]?\d+)\s*,\s*"?(.*?)"?\s*$')


class ScpiInstrument:
    """Base driver: one VISA resource, its name for messages, and its error queue."""

    KIND: ClassVar[str] = ""
    ERROR_QUERY: ClassVar[str] = "SYST:ERR?"

    def __init__(self, resource: MessageBasedResource, name: str = "") -> None:
        self.resource = resource
        self.name = name or str(resource.resource_name)

    @classmethod
    def open(
        cls,
        resource_name: str,
        *,
        name: str = "",
        model: str | None = None,
        timeout_ms: int = 3000,
        backend: str = "@py",
        **options: int,
    ) -> Self:
        """Open ``resource_name``; with ``model`` (a rig-file model name) check ``*IDN?`` against it.

        ``options`` go to the driver's constructor (e.g. a PDU's ``slot`` and ``outlets``).
        """
        try:
            resource = resource_manager(backend).open_resource(
                resource_name, read_termination="\n", write_termination="\n", timeout=timeout_ms
            )
        except (pyvisa.Error, OSError, ValueError) as exc:
            raise InstrumentError(f"{name or resource_name}: cannot open {resource_name}: {exc}") from exc
        if not isinstance(resource, MessageBasedResource):
            resource.close()
            raise InstrumentError(
                f"{name or resource_name}: expected a message-based resource, got {resource}"
            )
        if isinstance(resource, TCPIPSocket):
            # without TCP_NODELAY a write followed by a query can wait ~40 ms for a delayed ACK (Nagle);
            # NI-VISA honours the attribute; pyvisa-py 0.8 raises its own UnknownAttribute (not a
            # pyvisa.Error), so the emulators ACK at once instead (TCP_QUICKACK)
            try:
                resource.set_visa_attribute(constants.ResourceAttribute.tcpip_nodelay, constants.VI_TRUE)
            except Exception:  # noqa: BLE001 - an optional speed-up; any backend refusal is fine
                pass
        instrument = cls(resource, name or resource_name, **options)
        if model is not None:
            try:
                instrument.expect_model(model)
            except InstrumentError:
                instrument.close()
                raise
        return instrument

    # --- I/O -------------------------------------------------------------------------------------
    def write(self, command: str, check: bool = True) -> None:
        """Send a command; with ``check`` raise if the instrument queued an error for it."""
        try:
            self.resource.write(command)
        except (pyvisa.Error, OSError) as exc:
            raise InstrumentError(f"{self.name}: write {command!r} failed: {exc}") from exc
        if check:
            self.check(command)

    def query(self, command: str) -> str:
        """Send a query and return the answer without its terminator."""
        try:
            return str(self.resource.query(command)).strip()
        except pyvisa.errors.VisaIOError as exc:
            errors = self._drain_quietly()
            detail = f"; instrument errors: {errors}" if errors else ""
            raise InstrumentError(
                f"{self.name}: query {command!r}: no answer ({exc.abbreviation}){detail}"
            ) from exc
        except (pyvisa.Error, OSError) as exc:
            raise InstrumentError(f"{self.name}: query {command!r} failed: {exc}") from exc

    def query_float(self, command: str) -> float:
        """Send a query whose answer is one number."""
        answer = self.query(command)
        try:
            return float(answer)
        except ValueError:
            raise InstrumentError(f"{self.name}: {command!r}: expected a number, got {answer!r}") from None

    def query_floats(self, command: str, count: int) -> list[float]:
        """Send a query whose answer is ``count`` comma-separated numbers."""
        answer = self.query(command)
        try:
            values = [float(v) for v in answer.split(",")]
        except ValueError:
            raise InstrumentError(
                f"{self.name}: {command!r}: expected {count} numbers, got {answer!r}"
            ) from None
        if len(values) != count:
            raise InstrumentError(
                f"{self.name}: {command!r}: expected {count} numbers, got {len(values)}: {answer!r}"
            )
        return values

    # --- common commands -------------------------------------------------------------------------
    def idn(self) -> Identity:
        """Ask ``*IDN?``."""
        return Identity.parse(self.query("*IDN?"))

    def expect_model(self, model: str) -> Identity:
        """Check the instrument is the rig file's ``model`` of this driver's kind; return its identity."""
        known = MODELS.get(self.KIND, {})
        if model not in known:
            raise InstrumentError(
                f"{self.name}: model {model!r} is not one of {', '.join(known)} ({self.KIND})"
            )
        identity = self.idn()
        if not identity.model.upper().startswith(known[model].upper()):
            raise InstrumentError(
                f"{self.name}: expected a {model} (*IDN? model {known[model]}), got {identity.manufacturer} "
                f"{identity.model!r}"
            )
        return identity

    def reset(self) -> None:
        """``*RST`` then ``*CLS``: power-on settings, empty error queue."""
        self.write("*RST", check=False)
        self.write("*CLS", check=False)
        self.query("*OPC?")

    def errors(self, limit: int = 64) -> list[tuple[int, str]]:
        """Drain the error queue; returns (code, message) pairs, oldest first."""
        found: list[tuple[int, str]] = []
        for _ in range(limit):
            answer = self.query(self.ERROR_QUERY)
            m = _ERROR.match(answer)
            if m is None:
                raise InstrumentError(
                    f"{self.name}: {self.ERROR_QUERY}: expected 'code,\"text\"', got {answer!r}"
                )
            code = int(m.group(1))
            if code == 0:
                return found
            found.append((code, m.group(2)))
        raise InstrumentError(f"{self.name}: error queue still not empty after {limit} reads: {found[-3:]}")

    def check(self, context: str) -> None:
        """Raise :class:`InstrumentError` if the error queue holds anything, naming ``context``."""
        found = self.errors()
        if found:
            listed = "; ".join(f"{code} {text}" for code, text in found)
            raise InstrumentError(f"{self.name}: {context!r} refused: {listed}")

    def _drain_quietly(self) -> list[tuple[int, str]]:
        try:
            return self.errors(limit=8)
        except InstrumentError:
            return []

    # --- lifetime --------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the VISA session."""
        try:
            self.resource.close()
        except (pyvisa.Error, OSError):
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
