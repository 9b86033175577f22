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
import asyncio
import json

SYSTEM_TEXT = '{"cloud_enabled":false}'
IDENTIFY_TEXT = '{"identify":"ok"}'
IDENTIFY_BLINKS = 3
IDENTIFY_HALF_S = 0.2

# HomeWizard's v1 error ids
INVALID_JSON = 2
INVALID_VALUE = 7
NOT_MODIFIABLE = 8


def system_put(obj):
    for k in obj:
        if k != 'cloud_enabled':
            return 'unknown key %r: expected cloud_enabled' % (k,)
    if 'cloud_enabled' not in obj:
        return 'expected {"cloud_enabled": false}, got an object without cloud_enabled'
    v = obj['cloud_enabled']
    if v is not False:
        return 'cloud_enabled: expected false (this module has no cloud), got %s' % (json.dumps(v),)
    return None


def error_text(description, code=INVALID_VALUE):
    return json.dumps({'error': {'id': code, 'description': description}})


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
