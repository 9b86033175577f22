# HomeWizard's local API v2 over HTTPS, with the module's own certificate (docs/security.md "HTTPS").
# Portable: MicroPython asyncio + ssl (ESP32: mbedTLS) and CPython asyncio + ssl, microdot on both.
#
#   https = Https(api, users, hosts, log=print, net=None, ticks_ms=None)
#   await https.serve(host, port, ctx, on_listen=None)  listen (never returns); on_listen(port) once
#                                  listening (port 0: the OS picks, host only)
#   https.stats()                  counters: requests, unauthorized, client_errors, server_errors,
#                                  sessions (open now), no_session (refused: budget), handshake_failures,
#                                  timeouts
#   await serve_v2(https, hal)     the 'https' task: the identity from flash (tls.load), the label line on
#                                  the console, then serve on hal.https_bind(); without an identity it
#                                  logs why and ends (the module serves HTTP alone)
#   HTTPS_LISTEN_HOOKS             functions called with (host, port) once listening (the host rig's port
#                                  file: hil/cli/board.py); empty on the device
#   add_http_refusals(app, https)  on the plain-HTTP app: the v2 paths answer 403 naming the https:// URL
#                                  (HomeWizard: "only version 1 is supported over HTTP")
#
# The routes (each needs `Authorization: Bearer <token>`, except POST /api/user, which the button gates;
# no cookie, no page: v2 is for programs): GET /api, GET /api/measurement, GET|PUT /api/system,
# PUT /api/system/identify, GET /api/telegram (when the device has one), POST|DELETE /api/user.
# Every request first passes the Host allow-list (421) as on HTTP. Errors are v2's {"error": "scope:code"}.
#
# The device object (duck-typed): api.v2_device() -> dict, api.v2_measurement() -> dict or JSON text,
# api.v2_system() -> dict, api.local_api (hwv1.LocalApi: PUT /api/system {"api_v1_enabled"}),
# [api.v2_telegram() -> (status, text)], [api.v2_identify()].
#
# The TLS session budget: at most SESSIONS connections at once (each costs mbedTLS ~25-30 KiB of the
# ESP32's IDF heap, docs/security.md); one beyond is closed at once, before any handshake, and counted
# (no_session). A client must finish its handshake and request within web.READ_TIMEOUT_S. The HAL
# listens (net.tls_listen(cb, host, port, ctx)) and shakes hands (await net.tls_accept(reader, writer, ctx,
# timeout_s) -> None or why not) inside the budget: on MicroPython the handshake runs in the connection's
# first read (asyncio wraps the socket with do_handshake_on_connect=False; tls_accept has nothing to do);
# the host HAL accepts plain connections that read nothing and upgrades them in tls_accept (CPython's
# start_server(ssl=...) would shake hands before the budget sees the connection).
import asyncio

from microdot import Microdot

from firmware.apps.common import auth, hwv2, tls
from firmware.apps.common import web as webmod
from firmware.apps.common.jsonw import dumps, loads_object

HTTPS_LISTEN_HOOKS = []
SESSIONS = 2                    # TLS sessions at once (the ESP32's heap: docs/security.md)
V2_PATHS = ('/api/measurement', '/api/system', '/api/system/identify', '/api/telegram')
JSON_V2 = {'Content-Type': 'application/json', 'X-Api-Version': hwv2.API_VERSION}


def v2_error(status, code):
    return dumps(hwv2.error(code)), status, JSON_V2


def v2_json(obj, status=200):
    return (obj if isinstance(obj, str) else dumps(obj)), status, JSON_V2


def _streams(writer):
    # microdot's start_server gives CPython's StreamWriter the awrite/aclose MicroPython's has; this server
    # starts its own (the budget comes before the handshake), so it does the same
    if hasattr(writer, 'awrite'):
        return

    async def awrite(data):
        writer.write(data)
        await writer.drain()

    async def aclose():
        writer.close()
        await writer.wait_closed()
    writer.awrite = awrite
    writer.aclose = aclose


def _refusal(status, code):
    # microdot's error handler for status: HomeWizard v2's error document
    async def refuse(request):
        return v2_error(status, code)
    return refuse


class Https:
    def __init__(self, api, users, hosts, log=print, net=None, ticks_ms=None):
        self.api = api
        self.users = users
        self.hosts = hosts
        self.log = log
        self.net = net
        self.ticks_ms = ticks_ms
        self.port = None
        self.fingerprint = None
        limit = net.tls_sessions() if net is not None else None
        self.sessions_max = limit if limit is not None else SESSIONS
        self.sessions = 0
        self.counters = {'requests': 0, 'unauthorized': 0, 'client_errors': 0, 'server_errors': 0,
                         'no_session': 0, 'handshake_failures': 0, 'timeouts': 0}
        self.app = self._build()

    def add_http_refusals(self, app):
        """add_http_refusals(app, self): for the apps, which then need not import this module."""
        add_http_refusals(app, self)

    def stats(self):
        d = dict(self.counters)
        d['sessions'] = self.sessions
        d['sessions_max'] = self.sessions_max
        d['port'] = self.port
        return d

    def now(self):
        return self.ticks_ms() if self.ticks_ms is not None else 0

    # ---- connections ----------------------------------------------------------------------------------
    async def _connection(self, reader, writer):
        if self.sessions >= self.sessions_max:
            self.counters['no_session'] += 1
            try:
                writer.close()
            except Exception:
                pass
            return
        self.sessions += 1
        try:
            if self.net is not None:
                why = await self.net.tls_accept(reader, writer, self.ctx, webmod.READ_TIMEOUT_S)
                if why is not None:
                    self.counters['handshake_failures'] += 1
                    if why == 'timeout':
                        self.counters['timeouts'] += 1
                    self.log('https: no TLS session: %s' % why)
                    try:
                        writer.close()
                    except Exception:
                        pass
                    return
            _streams(writer)
            webmod._write_in_time(writer, self)
            try:
                await self.app.handle_request(reader, writer)
            except OSError as e:   # MicroPython: a failed handshake surfaces in the first read
                self.counters['handshake_failures'] += 1
                self.log('https: connection failed: %r' % (e,))
                try:
                    writer.close()
                except Exception:
                    pass
        finally:
            self.sessions -= 1
            webmod._owed.discard(writer)  # an OTA reboot waits for HTTPS answers too (web.answers_owed)

    async def serve(self, host, port, ctx, on_listen=None):
        self.ctx = ctx
        self.app.ssl = ctx      # microdot: the app serves TLS
        if self.net is not None:
            server = await self.net.tls_listen(self._connection, host, port, ctx)
        else:   # no HAL (unit tests): CPython shakes hands before the budget sees the connection
            server = await asyncio.start_server(self._connection, host, port, ssl=ctx)
        if port == 0:
            socks = getattr(server, 'sockets', None)
            if socks:
                port = socks[0].getsockname()[1]
        self.port = port
        self.log('https: listening on %s:%d (API v2, at most %d TLS sessions)' % (host, port, self.sessions_max))
        for hook in HTTPS_LISTEN_HOOKS:
            hook(host, port)
        if on_listen is not None:
            on_listen(port)
        if hasattr(server, 'serve_forever'):
            await server.serve_forever()
        else:
            await server.wait_closed()

    # ---- routes ---------------------------------------------------------------------------------------
    def _check(self, request):
        """None when the request may go on, else the error answer."""
        h = request.headers.get('Host')
        if h is not None:
            allowed = self.hosts() if self.hosts is not None else ()
            if auth.host_of(h) not in allowed:
                return v2_error(421, 'request:host-not-allowed')
        if request.content_length > webmod.API_MAX_BODY:
            return v2_error(413, 'request:too-large')
        if request.method == 'POST' and request.path == '/api/user':
            return None
        token = auth.bearer(request.headers)
        if token is None or self.users.check(token) is None:
            self.counters['unauthorized'] += 1
            self.users.counters['unauthorized'] += 1
            return v2_error(401, 'user:unauthorized')
        return None

    def _body(self, request):
        if not request.body:
            return {}, None
        obj, why = loads_object(request.body)
        if obj is None:
            return None, v2_error(400, 'request:invalid-json')
        return obj, None

    def _build(self):
        app = Microdot()
        https = self
        counters = self.counters

        @app.before_request
        async def _before(request):
            counters['requests'] += 1
            return https._check(request)

        def count(response):
            s = response.status_code
            if s >= 500:
                counters['server_errors'] += 1
            elif s >= 400:
                counters['client_errors'] += 1
            if response.reason is None:
                response.reason = webmod.reason_of(s)

        @app.after_request
        async def _after(request, response):
            count(response)
            return response

        @app.after_error_request
        async def _after_error(request, response):
            count(response)
            return response

        for status, code in ((400, 'request:malformed'), (404, 'request:not-found'),
                             (405, 'request:method-not-allowed'), (413, 'request:too-large')):
            app.errorhandler(status)(_refusal(status, code))

        @app.errorhandler(Exception)
        async def _failed(request, exc):
            https.log('https: %s %s failed: %r' % (request.method, request.path, exc))
            return v2_error(500, 'request:internal-server-error')

        @app.get('/api')
        async def device(request):
            return v2_json(https.api.v2_device())

        @app.get('/api/measurement')
        async def measurement(request):
            return v2_json(https.api.v2_measurement())

        @app.route('/api/system', methods=['GET', 'PUT'])
        async def system(request):
            if request.method == 'PUT':
                obj, err = https._body(request)
                if err is not None:
                    return err
                changes, code = hwv2.system_put(obj)
                if changes is None:
                    return v2_error(400, code)
                if 'api_v1_enabled' in changes:
                    fail = https.api.local_api.set({'enabled': changes['api_v1_enabled']})
                    if fail is not None:
                        return v2_error(fail[0], 'request:insufficient-storage' if fail[0] == 507
                                        else 'json:parameter-invalid-value:api_v1_enabled')
            return v2_json(https.api.v2_system())

        @app.put('/api/system/identify')
        async def identify(request):
            f = getattr(https.api, 'v2_identify', None)
            if f is None:
                return v2_error(404, 'request:not-found')
            f()
            return '', 204, JSON_V2

        @app.get('/api/telegram')
        async def telegram(request):
            f = getattr(https.api, 'v2_telegram', None)
            if f is None:
                return v2_error(404, 'request:not-found')
            status, text = f()
            if status != 200:
                return v2_error(status, 'telegram:no-telegram-received')
            return text, 200, {'Content-Type': 'text/plain; charset=UTF-8', 'X-Api-Version': hwv2.API_VERSION}

        @app.route('/api/user', methods=['POST', 'DELETE'])
        async def user(request):
            obj, err = https._body(request)
            if err is not None:
                return err
            if request.method == 'DELETE':
                name = obj.get('name')
                if name is None:
                    name = https.users.check(auth.bearer(request.headers))
                if not isinstance(name, str) or name not in https.users.users:
                    return v2_error(404, 'user:not-found')
                if not https.users.delete(name):
                    return v2_error(507, 'request:insufficient-storage')
                return '', 204, JSON_V2
            name = obj.get('name')
            code = hwv2.check_user_name(name)
            if code is not None:
                return v2_error(400, code)
            token, fail = https.users.create(name, https.now())
            if token is None:   # 500 from Users: flash refused the user (no token granted): 507 as elsewhere
                return v2_error(507 if fail[0] == 500 else fail[0],
                                {403: 'user:creation-not-enabled', 507: 'user:too-many-users',
                                 400: 'user:name-invalid'}.get(fail[0], 'request:insufficient-storage'))
            return v2_json({'token': token, 'name': name})

        return app


async def serve_v2(https, hal, on_listen=None):
    ctx, fp, why = tls.load(hal.flash_root)
    if ctx is None:
        https.log('https: off: ' + why)
        return
    https.fingerprint = fp
    https.log('label: https certificate SHA-256 %s' % fp)
    host, port = hal.https_bind()
    await https.serve(host, port, ctx, on_listen)


def add_http_refusals(app, https):
    """The v2 paths on the plain-HTTP app: 403, naming where they are (nothing is served, no token read)."""

    async def refuse(request):
        port = https.port
        where = 'https://<module>%s%s' % ('' if port in (None, 443) else ':%d' % port, request.path)
        return webmod.error_response(403, '%s %s is HomeWizard API v2: it answers only over HTTPS (%s, with '
                                          'a token; pin the certificate the label shows). Plain HTTP serves '
                                          'API v1 only (/api, /api/v1/...)' % (request.method, request.path,
                                                                               where))
    for p in V2_PATHS:
        app.route(p, methods=['GET', 'PUT', 'POST', 'DELETE'])(refuse)
