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
# Routes: GET / (the States page, or the WiFi portal while the access point is up), GET /events (SSE),
# GET /<domain>/<id> (id = object id or URL-encoded name), POST /<domain>/<id>/<method>, GET /wifi
# (?scan=1: look for networks first),
# POST /wifisave (and GET /wifisave?ssid=&psk= as ESPHome's captive portal), POST /update and GET /api/ota
# (signed OTA updates: firmware/ota/, docs/ota.md). Errors are JSON {"error": "..."}: 404 unknown entity or path, 405 wrong method, 400 malformed
# request or body, 413 body over API_MAX_BODY (the OTA route is allowed OTA_MAX_BODY), 503 too many event
# clients, 500 a handler failure (logged and counted; the server goes on).
import asyncio

from microdot import Microdot, Request

from firmware.apps.common import entities as ents
from firmware.apps.common.jsonw import dumps, loads_object
from firmware.apps.common.page import states_chunks, states_page
from firmware.ota import service as ota_service

API_MAX_BODY = 1024             # bytes: every JSON/form request of the apps fits in far less
OTA_MAX_BODY = 0x1F0000         # an ESP32 app partition (1.9 MiB): the largest body /update may announce
READ_TIMEOUT_S = 10             # a client must send its request line and headers within this

# Functions called with (host, port) once any Web listens: the host rig registers one that tells the test
# harness which port the OS picked (hil/cli_board.py --port-file). Empty on the device.
LISTEN_HOOKS = []

JSON = {'Content-Type': 'application/json'}
HTML = {'Content-Type': 'text/html; charset=UTF-8'}
TEXT = {'Content-Type': 'text/plain; charset=UTF-8'}
SSE = {'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache'}


def json_response(obj, status=200):
    return (obj if isinstance(obj, str) else dumps(obj)), status, JSON


def error_response(status, message):
    return dumps({'error': message}), status, JSON


_create = Request.create
_timeouts = [0]


async def _create_in_time(*args, **kwargs):
    # A client that opens a connection and sends nothing (or half a request) must not hold a task and a
    # socket forever: give up after READ_TIMEOUT_S; microdot then answers 400.
    try:
        return await asyncio.wait_for(_create(*args, **kwargs), READ_TIMEOUT_S)
    except asyncio.TimeoutError:
        _timeouts[0] += 1
        return None


Request.create = staticmethod(_create_in_time)
Request.max_content_length = OTA_MAX_BODY
Request.max_body_length = API_MAX_BODY


def _body_params(request):
    """(dict, None) of the request's body, or (None, reason)."""
    body = request.body
    if not body:
        if request.content_length:
            return None, 'body of %d bytes: expected at most %d' % (request.content_length, API_MAX_BODY)
        return {}, None
    ctype = (request.content_type or '').split(';')[0].strip()
    if ctype == 'application/x-www-form-urlencoded':
        form = request.form
        out = {}
        for k in form:
            out[k] = form[k]
        return out, None
    return loads_object(body)


class Web:
    def __init__(self, dev, hub, wifi=None, log=print):
        self.dev = dev
        self.hub = hub
        self.wifi = wifi
        self.log = log
        self.port = None
        self.counters = {'requests': 0, 'client_errors': 0, 'server_errors': 0, 'unavailable': 0,
                         'too_large': 0, 'timeouts': 0}
        self.ota = ota_service.for_device(dev)  # None without a HAL (unit tests): /update answers 503
        self.app = self._build()

    def stats(self):
        """The counters, with the request-read timeouts counted so far."""
        self.counters['timeouts'] = _timeouts[0]
        return dict(self.counters)

    # ---- helpers the device routes use too --------------------------------------------------------
    def entity_json(self, e):
        state, value = self.dev.state(e)
        return ents.entity_json(e, state, value)

    def snapshot(self):
        # The only client: what it is sent now is what later publishes compare against (they were skipped
        # while nobody listened); its warnings come with the next publish.
        hub = self.hub
        sole = len(hub.clients) <= 1
        if sole:
            hub.last.pop('#warnings', None)
        for e in self.dev.entities:
            text = self.entity_json(e)
            if sole:
                hub.last[_key(e)] = text
            yield text

    def publish(self):
        if not self.hub.clients:
            # nobody listens: build nothing (a telegram a second would otherwise make every entity's JSON
            # text). What the hub compares against is then out of date until a client's snapshot renews it.
            return
        for e in self.dev.entities:
            key = _key(e)
            self.hub.publish_state(key, self.entity_json(e))
        if hasattr(self.dev, 'warnings'):
            w = dumps(self.dev.warnings())
            if self.hub.last.get('#warnings') != w:
                self.hub.last['#warnings'] = w
                self.hub.publish('warnings', w)

    def page(self):
        return states_page(self.dev.title, self._rows(), self._warnings(), self._ota_rows())

    def page_chunks(self):
        """The States page as a response body streamed row by row (no copy of the whole page in memory)."""
        return states_chunks(self.dev.title, self._rows(), self._warnings(), self._ota_rows())

    def _rows(self):
        for e in self.dev.entities:
            state, value = self.dev.state(e)
            yield e, state, value

    def _warnings(self):
        return self.dev.warnings() if hasattr(self.dev, 'warnings') else ()

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

    # ---- routes ---------------------------------------------------------------------------------------
    def _build(self):
        app = Microdot()
        web = self
        dev = self.dev
        counters = self.counters

        @app.before_request
        async def _count(request):
            counters['requests'] += 1
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

        @app.after_request
        async def _after(request, response):
            response.headers['Access-Control-Allow-Origin'] = '*'
            count(response.status_code)
            return response

        @app.after_error_request
        async def _after_error(request, response):
            count(response.status_code)
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
            return error_response(405, 'method %s not allowed on %s' % (request.method, request.path))

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
            return web.hub.stream(c, web.snapshot, close), 200, SSE

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
            if request.args.get('scan'):
                web.wifi.scan()
            return web.wifi.page(), 200, HTML

        @app.route('/wifisave', methods=['GET', 'POST'])
        async def wifi_save(request):
            if web.wifi is None:
                return error_response(404, 'this module has no WiFi portal')
            if request.method == 'GET':
                params = request.args
            else:
                params, why = _body_params(request)
                if params is None:
                    return error_response(400, 'POST /wifisave: ' + why)
            status, html = await web.wifi.save(params.get('ssid'), params.get('psk'))
            return html, status, HTML

        @app.get('/<domain>/<ident>')
        async def entity_get(request, domain, ident):
            e = ents.find(dev.entities, domain, ident)
            if e is None:
                return _unknown(dev, domain, ident)
            return json_response(web.entity_json(e))

        @app.post('/<domain>/<ident>/<method>')
        async def entity_post(request, domain, ident, method):
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

        return app


def _key(e):
    return e.key if hasattr(e, 'key') else e.domain + '-' + e.oid


def _unknown(dev, domain, ident):
    ident = ents.url_unquote(ident)
    if domain not in ents.DOMAINS:
        return error_response(404, 'no entity domain %r: expected one of %s'
                              % (domain, ', '.join(ents.DOMAINS)))
    ids = [e.oid for e in dev.entities if e.domain == domain]
    if not ids:
        return error_response(404, 'no %s entities on this module' % domain)
    return error_response(404, 'no %s %r: expected one of %s' % (domain, ident, ', '.join(ids)))
