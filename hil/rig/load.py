"""Load a rig file: parse, build, cross-check; a :class:`RigError` lists every problem found."""

from __future__ import annotations

import hashlib
from pathlib import Path

import attrs

from hil.rig import crosscheck
from hil.rig.build import Collector, build, build_list, build_named
from hil.rig.checks import VERSION, number, text
from hil.rig.checks import name as name_check
from hil.rig.errors import MISSING, Problem, RigError
from hil.rig.model import ApplianceSpec, Board, InstrumentSpec, P1Emulator, PowerDetectorSpec, Rig, Wire
from hil.rig.source import load_yaml

RIGS_DIR = Path(__file__).resolve().parents[2] / "rigs"
SECTIONS = ("boards", "p1", "appliances", "powerdetectors", "instruments", "wiring")


@attrs.frozen
class _Header:
    """The rig file's top-level scalars."""

    name: str = attrs.field(validator=name_check())
    version: int = attrs.field(validator=VERSION)
    description: str = attrs.field(default="", validator=text())
    time_scale: float = attrs.field(default=1.0, validator=number(0.001, 3600))
    clock: str = attrs.field(default="auto", validator=attrs.validators.in_(("auto", "virtual", "realtime")))
    quantum_s: float = attrs.field(default=0.1, validator=number(0.001, 10))
    visa_backend: str = attrs.field(default="@py", validator=text())


def default_rig_path() -> Path:
    """Return the embedded default rig: ``rigs/emulated.yaml``."""
    return RIGS_DIR / "emulated.yaml"


def load_rig(path: str | Path | None = None) -> Rig:
    """Load and validate a rig file (the emulated default when ``path`` is None)."""
    file = Path(path) if path is not None else default_rig_path()
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise RigError(
            str(file), [Problem("(file)", "a readable rig file", exc.strerror or str(exc))]
        ) from exc
    return load_rig_text(raw.decode("utf-8", errors="replace"), source=str(file), raw=raw)


def load_rig_text(text_: str, source: str = "<string>", raw: bytes | None = None) -> Rig:
    """Validate rig YAML given as text; ``source`` names it in messages."""
    data, lines, problems = load_yaml(text_)
    out = Collector(lines)
    out.problems.extend(problems)
    if data is None:  # a YAML syntax error (already a problem) or an empty file
        if not problems:
            out.add((), "a mapping with name, version, boards, p1, ...", None, shown_got="an empty file")
        raise RigError(source, out.problems)
    if not isinstance(data, dict):
        out.add((), "a mapping with name, version, boards, p1, ...", data)
        raise RigError(source, out.problems)
    header_keys = [f.name for f in attrs.fields(_Header)]
    for key in data:
        if key not in (*header_keys, *SECTIONS):
            out.add(
                (str(key),),
                f"one of the keys {', '.join((*header_keys, *SECTIONS))}",
                str(key),
                shown_got="unknown key",
            )
    header = build(_Header, {k: v for k, v in data.items() if k in header_keys}, (), out)
    if "boards" not in data:
        out.add(("boards",), "a mapping of board names to boards", MISSING)
    boards = build_named(Board, data.get("boards"), ("boards",), out)
    if raw is not None:  # a file: a board's token_file is relative to it
        boards = {n: _token_file_beside(b, Path(source).parent) for n, b in boards.items()}
    p1 = None
    if "p1" in data:
        p1 = build(P1Emulator, data["p1"], ("p1",), out)
    else:
        out.add(("p1",), "a p1 section (profile, port, board)", MISSING)
    pds = build_named(PowerDetectorSpec, data.get("powerdetectors"), ("powerdetectors",), out)
    appliances = build_named(ApplianceSpec, data.get("appliances"), ("appliances",), out)
    instruments = build_named(InstrumentSpec, data.get("instruments"), ("instruments",), out)
    wires = build_list(Wire, data.get("wiring"), ("wiring",), out)

    crosscheck.check_names(
        {"boards": boards, "powerdetectors": pds, "appliances": appliances, "instruments": instruments}, out
    )
    crosscheck.check_boards(boards, data.get("time_scale", 1.0), out, data.get("clock", "auto"))
    crosscheck.check_p1(p1, boards, out)
    crosscheck.check_powerdetectors(pds, boards, out)
    crosscheck.check_instruments(instruments, out)
    crosscheck.check_wiring(wires, boards, pds, instruments, out)
    crosscheck.check_appliances(appliances, boards, pds, instruments, wires, out)
    if out.problems or header is None or p1 is None:
        raise RigError(source, out.problems)
    digest = hashlib.sha256(raw if raw is not None else text_.encode()).hexdigest()
    return Rig(
        name=header.name,
        version=header.version,
        description=header.description,
        time_scale=float(header.time_scale),
        clock=header.clock,
        quantum_s=float(header.quantum_s),
        visa_backend=header.visa_backend,
        boards=boards,
        p1=p1,
        appliances=appliances,
        powerdetectors=pds,
        instruments=instruments,
        wiring=tuple(w for _, w in wires),
        source=source,
        sha256=digest,
    )


def _token_file_beside(board: Board, folder: Path) -> Board:
    """Return ``board`` with its token_file (when relative) taken from ``folder``, the rig file's."""
    if board.token_file is None:
        return board
    path = Path(board.token_file).expanduser()
    return attrs.evolve(board, token_file=str(path if path.is_absolute() else folder / path))
