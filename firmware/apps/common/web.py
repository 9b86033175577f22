# The web server both apps share: microdot routes over a device object, ESPHome web_server-compatible.
# Portable (MicroPython asyncio + microdot, CPython + microdot from PyPI). The routes are thin: every
# page, JSON text and check comes from the pure modules beside this one.
#
#   web = Web(dev, hub, wifi=None, log=print)     web.app is the microdot application
#   await web.serve(host, port, on_listen=None)   listen (never returns); on_listen(port) once listening,
#                                                 with the port bound (host: port 0 lets the OS pick)
#   web.publish()                                 push the `state` of every entity whose text changed
#   web.counters                                  requests, client_errors (4xx), server_errors (500: a
#                                                 handler failed), unavailable (501, 503), too_large (413),
#                                                 timeouts (request not sent in time)
#
# The device object (duck-typed):
#   dev.title                   'smartmeter' -> page "smartmeter Web Server"
#   dev.entities                list of entities (.domain .name .oid; see entities.py), in page order
#   dev.state(entity)           -> (state text, value)   (entities.sensor_state / switch_state / ...)
#   dev.act(entity, method, params) -> None when done, else (status, message)   [optional: 405]
#                               POST /<domain>/<id>/<method>; params: the query string and a JSON or form
#                               body merged into one dict; a malformed body never reaches dev.act (400)
#   dev.warnings()              -> list of texts under the table   [optional]
#   dev.add_routes(app, web)    register device-specific routes; they win over the generic ones [optional]
#
# Routes: GET / (the States page, or the WiFi portal while the access point is up), GET /events (SSE: a
# `ping` with the config, every entity in detail, then changes; entities.py says each shape),
# GET /<domain>/<id>[?detail=all] (id = object id or URL-encoded name), POST /<domain>/<id>/<method>,
# GET /wifi (?scan=1: look for networks first),
# POST /wifisave (GET /wifisave: 405, a GET never changes state), POST /update and GET /api/ota (signed OTA
# updates: firmware/ota/, docs/ota.md), GET|POST /login (the page's one-time login: button press, then a
# session cookie), POST|DELETE /api/user (HomeWizard API v2 tokens). Access control (docs/security.md,
# auth.check_request) runs before every route: 421 a Host not the module's, 403 a foreign Origin, 401 a
# state change without a user.
# Errors are JSON {"error": "..."}: 404 unknown entity or path, 405 wrong method, 400 malformed
# request or body, 413 body over API_MAX_BODY (the OTA route is allowed OTA_MAX_BODY), 503 too many event
# clients, 507 flash refused a write (nothing changed), 500 a handler failure (logged and counted; the
# server goes on). Beyond the HAL's socket budget (net.http_sockets()) a connection is closed at once.
import asyncio

from microdot import Microdot, Request, Response, URLPattern

from firmware.apps.common import auth
from firmware.apps.common import entities as ents
from firmware.apps.common.jsonw import dumps, loads_object, shown
from firmware.apps.common.page import login_page, states_chunks, states_page
from firmware.ota import service as ota_service

API_MAX_BODY = 1024             # bytes: every JSON/form request of the apps fits in far less
OTA_MAX_BODY = 0x1F0000         # an ESP32 app partition (1.9 MiB): the largest body /update may announce
READ_TIMEOUT_S = 10             # a client must send its request line, headers and body within this
WRITE_TIMEOUT_S = 15            # a client that takes none of an answer's bytes for this long is cut off

# Functions called with (host, port) once any Web listens: the host rig registers one that tells the test
# harness which port the OS picked (hil/cli/board.py --port-file). Empty on the device.
LISTEN_HOOKS = []

JSON = {'Content-Type': 'application/json'}
HTML = {'Content-Type': 'text/html; charset=UTF-8'}
TEXT = {'Content-Type': 'text/plain; charset=UTF-8'}
SSE = {'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache'}

# The reason phrases of the status lines these apps send (microdot writes 'N/A' for any status but 200).
# Pairs in a tuple, not a dict: a tuple of constants stays in flash with the code, a dict is built on the
# heap at import (docs/memory.md)
REASONS = ((200, 'OK'), (201, 'Created'), (202, 'Accepted'), (204, 'No Content'), (301, 'Moved Permanently'),
           (302, 'Found'), (304, 'Not Modified'), (400, 'Bad Request'), (401, 'Unauthorized'),
           (403, 'Forbidden'), (404, 'Not Found'), (405, 'Method Not Allowed'), (408, 'Request Timeout'),
           (409, 'Conflict'), (411, 'Length Required'), (413, 'Payload Too Large'),
           (415, 'Unsupported Media Type'), (421, 'Misdirected Request'), (422, 'Unprocessable Content'),
           (423, 'Locked'), (429, 'Too Many Requests'), (500, 'Internal Server Error'),
           (501, 'Not Implemented'), (503, 'Service Unavailable'), (507, 'Insufficient Storage'))


def reason_of(status):
    for code, text in REASONS:
        if code == status:
            return text
    return None


def json_response(obj, status=200):
    return (obj if isinstance(obj, str) else dumps(obj)), status, JSON


def error_response(status, message):
    return dumps({'error': message}), status, JSON


_create = Request.create
_timeouts = [0]


# The connections (writers) whose request was read and whose answer is not out yet. A reset cuts such an
# answer (the client reads a status line and half the headers), so an OTA reboot waits until none is owed
# (firmware/ota/service.py). An event stream's answer counts as out once it starts: it never ends.
_owed = set()


def answers_owed():
    return len(_owed)


async def _create_in_time(*args, **kwargs):
    # A client that opens a connection and sends nothing (or half a request) must not hold a task and a
    # socket forever: give up after READ_TIMEOUT_S; microdot then answers 400.
    try:
        req = await asyncio.wait_for(_create(*args, **kwargs), READ_TIMEOUT_S)
    except asyncio.TimeoutError:
        _timeouts[0] += 1
        return None
    if req is not None:
        _owed.add(args[2])
    return req


Request.create = staticmethod(_create_in_time)

_write_response = Response.write


async def _write_owed(self, stream):
    if hasattr(self.body, '__anext__'):
        _owed.discard(stream)
    try:
        await _write_response(self, stream)
    finally:
        _owed.discard(stream)


Response.write = _write_owed

_pattern_match = URLPattern.match


def _match(self, path):
    # A pattern without a <segment> matches only its own path: compare the texts. microdot would compile
    # (and keep, per route, for good) a regular expression and a list of segments the first time a request
    # passes the route; most of these apps' routes are plain paths.
    if '<' not in self.url_pattern:
        return {} if path == self.url_pattern else None
    return _pattern_match(self, path)


URLPattern.match = _match
Request.max_content_length = OTA_MAX_BODY
Request.max_body_length = API_MAX_BODY


def _write_in_time(writer, web):
    # a client that stops reading must not hold a socket forever: each write (which waits until the IP
    # stack took the bytes) gets WRITE_TIMEOUT_S, then the connection is closed (counted as timeouts)
    write = getattr(writer, 'awrite', None)
    if write is None:
        return

    async def awrite(data):
        try:
            await asyncio.wait_for(write(data), WRITE_TIMEOUT_S)
        except asyncio.TimeoutError:
            _timeouts[0] += 1
            try:
                writer.close()
            except Exception:
                pass
            web.log('web: a client took nothing for %d s: cut off' % WRITE_TIMEOUT_S)
            raise OSError('Connection lost')   # microdot's own word for a gone client: closes quietly
    writer.awrite = awrite


def _body_params(request):
    """(dict, None) of the request's body, or (None, reason)."""
    body = request.body
    if not body:
        if request.content_length:
            return None, 'body of %d bytes: expected at most %d' % (request.content_length, API_MAX_BODY)
        return {}, None
    ctype = (request.content_type or '').split(';')[0].strip()
    if ctype == 'application/x-www-form-urlencoded':
        try:
            form = request.form
        except Exception:
            return None, 'expected a form body of UTF-8 text, got bytes that do not decode'
        out = {}
        for k in form:
            out[k] = form[k]
        return out, None
    return loads_object(body)


class Web:
    def __init__(self, dev, hub, wifi=None, log=print, users=None, hosts=None, ticks_ms=None, net=None):
        # users: auth.Users (None: no access control, for unit tests of the routes only); hosts() -> the
        # Host names this module answers to (auth.allowed_hosts); ticks_ms: the HAL's clock; net: the HAL,
        # whose http_sockets() is the budget of client connections (None: the IP stack enforces its own,
        # as lwIP does on the ESP32) and http_accepted(writer) tunes each connection (the host HAL: send
        # buffers as small as lwIP's)
        self.net = net
        self.conns = 0
        self.dev = dev
        self.hub = hub
        self.wifi = wifi
        self.log = log
        self.users = users
        self.hosts = hosts
        self.ticks_ms = ticks_ms
        self.port = None
        self.local_api = None           # hwv1.LocalApi: the v1 writes it opens (set by the app)
        self.counters = {'requests': 0, 'client_errors': 0, 'server_errors': 0, 'unavailable': 0,
                         'too_large': 0, 'timeouts': 0, 'no_socket': 0}
        self._generic = ()
        self.ota = ota_service.for_device(dev)  # None without a HAL (unit tests): /update answers 503
        if self.ota is not None:
            self.ota.answering = answers_owed
        self.app = self._build()
        self._guard()

    def _guard(self):
        # the socket budget: a connection beyond it is closed at once, as lwIP's accept does when it has
        # no socket left (lwip_accept: ENFILE, the connection deleted); counted as no_socket
        handle = self.app.handle_request
        web = self

        async def guarded(reader, writer):
            limit = web.net.http_sockets() if web.net is not None else None
            if limit is not None and web.conns >= limit:
                web.counters['no_socket'] += 1
                try:
                    writer.close()
                except Exception:
                    pass
                return
            web.conns += 1
            try:
                if web.net is not None:
                    web.net.http_accepted(writer)
                _write_in_time(writer, web)
                await handle(reader, writer)
            finally:
                web.conns -= 1
                _owed.discard(writer)
        self.app.handle_request = guarded

    def now(self):
        return self.ticks_ms() if self.ticks_ms is not None else 0

    def portal_open(self):
        """The portal needs no login while the module is not on a network: then only the access point
        (WPA2, the label's password) reaches it."""
        return self.wifi is not None and not self.wifi.wifi.isconnected()

    def open_paths(self):
        p = ['POST /api/user', 'POST /login']
        if self.portal_open():
            p.append('POST /wifisave')
        return p

    def user(self, request):
        return None if self.users is None else auth.is_user(request.headers, self.users)

    def stats(self):
        """The counters, with the request-read timeouts counted so far."""
        self.counters['timeouts'] = _timeouts[0]
        return dict(self.counters)

    # ---- helpers the device routes use too --------------------------------------------------------
    def entity_json(self, e):
        state, value = self.dev.state(e)
        return ents.entity_json(e, state, value)

    def event_json(self, e):
        state, value = self.dev.state(e)
        return ents.event_json(e, state, value)

    def detail_json(self, e):
        state, value = self.dev.state(e)
        return ents.detail_json(e, state, value, self.dev.entities.index(e))

    def snapshot(self):
        # The only client: what it is sent now is what later publishes compare against (they were skipped
        # while nobody listened); its warnings come with the next publish.
        hub = self.hub
        sole = len(hub.clients) <= 1
        if sole:
            hub.last.pop('#warnings', None)
        for e in self.dev.entities:
            yield self.detail_json(e)
            if sole:
                state, value = self.dev.state(e)
                hub.last[_key(e)] = _seen(state, value)

    def config_json(self):
        """The first `ping` of a stream, as ESPHome sends it: the page title and what the UI shows."""
        return dumps({'title': self.dev.title, 'comment': '', 'ota': self.ota is not None, 'log': False,
                      'lang': 'en', 'uptime': self.hub.uptime_s()})

    def publish(self):
        if not self.hub.clients:
            # nobody listens: build nothing (a telegram a second would otherwise make every entity's JSON
            # text). What the hub compares against is then out of date until a client's snapshot renews it.
            return
        hub = self.hub
        for e in self.dev.entities:
            # kept and compared: the state text and the value's JSON, of which the event is a function (a
            # few bytes per entity, not its whole event); the event is built only when they changed
            state, value = self.dev.state(e)
            seen = _seen(state, value)
            key = _key(e)
            if hub.last.get(key) != seen:
                hub.last[key] = seen
                hub.publish('state', ents.event_json(e, state, value))
        if hasattr(self.dev, 'warnings'):
            w = dumps(self.dev.warnings())
            if self.hub.last.get('#warnings') != w:
                self.hub.last['#warnings'] = w
                self.hub.publish('warnings', w)

    def page(self):
        return states_page(self.dev.title, self._rows(), self._warnings(), self._ota_rows(), self._local_api())

    def page_chunks(self):
        """The States page as a response body streamed row by row (no copy of the whole page in memory)."""
        return states_chunks(self.dev.title, self._rows(), self._warnings(), self._ota_rows(), self._local_api())

    def _rows(self):
        for e in self.dev.entities:
            state, value = self.dev.state(e)
            yield e, state, value

    def _warnings(self):
        return self.dev.warnings() if hasattr(self.dev, 'warnings') else ()

    def _local_api(self):
        return None if self.local_api is None else self.local_api.on

    def _ota_rows(self):
        return self.ota.page_rows() if self.ota else ()

    async def serve(self, host, port, on_listen=None):
        """Listen on host:port (port 0: one the OS picks, host only) and serve forever.

        on_listen(port) is called once the socket listens, with the port actually bound."""
        task = asyncio.create_task(self.app.start_server(host=host, port=port))
        while getattr(self.app, 'server', None) is None:
            if task.done():
                await task  # it failed to listen: raise why
                return
            await asyncio.sleep(0.01)
        if port == 0:
            socks = getattr(self.app.server, 'sockets', None)
            if socks:
                port = socks[0].getsockname()[1]
        self.port = port
        for hook in LISTEN_HOOKS:
            hook(host, port)
        if on_listen is not None:
            on_listen(port)
        if self.ota is not None:
            asyncio.create_task(self.ota.run(port))  # feeds the watchdog; confirms a new image when healthy
        await task

    def allowed_methods(self, path):
        """The methods the routes matching path accept; the generic entity routes count only for a path
        under an entity domain."""
        domain = path.split('/')[1] if path.count('/') > 1 else ''
        out = []
        for route in self.app.url_map:
            methods, pattern, handler = route[0], route[1], route[2]
            if pattern.match(path) is None:
                continue
            if handler in self._generic and domain not in ents.DOMAINS:
                continue
            for m in methods:
                if m not in out:
                    out.append(m)
        return out

    def no_route(self, request):
        """The answer when no route takes this request: 405 naming the methods when a real route has the
        path (microdot says 405 whenever any pattern matches, and the generic entity routes match every
        two- or three-part path), else 404."""
        allowed = self.allowed_methods(request.path)
        if not allowed:
            parts = request.path.split('/')
            if 3 <= len(parts) <= 4 and parts[1] not in ents.DOMAINS:
                return error_response(404, 'nothing at %s %s: no route, and no entity domain %s (expected '
                                      'one of %s)' % (request.method, request.path, shown(parts[1]),
                                                      ', '.join(ents.DOMAINS)))
            return error_response(404, 'nothing at %s %s' % (request.method, request.path))
        body = dumps({'error': 'method %s not allowed on %s: expected %s' % (
            request.method, request.path, ' or '.join(allowed))})
        return body, 405, {'Content-Type': JSON['Content-Type'], 'Allow': ', '.join(allowed)}

    # ---- routes ---------------------------------------------------------------------------------------
    def _build(self):
        app = Microdot()
        web = self
        dev = self.dev
        counters = self.counters

        @app.before_request
        async def _count(request):
            counters['requests'] += 1
            if web.users is not None:
                err = auth.check_request(request.method, request.path, request.headers,
                                         web.hosts() if web.hosts is not None else (), web.users,
                                         () if request.method in auth.SAFE_METHODS else web.open_paths(),
                                         web.local_api.writes() if web.local_api is not None else ())
                if err is not None:
                    return error_response(err[0], err[1])
            if request.content_length > API_MAX_BODY and request.path != '/update':
                counters['too_large'] += 1
                return error_response(413, '%s %s: body of %d bytes, expected at most %d' % (
                    request.method, request.path, request.content_length, API_MAX_BODY))

        def count(status):
            if status == 500:
                counters['server_errors'] += 1
            elif status > 500:
                counters['unavailable'] += 1
            elif status >= 400:
                counters['client_errors'] += 1

        def reason(response):
            if response.reason is None:
                response.reason = reason_of(response.status_code)

        @app.after_request
        async def _after(request, response):
            # no Access-Control-Allow-Origin: other origins' pages can neither read nor change the module
            count(response.status_code)
            reason(response)
            return response

        @app.after_error_request
        async def _after_error(request, response):
            count(response.status_code)
            reason(response)
            if response.status_code == 413:
                counters['too_large'] += 1
            return response

        @app.errorhandler(400)
        async def _bad(request):
            return error_response(400, 'bad request: expected an HTTP/1.x request line and headers')

        @app.errorhandler(404)
        async def _not_found(request):
            return error_response(404, 'nothing at %s %s' % (request.method, request.path))

        @app.errorhandler(405)
        async def _not_allowed(request):
            return web.no_route(request)

        @app.errorhandler(413)
        async def _too_large(request):
            return error_response(413, 'body of %d bytes: expected at most %d' % (
                request.content_length, OTA_MAX_BODY))

        @app.errorhandler(Exception)
        async def _failed(request, exc):
            web.log('web: %s %s failed: %r' % (request.method, request.path, exc))
            # the exception's type, not its text: the text differs between MicroPython and CPython (the log
            # has it)
            return error_response(500, 'internal error in %s %s: %s' % (request.method, request.path,
                                                                          type(exc).__name__))

        if hasattr(dev, 'add_routes'):
            dev.add_routes(app, self)

        @app.get('/')
        async def index(request):
            if web.wifi is not None and web.wifi.portal_active():
                return web.wifi.page(), 200, HTML
            return web.page_chunks(), 200, HTML

        @app.get('/events')
        async def events(request):
            if request.method == 'HEAD':
                return '', 200, SSE
            c = web.hub.subscribe()
            if c is None:
                return error_response(503, 'too many event streams: at most %d at a time'
                                      % web.hub.max_clients)

            def close():
                try:
                    request.sock[1].close()
                except Exception:
                    pass
            if request.sock:
                # a client that goes away frees its place at once, not at the next write (ping: 10 s)
                asyncio.create_task(web.hub.watch(c, request.sock[0]))
            return web.hub.stream(c, web.snapshot, close, web.config_json()), 200, SSE

        @app.route('/update', methods=['POST'])
        async def update(request):
            if web.ota is None:
                return error_response(503, 'OTA is not available on this board (no flash): nothing was changed')
            from firmware.ota.http import handle_update  # imported on the first update only
            status, doc = await handle_update(web.ota, request)
            return json_response(doc, status)

        @app.get('/api/ota')
        async def ota_status(request):
            if web.ota is None:
                return error_response(503, 'OTA is not available on this board (no flash)')
            return json_response(web.ota.status())

        @app.get('/wifi')
        async def wifi_page(request):
            if web.wifi is None:
                return error_response(404, 'this module has no WiFi portal')
            if not web.portal_open() and not web.user(request):
                return login_page(web.dev.title, 'The WiFi settings need a login once the module is on '
                                  'your network.'), 401, HTML
            if request.args.get('scan'):
                web.wifi.scan()
            return web.wifi.page(), 200, HTML

        @app.route('/wifisave', methods=['GET', 'POST'])
        async def wifi_save(request):
            if web.wifi is None:
                return error_response(404, 'this module has no WiFi portal')
            if request.method == 'GET':
                return error_response(405, 'GET /wifisave changes nothing: expected POST /wifisave with '
                                           'the form fields ssid and psk')
            params, why = _body_params(request)
            if params is None:
                return error_response(400, 'POST /wifisave: ' + why)
            status, html = await web.wifi.save(params.get('ssid'), params.get('psk'))
            return html, status, HTML

        @app.get('/login')
        async def login_get(request):
            return login_page(web.dev.title), 200, HTML

        @app.post('/login')
        async def login_post(request):
            if web.users is None:
                return error_response(404, 'this module has no users')
            if not request.headers.get(auth.CSRF_HEADER):
                return error_response(403, 'POST /login: expected the %s header (sent by the login page)'
                                      % auth.CSRF_HEADER)
            token, err = web.users.create('local/browser', web.now())
            if token is None:
                return error_response(err[0], err[1])
            return dumps({'login': 'ok'}), 200, {
                'Content-Type': 'application/json',
                'Set-Cookie': '%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000' % (
                    auth.COOKIE, token)}

        @app.route('/api/user', methods=['POST', 'DELETE'])
        async def api_user(request):
            if web.users is None:
                return error_response(404, 'this module has no users')
            obj = {}
            if request.body:
                obj, why = loads_object(request.body)
                if obj is None:
                    return error_response(400, '%s /api/user: %s' % (request.method, why))
            if request.method == 'DELETE':
                name = obj.get('name') or web.user(request)
                if not web.users.delete(name):
                    return error_response(404, 'DELETE /api/user: no user %s (or flash write failed)' % (shown(name),))
                return '', 204, JSON
            token, err = web.users.create(obj.get('name'), web.now())
            if token is None:
                return error_response(err[0], err[1])
            return json_response({'token': token, 'name': obj['name']})

        @app.get('/<domain>/<ident>')
        async def entity_get(request, domain, ident):
            if domain not in ents.DOMAINS:
                return web.no_route(request)
            e = ents.find(dev.entities, domain, ident)
            if e is None:
                return _unknown(dev, domain, ident)
            if request.args.get('detail') == 'all':
                return json_response(web.detail_json(e))
            return json_response(web.entity_json(e))

        @app.post('/<domain>/<ident>/<method>')
        async def entity_post(request, domain, ident, method):
            if domain not in ents.DOMAINS:
                return web.no_route(request)
            e = ents.find(dev.entities, domain, ident)
            if e is None:
                return _unknown(dev, domain, ident)
            if not hasattr(dev, 'act'):
                return error_response(405, '%s %s is read-only' % (domain, e.oid))
            params, why = _body_params(request)
            if params is None:
                return error_response(400, 'POST %s: %s' % (request.path, why))
            for k in request.args:
                params[k] = request.args[k]
            err = dev.act(e, method, params)
            if err is not None:
                return error_response(err[0], err[1])
            web.publish()
            return json_response(web.entity_json(e))

        self._generic = (entity_get, entity_post)
        return app


def _seen(state, value):
    return state + '\n' + dumps(value)


def _key(e):
    return e.key if hasattr(e, 'key') else e.domain + '-' + e.oid


def _unknown(dev, domain, ident):
    ident = ents.url_unquote(ident)
    if domain not in ents.DOMAINS:
        return error_response(404, 'no entity domain %s: expected one of %s'
                              % (shown(domain), ', '.join(ents.DOMAINS)))
    ids = [e.oid for e in dev.entities if e.domain == domain]
    if not ids:
        return error_response(404, 'no %s entities on this module' % domain)
    return error_response(404, 'no %s %s: expected one of %s' % (domain, shown(ident), ', '.join(ids)))
