"""Decode telegram files and recordings with the firmware's own reader and parser.

Every telegram the reader frames comes out in stream order, including those it rejects for their CRC
(crc "bad": the reader drops them, the decoder still shows what they said). Frames rejected for other
reasons (cut off, oversized) are not telegrams and are listed as rejections only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from firmware.fixed import Dec
from firmware.p1.parser import Parser, Telegram
from firmware.p1.reader import TelegramReader
from firmware.timebase import CET, iso_utc
from hil.p1_fastcrc import crc16_arc as fast_crc

from .names import decoded_text, local_iso, object_name
from .recording import is_recording, read_recording


@attrs.define
class Decoded:
    """What came out of one byte stream."""

    telegrams: list[Telegram] = attrs.field(factory=list)
    rejected: list[tuple[str, bytes]] = attrs.field(factory=list)     # (reason, raw) of every rejection
    counters: dict[str, int] = attrs.field(factory=dict)


def load_bytes(path: str | Path) -> bytes:
    """Return the bytes of a telegram file, or of all chunks of a .p1rec recording."""
    raw = Path(path).read_bytes()
    if is_recording(raw[:16]):
        return read_recording(path).data
    return raw


def _is_crc_reject(reason: str) -> bool:
    return reason.startswith('CRC mismatch') or reason.startswith('missing CRC')


def _body(raw: bytes) -> bytes:
    bang = raw.rfind(b'!')
    return raw[:bang + 1] if bang >= 0 else raw


def decode_bytes(data: bytes, std: int = CET) -> Decoded:
    """Frame and parse every telegram in data, in order, bad-CRC ones included (crc 'bad')."""
    reader = TelegramReader(keep_rejected=True, crc=fast_crc)
    rejected = reader.rejected
    parser = Parser(std)  # one line: one parser, its caches kept from telegram to telegram
    assert rejected is not None
    out = Decoded()
    seen = 0

    def collect(frames: list[tuple[bytes, str]]) -> None:
        nonlocal seen
        for raw, reason in rejected[seen:]:
            out.rejected.append((reason, raw))
            if _is_crc_reject(reason):
                out.telegrams.append(parser.parse(_body(raw), 'bad'))
        seen = len(rejected)
        for raw, crc in frames:
            t = parser.parse(raw, crc)
            reader.counters['parse_errors'] += len(t.errors)
            out.telegrams.append(t)

    start = 0
    while start < len(data):           # line by line: at most one telegram ends per feed
        end = data.find(b'\n', start)
        end = len(data) if end < 0 else end + 1
        collect(reader.feed(data[start:end]))
        start = end
    collect(reader.end())
    out.counters = dict(reader.counters)
    return out


def _number(v: Any) -> Any:
    if isinstance(v, Dec):
        return int(v.m) if v.e == 0 else float(v)
    if isinstance(v, tuple):
        return [_number(x) for x in v]
    return v


def _iso(t: int | None) -> str | None:
    return None if t is None else iso_utc(t)


def telegram_json(t: Telegram, file: str | None = None, std: int = CET) -> dict[str, Any]:
    """Return the JSON object of one telegram: file, crc, header, objects, history.

    Each object: value, unit, timestamp (UTC), local (the meter's local time with its offset), name, and
    text for identifiers written in hex (the EAN, serials, messages).
    """
    objects = {}
    for ref, o in t.objects.items():
        entry: dict[str, Any] = {'value': _number(o.value), 'unit': o.unit, 'timestamp': _iso(o.ts),
                                 'local': local_iso(o.ts, std), 'name': object_name(ref)}
        text = decoded_text(ref, o.value)
        if text is not None:
            entry['text'] = text
        objects[ref] = entry
    history = [{'month_start': _iso(m), 'peak_at': _iso(p), 'month_start_local': local_iso(m, std),
                'peak_at_local': local_iso(p, std), 'value': _number(v), 'unit': u}
               for m, p, v, u in t.history]
    return {'file': file, 'crc': t.crc, 'header': t.header, 'objects': objects, 'history': history}
