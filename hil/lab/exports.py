"""Exporter configuration and place definitions generated from a rig file (pure).

One rig file per bench. Each part the exporter can publish becomes a labgrid resource of a built-in
class, named after the rig part, in one group named after the rig, so a plain ``labgrid-client`` keeps
working and the exporter host needs labgrid only (not this project):

=====================  ==============================================  =================================
rig part               exported as                                     resolved on the client as
=====================  ==============================================  =================================
``boards.B.console``   ``B-console``: ``RawSerialPort`` (a local       ``rfc2217://h:p?ign_set_control``
                       device, ser2net on acquire) or
                       ``NetworkSerialPort`` (rfc2217:// or            ``rfc2217://...`` / ``socket://h:p``
                       socket://)
``boards.B.http``      ``B-http``: ``NetworkService`` (username http)  ``h:p``
``p1.port``            ``p1``: like a console                          a pyserial URL
``instruments.I``      ``I``: ``NetworkService`` (username scpi for    ``TCPIP::h::p::SOCKET`` /
                       ``TCPIP::h::p::SOCKET``, vxi11 for VXI-11)      ``TCPIP::h::INSTR``
=====================  ==============================================  =================================

GPIB and USB instruments cannot be reached over the network without a bridge on the exporter host;
they are listed in :attr:`Export.skipped` with the reason, and stay as the rig file says.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from hil.rig.model import Board, Rig

SERIAL_SPEED = 115200
_HOST_PORT = re.compile(r"(?P<host>[^:/]+)(?::(?P<port>\d{1,5}))?\Z")
_NET_SERIAL = re.compile(r"(?P<scheme>rfc2217|socket)://(?P<host>[^:/?]+):(?P<port>\d{1,5})(?:[/?].*)?\Z")
_SOCKET = re.compile(r"TCPIP\d*::(?P<host>[^:]+)::(?P<port>\d{1,5})::SOCKET\Z", re.IGNORECASE)
_VXI11 = re.compile(r"TCPIP\d*::(?P<host>[^:]+)(?:::inst\d+)?::INSTR\Z", re.IGNORECASE)

CONSOLE = "{board}-console"
HTTP = "{board}-http"
P1 = "p1"
WORLD = "rig-world"  # an exported emulated rig's world controls (hil.lab.world_service)
EMULATED = "emulated: use hil rig up --export"


@attrs.frozen
class Export:
    """What ``hil rig export`` writes: one exporter group, one place, and what could not be exported."""

    group: str
    resources: dict[str, dict[str, Any]]
    place: str
    tags: dict[str, str]
    exporter: str
    skipped: tuple[str, ...] = ()

    def exporter_config(self, location: str = "") -> dict[str, Any]:
        """Return the exporter YAML's content: ``{group: {location, name: {cls, ...}, ...}}``."""
        group: dict[str, Any] = {"location": location or f"rig {self.group}"}
        group.update({name: dict(params) for name, params in self.resources.items()})
        return {self.group: group}

    def places_config(self) -> dict[str, Any]:
        """Return the place definition (``hil lab sync`` input): matches and tags per place."""
        return {self.place: {"matches": [f"{self.exporter}/{self.group}/*"], "tags": dict(self.tags)}}


def serial_resource(url: str, speed: int) -> dict[str, Any] | None:
    """Return the labgrid resource for a serial URL (device path or network URL); None when not exportable."""
    if url.startswith("/dev/"):
        return {"cls": "RawSerialPort", "port": url, "speed": speed}
    m = _NET_SERIAL.match(url)
    if m:
        return {
            "cls": "NetworkSerialPort",
            "host": m["host"],
            "port": int(m["port"]),
            "speed": speed,
            "protocol": "rfc2217" if m["scheme"] == "rfc2217" else "raw",
        }
    return None


def http_resource(address: str, token: str | None = None) -> dict[str, Any] | None:
    """Return the ``NetworkService`` of a board's ``host[:port]``; None when not a host[:port].

    ``token``: the board's API token (docs/security.md), published as the service's password: a client
    holding the place changes the board's state with it, as the bench's own rig does.
    """
    if "://" in address:
        address = address.split("://", 1)[1].rstrip("/")
    m = _HOST_PORT.match(address)
    if not m:
        return None
    res = {"cls": "NetworkService", "address": m["host"], "port": int(m["port"] or 80), "username": "http"}
    return {**res, "password": token} if token else res


def instrument_resource(resource: str) -> dict[str, Any] | None:
    """Return the ``NetworkService`` of a VISA resource reachable over TCP; None for GPIB, USB, ..."""
    m = _SOCKET.match(resource)
    if m:
        return {"cls": "NetworkService", "address": m["host"], "port": int(m["port"]), "username": "scpi"}
    m = _VXI11.match(resource)
    if m:
        return {"cls": "NetworkService", "address": m["host"], "port": 111, "username": "vxi11"}
    return None


def p1_speed(rig: Rig) -> int:
    """Return the P1 line's baud rate (the profile's)."""
    from hil.emulators.p1.profiles import get_profile

    return int(get_profile(rig.p1.profile).baudrate)


def default_tags(rig: Rig) -> dict[str, str]:
    """Return the tags every exported rig gets: ``rig=<name>`` and ``module=`` the role under test."""
    return {"rig": _tag_value(rig.name), "module": "smartplug" if rig.smartplugs else "smartmeter"}


def _tag_value(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:-]", "_", text)


def export_rig(
    rig: Rig,
    exporter: str,
    place: str | None = None,
    tags: dict[str, str] | None = None,
    addresses: dict[str, dict[str, Any]] | None = None,
) -> Export:
    """Return the export of ``rig`` by ``exporter``: resources named after its parts, place and tags.

    addresses: resources to use instead of what the rig file says (``hil rig up --export`` passes the
    running emulated rig's loopback ports here). Parts that cannot be exported are in ``skipped``.
    """
    resources: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    given = addresses or {}
    for b in rig.boards.values():
        for name, value, make in (
            (CONSOLE.format(board=b.name), b.console, lambda v: serial_resource(v, SERIAL_SPEED)),
            (HTTP.format(board=b.name), b.http, lambda v, b=b: http_resource(v, _token(b))),
        ):
            res = given.get(name) or (None if b.emulated else make(value))
            if res is None:
                why = EMULATED if b.emulated else "not a device path or network address"
                skipped.append(f"{name}: {value!r} ({why})")
            else:
                resources[name] = res
    res = given.get(P1) or (None if rig.p1.port == "auto" else serial_resource(rig.p1.port, p1_speed(rig)))
    if res is None:
        skipped.append(f"{P1}: {rig.p1.port!r} ({EMULATED})")
    else:
        resources[P1] = res
    for i in rig.instruments.values():
        res = given.get(i.name) or (None if i.emulated else instrument_resource(i.resource))
        if res is None:
            why = EMULATED if i.emulated else "needs a SCPI-over-TCP bridge on the exporter host"
            skipped.append(f"{i.name}: {i.resource!r} ({why})")
        else:
            resources[i.name] = res
    all_tags = default_tags(rig)
    all_tags.update(tags or {})
    return Export(
        group=rig.name,
        resources=resources,
        place=place or rig.name,
        tags=all_tags,
        exporter=exporter,
        skipped=tuple(skipped),
    )


def _token(board: Board) -> str | None:
    """Return a real board's paired token (its rig file's token_file), None when it has none."""
    from hil.rig.pairing import read_token

    return board.token or (read_token(board.token_file) if board.token_file else None)


def render_yaml(data: dict[str, Any], header: list[str]) -> str:
    """Return YAML that labgrid's exporter reads, with ``header`` as comments.

    labgrid renders the file with jinja2 first, where a line starting with ``#`` is a statement
    (``TemplateSyntaxError: Encountered unknown tag``), so every comment line starts with ``##``.
    """
    import yaml

    lines = [f"## {h}" if h else "##" for h in header]
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=False)
    return "\n".join(lines) + "\n" + body
