# A page session (the /login cookie) may change the module only from a page of the module itself: proven by
# an Origin equal to the module's own origin (http:// + the Host the request came to; what ESPHome's own web
# UI sends with its fetch POSTs) or by the X-Requested-With header (what the module's page sends). A foreign
# Origin is refused (403), and so is a session with neither proof; tokens do not change. auth.check_request,
# docs/security.md. Portable: CPython (pytest) and MicroPython.
from firmware.apps.common import auth

HOSTS = ['smartplug-10021e', 'smartplug-10021e.local', '127.0.0.1']
GOOD = 'A' * 32
BAD = 'B' * 32


class _Users:
    def __init__(self):
        self.counters = {'unauthorized': 0}

    def check(self, t):
        return 'local/browser' if t == GOOD else None


def _cookie(host, token=GOOD, **more):
    h = {'Host': host, 'Cookie': 'theme=dark; ' + auth.COOKIE + '=' + token}
    for k in more:
        h[k.replace('_', '-')] = more[k]
    return h


def _check(headers, method='POST', path='/switch/relay/toggle'):
    u = _Users()
    return auth.check_request(method, path, headers, HOSTS, u), u.counters['unauthorized']


def test_a_matching_origin_proves_the_page():
    for host, origin in (('127.0.0.1:8080', 'http://127.0.0.1:8080'),
                         ('SmartPlug-10021E.local', 'http://smartplug-10021e.local'),
                         ('smartplug-10021e.local:80', 'http://smartplug-10021e.local'),
                         ('smartplug-10021e', 'http://smartplug-10021e:80'),
                         ('127.0.0.1', ' HTTP://127.0.0.1 ')):
        assert _check(_cookie(host, Origin=origin)) == (None, 0), (host, origin)
    for method in ('PUT', 'DELETE', 'PATCH'):
        assert _check(_cookie('127.0.0.1:8080', Origin='http://127.0.0.1:8080'), method, '/api/v1/state') \
            == (None, 0), method


def test_a_foreign_origin_is_refused_even_with_the_header():
    for origin in ('http://127.0.0.1:9090', 'http://evil.example', 'http://evil.example:8080', 'null',
                   'file://', 'http://127.0.0.1:80800', 'http://127.0.0.10:8080'):
        for extra in ({}, {'X-Requested-With': 'page'}):
            h = _cookie('127.0.0.1:8080', Origin=origin)
            h.update(extra)
            err, refused = _check(h)
            assert err is not None and err[0] == 403, (origin, err)
            assert 'Origin' in err[1] and refused == 0, err[1]


def test_a_session_with_neither_proof_is_refused():
    for h in (_cookie('127.0.0.1:8080'), _cookie('smartplug-10021e.local'),
              _cookie('127.0.0.1:8080', X_Requested_With='')):
        err, refused = _check(h)
        assert err is not None and err[0] == 403 and refused == 1, err
        assert 'X-Requested-With' in err[1] and 'Origin: http://' in err[1], err[1]
    # another scheme on the same host and port is another origin (the module serves plain HTTP)
    err, refused = _check(_cookie('127.0.0.1:8080', Origin='https://127.0.0.1:8080'))
    assert err is not None and err[0] == 403 and refused == 1, err
    # no Host at all: no origin to match, so only the header proves the page
    err, refused = _check({'Cookie': auth.COOKIE + '=' + GOOD, 'Origin': 'http://127.0.0.1'})
    assert err is not None and err[0] == 403, err


def test_the_header_proves_the_page_without_an_origin():
    assert _check(_cookie('127.0.0.1:8080', X_Requested_With='page')) == (None, 0)
    assert _check(_cookie('127.0.0.1:8080', X_Requested_With='XMLHttpRequest',
                          Origin='http://127.0.0.1:8080')) == (None, 0)


def test_no_valid_session_is_401_whatever_the_origin():
    for h in ({'Host': '127.0.0.1:8080', 'Origin': 'http://127.0.0.1:8080'},
              {'Host': '127.0.0.1:8080', 'Origin': 'http://127.0.0.1:8080', 'X-Requested-With': 'page'},
              _cookie('127.0.0.1:8080', BAD, Origin='http://127.0.0.1:8080'),
              _cookie('127.0.0.1:8080', '', Origin='http://127.0.0.1:8080')):
        err, refused = _check(h)
        assert err is not None and err[0] == 401 and refused == 1, (h, err)


def test_reads_and_tokens_are_unchanged():
    assert _check({'Host': '127.0.0.1:8080', 'Origin': 'http://evil.example'}, 'GET', '/events') == (None, 0)
    tok = {'Host': '127.0.0.1:8080', 'Authorization': 'Bearer ' + GOOD}
    assert _check(tok) == (None, 0)
    assert _check(dict(tok, Origin='http://127.0.0.1:8080')) == (None, 0)
    assert _check(dict(tok, Origin='http://evil.example'))[0][0] == 403
    err, refused = _check({'Host': '127.0.0.1:8080', 'Authorization': 'Bearer ' + BAD,
                           'Origin': 'http://127.0.0.1:8080'})
    assert err[0] == 401 and refused == 1


def test_same_origin():
    assert auth.same_origin('http://127.0.0.1:8080', '127.0.0.1:8080')
    assert auth.same_origin('http://[::1]:8080', '[::1]:8080')
    assert auth.same_origin('http://plug', 'plug:80') and auth.same_origin('http://plug:80', 'Plug')
    for origin, host in ((None, 'plug'), ('http://plug', None), ('null', 'plug'), ('https://plug', 'plug'),
                         ('http://plug:8080', 'plug'), ('http://plug/', 'plug'), ('http://', ''),
                         ('http://plug.evil', 'plug'), ('plug', 'plug')):
        assert not auth.same_origin(origin, host), (origin, host)
