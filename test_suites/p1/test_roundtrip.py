"""Property: any meter state of any profile, encoded by the emulator, read back in arbitrary chunks by the
firmware reader and parser, gives back exactly the meter's registers, powers, clock and capacity objects."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware.p1.stack import P1Stack
from hil.emulators.p1.encoder import encode_telegram
from hil.emulators.p1.profiles import PROFILES
from hil.emulators.p1.source import new_meter

START_2020 = 1577836800  # 2020-01-01T00:00:00Z
START_2035 = 2051222400


def half_up(value: int, step: int) -> int:
    return (value + step // 2) // step * step


@st.composite
def meters(draw):
    profile = PROFILES[draw(st.sampled_from(sorted(PROFILES)))]
    n = profile.phases
    m = new_meter(
        profile, draw(st.integers(START_2020, START_2035)),
        import_wh=(draw(st.integers(0, 10**8)), draw(st.integers(0, 10**8))),
        export_wh=(draw(st.integers(0, 10**8)), draw(st.integers(0, 10**8))),
        gas_dm3=draw(st.integers(0, 10**7)),
    )
    watts = st.integers(0, 9000)
    for _ in range(draw(st.integers(1, 4))):
        m.advance(draw(st.one_of(st.integers(0, 3 * 3600), st.integers(0, 35 * 86400))),
                  phase_import_w=[draw(watts) for _ in range(n)],
                  phase_export_w=[0] * n,
                  voltage_v=[draw(st.integers(2100, 2530)) / 10 for _ in range(n)],
                  gas_dm3_h=draw(st.integers(0, 2000)))
    return profile, m


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=meters(), cuts=st.lists(st.integers(0, 5000), max_size=12))
def test_encoded_meter_state_round_trips_exactly(case, cuts):
    p, m = case
    data = encode_telegram(m, p)
    stack = P1Stack(require_crc=p.crc)
    telegrams = []
    prev = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts) + [len(data)]:
        telegrams += stack.feed(data[prev:cut])
        prev = cut
    telegrams += stack.end()
    assert len(telegrams) == 1, (p.key, stack.counters, data)
    (t,) = telegrams
    assert t.errors == [] and t.header == p.header and t.crc == ("ok" if p.crc else "absent")
    o = t.objects
    wrap = 10 ** (p.energy_fmt[0] + 3)
    if p.key == "smarty":
        totals = [o["1-0:" + r].value.scaled(3) for r in ("1.8.0", "2.8.0")]
        assert totals == [sum(m.import_wh) % wrap, sum(m.export_wh) % wrap]
    else:
        registers = [o["1-0:" + r].value.scaled(3) for r in ("1.8.1", "1.8.2", "2.8.1", "2.8.2")]
        assert registers == [m.import_wh[0] % wrap, m.import_wh[1] % wrap,
                             m.export_wh[0] % wrap, m.export_wh[1] % wrap]
        assert o["0-0:96.14.0"].value == m.tariff
    step = 10 ** (3 - p.power_fmt[1])
    assert o["1-0:1.7.0"].value.scaled(3) == half_up(m.import_w, step)
    if p.crc:
        assert o["0-0:1.0.0"].ts == m.t
        for i, ref in enumerate(("1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0")[: p.phases]):
            if ref in o:
                assert o[ref].value.scaled(1) == m.voltage_dv[i]
    if p.key.startswith("emucs"):
        assert o["1-0:1.4.0"].value.scaled(3) == m.demand_w
        assert (o["1-0:1.6.0"].ts, o["1-0:1.6.0"].value.scaled(3)) == m.peak
        assert [(s, at, v.scaled(3)) for s, at, v, _ in t.history] == [tuple(h) for h in m.history]


@st.composite
def shaped_meters(draw):
    """A meter whose telegram holds the line shapes a parser most easily gets wrong: an e-MUCS peak history
    of 0..13 months (0 is written `(0)(1-0:1.6.0)(1-0:1.6.0)()`), or a Smarty telegram with empty values
    (`0-0:96.13.2()`) and a two-group value (`1-1:31.4.0(040*A)(-040*A)`)."""
    key = draw(st.sampled_from(["emucs17-3p", "emucs2-1p", "smarty"]))
    profile = PROFILES[key]
    t0 = draw(st.integers(START_2020, START_2035))
    months = draw(st.integers(0, 13))
    history = []
    for i in range(months):
        closed = t0 - (months - i) * 31 * 86400
        peak_at = None if draw(st.booleans()) and i % 4 == 3 else closed - draw(st.integers(900, 20 * 86400))
        history.append((closed, peak_at, 0 if peak_at is None else draw(st.integers(0, 25000))))
    m = new_meter(profile, t0, import_wh=(draw(st.integers(0, 10**8)), 0), history=history)
    return profile, m


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=shaped_meters(), cuts=st.lists(st.integers(0, 3000), max_size=6))
def test_empty_history_empty_values_and_multi_group_values_round_trip(case, cuts):
    p, m = case
    data = encode_telegram(m, p)
    stack = P1Stack(require_crc=True)
    telegrams = []
    prev = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts) + [len(data)]:
        telegrams += stack.feed(data[prev:cut])
        prev = cut
    (t,) = telegrams
    assert t.errors == [] and stack.counters["parse_errors"] == 0
    o = t.objects
    if p.key == "smarty":
        assert (o["1-1:31.4.0"].value, o["1-1:31.4.0"].unit) == ((40, -40), "A")
        assert all(o["0-0:96.13.%d" % i].value is None for i in (0, 2, 3, 4, 5))
    else:
        assert o["0-0:98.1.0"].value == len(m.history)
        assert [(s, at, v.scaled(3)) for s, at, v, _ in t.history] == [tuple(h) for h in m.history]
        assert o["0-0:96.13.0"].value is None
        if not m.history:
            assert b"0-0:98.1.0(0)(1-0:1.6.0)(1-0:1.6.0)()\r\n" in data
