"""MicroPython side of mpy/memory.mjs: the heap one module's image takes, measured in phases.

Runs inside the MicroPython WebAssembly interpreter, on the image's files mirrored at /image (what a
board's filesystem holds: .py, or .mpy bytecode from mpy-cross) with stand-ins for `machine` and
`network` (mpy/standins) under the firmware's own ESP32 HAL (firmware/hal/esp32.py).

The port cannot scan the wasm stack, so it never collects while Python runs: a gc.collect() here only
makes the collection pending and it happens when JavaScript next calls in (see harness.py). Each phase is
therefore one call from memory.mjs, and every figure is one of two kinds:
  - "live": gc.mem_alloc() at the start of a call (just collected) minus an earlier such figure: what
    stays reachable;
  - "alloc": bytes allocated within one call (nothing is freed inside it): everything one import, one
    telegram or one request allocates, an upper bound of the peak it adds on a port whose collector
    runs at any time (the ESP32).
Every function returns a JSON string (the JS side never converts Python objects).
"""
import gc
import io
import json
import sys

_s = {}


def _tb(e):
    s = io.StringIO()
    sys.print_exception(e, s)
    return s.getvalue()


def _done(obj=None):
    gc.collect()  # pending: runs when the next call comes in from JavaScript
    return json.dumps(obj or {})


def prepare(image, standins):
    """Put the image's folder and the stand-ins on sys.path; import the stand-ins (not part of the image)."""
    sys.path.clear()
    sys.path.append(image)
    sys.path.append(standins)
    sys.path.append('.frozen')  # the port's own frozen modules (asyncio)
    # Modules the ESP32's interpreter has built in (C, or frozen asyncio) are not the image's: imported
    # before the baseline. Some are Python here (the wasm build freezes hashlib, for one), so importing
    # them later would count their code as ours.
    for name in _BUILTIN:
        try:
            __import__(name)
        except ImportError:
            pass
    import machine  # noqa: F401
    import network  # noqa: F401
    return _done()


_BUILTIN = ('asyncio', 'array', 'binascii', 'collections', 'errno', 'hashlib', 'heapq', 'io', 'json', 'math',
            'os', 'random', 're', 'select', 'struct', 'time', 'deflate', 'cryptolib', 'socket')


def mark(name):
    """Remember the heap in use now (just collected) under `name`."""
    _s[name] = gc.mem_alloc()
    return _done({name: _s[name]})


def live(since):
    """Bytes in use now (just collected) beyond the mark `since`."""
    return json.dumps({'live': gc.mem_alloc() - _s[since]})


def import_app(module):
    """Import what main.py imports on the board: the ESP32 HAL and the app. Returns the bytes allocated."""
    a = gc.mem_alloc()
    try:
        import firmware.hal.esp32  # noqa: F401
        import firmware.hal.mdns  # noqa: F401 - imported when the WiFi joins: on every board in service
        __import__('firmware.apps.%s.app' % module)
    except BaseException as e:  # an image that does not import is a measurement failure, reported
        return json.dumps({'error': 'importing the %s image failed:\n%s' % (module, _tb(e))})
    return _done({'alloc': gc.mem_alloc() - a})


# ---- in place (frozen / ROMFS) estimate -----------------------------------------------------------------
def exec_module(name, path):
    """Run one module's source in its (already imported, empty) module object; bytes allocated by the run.

    The shadow import (an empty file at the same dotted name) made the module object; compiling is done
    before measuring, so what the run allocates is what the module's body creates: functions, classes,
    dicts, tables, and the temporaries of building them. With the code frozen or in a ROMFS this is what
    stays on the heap (the bytecode, constants and names stay in flash)."""
    __import__(name)
    mod = sys.modules[name]
    with open(path) as f:
        src = f.read()
    code = compile(src, path, 'exec')
    src = None
    g = mod.__dict__
    a = gc.mem_alloc()
    try:
        exec(code, g)
    except BaseException as e:
        return json.dumps({'error': '%s: %s' % (name, _tb(e))})
    alloc = gc.mem_alloc() - a
    code = None
    return _done({'alloc': alloc})


# ---- the app, as main.py builds it ---------------------------------------------------------------------
class _Pause:
    """An awaitable that hands control back to the driver once: a step boundary (see request_step)."""

    def __iter__(self):
        yield _PAUSE

    __await__ = __iter__


_PAUSE = 'pause'


class _Sink:
    """The socket's writer side: counts what the response writes and keeps its bytes for the checks.

    Every write is where a board's task gives way to the others (the socket's send buffer), so it is where
    the driver stops one step and the heap gets collected before the next one."""

    def __init__(self):
        self.n = 0
        self.parts = []

    async def awrite(self, data):
        self.n += len(data)
        self.parts.append(data)
        await _Pause()

    async def drain(self):
        pass

    async def aclose(self):
        pass

    def close(self):
        pass

    def get_extra_info(self, what):
        return ('127.0.0.1', 1234)


def build(module, flash):
    """Build the module's app with the ESP32 HAL over the stand-ins, as its main() does, without starting
    its tasks; then give it one user (made as a client makes one: the button pressed, POST /api/user's
    Users.create, kept in the stand-in flash), whose token the state-changing requests carry."""
    from firmware.apps.common import auth
    from firmware.hal.esp32 import Esp32Hal
    hal = Esp32Hal(module, flash, 80)
    if module == 'smartmeter':
        from firmware.apps.common.events import EventHub
        from firmware.apps.common.web import Web
        from firmware.apps.common.wifi import Provisioner
        from firmware.apps.smartmeter.app import SmartMeter
        from firmware.storage import Store

        def log(msg):
            pass
        store = Store(flash, log)
        users = auth.Users(store, log)
        dev = SmartMeter(hal, store, log, {})
        hub = EventHub(ticks_ms=hal.ticks_ms)
        prov = Provisioner(hal, store, hal.name(), log, on_join=dev.announce)
        web = Web(dev, hub, prov, log, users=users, hosts=lambda: auth.allowed_hosts(hal, hal.name(), prov),
                  ticks_ms=hal.ticks_ms, net=hal)
        dev.web = web
        _s['dev'] = dev
    else:
        from firmware.apps.smartplug.app import SmartPlugApp

        def log(msg):
            pass
        plug = SmartPlugApp(hal, log=log)
        web = plug.web
        users = plug.users
        _s['dev'] = plug
    users.press(hal.ticks_ms())
    token, err = users.create('local/memory', hal.ticks_ms())
    if err is not None:
        raise RuntimeError('the user for the measured requests was refused: %r' % (err,))
    _s['token'] = token
    _s['host'] = hal.name() + '.local'
    # web.py wraps Request.create and each write in asyncio.wait_for (a client that sends nothing, or
    # takes nothing, must not hold a socket); the wrapper needs a running event loop, which _drive does
    # not have: measure microdot's own reader and writes (on the device the wrappers add one Task per
    # request read and per write)
    from microdot import Request

    from firmware.apps.common import web as webmod
    Request.create = staticmethod(webmod._create)
    webmod._write_in_time = _no_write_timeout
    _s['hal'] = hal
    _s['web'] = web
    return _done()


def _no_write_timeout(writer, web):
    pass


def _drive(coro):
    """Run a coroutine that never waits on anything outside (in-memory streams) to its end."""
    for _ in range(10000):
        try:
            got = coro.send(None)
        except StopIteration as e:
            return e.value
        if got is not None and got is not _PAUSE:
            raise RuntimeError('the request waited on something outside the process')
    raise RuntimeError('the request did not end in 10000 steps')


def load_feed(path, chunk):
    """Load one input file (a telegram, or CSE7766 frames) cut in `chunk`-byte reads."""
    with open(path, 'rb') as f:
        data = f.read()
    _s['chunks'] = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b'\r\n']
    _s['bytes'] = len(data)
    _s['no_crc'] = data.rstrip().endswith(b'!')
    return _done()


def listen():
    """An /events client for the feeds that follow (a browser with the page open: every change is
    published), its stream started (the snapshot taken, as when it connects)."""
    web = _s['web']
    c = web.hub.subscribe()
    st = web.hub.stream(c, web.snapshot, None)
    for _ in range(1 + len(web.dev.entities)):
        _drive(st.__anext__())
    _s['listener'] = (c, st)
    return _done()


def feed():
    """Feed the loaded input to the app as its UART task would; bytes allocated, and what came of it.

    With a listener (listen()), the events published are taken off its queue afterwards, as its stream
    would write them."""
    dev = _s['dev']
    hal = _s['hal']
    chunks = _s.pop('chunks')
    listener = _s.get('listener')
    a = gc.mem_alloc()
    try:
        if hasattr(dev, 'feed'):  # SmartMeter: telegrams
            # on the line its meter uses (the app's 'auto' setting finds it): DSMR 2.2/3 meters send no CRC
            # at 9600 7E1, the others a CRC at 115200 8N1; a line that sent a good CRC keeps requiring one
            dev.stack.set_line('9600 7E1' if _s['no_crc'] else '115200 8N1')
            n = 0
            for c in chunks:
                n += dev.feed(c, hal.ticks_ms())
            if n:
                dev.web.publish()
            got = n
        else:  # SmartPlug: metering frames, then the once-a-second tick
            now = dev.now_ms()
            for c in chunks:
                dev.plug.feed_chip(c, now)
            dev.plug.tick(now)
            dev.sync()
            dev.web.publish()
            got = 1
    except BaseException as e:
        return json.dumps({'error': _tb(e)})
    alloc = gc.mem_alloc() - a
    events = 0
    if listener is not None:
        events = len(listener[0].queue)
        listener[0].queue.clear()
    return _done({'alloc': alloc, 'bytes': _s['bytes'], 'taken': got, 'events': events})


def routes():
    """Every route of the app without URL arguments, and the entity routes for each entity (JSON list)."""
    web = _s['web']
    out = []
    for methods, pattern, _h, _p, _sub in web.app.url_map:
        url = pattern.url_pattern
        if '<' not in url:
            if 'GET' in methods and url != '/events':
                out.append(['GET', url, None])
        elif url == '/<domain>/<ident>':
            for e in web.dev.entities:
                out.append(['GET', '/%s/%s' % (e.domain, e.oid), None])
    return json.dumps(out)


def request_start(method, path, body):
    """Prepare one request through microdot's own handle_request on in-memory streams."""
    from microdot import AsyncBytesIO
    web = _s['web']
    # as a logged-in client on the LAN asks: the module's mDNS name as Host and the user's token on every
    # request (state changes need it; so does GET /wifi once the module is on the network)
    head = '%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n' % (method, path, _s['host'],
                                                                             _s['token'])
    if body is not None:
        data = body.encode()
        head += 'Content-Type: application/json\r\nContent-Length: %d\r\n' % len(data)
    else:
        data = b''
    sink = _Sink()
    _s['req'] = (method, path, web.app.handle_request(AsyncBytesIO(head.encode() + b'\r\n' + data), sink),
                 sink)
    return _done()


def request_step():
    """Run the request to its next write (or its end), from a just-collected heap.

    Returns live (bytes in use at the start, beyond the app mark) and alloc (bytes the step allocated,
    nothing freed within it): live + alloc bounds the heap the request needs at any moment of the step."""
    method, path, coro, sink = _s['req']
    a = gc.mem_alloc()
    live = a - _s['app']
    done = False
    try:
        got = coro.send(None)
        if got is not _PAUSE:
            raise RuntimeError('the request waited on something outside the process')
    except StopIteration:
        done = True
    except BaseException as e:
        _s.pop('req')
        return json.dumps({'error': '%s %s: %s' % (method, path, _tb(e))})
    alloc = gc.mem_alloc() - a
    return _done({'live': live, 'alloc': alloc, 'done': done})


def request_end():
    """What the response was: status, size, content type, JSON well-formed."""
    method, path, coro, sink = _s.pop('req')
    out = b''.join(sink.parts)
    status = int(out[9:12]) if out[:5] == b'HTTP/' else 0
    i = out.find(b'\r\n\r\n')
    body = out[i + 4:] if i >= 0 else b''
    ctype = ''
    for line in out[:i].split(b'\r\n'):
        if line.lower().startswith(b'content-type:'):
            ctype = line[13:].strip().decode()
    ok = True
    if ctype.startswith('application/json'):
        try:
            json.loads(body)
        except ValueError:
            ok = False
    return _done({'status': status, 'bytes': sink.n, 'body': len(body), 'type': ctype, 'json_ok': ok})


def events():
    """GET /events: the ping and one state event per entity, then the client goes away.

    alloc: the most one chunk of the stream allocates (each is written before the next is made);
    total: the whole start of the stream; bytes: what it sends."""
    web = _s['web']
    hub = web.hub
    c = hub.subscribe()
    st = hub.stream(c, web.snapshot, None)
    most = total = n = 0
    for _ in range(1 + len(web.dev.entities)):
        a = gc.mem_alloc()
        chunk = _drive(st.__anext__())
        got = gc.mem_alloc() - a
        most = max(most, got)
        total += got
        n += len(chunk)
        chunk = None
    _drive(st.aclose())
    return _done({'alloc': most, 'total': total, 'bytes': n, 'clients_after_close': len(hub.clients)})


def imported():
    """The image's modules a running board has imported (after the app, the telegrams, the requests)."""
    return json.dumps(sorted(n for n in sys.modules if n.split('.')[0] in ('firmware', 'microdot')))


def unlisten():
    """The feeds' /events client goes away."""
    c, st = _s.pop('listener')
    _drive(st.aclose())
    return _done({'clients': len(_s['web'].hub.clients)})


def version():
    """MicroPython version as 'x.y.z'."""
    return '%d.%d.%d' % sys.implementation.version[:3]
