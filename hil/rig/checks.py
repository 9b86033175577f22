"""attrs validators for rig-file fields; each raises FieldProblem saying what it expected.

Every check carries its ``expected`` text, so a missing key can be reported with the same words
as a wrong value.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from hil.rig.errors import FieldProblem

AUTO = "auto"
LOOPBACK = "127.0.0.1"


@attrs.frozen
class Check:
    """A validator: ``ok(value)`` is True for good values; ``expected`` says what good is."""

    expected: str
    ok: Callable[[Any], bool]
    note: Callable[[Any], str] = lambda value: ""

    def __call__(self, instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        """Validate (attrs calls this when the object is built)."""
        if not self.ok(value):
            raise FieldProblem(self.expected, value, self.note(value))


VERSION = Check("1 (the only rig-file version so far)", lambda v: v == 1 and v is not True)


def optional(check: Check) -> Check:
    """Return the check, but let None (the key left out) through."""
    return Check(check.expected, lambda v: v is None or check.ok(v), check.note)


def one_of(options: Iterable[str]) -> Check:
    """Accept one of the listed strings."""
    options = tuple(options)
    return Check(f"one of {', '.join(options)}", lambda v: isinstance(v, str) and v in options)


def is_bool() -> Check:
    """Accept true or false."""
    return Check("true or false", lambda v: isinstance(v, bool))


def number(lo: float, hi: float, unit: str = "", integer: bool = False) -> Check:
    """Accept a number (an integer if asked) in lo..hi."""
    kind = "an integer" if integer else "a number"
    span = f"{lo:g} .. {hi:g}{' ' + unit if unit else ''}"

    def ok(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return False
        if integer and not isinstance(v, int):
            return False
        return lo <= v <= hi

    return Check(f"{kind} in {span}", ok)


_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def name() -> Check:
    """Accept a rig-object name: lower-case letter first, then letters, digits, '_' or '-'."""
    return Check(
        "a name of lower-case letters, digits, '_' or '-' starting with a letter",
        lambda v: isinstance(v, str) and _NAME.fullmatch(v) is not None,
    )


def text() -> Check:
    """Accept any string."""
    return Check("text", lambda v: isinstance(v, str))


_MAC = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", re.IGNORECASE)


def mac() -> Check:
    """Accept a MAC address ``aa:bb:cc:dd:ee:ff``; explains YAML's base-60 reading of unquoted ones."""
    return Check(
        "a MAC address like '24:6f:28:a1:b2:c3' (quoted)",
        lambda v: isinstance(v, str) and _MAC.fullmatch(v) is not None,
        lambda v: (
            "YAML reads an unquoted all-digit MAC as a base-60 number: quote it" if isinstance(v, int) else ""
        ),
    )


def _port_ok(text_port: str) -> bool:
    return text_port.isdigit() and 1 <= int(text_port) <= 65535


def _host_ok(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
        return True
    except ValueError:
        return re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9-]{1,63})*", host) is not None


def _host_port_ok(value: str, need_port: bool) -> bool:
    host, sep, port = value.rpartition(":")
    if not sep:
        return not need_port and _host_ok(value)
    return _host_ok(host) and _port_ok(port)


_SERIAL_DEVICE = re.compile(r"(/dev/\S+|COM\d+)")
_SERIAL_URL = re.compile(r"(socket|rfc2217)://([^?\s]+)(\?\S*)?")   # pyserial options: ?ign_set_control


def serial_url(emulated: bool) -> Check:
    """Accept a pyserial URL; for emulated parts also ``auto``, and only loopback network URLs."""
    if emulated:

        def ok(v: Any) -> bool:
            if v == AUTO:
                return True
            m = isinstance(v, str) and _SERIAL_URL.fullmatch(v)
            return bool(m) and m.group(2).startswith(LOOPBACK + ":") and _host_port_ok(m.group(2), True)

        return Check(
            "auto, or socket:// or rfc2217:// on 127.0.0.1:<port> (emulated parts are loopback only)", ok
        )

    def ok_real(v: Any) -> bool:
        if not isinstance(v, str):
            return False
        if _SERIAL_DEVICE.fullmatch(v):
            return True
        m = _SERIAL_URL.fullmatch(v)
        return bool(m) and _host_port_ok(m.group(2), True)

    return Check(
        "a serial port: /dev/..., COMn, socket://host:port or rfc2217://host:port",
        ok_real,
        lambda v: "'auto' is only for emulated parts" if v == AUTO else "",
    )


def http_address(emulated: bool) -> Check:
    """Accept where a board's web server is: ``auto``/loopback when emulated, host[:port] when real."""
    if emulated:
        return Check(
            "auto or 127.0.0.1:<port> (emulated boards serve on loopback only)",
            lambda v: (
                v == AUTO or (isinstance(v, str) and v.startswith(LOOPBACK + ":") and _host_port_ok(v, True))
            ),
        )
    return Check(
        "a host name, mDNS name or IPv4 address, optionally with :port",
        lambda v: isinstance(v, str) and v != AUTO and _host_port_ok(v, False),
        lambda v: "'auto' is only for emulated boards" if v == AUTO else "",
    )


def visa_resource(emulated: bool) -> Check:
    """Accept a VISA resource string pyvisa can parse; emulated instruments: auto or loopback SOCKET."""
    if emulated:
        pattern = re.compile(r"TCPIP0?::127\.0\.0\.1::(\d{1,5})::SOCKET")
        return Check(
            "auto or TCPIP::127.0.0.1::<port>::SOCKET (emulated instruments are loopback only)",
            lambda v: (
                v == AUTO
                or (isinstance(v, str) and (m := pattern.fullmatch(v)) is not None and _port_ok(m.group(1)))
            ),
        )

    def ok(v: Any) -> bool:
        from pyvisa import rname

        if not isinstance(v, str) or v == AUTO:
            return False
        try:
            rname.parse_resource_name(v)
        except rname.InvalidResourceName:
            return False
        return True

    return Check(
        "a VISA resource such as TCPIP::10.0.0.5::5025::SOCKET, TCPIP::10.0.0.5::INSTR, "
        "USB0::0x0957::0x1A07::MY123::INSTR or GPIB0::8::INSTR",
        ok,
        lambda v: "'auto' is only for emulated instruments" if v == AUTO else "",
    )


@attrs.frozen
class ByEmulation:
    """A validator that depends on the object's own ``emulated`` field (checked on its own)."""

    make: Callable[[bool], Check]

    def expected(self, instance: object) -> str:
        """Return the expected text for this object (real or emulated)."""
        emulated = getattr(instance, "emulated", None)
        return self.make(emulated is True).expected

    def __call__(self, instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        """Validate with the real or the emulated rule; skip while ``emulated`` itself is wrong."""
        emulated = getattr(instance, "emulated", None)
        if isinstance(emulated, bool):
            self.make(emulated)(instance, attribute, value)
