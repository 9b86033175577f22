"""The same inputs give the same flash bytes and texts under CPython and under the real MicroPython.

Hypothesis draws the inputs (dicts with any Unicode keys and values, WiFi credentials, meter settings
patches, meter answers, errnos, error descriptions); `same_text_probe.lines()` turns them into flash
files and texts, once here and once in the MicroPython WebAssembly interpreter (`hil.mpy`, one node
process per example), which reads the cases from a JSON file into its own dicts (in its own order).
The lines must be equal, byte for byte. test_suites/core/test_same_text.py holds literal examples.
"""

import errno
import json
import shutil
from pathlib import Path

import pytest
import same_text_probe
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from hil import mpy

pytestmark = pytest.mark.mpy

PROBE = Path(same_text_probe.__file__)

# text as users and meters send it: any Unicode character but the surrogates (not valid UTF-8)
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
# floats as settings hold them (poll_s 0.5 ... 60): a repr() of an arbitrary double is not the same on
# a 32-bit-float ESP32 anyway (docs/micropython.md)
decimal = st.integers(-100000, 100000).map(lambda n: n / 100)
scalar = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | decimal | text
value = st.recursive(
    scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8)
obj = st.dictionaries(text, value, max_size=6)
reading = st.fixed_dictionaries(
    {"fresh": st.booleans() | value, "meter_ts": st.integers(0, 2**31) | value,
     "import_wh": st.fixed_dictionaries({"total": st.integers(0, 2**31) | value}) | value,
     "export_wh": st.fixed_dictionaries({"total": st.integers(0, 2**31) | value}) | value},
    optional={"error": text | value})
case = st.one_of(
    st.tuples(st.just("flash"), obj),
    st.tuples(st.just("json"), value),
    st.tuples(st.just("wifi"), st.text(max_size=34),
              st.text(max_size=66) | st.text("0123456789abcdefg", min_size=64, max_size=64)),
    st.tuples(st.just("meter"), st.dictionaries(st.sampled_from(["address", "poll_s"]) | text,
                                                 text | value | decimal, max_size=2)),
    st.tuples(st.just("reading"), st.sampled_from([200, 404, 503]),
              reading.map(lambda d: json.dumps(d, ensure_ascii=False)) | text),
    # CPython's (Linux) numbers: those MicroPython names and some it does not (ENOSPC, EROFS, EPIPE)
    st.tuples(st.just("oserror"), st.sampled_from(
        [errno.EIO, errno.ENOENT, errno.ETIMEDOUT, errno.ECONNREFUSED, errno.ECONNRESET, errno.EHOSTUNREACH,
         errno.ENOMEM, errno.ENOSPC, errno.EROFS, errno.EPIPE]) | st.integers(-300, 300)),
    st.tuples(st.just("homewizard"), text),
    st.tuples(st.just("metersettings"), st.dictionaries(st.sampled_from(["stale_s", "p1_line"]) | text,
                                                         value, max_size=3)),
    st.tuples(st.just("plugput"), st.dictionaries(
        st.sampled_from(["power_on", "switch_lock", "brightness", "mode", "interval_min", "on_wh"]) | text,
        value, max_size=3) | value),
)


def _cpython(cases: list, folder: str) -> list[str]:
    # through JSON as MicroPython gets them (tuples become lists)
    return same_text_probe.lines(json.loads(json.dumps(cases)), folder)


def _micropython(cases: list, work: Path, folder: str) -> list[str]:
    (work / "cases.json").write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    shutil.copy(PROBE, work / PROBE.name)
    (work / "test_emit.py").write_text(
        "import json\n\nimport same_text_probe\n\n\n"
        "def test_emit():\n"
        f"    with open({str(work / 'cases.json')!r}) as f:\n"
        "        cases = json.loads(f.read())\n"
        f"    for line in same_text_probe.lines(cases, {folder!r}):\n"
        "        print(line)\n")
    r = mpy.run([work / "test_emit.py"], timeout=120)
    assert r.returncode == 0 and len(r.tests) == 1, r.report() or r.text
    return r.tests[0].output.splitlines()


def _readable(line: str) -> str:
    """A probe line with its hex fields decoded."""
    parts = line.split(" ")
    out = parts[:2]
    for h in parts[2:]:
        try:
            out.append(repr(bytes.fromhex(h).decode()) if h != "-" else "None")
        except ValueError:
            out.append(h)
    return " ".join(out)


def _differences(ours: list[str], mine: list[str], cases: list) -> list[str]:
    out = []
    for a, b in zip(ours, mine, strict=False):
        if a != b:
            out.append(f"case {cases[int(a.split()[0])]!r}:\n  CPython:     {_readable(a)}\n"
                       f"  MicroPython: {_readable(b)}")
    if len(ours) != len(mine):
        out.append(f"{len(ours)} lines from CPython, {len(mine)} from MicroPython")
    return out


# no shrinking: every step would start node again (minutes); the report names each case that differs
@settings(max_examples=3, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases=st.lists(case, min_size=30, max_size=60))
# found by the generator: an integer poll_s out of range was shown as a float, and '%.6g' of 1375985.0 (a
# tie at the sixth digit) is 1.37598e+06 in CPython and 1.37599e+06 in MicroPython
@example(cases=[["meter", {"poll_s": 1375985}], ["meter", {"poll_s": -(2**40)}], ["meter", {"poll_s": 61}]])
def test_same_bytes_and_texts_on_both_interpreters(cases: list, tmp_path_factory: pytest.TempPathFactory):
    try:
        mpy.node_binary()
    except mpy.MpyUnavailable as e:
        pytest.fail(str(e))
    work = tmp_path_factory.mktemp("same-text")
    folder = str(work / "flash")   # the same path on both: the storage texts name it
    mine = _micropython(cases, work, folder)
    ours = _cpython(cases, folder)
    assert len(ours) >= len(cases)
    problems = _differences(ours, mine, cases)
    assert not problems, "\n".join(problems[:10])
