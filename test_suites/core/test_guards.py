# The hostile-LAN guards on both interpreters (portable: CPython and MicroPython): numbers are ASCII digits,
# JSON strings hold no lone surrogates, the request policy, users, and the physics of readings.
import os
import time

from firmware.apps.common import auth
from firmware.apps.common.jsonw import loads_object
from firmware.apps.common.plausible import RESYNC_N, Follow, reading_error
from firmware.fixed import is_digits, parse_dec
from firmware.storage import Store

HOSTS = ['smartplug-10021e', 'smartplug-10021e.local', '127.0.0.1']


def test_numbers_are_ascii_digits():
    assert is_digits('0123456789') and not is_digits('') and not is_digits('-1')
    for s in ('\u00b2', '\u0661', '\uff11', '1\u0661', '\u2460'):
        assert not is_digits(s), s
        assert parse_dec(s) is None
    assert parse_dec('-0.160').text() == '-0.160'


def test_lone_surrogates_are_refused():
    # escaped pairs too: MicroPython makes two surrogates of "\\ud83d\\ude00" (CPython one character), so
    # both refuse every surrogate escape; the same characters as UTF-8 are fine
    for body in ('{"a": "\\ud800"}', '{"a": "x\\udfff"}', '{"\\udc00": 1}', '{"a": ["\\ud834"]}',
                 '{"a": "\\ud83d\\ude00"}'):
        obj, why = loads_object(body)
        assert obj is None and 'surrogate' in why, body
    obj, why = loads_object('{"a": "\\u00e9 \\\\ud800 \u00e9\U0001f600"}')
    assert obj is not None and why is None, why


class _Users:
    def __init__(self, token):
        self.token = token
        self.counters = {'unauthorized': 0}

    def check(self, t):
        return 'local/ha' if t == self.token else None


def test_request_policy():
    u = _Users('A' * 32)
    ok = {'Host': '127.0.0.1:8080', 'Authorization': 'Bearer ' + 'A' * 32}
    assert auth.check_request('PUT', '/x', ok, HOSTS, u) is None
    assert auth.check_request('GET', '/x', {'Host': 'evil.example'}, HOSTS, u)[0] == 421
    assert auth.check_request('PUT', '/x', dict(ok, Host='SmartPlug-10021E.local:80'), HOSTS, u) is None
    assert auth.check_request('PUT', '/x', {'Host': '127.0.0.1'}, HOSTS, u)[0] == 401
    assert auth.check_request('PUT', '/x', dict(ok, Origin='http://evil'), HOSTS, u)[0] == 403
    assert auth.check_request('PUT', '/x', dict(ok, Origin='null'), HOSTS, u)[0] == 403
    assert auth.check_request('PUT', '/x', dict(ok, Origin='http://127.0.0.1:8080'), HOSTS, u) is None
    cookie = {'Host': '127.0.0.1', 'Cookie': 'a=b; ' + auth.COOKIE + '=' + 'A' * 32}
    assert auth.check_request('POST', '/x', cookie, HOSTS, u)[0] == 403
    cookie['X-Requested-With'] = 'page'
    assert auth.check_request('POST', '/x', cookie, HOSTS, u) is None
    open_paths = ['POST /api/user']
    assert auth.check_request('POST', '/api/user', {'Host': '127.0.0.1'}, HOSTS, u, open_paths) is None


def test_users_and_the_pairing_window():
    d = '/tmp/bchain-auth-%d' % time.time_ns()
    os.mkdir(d)
    try:
        users = auth.Users(Store(d, log=lambda m: None), log=lambda m: None)
        assert users.create('local/ha', 100)[1][0] == 403
        users.press(100)
        token, err = users.create('local/ha', 100 + auth.PAIR_MS)
        assert err is None and len(token) == 32 and users.check(token) == 'local/ha'
        assert users.create('local/x', 101 + auth.PAIR_MS)[1][0] == 403
        with open(d + '/' + auth.AUTH_FILE) as f:
            assert token not in f.read()
        again = auth.Users(Store(d, log=lambda m: None), log=lambda m: None)
        assert again.check(token) == 'local/ha' and again.check('B' * 32) is None
        assert again.delete('local/ha') and again.check(token) is None
    finally:
        for n in os.listdir(d):
            os.remove(d + '/' + n)
        os.rmdir(d)


def test_readings_physics():
    assert reading_error((10 ** 30, 0, 0)) is not None
    assert reading_error((1700000000, 10 ** 30, 0)) is not None
    f = Follow()
    assert f.check((1700000000, 5000000, 0), 0) is None
    assert f.check((1700000001, 5000001, 0), 1000) is None
    assert f.check((1700003600, 5000002, 0), 2000) is not None         # an hour ahead after 1 s
    assert f.check((1700000003, 4000000, 0), 3000) is not None         # backwards
    assert f.check((1700000004, 5100000, 0), 4000) is not None         # +100 kWh in a few seconds
    for i in range(RESYNC_N):
        r = f.check((1700000100 + i, 10 + i, 0), 5000 + i * 1000)
    assert r is None and f.counters['resyncs'] == 1
