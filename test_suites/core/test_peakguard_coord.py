# Peak Guard's coordination through the SmartMeter (firmware/control/peakguard_coord.py): the plug's report
# as a query, the SmartMeter's answer, the running quarter it publishes, bad reports refused.
# Portable: runs under CPython (pytest) and MicroPython (mpy/run.mjs).
import json

from firmware.control.peakguard import QUARTER_S, PeakGuard, Table
from firmware.control.peakguard_coord import (
    REPORT_HEADER,
    REPORT_LINE,
    QuarterTracker,
    meter_answer,
    parse_answer,
    query,
    report_from_args,
)
from firmware.timebase import local_to_utc

T0 = local_to_utc(2025, 1, 15, 10, 0, 0)


def _args(q):
    out = {}
    for part in q.split('&'):
        k, v = part.split('=')
        out[k] = v.replace('%2F', '/')
    return out


def test_report_round_trips_through_the_query():
    g = PeakGuard(_gs(), 'plug/one')
    rep = g.report()
    q = query(rep)
    assert 'id=plug%2Fone' in q
    back, why = report_from_args(_args(q))
    assert why is None
    for k in ('id', 'priority', 'shed', 'on', 'load_w', 'draw_w', 'delta_w'):
        assert back[k] == rep[k], k


def _gs():
    from firmware.control.peakguard import GuardSettings
    s = GuardSettings()
    s.set('on', True)
    return s


def test_meter_answer_publishes_quarter_cap_and_shed_plugs():
    qt = QuarterTracker()
    tb = Table()
    imp = 1000000
    for k in range(-10, 300, 10):               # 1.2 kW: 1 Wh every 3 s
        t = T0 + k
        qt.update(t, imp + (k + 10) * 1200 // 3600)
    t = T0 + 290
    i = imp + 300 * 1200 // 3600
    st, body = meter_answer((t, i, 5), {'import_w': 1200, 'demand_w': 1190, 'peak_w': 3100}, qt, tb,
                            {'id': 'a', 'priority': '9', 'shed': '1', 'on': '1', 'load_w': '2000',
                             'draw_w': '0'}, 100, True)
    assert st == 200 and body['plugs'] == []    # a report shows from the SmartMeter's next second on
    st, body = meter_answer((t, i, 5), {'import_w': 1200, 'demand_w': 1190, 'peak_w': 3100}, qt, tb, {}, 101)
    assert body['cap_w'] == 3100 and body['shed'] == ['a'] and body['plugs'][0]['priority'] == 9
    q = body['quarter']
    assert q['start'] == T0 and abs(q['import_wh'] - 290 * 1200 // 3600) <= 1
    assert abs(q['projected_w'] - 1200) <= 20
    (reading, extra), why = parse_answer(200, json.dumps(body))
    assert why is None and reading == (t, i, 5)
    assert extra['peak_w'] == 3100 and extra['peers'][0]['id'] == 'a'
    # no 1-0:1.6.0 from the meter: the floor
    st, body = meter_answer((t, i, 5), {'import_w': None, 'demand_w': None, 'peak_w': None}, qt, tb, {}, 102)
    assert body['cap_w'] == 2500 and body['quarter']['projected_w'] is None


def test_bad_reports_are_refused_and_change_nothing():
    tb = Table()
    qt = QuarterTracker()
    good = {'id': 'a', 'priority': '3', 'shed': '0', 'on': '1', 'load_w': '2000', 'draw_w': '1990'}
    assert meter_answer((T0, 1, 0), {}, qt, tb, good, 0, True)[0] == 200
    for bad, words in (({'priority': '10'}, 'priority'), ({'shed': 'yes'}, 'shed'),
                       ({'load_w': '2e3'}, 'load_w'), ({'id': ''}, 'id'), ({'draw_w': None}, 'draw_w')):
        args = dict(good)
        args.update(bad)
        if args.get('draw_w') is None:
            del args['draw_w']
        st, body = meter_answer((T0, 1, 0), {}, qt, tb, args, 1, True)
        assert st == 400 and words in body['error'] and 'nothing stored' in body['error'], (bad, body)
    assert tb.entries(2)[0]['priority'] == 3 and tb.counters['refused'] == 5


def test_answer_without_a_reading_or_a_usable_table():
    tb = Table()
    st, body = meter_answer(None, {}, QuarterTracker(), tb, {}, 0)
    assert st == 503 and body['fresh'] is False
    r, why = parse_answer(503, json.dumps(body))
    assert r is None and 'no current meter reading' in why
    # a table entry that does not check out: the plug decides alone (peers None), the reading still counts
    d = {'fresh': True, 'meter_ts': T0, 'import_wh': {'total': 5}, 'export_wh': {'total': 0},
         'plugs': [{'id': 'x', 'priority': 99}]}
    (reading, extra), why = parse_answer(200, json.dumps(d))
    assert reading == (T0, 5, 0) and extra['peers'] is None
    r, why = parse_answer(200, '{"fresh": true, "meter_ts": "soon"}')
    assert r is None and 'expected integers' in why


def test_quarter_tracker_closes_whole_quarters_only():
    qt = QuarterTracker()
    for k in range(0, 2 * QUARTER_S + 10, 5):
        qt.update(T0 + k, 1000 + k * 2000 // 3600)      # 2 kW
    assert abs(qt.last_w - 2000) <= 8
    qt.update(T0 + 5 * QUARTER_S + 3, 9000)             # a gap: the next quarter's start is not known
    assert qt.q_wh is None and qt.last_w is None


def test_a_report_without_the_plugs_header_is_refused_and_a_look_stays_open():
    # a web page can make the user's browser send this GET (an image), but not with the header
    tb = Table()
    qt = QuarterTracker()
    good = {'id': 'a', 'priority': '3', 'shed': '0', 'on': '1', 'load_w': '2000', 'draw_w': '1990'}
    assert REPORT_LINE == REPORT_HEADER + ': peakguard\r\n'
    for args in (good, {'id': 'evil'}, {'shed': '1'}):
        st, body = meter_answer((T0, 1, 0), {}, qt, tb, args, 0)
        assert st == 403 and REPORT_HEADER in body['error'] and 'nothing stored' in body['error'], body
    assert tb.entries(1) == [] and tb.counters['refused'] == 3 and tb.counters['updates'] == 0
    st, body = meter_answer((T0, 1, 0), {}, qt, tb, {}, 0)        # a look: open, like every read
    assert st == 200 and body['plugs'] == []
    assert meter_answer((T0, 1, 0), {}, qt, tb, good, 0, True)[0] == 200
    assert [p['id'] for p in tb.entries(1)] == ['a']
