"""Property-based tests of the P1 reader and parser on real telegrams and mutated streams."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.p1.crc16 import crc16_arc
from firmware.p1.obis import kind_of
from firmware.p1.parser import Parser, parse_telegram
from firmware.p1.reader import TelegramReader
from firmware.p1.stack import P1Stack

from .telegram_files import all_telegram_names, telegram_bytes

CRC_TELEGRAMS = []  # (bytes as sent, raw '/'..'!') of every example with a valid CRC
for _name in all_telegram_names():
    _data = telegram_bytes(_name)
    _end = _data.index(b"!")
    _given = _data[_end + 1:_end + 5]
    if _given.strip() and int(_given, 16) == crc16_arc(_data[: _end + 1]):
        CRC_TELEGRAMS.append((_data[: _end + 5] + b"\r\n", _data[: _end + 1]))
VALID_RAW = {raw for _, raw in CRC_TELEGRAMS}

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

telegram_index = st.integers(min_value=0, max_value=len(CRC_TELEGRAMS) - 1)


def read_in_chunks(data: bytes, cuts: list[int], max_size: int = 4096, require_crc=None):
    reader = TelegramReader(max_size, require_crc=require_crc)
    out = []
    prev = 0
    for cut in sorted(set(c % (len(data) + 1) for c in cuts)) + [len(data)]:
        out += reader.feed(data[prev:cut])
        prev = cut
    out += reader.end()
    return out, reader.counters


@st.composite
def streams(draw):
    """A realistic line: telegrams with garbage between some of them."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            parts.append(draw(st.binary(max_size=40)).replace(b"/", b"").replace(b"!", b""))
        parts.append(CRC_TELEGRAMS[draw(telegram_index)][0])
    return b"".join(parts)


@st.composite
def mutations(draw, data: bytes):
    """The stream with bit flips, truncations, insertions, deletions and duplications."""
    b = bytearray(data)
    for _ in range(draw(st.integers(1, 6))):
        if not b:
            break
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "duplicate", "lose end mark"]))
        i = draw(st.integers(0, len(b) - 1))
        if op == "lose end mark":  # the one byte whose loss changes framing most
            j = b.find(b"!", i)
            if j >= 0:
                b[j] = ord("X")
        elif op == "flip":
            b[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del b[i:]
        elif op == "insert":
            b[i:i] = draw(st.binary(min_size=1, max_size=20))
        elif op == "delete":
            del b[i:i + draw(st.integers(1, 50))]
        else:
            j = draw(st.integers(i, min(len(b), i + 200)))
            b[j:j] = b[i:j]
    return bytes(b)


@SETTINGS
@given(data=streams(), cuts=st.lists(st.integers(0, 10**6), max_size=30),
       max_size=st.sampled_from([4096, 1024, 600, 300, 64]))
def test_chunking_never_changes_the_result(data, cuts, max_size):
    whole, whole_counters = read_in_chunks(data, [], max_size)
    chunked, chunked_counters = read_in_chunks(data, cuts, max_size)
    assert chunked == whole
    assert chunked_counters == whole_counters


@SETTINGS
@given(data=st.data(), max_size=st.sampled_from([4096, 1024, 600, 300, 64]))
def test_chunking_never_changes_the_result_on_damaged_streams(data, max_size):
    damaged = data.draw(mutations(data.draw(streams())))
    cuts = data.draw(st.lists(st.integers(0, 10**6), max_size=30))
    assert read_in_chunks(damaged, cuts, max_size) == read_in_chunks(damaged, [], max_size)


@SETTINGS
@given(data=streams(), cuts=st.lists(st.integers(0, 10**6), max_size=10))
def test_clean_streams_yield_every_telegram_and_only_garbage_counts(data, cuts):
    telegrams, counters = read_in_chunks(data, cuts)
    expected = data.count(b"!")
    assert len(telegrams) == expected == counters["accepted"]
    assert all(crc == "ok" and raw in VALID_RAW for raw, crc in telegrams)
    assert counters["crc_errors"] == counters["truncated"] == counters["oversized"] == 0


@SETTINGS
@given(st.data())
def test_mutated_streams_never_raise_and_never_yield_corrupt_telegrams(data):
    clean = data.draw(streams())
    mutated = data.draw(mutations(clean))
    cuts = data.draw(st.lists(st.integers(0, 10**6), max_size=10))
    telegrams, counters = read_in_chunks(mutated, cuts, require_crc=True)  # a 115200 (DSMR 4+) line
    for raw, crc in telegrams:
        # a corrupted telegram could only pass if its CRC collided (p = 2^-16 per telegram)
        assert crc == "ok" and raw in VALID_RAW, raw[:80]
    assert all(v >= 0 for v in counters.values())
    assert counters["accepted"] == len(telegrams)


@SETTINGS
@given(st.data())
def test_unknown_line_type_requires_crcs_once_it_has_seen_one(data):
    sent, raw = CRC_TELEGRAMS[data.draw(telegram_index)]
    mutated = data.draw(mutations(data.draw(streams())))
    telegrams, _ = read_in_chunks(sent + mutated, [], require_crc=None)
    assert telegrams[0] == (raw, "ok")
    assert all(crc == "ok" and r in VALID_RAW for r, crc in telegrams)


def test_an_end_mark_inside_a_line_does_not_end_the_telegram():
    sent, raw = CRC_TELEGRAMS[0]
    reader = TelegramReader()
    assert reader.feed(b"/!\r\n" + sent) == [(raw, "ok")]
    assert reader.counters["truncated"] == 1 and reader.counters["accepted"] == 1
    forged = TelegramReader()
    forged_frame = b"/ABC5X\r\n1-0:1.8.1(1!*kWh)\r\n!"
    assert forged.feed(forged_frame + b"\r\n") == [(forged_frame, "absent")]


@SETTINGS
@given(st.data())
def test_reader_recovers_at_the_next_valid_telegram(data):
    junk = data.draw(mutations(data.draw(streams())))
    sent, raw = CRC_TELEGRAMS[data.draw(telegram_index)]
    cuts = data.draw(st.lists(st.integers(0, 10**6), max_size=10))
    telegrams, _ = read_in_chunks(junk + sent, cuts)
    assert telegrams and telegrams[-1] == (raw, "ok")


@SETTINGS
@given(junk=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 10**6), max_size=10))
def test_parser_stack_never_raises_on_arbitrary_bytes(junk, cuts):
    stack = P1Stack(max_size=1024)
    prev = 0
    for cut in sorted(c % (len(junk) + 1) for c in cuts) + [len(junk)]:
        stack.feed(junk[prev:cut])
        prev = cut
    stack.end()
    assert all(v >= 0 for v in stack.counters.values())


@SETTINGS
@given(data=streams(), max_size=st.integers(16, 600))
def test_oversized_frames_are_dropped_counted_and_the_buffer_stays_bounded(data, max_size):
    reader = TelegramReader(max_size)
    out = []
    for i in range(0, len(data), 64):
        out += reader.feed(data[i:i + 64])
        assert len(reader.buf) <= max_size
    out += reader.end()
    assert all(len(raw) <= max_size for raw, _ in out)
    too_long = sum(1 for raw in VALID_RAW if len(raw) > max_size)
    if too_long and reader.counters["accepted"] < data.count(b"!"):
        assert reader.counters["oversized"] > 0


def typed_lines(raw: bytes) -> list[int]:
    """Indexes of lines whose object is a number, integer or timestamp (any text is valid elsewhere)."""
    out = []
    for i, line in enumerate(raw.split(b"\r\n")):
        p = line.find(b"(")
        spec = kind_of(line[:p].decode("latin-1")) if p > 0 else None
        if spec is not None and spec[0] in ("N", "I", "T", "TN"):
            out.append(i)
    return out


@SETTINGS
@given(index=telegram_index, pick=st.integers(0, 10**6), junk=st.sampled_from(
    [b"((", b"(x*kWh)", b"(1.2.3*kWh)", b")(", b"(\xff)", b"(12.3*MW", b"(-*V)", b"(991399999999W)"]))
def test_one_malformed_line_is_reported_and_the_rest_still_counts(index, pick, junk):
    _, raw = CRC_TELEGRAMS[index]
    lines = raw.split(b"\r\n")
    candidates = typed_lines(raw)
    target = candidates[pick % len(candidates)]
    ref = lines[target][: lines[target].find(b"(")].decode("latin-1")
    good = parse_telegram(raw)
    bad_lines = list(lines)
    bad_lines[target] = ref.encode() + junk
    bad = parse_telegram(b"\r\n".join(bad_lines))
    assert [e[0] for e in bad.errors] == [target + 1], bad.errors
    assert ref not in bad.objects
    assert {k: v for k, v in good.objects.items() if k != ref} == bad.objects


def same_telegram(a, b) -> bool:
    return (a.header, a.crc, a.objects, a.history, a.events, a.errors, a.raw) == (
        b.header, b.crc, b.objects, b.history, b.events, b.errors, b.raw)


@SETTINGS
@given(order=st.lists(telegram_index, min_size=1, max_size=12), damage=st.data())
def test_reusing_the_previous_telegrams_lines_changes_nothing(order, damage):
    frames = []
    for i in order:
        raw = CRC_TELEGRAMS[i][1]
        if damage.draw(st.booleans()):  # a line changed, or broken, between two telegrams
            lines = raw.split(b"\r\n")
            k = damage.draw(st.integers(2, len(lines) - 2))
            lines[k] = lines[k][:-2] + damage.draw(st.sampled_from([b"9)", b"x)", b")", b"0*kWh)"]))
            raw = b"\r\n".join(lines)
        frames.append(raw)
    line = Parser(reuse=True)
    for raw in frames:
        reused = line.parse(raw, "ok")
        assert same_telegram(reused, parse_telegram(raw, "ok"))
        assert len(line.memo) <= raw.count(b"\n")
