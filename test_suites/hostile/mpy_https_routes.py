# API v2's routes (firmware/apps/common/https.py) under real MicroPython (the WebAssembly port), with the
# microdot the image ships: the token check, pairing by the button, the shapes, the errors. A template:
# test_https_micropython.py fills in the two folders and runs it through hil.mpy. No sockets or TLS here
# (the port has neither); handle_request runs on in-memory streams, driven without an event loop as
# mpy/memory.py drives requests (so without web.py's wait_for wrapper).
import json
import sys

sys.path.insert(0, '@STANDINS@')   # the ESP32 has no inspect: microdot's board path
sys.path.append('@MICRODOT_PARENT@')
from microdot import AsyncBytesIO, Request

from firmware.apps.common import auth, https, hwv1
from firmware.apps.common import web as webmod

Request.create = staticmethod(webmod._create)   # no event loop here: without web's wait_for wrapper


class MemStore:
    def __init__(self):
        self.files = {}

    def load_raw(self, name):
        t = self.files.get(name)
        return None if t is None else json.loads(t)

    def save(self, name, obj):
        self.files[name] = json.dumps(obj)
        return True


class Sink:
    def __init__(self):
        self.data = b''

    async def awrite(self, b):
        self.data += b

    def write(self, b):
        self.data += b

    async def drain(self):
        pass

    async def aclose(self):
        pass

    def close(self):
        pass

    def get_extra_info(self, name, default=None):
        return default


class Api:
    def __init__(self, store):
        self.local_api = hwv1.LocalApi(store, log=lambda t: None)

    def v2_device(self):
        return {'product_type': 'HWE-P1'}

    def v2_measurement(self):
        return {'power_w': 5}

    def v2_system(self):
        return {'api_v1_enabled': self.local_api.on}


def call(h, method, path, body=None, token=None):
    head = '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n' % (method, path)
    if token:
        head += 'Authorization: Bearer %s\r\n' % token
    data = b''
    if body is not None:
        data = json.dumps(body).encode()
        head += 'Content-Type: application/json\r\nContent-Length: %d\r\n' % len(data)
    sink = Sink()
    coro = h.app.handle_request(AsyncBytesIO(head.encode() + b'\r\n' + data), sink)
    try:
        while True:
            coro.send(None)
    except StopIteration:
        pass
    status = int(sink.data.split(b' ', 2)[1])
    return status, sink.data.split(b'\r\n\r\n', 1)[1]


def test_routes_under_micropython():
    store = MemStore()
    users = auth.Users(store, log=lambda t: None)
    h = https.Https(Api(store), users, lambda: ['127.0.0.1'], log=lambda t: None, ticks_ms=lambda: 1000)
    assert call(h, 'GET', '/api') == (401, b'{"error":"user:unauthorized"}')
    assert call(h, 'POST', '/api/user', {'name': 'local/ha'})[0] == 403
    users.press(1000)
    st, body = call(h, 'POST', '/api/user', {'name': 'local/ha'})
    assert st == 200, body
    tok = json.loads(body)['token']
    assert call(h, 'GET', '/api/measurement', token=tok) == (200, b'{"power_w":5}')
    assert call(h, 'PUT', '/api/system', {'api_v1_enabled': True}, tok) == (200, b'{"api_v1_enabled":true}')
    assert call(h, 'GET', '/api/telegram', token=tok)[0] == 404
    assert call(h, 'GET', '/nope', token=tok) == (404, b'{"error":"request:not-found"}')
    assert call(h, 'POST', '/api/user', {'name': 'x'})[1] == b'{"error":"user:invalid-prefix"}'
    assert call(h, 'DELETE', '/api/user', None, tok)[0] == 204
    assert call(h, 'GET', '/api', token=tok)[0] == 401
