# firmware/storage.py on the real file API of each interpreter (portable: CPython and MicroPython).
# The kill-at-any-instant tests live in tests/board/test_flash_store.py (they need processes).

import os
import time

from firmware.storage import Store

DEFAULTS = {'interval_min': 15, 'mode': False, 'name': 'plug', 'ratio': 1.0}


def _fresh():
    d = '/tmp/bchain-storage-%d' % time.time_ns()
    os.mkdir(d)
    return d


def _clean(d):
    for n in os.listdir(d):
        os.remove(d + '/' + n)
    os.rmdir(d)


def _write(p, text):
    with open(p, 'w') as f:
        f.write(text)


def _read(p):
    with open(p) as f:
        return f.read()


def test_round_trip():
    d = _fresh()
    try:
        logs = []
        s = Store(d, log=logs.append)
        assert s.load('s.json', DEFAULTS) == DEFAULTS
        assert logs == [] and s.errors == 0
        assert s.save('s.json', {'interval_min': 6, 'mode': True, 'name': 'x', 'ratio': 2})
        got = Store(d).load('s.json', DEFAULTS)
        assert got == {'interval_min': 6, 'mode': True, 'name': 'x', 'ratio': 2}
        assert 's.json.tmp' not in os.listdir(d)
    finally:
        _clean(d)


def test_partial_file_gives_defaults_and_one_logged_error():
    d = _fresh()
    try:
        _write(d + '/s.json', '{"interval_min": 6')
        logs = []
        s = Store(d, log=logs.append)
        assert s.load('s.json', DEFAULTS) == DEFAULTS
        assert s.errors == 1 and len(logs) == 1
        assert 'expected a JSON object' in logs[0] and d + '/s.json' in logs[0]
        assert _read(d + '/s.json.bad') == '{"interval_min": 6'
        logs2 = []
        assert Store(d, log=logs2.append).load('s.json', DEFAULTS) == DEFAULTS and logs2 == []
    finally:
        _clean(d)


def test_wrong_type_keeps_that_default():
    d = _fresh()
    try:
        _write(d + '/s.json', '{"interval_min": "6", "mode": true}')
        logs = []
        assert Store(d, log=logs.append).load('s.json', DEFAULTS) == dict(DEFAULTS, mode=True)
        assert len(logs) == 1 and '"interval_min"' in logs[0]
    finally:
        _clean(d)


def test_complete_tmp_is_recovered_when_the_main_file_is_gone():
    d = _fresh()
    try:
        _write(d + '/s.json.tmp', '{"interval_min": 30}')
        s = Store(d, log=lambda m: None)
        assert s.load('s.json', DEFAULTS)['interval_min'] == 30
        assert s.recovered == 1
        assert _read(d + '/s.json') == '{"interval_min":30}'  # rewritten by jsonw: compact
        _write(d + '/t.json.tmp', '{"interval_min": 3')  # partial: ignored and removed
        assert s.load('t.json', DEFAULTS) == DEFAULTS
        assert 't.json.tmp' not in os.listdir(d)
    finally:
        _clean(d)
