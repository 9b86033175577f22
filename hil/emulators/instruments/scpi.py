"""SCPI-1999 / IEEE 488.2 command parsing and dispatch for the emulated instruments.

One :class:`ScpiDevice` holds a command tree, the error queue and the standard event status
register. It turns one program message (a line) into zero or more responses; it never raises on
bad input: every mistake becomes an error-queue entry (``SYST:ERR?``) and the device's state is
left as it was.

Command patterns are written as in instrument manuals: ``MEASure:VOLTage[:DC]?``,
``NUMeric[:NORMal]:ITEM<n>``; upper-case letters are the short form, ``[...]`` an optional node,
``<n>`` a numeric suffix (default 1), a trailing ``?`` a query.
"""

from __future__ import annotations

import math
import re
import threading
from collections import deque
from collections.abc import Callable, Sequence

import attrs

# SCPI standard error codes used by the emulators (SCPI-1999 vol. 2, chapter 21.8).
NO_ERROR = 0
COMMAND_ERROR = -100
INVALID_CHARACTER = -101
SYNTAX_ERROR = -102
DATA_TYPE_ERROR = -104
PARAMETER_NOT_ALLOWED = -108
MISSING_PARAMETER = -109
UNDEFINED_HEADER = -113
HEADER_SUFFIX_OUT_OF_RANGE = -114
INVALID_SUFFIX = -131
EXECUTION_ERROR = -200
SETTINGS_CONFLICT = -221
DATA_OUT_OF_RANGE = -222
TOO_MUCH_DATA = -223
DATA_STALE = -230
ILLEGAL_PARAMETER_VALUE = -224
DEVICE_SPECIFIC_ERROR = -300
QUEUE_OVERFLOW = -350

TITLES = {
    NO_ERROR: "No error",
    COMMAND_ERROR: "Command error",
    INVALID_CHARACTER: "Invalid character",
    SYNTAX_ERROR: "Syntax error",
    DATA_TYPE_ERROR: "Data type error",
    PARAMETER_NOT_ALLOWED: "Parameter not allowed",
    MISSING_PARAMETER: "Missing parameter",
    UNDEFINED_HEADER: "Undefined header",
    HEADER_SUFFIX_OUT_OF_RANGE: "Header suffix out of range",
    INVALID_SUFFIX: "Invalid suffix",
    EXECUTION_ERROR: "Execution error",
    SETTINGS_CONFLICT: "Settings conflict",
    DATA_OUT_OF_RANGE: "Data out of range",
    TOO_MUCH_DATA: "Too much data",
    DATA_STALE: "Data corrupt or stale",
    ILLEGAL_PARAMETER_VALUE: "Illegal parameter value",
    DEVICE_SPECIFIC_ERROR: "Device-specific error",
    QUEUE_OVERFLOW: "Queue overflow",
}

# Standard event status register bits (IEEE 488.2 11.5.1).
ESR_OPC = 1
ESR_QYE = 4
ESR_DDE = 8
ESR_EXE = 16
ESR_CME = 32


class ScpiError(Exception):
    """A SCPI error a command handler raises: a standard code and a detail saying what and where."""

    def __init__(self, code: int, detail: str = "") -> None:
        super().__init__(code, detail)
        self.code = code
        self.detail = detail

    def entry(self) -> str:
        """Return the error-queue text, e.g. ``-222,"Data out of range; RES 5 ohm, expected 1.4 .. 2500"``."""
        text = TITLES.get(self.code, "Error")
        if self.detail:
            text = f"{text}; {self.detail}"
        return f'{self.code},"{text.replace(chr(34), chr(39))}"'


def esr_bit(code: int) -> int:
    """Return the event status register bit an error code sets (CME, EXE, DDE or QYE)."""
    if -199 <= code <= -100:
        return ESR_CME
    if -299 <= code <= -200:
        return ESR_EXE
    if -399 <= code <= -300 or code > 0:
        return ESR_DDE
    if -499 <= code <= -400:
        return ESR_QYE
    return 0


@attrs.frozen
class Node:
    """One mnemonic of a command pattern."""

    long: str
    short: str
    optional: bool
    suffix: bool

    def match(self, token: str) -> int | None:
        """Return the numeric suffix when ``token`` (upper case) names this node, else None (0: none)."""
        name, digits = token, ""
        if self.suffix:
            m = re.fullmatch(r"([A-Z_]+?)(\d*)", token)
            if m is None:
                return None
            name, digits = m.group(1), m.group(2)
        if name not in (self.long, self.short):
            return None
        return int(digits) if digits else 0


def parse_pattern(pattern: str) -> tuple[tuple[Node, ...], bool]:
    """Split a manual-style pattern into nodes; returns (nodes, is_query)."""
    query = pattern.endswith("?")
    body = pattern[:-1] if query else pattern
    nodes: list[Node] = []
    for part in re.findall(r"\[:?([^\]]+)\]|:?([^:\[]+)", body.lstrip(":")):
        optional = bool(part[0])
        text = part[0] or part[1]
        suffix = text.endswith("<n>")
        text = text.removesuffix("<n>")
        short = "".join(c for c in text if c.isupper() or c.isdigit() or c == "*")
        nodes.append(Node(text.upper(), short or text.upper(), optional, suffix))
    return tuple(nodes), query


@attrs.frozen
class Call:
    """One parsed command as a handler sees it."""

    header: str
    args: tuple[str, ...]
    suffixes: tuple[int, ...]

    def suffix(self, i: int = 0, lo: int = 1, hi: int = 1) -> int:
        """Return the i-th numeric suffix (1 when omitted), checked against lo..hi."""
        value = (self.suffixes[i] or 1) if i < len(self.suffixes) else 1
        if not lo <= value <= hi:
            raise ScpiError(HEADER_SUFFIX_OUT_OF_RANGE, f"{self.header}: expected {lo}..{hi}, got {value}")
        return value

    def count(self, lo: int, hi: int | None = None) -> None:
        """Check the number of parameters is within lo..hi (hi defaults to lo)."""
        hi = lo if hi is None else hi
        n = len(self.args)
        if n < lo:
            raise ScpiError(MISSING_PARAMETER, f"{self.header}: expected {lo} parameter(s), got {n}")
        if n > hi:
            raise ScpiError(
                PARAMETER_NOT_ALLOWED, f"{self.header}: expected at most {hi} parameter(s), got {n}"
            )

    def text(self, i: int) -> str:
        """Parameter i as written, quotes removed from a string parameter."""
        value = self.args[i]
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            return value[1:-1]
        return value

    def number(self, i: int, lo: float, hi: float, unit: str = "", default: float | None = None) -> float:
        """Parameter i as a number in lo..hi (accepts MIN, MAX, DEF and an optional unit suffix)."""
        raw = self.args[i].strip().upper()
        if raw in ("MIN", "MINIMUM"):
            return lo
        if raw in ("MAX", "MAXIMUM"):
            return hi
        if raw in ("DEF", "DEFAULT") and default is not None:
            return default
        value = parse_number(raw, unit, where=f"{self.header} parameter {i + 1}")
        if not lo <= value <= hi:
            span = f"{lo:g} .. {hi:g} {unit}".rstrip()
            raise ScpiError(DATA_OUT_OF_RANGE, f"{self.header}: expected {span}, got {self.args[i]}")
        return value

    def integer(self, i: int, lo: int, hi: int) -> int:
        """Parameter i as an integer in lo..hi."""
        value = self.number(i, lo, hi)
        if value != int(value):
            raise ScpiError(DATA_TYPE_ERROR, f"{self.header}: expected an integer, got {self.args[i]}")
        return int(value)

    def boolean(self, i: int) -> bool:
        """Parameter i as ON/OFF/1/0."""
        raw = self.args[i].strip().upper()
        if raw in ("ON", "1"):
            return True
        if raw in ("OFF", "0"):
            return False
        raise ScpiError(
            ILLEGAL_PARAMETER_VALUE, f"{self.header}: expected ON, OFF, 1 or 0, got {self.args[i]}"
        )

    def choice(self, i: int, options: Sequence[str]) -> str:
        """Parameter i as one of the manual-style keywords (long or short form); returns the long form."""
        raw = self.text(i).strip().upper()
        for option in options:
            short = "".join(c for c in option if c.isupper() or c.isdigit())
            if raw in (option.upper(), short):
                return option
        raise ScpiError(
            ILLEGAL_PARAMETER_VALUE,
            f"{self.header}: expected one of {', '.join(options)}, got {self.args[i]}",
        )


_UNIT_PREFIX = {"": 1.0, "U": 1e-6, "M": 1e-3, "K": 1e3, "MA": 1e6}
_NUMBER = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:E[+-]?\d+)?)\s*([A-Z]*)")


def parse_number(raw: str, unit: str, where: str) -> float:
    """Parse a SCPI decimal numeric parameter with an optional unit (``250MS``, ``1.5KOHM``)."""
    m = _NUMBER.fullmatch(raw.strip().upper())
    if m is None:
        raise ScpiError(DATA_TYPE_ERROR, f"{where}: expected a number, got {raw}")
    value = float(m.group(1))
    suffix = m.group(2)
    if suffix:
        unit_u = unit.upper()
        if not unit_u or not suffix.endswith(unit_u):
            raise ScpiError(INVALID_SUFFIX, f"{where}: expected unit {unit or 'none'}, got {suffix}")
        prefix = suffix[: len(suffix) - len(unit_u)]
        if unit_u in ("OHM", "HZ") and prefix == "M":
            prefix = "MA"  # SCPI: MOHM and MHZ are mega
        if prefix not in _UNIT_PREFIX:
            raise ScpiError(INVALID_SUFFIX, f"{where}: unknown unit prefix in {suffix}")
        value *= _UNIT_PREFIX[prefix]
    if not math.isfinite(value):
        raise ScpiError(DATA_TYPE_ERROR, f"{where}: expected a finite number, got {raw}")
    return value


Handler = Callable[[Call], str | None]


@attrs.define
class _Command:
    nodes: tuple[Node, ...]
    handler: Handler


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    """Split on sep, ignoring separators inside strings and (expression) data such as (@101,102)."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    depth = 0
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            current.append(ch)
        elif ch == "(":
            depth += 1
            current.append(ch)
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ScpiError(SYNTAX_ERROR, f"unbalanced ')' in {text!r}")
            current.append(ch)
        elif ch == sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quote:
        raise ScpiError(SYNTAX_ERROR, f"unterminated string in {text!r}")
    if depth:
        raise ScpiError(SYNTAX_ERROR, f"unbalanced '(' in {text!r}")
    parts.append("".join(current))
    return parts


_HEADER = re.compile(r"(\*[A-Z]+\??)|(:?[A-Z_][A-Z0-9_]*(?::[A-Z_][A-Z0-9_]*)*\??)", re.IGNORECASE)


class ScpiDevice:
    """A SCPI instrument's command interpreter: command tree, error queue, status byte basics."""

    def __init__(self, idn: str, error_queue_size: int = 20) -> None:
        self.idn = idn
        self.lock = threading.RLock()  # held while a message runs and while a ticker updates state
        self.error_queue_size = error_queue_size
        self.errors: deque[str] = deque()
        self.esr = 0
        self.commands: list[_Command] = []
        self.queries: list[_Command] = []
        self.counters = {"messages": 0, "commands": 0, "errors": 0}
        self.add("*IDN?", lambda c: self.idn)
        self.add("*RST", lambda c: self.reset())
        self.add("*CLS", lambda c: self.clear_status())
        self.add("*OPC?", lambda c: "1")
        self.add("*OPC", lambda c: self._set_opc())
        self.add("*WAI", lambda c: None)
        self.add("*TST?", lambda c: "0")
        self.add("*ESR?", lambda c: self._read_esr())
        self.add("SYSTem:ERRor[:NEXT]?", lambda c: self.next_error())
        self.add("SYSTem:ERRor:COUNt?", lambda c: str(len(self.errors)))
        self.add("SYSTem:VERSion?", lambda c: "1999.0")

    # --- registry -------------------------------------------------------------------------
    def add(self, pattern: str, handler: Handler) -> None:
        """Register a handler for a manual-style pattern (see the module docstring)."""
        nodes, query = parse_pattern(pattern)
        (self.queries if query else self.commands).append(_Command(nodes, handler))

    # --- state hooks ---------------------------------------------------------------------------
    def reset(self) -> None:
        """*RST: return settings to their power-on values (subclasses extend; queue untouched)."""

    def clear_status(self) -> None:
        """*CLS: clear the error queue and the event status register."""
        self.errors.clear()
        self.esr = 0

    def _set_opc(self) -> None:
        self.esr |= ESR_OPC

    def _read_esr(self) -> str:
        value, self.esr = self.esr, 0
        return str(value)

    def push_error(self, error: ScpiError) -> None:
        """Queue an error (the last slot becomes -350 Queue overflow when full) and set its ESR bit."""
        self.counters["errors"] += 1
        self.esr |= esr_bit(error.code)
        if len(self.errors) >= self.error_queue_size:
            self.errors[-1] = ScpiError(QUEUE_OVERFLOW).entry()
            return
        self.errors.append(error.entry())

    def next_error(self) -> str:
        """Pop the oldest error (``0,"No error"`` when empty)."""
        return self.errors.popleft() if self.errors else ScpiError(NO_ERROR).entry()

    # --- execution -------------------------------------------------------------------------------
    def execute(self, line: str) -> list[str]:
        """Run one program message; returns the responses of its queries, in order."""
        self.counters["messages"] += 1
        responses: list[str] = []
        try:
            units = _split_outside_quotes(line, ";")
        except ScpiError as err:
            self.push_error(err)
            return responses
        path: list[tuple[str, ...]] = [()]  # the compound header path; updated once a header is known
        for unit in units:
            unit = unit.strip()
            if not unit:
                continue
            try:
                response = self._execute_unit(unit, path)
            except ScpiError as err:
                self.push_error(err)
                if -199 <= err.code <= -100:
                    break  # a command error leaves the rest of the message unparsed, as 488.2 allows
                continue
            except Exception as exc:  # a handler bug must never kill the instrument
                self.push_error(ScpiError(DEVICE_SPECIFIC_ERROR, f"{unit}: {type(exc).__name__}: {exc}"))
                continue
            if response is not None:
                responses.append(response)
        return responses

    def _execute_unit(self, unit: str, path: list[tuple[str, ...]]) -> str | None:
        if any(ord(c) < 32 and c not in "\t" or ord(c) > 126 for c in unit):
            bad = next(c for c in unit if ord(c) < 32 and c != "\t" or ord(c) > 126)
            raise ScpiError(INVALID_CHARACTER, f"byte 0x{ord(bad):02x} in {ascii(unit)}")
        m = _HEADER.match(unit)
        if m is None:
            raise ScpiError(SYNTAX_ERROR, f"expected a command header, got {unit!r}")
        header = m.group(0)
        rest = unit[m.end() :]
        if rest and not rest[0].isspace():
            raise ScpiError(SYNTAX_ERROR, f"expected a space after the header, got {unit!r}")
        rest = rest.strip()
        args: tuple[str, ...] = ()
        if rest:
            args = tuple(a.strip() for a in _split_outside_quotes(rest, ","))
            if any(not a for a in args):
                raise ScpiError(SYNTAX_ERROR, f"empty parameter in {unit!r}")
        query = header.endswith("?")
        bare = header[:-1] if query else header
        table = self.queries if query else self.commands
        if bare.startswith("*"):
            tokens: tuple[str, ...] = (bare.upper(),)
        else:
            absolute = bare.startswith(":")
            tokens = tuple(t.upper() for t in bare.lstrip(":").split(":"))
            if not absolute:
                tokens = path[0] + tokens
        for command in table:
            suffixes = _match(command.nodes, tokens)
            if suffixes is not None:
                self.counters["commands"] += 1
                if not bare.startswith("*"):
                    path[0] = tokens[:-1]
                call = Call(header=header.upper(), args=args, suffixes=tuple(suffixes))
                response = command.handler(call)
                if not query:
                    return None  # a command's handler result is never sent
                if not isinstance(response, str):
                    raise TypeError(f"{header}: handler answered {type(response).__name__}, expected str")
                return response
        raise ScpiError(UNDEFINED_HEADER, f"{header}")


def _match(nodes: Sequence[Node], tokens: Sequence[str]) -> list[int] | None:
    """Match header tokens to pattern nodes (optional nodes may be skipped); suffixes of <n> nodes."""
    if not nodes:
        return [] if not tokens else None
    node = nodes[0]
    if tokens:
        value = node.match(tokens[0])
        if value is not None:
            rest = _match(nodes[1:], tokens[1:])
            if rest is not None:
                return ([value] if node.suffix else []) + rest
    if node.optional:
        rest = _match(nodes[1:], tokens)
        if rest is not None:
            return ([0] if node.suffix else []) + rest
    return None


def nr3(value: float, digits: int = 5) -> str:
    """Format as NR3 with the given significant digits, e.g. ``2.3012E+02`` (Yokogawa style)."""
    if math.isnan(value):
        return "9.91E+37"
    if math.isinf(value):
        return "9.9E+37" if value > 0 else "-9.9E+37"
    return f"{value:.{digits - 1}E}"


def keysight(value: float) -> str:
    """Format as a Keysight Truevolt reading, e.g. ``+1.23456789E+03``; overload is +9.9E+37."""
    if math.isnan(value):
        return "+9.91000000E+37"
    if math.isinf(value) or abs(value) >= 9.9e37:
        return "+9.90000000E+37" if value > 0 else "-9.90000000E+37"
    return f"{value:+.8E}"
