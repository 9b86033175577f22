"""A held place's resources -> the addresses a rig file takes (pure).

The client side of :mod:`hil.lab.exports`: a resource named after a rig part replaces that part's
address, so :class:`hil.rig.runtime.RigRuntime`, the board clients, the P1 writer and the pyvisa
drivers run unchanged on a remote rig. Parts the place does not carry keep what the rig file says.
"""

from __future__ import annotations

from typing import Any

import attrs

from hil.lab.exports import CONSOLE, HTTP, P1
from hil.rig.model import Rig


class ResolveError(ValueError):
    """A place's resource that cannot stand for the rig part of the same name (says which and why)."""


def serial_url(name: str, res: dict[str, Any]) -> str:
    """Return the pyserial URL of an exported serial port (``NetworkSerialPort`` on the client side)."""
    cls = res.get("cls")
    host, port = res.get("host"), res.get("port")
    if cls != "NetworkSerialPort":
        raise ResolveError(f"resource {name}: expected a NetworkSerialPort (a serial port); got {cls}")
    if not host or not port:
        raise ResolveError(
            f"resource {name}: expected host and port (is the place acquired and its "
            f"exporter up?); got host={host!r} port={port!r}"
        )
    if res.get("protocol", "rfc2217") == "raw":
        return f"socket://{host}:{port}"
    # ser2net answers RFC 2217 but has no modem lines to set: ign_set_control skips that handshake
    return f"rfc2217://{host}:{port}?ign_set_control"


def _service(name: str, res: dict[str, Any], usernames: tuple[str, ...]) -> tuple[str, int, str]:
    cls, user = res.get("cls"), res.get("username")
    if cls != "NetworkService" or user not in usernames:
        raise ResolveError(
            f"resource {name}: expected a NetworkService with username "
            f"{' or '.join(usernames)}; got {cls} username={user!r}"
        )
    return str(res["address"]), int(res.get("port", 0)), str(user)


def http_address(name: str, res: dict[str, Any]) -> str:
    """Return ``host[:port]`` of a board's exported web server."""
    host, port, _ = _service(name, res, ("http",))
    return host if port == 80 else f"{host}:{port}"


def visa_resource(name: str, res: dict[str, Any]) -> str:
    """Return the VISA resource string of an exported instrument."""
    host, port, user = _service(name, res, ("scpi", "vxi11"))
    return f"TCPIP::{host}::{port}::SOCKET" if user == "scpi" else f"TCPIP::{host}::INSTR"


@attrs.frozen
class Resolved:
    """The rig with the place's addresses, and what came from where (for the record and the report)."""

    rig: Rig
    addresses: dict[str, str]  # rig part -> address taken from the place
    unused: tuple[str, ...] = ()  # resources of the place no rig part is named after


def resolve(rig: Rig, resources: dict[str, dict[str, Any]]) -> Resolved:
    """Return ``rig`` with each part named in ``resources`` (name -> {cls, params}) at the place's address."""
    emulated = [f"boards.{b.name}" for b in rig.boards.values() if b.emulated] + [
        f"instruments.{i.name}" for i in rig.instruments.values() if i.emulated
    ]
    if emulated:
        raise ResolveError(
            f"rig {rig.name} ({rig.source}): expected the rig file of the bench behind the place "
            f"(real parts only); got emulated parts {', '.join(emulated)} (for an emulated rig "
            "exported with hil rig up --export, use the rig.yaml it wrote)"
        )
    addresses: dict[str, str] = {}
    used: set[str] = set()
    boards = {}
    for b in rig.boards.values():
        changes: dict[str, str] = {}
        console, http = CONSOLE.format(board=b.name), HTTP.format(board=b.name)
        if console in resources:
            url = serial_url(console, resources[console])
            changes["console"] = addresses[f"boards.{b.name}.console"] = url
            used.add(console)
        if http in resources:
            changes["http"] = addresses[f"boards.{b.name}.http"] = http_address(http, resources[http])
            if resources[http].get("password"):  # the board's API token (hil.lab.exports.http_resource)
                changes["token"] = str(resources[http]["password"])
            used.add(http)
        boards[b.name] = attrs.evolve(b, **changes) if changes else b
    p1 = rig.p1
    if P1 in resources:
        p1 = attrs.evolve(p1, port=serial_url(P1, resources[P1]))
        addresses["p1.port"] = p1.port
        used.add(P1)
    instruments = {}
    for i in rig.instruments.values():
        if i.name in resources:
            resource = visa_resource(i.name, resources[i.name])
            addresses[f"instruments.{i.name}.resource"] = resource
            instruments[i.name] = attrs.evolve(i, resource=resource)
            used.add(i.name)
        else:
            instruments[i.name] = i
    out = attrs.evolve(rig, boards=boards, p1=p1, instruments=instruments)
    return Resolved(out, addresses, tuple(sorted(set(resources) - used)))
