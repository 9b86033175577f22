# The HomeWizard local API v1 endpoints both modules answer alike (P1 Meter HWE-P1, Energy Socket HWE-SKT):
# GET|PUT /api/v1/system and PUT /api/v1/identify, as HomeWizard documents them and python-homewizard-energy
# (Home Assistant's library) uses them. Portable (MicroPython asyncio and CPython).
#
#   SYSTEM_TEXT                   GET /api/v1/system: {"cloud_enabled": false} (these modules have no cloud)
#   system_put(obj) -> None | why the body of PUT /api/v1/system, parsed; None when accepted (nothing to
#                                 change: only {"cloud_enabled": false} is), else the reason
#   IDENTIFY_TEXT                 PUT /api/v1/identify: {"identify": "ok"}
#   await blink(pin, log)         identify: the status LED on and off IDENTIFY_BLINKS times
#   error_text(description, code) HomeWizard's error body {"error": {"id": code, "description": ...}}
#
# "Local API v1" (docs/security.md): HomeWizard's devices leave their v1 API off until the user enables
# "Local API" in the app; so do these modules. Off (the default): every v1 write needs a user like any other
# state change. On: WRITES (PUT /api/v1/state, /identify, /system) need no token, provided the request says
# Content-Type: application/json (which no browser sends cross-site without a preflight the module refuses);
# the Host allow-list and the Origin check stay. Only a user switches it (GET|PUT /api/v1/local_api, the
# States page's row).
#   local = LocalApi(store, log)  local.on; local.set(obj) -> None | (status, why) (PUT {"enabled": bool})
#   local.text()                  {"enabled": bool}
#   add_local_api_routes(app, local)   GET|PUT /api/v1/local_api
import asyncio

from firmware.apps.common import jsonw

SYSTEM_TEXT = '{"cloud_enabled":false}'
IDENTIFY_TEXT = '{"identify":"ok"}'
IDENTIFY_BLINKS = 3
IDENTIFY_HALF_S = 0.2

# HomeWizard's v1 error ids
INVALID_JSON = 2
INVALID_VALUE = 7
NOT_MODIFIABLE = 8

LOCAL_API_FILE = 'local_api.json'
WRITES = ('PUT /api/v1/state', 'PUT /api/v1/identify', 'PUT /api/v1/system')


def system_put(obj):
    for k in sorted(obj):   # the same first key on both interpreters (MicroPython's dict order differs)
        if k != 'cloud_enabled':
            return 'unknown key %s: expected cloud_enabled' % (jsonw.shown(k),)
    if 'cloud_enabled' not in obj:
        return 'expected {"cloud_enabled": false}, got an object without cloud_enabled'
    v = obj['cloud_enabled']
    if v is not False:
        return 'cloud_enabled: expected false (this module has no cloud), got %s' % (jsonw.shown(v),)
    return None


def error_text(description, code=INVALID_VALUE):
    # HomeWizard's order (id, description), written out: json.dumps would escape non-ASCII text on
    # CPython and not on MicroPython, and keep MicroPython's dict order
    return '{"error":{"id":%d,"description":%s}}' % (code, jsonw.quote(description))


async def blink(pin, log=None):
    try:
        for _ in range(IDENTIFY_BLINKS):
            pin.value(1)
            await asyncio.sleep(IDENTIFY_HALF_S)
            pin.value(0)
            await asyncio.sleep(IDENTIFY_HALF_S)
    except Exception as e:  # a LED that cannot be driven must not stop the module
        if log is not None:
            log('identify: %r' % (e,))


class LocalApi:
    def __init__(self, store, log=print):
        self.store = store
        self.log = log
        d = store.load_raw(LOCAL_API_FILE)
        self.on = d is not None and d.get('enabled') is True

    def text(self):
        return '{"enabled":true}' if self.on else '{"enabled":false}'

    def writes(self):
        """The v1 writes that need no user now (auth.check_request's json_paths)."""
        return WRITES if self.on else ()

    def set(self, obj):
        for k in sorted(obj):
            if k != 'enabled':
                return 400, ('PUT /api/v1/local_api: unknown key %s: expected enabled; nothing changed'
                             % (jsonw.shown(k),))
        v = obj.get('enabled')
        if v is not True and v is not False:
            return 400, ('PUT /api/v1/local_api: enabled: expected true or false, got %s; nothing changed'
                         % (jsonw.shown(v),))
        if not self.store.save(LOCAL_API_FILE, {'enabled': v}):
            return 507, 'could not store the Local API v1 setting in flash; nothing changed'
        if v != self.on:
            self.log('auth: Local API v1 %s' % ('enabled: v1 writes need no token' if v else 'disabled'))
        self.on = v
        return None


def add_local_api_routes(app, local, loads_object, on_change=None):
    """GET|PUT /api/v1/local_api {"enabled": bool} (the PUT needs a user: auth.check_request)."""

    @app.route('/api/v1/local_api', methods=['GET', 'PUT'])
    async def local_api(request):
        js = {'Content-Type': 'application/json'}
        if request.method == 'PUT':
            obj, why = loads_object(request.body)
            if obj is None:
                return jsonw.dumps({'error': 'PUT /api/v1/local_api: ' + why}), 400, js
            err = local.set(obj)
            if err is not None:
                return jsonw.dumps({'error': err[1]}), err[0], js
            if on_change is not None:
                on_change()
        return local.text(), 200, js
