"""The invariants the firmware's P1 stack must keep on ANY byte stream (used by the fuzzer and the replay).

`check_stream(data)` feeds `data` to a fresh `P1Stack` in chunks whose sizes derive from the data
itself (so the fuzzer explores chunking too, reproducibly), then asserts:

1. nothing raises: not the stack, and not the parser on any frame the reader accepted (the stack
   swallows parser exceptions so a meter keeps running; here such an exception is a bug, re-raised
   with its own traceback);
2. every frame the reader accepted is a real `/`...`!` span of the input whose CRC holds, checked with an
   independent CRC-16/ARC; a frame accepted without CRC has no CRC digits after it in the input and
   declares no DSMR >= 4 version (no `1-3:0.2.8` / `0-0:96.1.4` line);
3. each accepted frame becomes exactly one Telegram, with the frame's CRC status, typed values and
   error entries of the documented shapes;
4. counters: exactly the documented keys, non-negative integers, `accepted` = frames returned,
   `garbage_bytes` <= input length, every framing event (accepted, crc_errors, truncated, oversized)
   started at its own `/`, and `parse_errors` >= the errors the telegrams report;
5. chunking never changes the result: the same data fed in one piece gives the same frames and counters;
6. the reader recovers: a valid telegram right after the data (whatever state it left) comes out.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from firmware.fixed import Dec
from firmware.p1.parser import parse_telegram
from firmware.p1.reader import TelegramReader
from firmware.p1.stack import P1Stack

COUNTER_KEYS = frozenset(
    {"accepted", "crc_errors", "truncated", "oversized", "garbage_bytes", "parse_errors", "no_crc",
     "no_crc_rejected"})
VERSION_MARKS = (b"1-3:0.2.8(", b"0-0:96.1.4(")
HEX = frozenset(b"0123456789abcdefABCDEF")


class InvariantViolation(AssertionError):
    """The P1 stack broke one of the invariants above; the message says which, with the evidence."""


def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _crc_table()


def crc16_arc(data: bytes) -> int:
    """CRC-16/ARC (poly 0xA001 reflected, init 0), table-driven: independent of firmware/p1/crc16.py."""
    crc = 0
    t = _TABLE
    for b in data:
        crc = (crc >> 8) ^ t[(crc ^ b) & 0xFF]
    return crc


def _good_telegram() -> bytes:
    body = (b"/FLU5\\253769484_A\r\n\r\n0-0:96.1.4(50217)\r\n0-0:1.0.0(200512135409S)\r\n"
            b"1-0:1.8.1(000123.456*kWh)\r\n1-0:1.7.0(00.191*kW)\r\n!")
    return body + b"%04X\r\n" % crc16_arc(body)


GOOD = _good_telegram()
GOOD_FRAME = GOOD[: GOOD.index(b"!") + 1]


def chunk_sizes(data: bytes) -> list[int]:
    """Chunk sizes (1..64, then whatever is left) derived from the data's CRC-32: varied, reproducible."""
    seed = zlib.crc32(data) or 1
    sizes = []
    total = 0
    while total < len(data):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        n = 1 + (seed >> 16) % 64
        sizes.append(n)
        total += n
    return sizes


def _chunks(data: bytes) -> list[bytes]:
    out = []
    i = 0
    for n in chunk_sizes(data):
        out.append(data[i : i + n])
        i += n
    return out


def _fail(what: str, data: bytes, **evidence: Any) -> InvariantViolation:
    ev = "; ".join(f"{k}={v!r}" for k, v in evidence.items())
    return InvariantViolation(f"{what} (input {len(data)} bytes{'; ' + ev if ev else ''})")


def _frame_in_input(raw: bytes, crc: str, data: bytes) -> None:
    """Raise unless `raw` is a span of `data` followed by CRC digits that hold (or by none, if absent)."""
    if not (raw.startswith(b"/") and raw.endswith(b"!")):
        raise _fail("accepted frame does not run from '/' to '!'", data, frame=raw[:80])
    want = crc16_arc(raw)
    start = data.find(raw)
    if start < 0:
        raise _fail("accepted frame is not a span of the input", data, frame=raw[:80])
    while start >= 0:
        after = data[start + len(raw) : start + len(raw) + 4]
        digits = bytearray()
        for b in after:
            if b not in HEX:
                break
            digits.append(b)
        if crc == "ok" and digits and int(digits, 16) == want:
            return
        if crc == "absent" and not digits:
            if any(m in raw for m in VERSION_MARKS):
                raise _fail("frame without CRC accepted although it declares DSMR >= 4", data, frame=raw[:80])
            head = raw[1:].split(b"\n", 1)[0].rstrip(b"\r")
            if not (len(head) >= 5 and head[:3].isalpha() and head[3:4].isdigit()
                    and all(32 <= b <= 126 for b in head)):
                raise _fail("frame without CRC accepted without a meter identification line", data,
                            header=head[:40])
            return
        start = data.find(raw, start + 1)
    raise _fail(f"accepted frame (crc {crc!r}) whose CRC does not hold in the input", data,
                frame=raw[:80], computed=f"{want:04X}")


def _check_telegram(t: Any, crc: str, data: bytes) -> None:
    if t.crc != crc:
        raise _fail("telegram's crc differs from its frame's", data, telegram=t.crc, frame=crc)
    if not isinstance(t.header, str):
        raise _fail("header is not text", data, header=t.header)
    for ref, obj in t.objects.items():
        if not isinstance(ref, str):
            raise _fail("object reference is not text", data, ref=ref)
        value = obj.value
        if isinstance(value, tuple) and value and all(isinstance(v, Dec) for v in value):
            value = value[0]  # several values of one unit (Smarty 1-1:31.4.0(040*A)(-040*A))
        if value is not None and not isinstance(value, (Dec, int, str)):
            raise _fail("value of an unexpected type", data, ref=ref, value=obj.value)
        if obj.ts is not None and type(obj.ts) is not int:
            raise _fail("timestamp is not an integer", data, ref=ref, ts=obj.ts)
        if obj.unit is not None and not isinstance(obj.unit, str):
            raise _fail("unit is not text", data, ref=ref, unit=obj.unit)
    for entry in t.errors:
        if not (isinstance(entry, tuple) and len(entry) == 3 and isinstance(entry[2], str) and entry[2]):
            raise _fail("error entry is not (line_no, line, reason)", data, entry=entry)


def _check_counters(c: dict, data: bytes, frames: int) -> None:
    if set(c) != COUNTER_KEYS:
        raise _fail("counter keys differ from the documented ones", data, keys=sorted(c))
    bad = {k: v for k, v in c.items() if type(v) is not int or v < 0}
    if bad:
        raise _fail("counters must be non-negative integers", data, counters=bad)
    if c["accepted"] != frames:
        raise _fail("accepted counter differs from the frames returned", data, accepted=c["accepted"],
                    frames=frames)
    if c["no_crc"] > c["accepted"] or c["no_crc_rejected"] > c["crc_errors"]:
        raise _fail("CRC-less counters exceed the totals they are part of", data, counters=c)
    if c["garbage_bytes"] > len(data):
        raise _fail("more garbage bytes counted than came in", data, garbage=c["garbage_bytes"])
    events = c["accepted"] + c["crc_errors"] + c["truncated"] + c["oversized"]
    if events > data.count(b"/"):
        raise _fail("more framing events than '/' in the input", data, counters=c, slashes=data.count(b"/"))


def check_stream(data: bytes, stack_factory: Callable[[], Any] = P1Stack) -> int:
    """Assert every invariant on `data`; return the number of telegrams decoded. Raises InvariantViolation."""
    stack = stack_factory()
    frames: list[tuple[bytes, str]] = []
    reader = stack.reader
    feed, end = reader.feed, reader.end

    def capture_feed(chunk: bytes) -> list:
        out = feed(chunk)
        frames.extend(out)
        return out

    def capture_end() -> list:
        out = end()
        frames.extend(out)
        return out

    reader.feed, reader.end = capture_feed, capture_end
    telegrams = []
    for chunk in _chunks(data):
        telegrams.extend(stack.feed(chunk))
    telegrams.extend(stack.end())

    for raw, crc in frames:
        _frame_in_input(raw, crc, data)
    if len(telegrams) != len(frames):
        for raw, crc in frames:
            parse_telegram(raw, crc)  # the parser's own exception, with its traceback, is the finding
        raise _fail("P1Stack dropped a frame the parser accepts", data, frames=len(frames),
                    telegrams=len(telegrams))
    for t, (_, crc) in zip(telegrams, frames, strict=True):
        _check_telegram(t, crc, data)
    c = dict(stack.counters)
    _check_counters(c, data, len(frames))
    if c["parse_errors"] < sum(len(t.errors) for t in telegrams):
        raise _fail("parse_errors counts fewer than the telegrams report", data, counters=c)

    whole = TelegramReader(getattr(reader, "max_size", 4096))
    whole_frames = whole.feed(data) + whole.end()
    if whole_frames != frames:
        raise _fail("chunking changed the frames", data, chunked=len(frames), whole=len(whole_frames),
                    sizes=chunk_sizes(data)[:8])
    wc = dict(whole.counters)
    wc["parse_errors"] = c["parse_errors"]
    if wc != c:
        raise _fail("chunking changed the counters", data, chunked=c, whole=wc)

    again = TelegramReader(getattr(reader, "max_size", 4096))
    again.feed(data)  # whatever state the data leaves the reader in, the next telegram must come out
    after = again.feed(GOOD) + again.end()
    if not after or after[-1] != (GOOD_FRAME, "ok"):
        raise _fail("reader did not recover at the next valid telegram", data, got=[f[0][:40] for f in after])
    return len(telegrams)
