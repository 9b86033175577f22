# "Local API v1" (firmware/apps/common/hwv1.py LocalApi, auth.check_request's json_paths): off by default,
# persisted, switched only with a valid body; while on, the v1 writes pass without a user only as JSON,
# after the Host and Origin checks. Portable: CPython (pytest) and MicroPython.
import json

from firmware.apps.common import auth, hwv1


class MemStore:
    """A flash that keeps dicts as JSON text; fail=True refuses every write."""

    def __init__(self, fail=False):
        self.files = {}
        self.fail = fail

    def load_raw(self, name):
        t = self.files.get(name)
        return None if t is None else json.loads(t)

    def save(self, name, obj):
        if self.fail:
            return False
        self.files[name] = json.dumps(obj)
        return True


HOSTS = ['plug', '127.0.0.1']
JSON = {'Host': '127.0.0.1:80', 'Content-Type': 'application/json'}


def test_off_by_default_then_persisted_on_and_off():
    store = MemStore()
    local = hwv1.LocalApi(store, log=lambda t: None)
    assert local.on is False and local.writes() == () and json.loads(local.text()) == {'enabled': False}
    assert local.set({'enabled': True}) is None
    assert local.on and hwv1.LocalApi(store, log=lambda t: None).on   # a reboot keeps it
    assert 'PUT /api/v1/state' in local.writes() and json.loads(local.text()) == {'enabled': True}
    assert local.set({'enabled': False}) is None and not hwv1.LocalApi(store, log=lambda t: None).on


def test_bad_bodies_and_a_failed_write_change_nothing():
    store = MemStore()
    local = hwv1.LocalApi(store, log=lambda t: None)
    for bad in ({}, {'enabled': 1}, {'enabled': 'true'}, {'enabled': None}, {'enabled': True, 'x': 1}):
        st, why = local.set(bad)
        assert st == 400 and 'expected' in why and 'nothing changed' in why, (bad, why)
    assert local.on is False and store.files == {}
    full = hwv1.LocalApi(MemStore(fail=True), log=lambda t: None)
    st, why = full.set({'enabled': True})
    assert st == 507 and full.on is False


def test_json_paths_pass_only_as_json_after_host_and_origin():
    users = auth.Users(MemStore(), log=lambda t: None)
    open_v1 = hwv1.WRITES
    for path in ('/api/v1/state', '/api/v1/identify', '/api/v1/system'):
        assert auth.check_request('PUT', path, JSON, HOSTS, users, (), open_v1) is None
        utf8 = dict(JSON, **{'Content-Type': 'application/json; charset=utf-8'})
        assert auth.check_request('PUT', path, utf8, HOSTS, users, (), open_v1) is None
        for ctype in ('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', None):
            h = {'Host': '127.0.0.1'}
            if ctype is not None:
                h['Content-Type'] = ctype
            st, why = auth.check_request('PUT', path, h, HOSTS, users, (), open_v1)
            assert st == 401 and 'application/json' in why, (ctype, why)
        foreign = dict(JSON, Origin='http://evil.example')
        assert auth.check_request('PUT', path, foreign, HOSTS, users, (), open_v1)[0] == 403
        st, _ = auth.check_request('PUT', path, dict(JSON, Host='evil.example'), HOSTS, users, (), open_v1)
        assert st == 421
        # off (no json_paths): a user is needed
        assert auth.check_request('PUT', path, JSON, HOSTS, users, (), ())[0] == 401
    # only the v1 writes: everything else still needs a user
    for mp in ('PUT /api/v1/local_api', 'PUT /api/smartplug/v1/settings', 'POST /switch/relay/toggle'):
        m, p = mp.split(' ')
        assert auth.check_request(m, p, JSON, HOSTS, users, (), open_v1)[0] == 401
