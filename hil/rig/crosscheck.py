"""Checks across rig objects: references exist, roles fit, wiring makes physical sense.

Each check adds problems to the collector with the key path of the offending entry; nothing here
raises. A reference to an entry that has problems of its own is not reported again. The rules:

- exactly one SmartMeter; names unique across boards, PowerDetectors, appliances and instruments;
  MAC addresses, console ports, HTTP addresses and instrument resources unique; a real board
  reached by its mDNS name uses ``smartmeter.local`` / ``smartplug-<last 3 MAC bytes>.local``;
  real boards run in real time (``time_scale: 1``).
- the P1 emulator feeds the SmartMeter, on a real serial port if that meter is real; its profile
  exists.
- a PowerDetector sits on a SmartPlug; an appliance hangs on a SmartPlug, directly or through a
  PowerDetector on that same plug; one appliance per plug and per PowerDetector; its kind is a
  world model (with valid params), ``ac_load`` or ``real``; ``ac_load``, and a model behind a real
  plug, need an AC-load instrument wired to that plug's output; an AC load on a plug's output
  plays that plug's appliance.
- instruments: a real one's model is one its driver speaks; an emulated one's is the emulated
  model or left out; only a PDU has ``outlets``/``slot``.
- wiring: the instrument exists; ``to`` is ``<name>.<terminal>`` on an existing object; the
  terminal suits the instrument kind (analyzer/load: a plug's ``output``; DMM: a PowerDetector's
  ``contact``; PDU: a board's ``power``, with an ``outlet`` in range); each single-input instrument
  and each outlet is used once; a board's power comes from one outlet.
"""

from __future__ import annotations

from typing import Any

from hil.instruments.models import AC_LOAD, DMM, MODELS, PDU, POWER_ANALYZER, emulated_model
from hil.rig.build import Collector
from hil.rig.model import (
    DIRECT,
    SMARTMETER,
    SMARTPLUG,
    ApplianceSpec,
    Board,
    InstrumentSpec,
    P1Emulator,
    PowerDetectorSpec,
    Wire,
)

TERMINAL_OF_KIND = {POWER_ANALYZER: "output", AC_LOAD: "output", DMM: "contact", PDU: "power"}
OWNER_OF_TERMINAL = {"output": "smartplug", "power": "board", "contact": "powerdetector"}
EXTRA_APPLIANCE_KINDS = ("ac_load", "real")


def appliance_kinds() -> tuple[str, ...]:
    """Return the appliance kinds a rig may name: the world models plus ``ac_load`` and ``real``."""
    from hil.emulators.world import APPLIANCE_KINDS

    return (*APPLIANCE_KINDS, *EXTRA_APPLIANCE_KINDS)


def _listed(names: list[str]) -> str:
    return ", ".join(names) or "none defined"


def check_names(groups: dict[str, dict[str, Any]], out: Collector) -> None:
    """Check no name is used by two kinds of object (``to: x.output`` must be unambiguous)."""
    owner: dict[str, str] = {}
    for group, objects in groups.items():
        for obj_name in objects:
            if obj_name in owner and owner[obj_name] != group:
                out.add(
                    (group, obj_name),
                    "a name not used elsewhere in the rig",
                    obj_name,
                    f"also in {owner[obj_name]}",
                )
            owner.setdefault(obj_name, group)


def check_boards(boards: dict[str, Board], time_scale: Any, out: Collector, clock: Any = "auto") -> None:
    """Check the SmartMeter count, unique addresses, mDNS names and real time for real boards."""
    meters = [b.name for b in boards.values() if b.role == SMARTMETER]
    if len(meters) > 1 or (not meters and not out.broken):
        out.add(("boards",), "exactly one board with role smartmeter", f"{len(meters)}: {_listed(meters)}")
    for attr in ("mac", "console", "http"):
        seen: dict[str, str] = {}
        for board in boards.values():
            value = getattr(board, attr).lower()
            if value == "auto":
                continue
            if value in seen:
                out.add(
                    ("boards", board.name, attr),
                    f"a {attr} no other board uses",
                    getattr(board, attr),
                    f"board {seen[value]} uses it too",
                )
            seen.setdefault(value, board.name)
    for board in boards.values():
        if board.emulated and board.token_file is not None:
            out.add(("boards", board.name, "token_file"),
                    "no token_file on an emulated board (the rig makes its own user)", board.token_file)
        host = board.http.rsplit(":", 1)[0] if ":" in board.http else board.http
        if board.emulated or not host.lower().endswith(".local"):
            continue
        suffix = board.mac.lower().replace(":", "")[-6:]
        wanted = "smartmeter.local" if board.role == SMARTMETER else f"smartplug-{suffix}.local"
        if host.lower() != wanted:
            out.add(
                ("boards", board.name, "http"),
                f"{wanted} (the {board.role}'s mDNS name from its MAC)",
                board.http,
            )
    real = [b.name for b in boards.values() if not b.emulated]
    if real and isinstance(time_scale, int | float) and time_scale != 1:
        out.add(
            ("time_scale",),
            "1 on a rig with real boards (their firmware runs in real time)",
            time_scale,
            f"real boards: {', '.join(real)}",
        )
    if real and clock == "virtual":
        out.add(("clock",), "realtime or auto on a rig with real boards (their firmware keeps its own time)",
                clock, f"real boards: {', '.join(real)}")


def check_p1(p1: P1Emulator | None, boards: dict[str, Board], out: Collector) -> None:
    """Check the P1 emulator's profile, its board and its port."""
    if p1 is None:
        return
    from hil.emulators.p1.profiles import PROFILES
    from hil.rig.checks import serial_url

    if p1.profile not in PROFILES:
        out.add(("p1", "profile"), f"one of {', '.join(PROFILES)}", p1.profile)
    board = boards.get(p1.board)
    if board is None and not out.unknown(p1.board, boards):
        return
    if board is None or board.role != SMARTMETER:
        meters = [b.name for b in boards.values() if b.role == SMARTMETER]
        out.add(("p1", "board"), f"the smartmeter board ({_listed(meters)})", p1.board)
        return
    check = serial_url(board.emulated)
    if not check.ok(p1.port):
        note = f"the P1 line of the {'emulated' if board.emulated else 'real'} meter {board.name}"
        if not board.emulated and p1.port == "auto":
            note = "a real meter is fed through a USB-serial adapter into its RJ12: name that port"
        out.add(("p1", "port"), check.expected, p1.port, note)


def _plug_problem(ref: str, boards: dict[str, Board], out: Collector) -> bool:
    """Return whether ``ref`` must be reported as not a SmartPlug (broken entries are skipped)."""
    board = boards.get(ref)
    if board is None:
        return out.unknown(ref, boards)
    return board.role != SMARTPLUG


def check_powerdetectors(pds: dict[str, PowerDetectorSpec], boards: dict[str, Board], out: Collector) -> None:
    """Check each PowerDetector is plugged into a SmartPlug."""
    plugs = [b.name for b in boards.values() if b.role == SMARTPLUG]
    for pd in pds.values():
        if _plug_problem(pd.plug, boards, out):
            out.add(("powerdetectors", pd.name, "plug"), f"a smartplug board ({_listed(plugs)})", pd.plug)


def check_instruments(instruments: dict[str, InstrumentSpec], out: Collector) -> None:
    """Check models, PDU-only fields and unique resources."""
    seen: dict[str, str] = {}
    for spec in instruments.values():
        path = ("instruments", spec.name)
        known = MODELS[spec.kind]
        if spec.emulated and spec.model not in (None, emulated_model(spec.kind)):
            out.add(
                (*path, "model"),
                f"{emulated_model(spec.kind)} or nothing (what the emulator answers as)",
                spec.model,
            )
        elif not spec.emulated and spec.model not in known:
            out.add(
                (*path, "model"),
                f"one of {', '.join(known)} (models the {spec.kind} driver speaks)",
                spec.model,
            )
        for extra in ("outlets", "slot"):
            if getattr(spec, extra) is not None and spec.kind != PDU:
                out.add(
                    (*path, extra), f"no {extra} on a {spec.kind} (only a pdu has them)", getattr(spec, extra)
                )
        if spec.resource != "auto":
            if spec.resource in seen:
                out.add(
                    (*path, "resource"),
                    "a resource no other instrument uses",
                    spec.resource,
                    f"{seen[spec.resource]} uses it too",
                )
            seen.setdefault(spec.resource, spec.name)


def check_wiring(
    wires: list[tuple[int, Wire]],
    boards: dict[str, Board],
    pds: dict[str, PowerDetectorSpec],
    instruments: dict[str, InstrumentSpec],
    out: Collector,
) -> None:
    """Check every wire connects an existing instrument to a terminal it can measure or drive."""
    used_inputs: dict[str, int] = {}
    used_outlets: dict[tuple[str, int], int] = {}
    powered: dict[str, int] = {}
    for i, wire in wires:
        path = ("wiring", i)
        spec = instruments.get(wire.instrument)
        if spec is None:
            if out.unknown(wire.instrument, instruments):
                out.add(
                    (*path, "instrument"),
                    f"one of the instruments ({_listed(list(instruments))})",
                    wire.instrument,
                )
            continue
        wanted = TERMINAL_OF_KIND[spec.kind]
        obj, terminal = wire.target
        if terminal != wanted:
            out.add((*path, "to"), f"<{OWNER_OF_TERMINAL[wanted]}>.{wanted} for a {spec.kind}", wire.to)
            continue
        valid = {
            "output": [b.name for b in boards.values() if b.role == SMARTPLUG],
            "power": list(boards),
            "contact": list(pds),
        }[terminal]
        if obj not in valid:
            if obj in boards or out.unknown(obj, {**boards, **pds}):
                out.add(
                    (*path, "to"), f"a {OWNER_OF_TERMINAL[terminal]}'s {terminal} ({_listed(valid)})", wire.to
                )
            continue
        if spec.kind == PDU:
            _check_outlet(i, wire, spec, used_outlets, powered, out)
            continue
        if wire.outlet is not None:
            out.add((*path, "outlet"), f"no outlet on a {spec.kind} wire", wire.outlet)
        if spec.name in used_inputs:
            out.add(
                (*path, "instrument"),
                f"an instrument whose single input is free ({spec.name} has one)",
                wire.instrument,
                f"wiring[{used_inputs[spec.name]}] uses it",
            )
        used_inputs.setdefault(spec.name, i)


def _check_outlet(
    i: int,
    wire: Wire,
    spec: InstrumentSpec,
    used_outlets: dict[tuple[str, int], int],
    powered: dict[str, int],
    out: Collector,
) -> None:
    path = ("wiring", i)
    outlets = spec.outlets or 20
    if wire.outlet is None or wire.outlet > outlets:
        out.add((*path, "outlet"), f"an outlet number 1 .. {outlets} of {spec.name}", wire.outlet)
        return
    key = (spec.name, wire.outlet)
    if key in used_outlets:
        out.add(
            (*path, "outlet"),
            "an outlet no other wire uses",
            wire.outlet,
            f"wiring[{used_outlets[key]}] uses it",
        )
    used_outlets.setdefault(key, i)
    board = wire.target[0]
    if board in powered:
        out.add(
            (*path, "to"), "a board no other outlet powers", wire.to, f"wiring[{powered[board]}] powers it"
        )
    powered.setdefault(board, i)


def check_appliances(
    appliances: dict[str, ApplianceSpec],
    boards: dict[str, Board],
    pds: dict[str, PowerDetectorSpec],
    instruments: dict[str, InstrumentSpec],
    wires: list[tuple[int, Wire]],
    out: Collector,
) -> None:
    """Check where each appliance hangs, what it is and what realises it."""
    plugs = [b.name for b in boards.values() if b.role == SMARTPLUG]
    kinds = appliance_kinds()
    on_plug: dict[str, str] = {}
    on_pd: dict[str, str] = {}
    for app in appliances.values():
        path = ("appliances", app.name)
        if app.plug not in plugs:
            if _plug_problem(app.plug, boards, out):
                out.add((*path, "plug"), f"a smartplug board ({_listed(plugs)})", app.plug)
            continue
        if app.plug in on_plug:
            out.add(
                (*path, "plug"), "a plug no other appliance hangs on", app.plug, f"{on_plug[app.plug]} does"
            )
        on_plug.setdefault(app.plug, app.name)
        if app.via != DIRECT:
            pd = pds.get(app.via)
            here = [p.name for p in pds.values() if p.plug == app.plug]
            if (pd is None and out.unknown(app.via, pds)) or (pd is not None and pd.plug != app.plug):
                out.add(
                    (*path, "via"),
                    f"direct or a PowerDetector on {app.plug} ({', '.join(here) or 'none'})",
                    app.via,
                )
            elif app.via in on_pd:
                out.add(
                    (*path, "via"),
                    "a PowerDetector no other appliance uses",
                    app.via,
                    f"{on_pd[app.via]} does",
                )
            on_pd.setdefault(app.via, app.name)
        if app.kind not in kinds:
            out.add((*path, "kind"), f"one of {', '.join(kinds)}", app.kind)
            continue
        _check_realisation(app, boards[app.plug], instruments, wires, out)
    for i, wire in wires:
        spec = instruments.get(wire.instrument)
        plug, terminal = wire.target
        if spec is None or spec.kind != AC_LOAD or terminal != "output" or plug not in on_plug:
            continue
        app = appliances[on_plug[plug]]
        if app.instrument != spec.name:
            out.add(
                ("wiring", i, "to"),
                f"a plug whose appliance is played by {spec.name} (instrument: {spec.name})",
                wire.to,
                f"appliance {app.name} on {plug} is a {app.kind} of its own",
            )


def _check_realisation(
    app: ApplianceSpec,
    plug: Board,
    instruments: dict[str, InstrumentSpec],
    wires: list[tuple[int, Wire]],
    out: Collector,
) -> None:
    path = ("appliances", app.name)
    if app.kind not in EXTRA_APPLIANCE_KINDS:
        from hil.emulators.world import Site, make_appliance

        try:
            make_appliance(app.kind, app.params, Site(0))
        except (TypeError, ValueError) as exc:
            out.add((*path, "params"), f"parameters of a {app.kind} model", app.params, str(exc))
    elif app.params:
        out.add((*path, "params"), f"no params for kind {app.kind}", app.params)
    needs_load = app.kind == "ac_load" or (not plug.emulated and app.kind != "real")
    if app.instrument is None:
        if needs_load:
            why = (
                "kind ac_load"
                if app.kind == "ac_load"
                else f"a {app.kind} model behind the real plug {plug.name}"
            )
            out.add(
                (*path, "instrument"),
                "the name of an ac_load instrument wired to this plug's output",
                None,
                f"{why} needs an AC electronic load to draw its power",
            )
        return
    spec = instruments.get(app.instrument)
    if spec is None and not out.unknown(app.instrument, instruments):
        return
    if spec is None or spec.kind != AC_LOAD:
        loads = [i.name for i in instruments.values() if i.kind == AC_LOAD]
        out.add((*path, "instrument"), f"an ac_load instrument ({_listed(loads)})", app.instrument)
        return
    if app.via != DIRECT:
        out.add((*path, "via"), "direct when an AC load plays the appliance", app.via)
    if not any(w.instrument == spec.name and w.to == f"{plug.name}.output" for _, w in wires):
        out.add((*path, "instrument"), f"an AC load wired to {plug.name}.output (see wiring)", app.instrument)
