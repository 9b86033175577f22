# HomeWizard Energy Socket local API v1 (product type HWE-SKT), as python-homewizard-energy (the library
# Home Assistant uses) reads it: GET /api, GET /api/v1/data, GET and PUT /api/v1/state.
#
# Pure and MicroPython-valid. Numbers are written from integers as exact decimal text (no 32-bit floats
# on the way). A value the plug does not know right now (the chip is silent) is left out, as HomeWizard
# devices leave out what they do not measure; the library reads a missing key as None.
from firmware.apps.common.jsonw import dumps, quote

from firmware.apps.smartplug.entities import fixed_text

PRODUCT_TYPE = 'HWE-SKT'
PRODUCT_NAME = 'bChain SmartPlug'
API_VERSION = 'v1'


def obj_text(pairs):
    """JSON object text from (key, value) pairs; a value given as ('num', text) is written as a number
    verbatim, None values are left out."""
    parts = []
    for k, v in pairs:
        if v is None:
            continue
        if isinstance(v, tuple):
            val = v[1]
        else:
            val = dumps(v)   # not json.dumps: it escapes non-ASCII text on CPython, not on MicroPython
        parts.append(quote(k) + ':' + val)
    return '{' + ','.join(parts) + '}'


def num(v, decimals_in, decimals_out):
    """An integer with decimals_in decimals as a JSON number with decimals_out decimals; None stays None."""
    if v is None:
        return None
    return ('num', fixed_text(v, decimals_in, decimals_out))


def device_text(serial, firmware_version):
    """GET /api."""
    return obj_text((('product_type', PRODUCT_TYPE), ('product_name', PRODUCT_NAME), ('serial', serial),
                     ('firmware_version', firmware_version), ('api_version', API_VERSION)))


def data_pairs(plug, now_ms, wifi_ssid=None, wifi_strength=None):
    """The (v1 name, value) pairs of GET /api/v1/data (API v2's measurement renames them: hwv2.rename)."""
    total = num(plug.chip.energy_mwh, 6, 3)
    p = num(plug.power_mw(now_ms), 3, 1)
    return (
        ('wifi_ssid', wifi_ssid), ('wifi_strength', wifi_strength),
        ('total_power_import_kwh', total), ('total_power_import_t1_kwh', total),
        ('total_power_export_kwh', ('num', '0')), ('total_power_export_t1_kwh', ('num', '0')),
        ('active_power_w', p), ('active_power_l1_w', p),
        ('active_voltage_v', num(plug.voltage_mv(now_ms), 3, 1)),
        ('active_current_a', num(plug.current_ma(now_ms), 3, 3)),
    )


def data_text(plug, now_ms, wifi_ssid=None, wifi_strength=None):
    """GET /api/v1/data: the socket's measurements (total energy from the chip's CF pulses)."""
    return obj_text(data_pairs(plug, now_ms, wifi_ssid, wifi_strength))


def state_text(plug):
    """GET /api/v1/state."""
    s = plug.hw_state()
    return obj_text((('power_on', s['power_on']), ('switch_lock', s['switch_lock']),
                     ('brightness', s['brightness'])))


def error_text(description, code=400):
    """HomeWizard's error body: {"error": {"id": ..., "description": ...}}."""
    return '{"error":{"id":%d,"description":%s}}' % (code, quote(description))
