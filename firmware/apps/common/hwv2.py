# HomeWizard's local API v2 shapes (HTTPS only: firmware/apps/common/https.py), as HomeWizard documents
# them and python-homewizard-energy's HomeWizardEnergyV2 parses them. Pure and portable.
#
#   API_VERSION                       '2.0.0' (GET /api's api_version; also the X-Api-Version header)
#   device(product_type, product_name, serial, firmware_version) -> dict    GET /api
#   measurement(v1) -> dict           GET /api/measurement from the module's v1 data (a dict of the v1
#                                     names: /api/v1/data): the v2 names, timestamps as ISO 8601 local
#                                     time, WiFi fields left out (they are in /api/system in v2)
#   rename(pairs)                     the same for (v1 name, value) pairs (the plug writes its JSON from
#                                     pairs: firmware/apps/smartplug/hwapi.py); a generator
#   v2_timestamp(t) -> 'YYYY-MM-DDThh:mm:ss' | None   from v1's integer YYMMDDhhmmss (20YY)
#   system(ssid, rssi_db, uptime_s, api_v1_enabled) -> dict    GET /api/system (no cloud: false)
#   system_put(obj) -> (changes, None) | (None, error id)      PUT /api/system: only api_v1_enabled (bool)
#                                     and cloud_enabled false; changes: {'api_v1_enabled': bool} or {}
#   check_user_name(name) -> None | error id     POST /api/user {"name": "local/..."}: HomeWizard's
#                                     characters, 1 to 34 after 'local/' (auth.NAME_MAX, 40 in all)
#   error(code) -> {'error': code}    HomeWizard's v2 error body: a 'scope:error' code
#
# Error codes (HomeWizard's list): request:invalid-json, request:too-large, request:not-found (a path
# this module does not serve), request:method-not-allowed, json:parameter-missing:<p>,
# json:parameter-invalid-type:<p>, json:parameter-invalid-value:<p>, json:no-parameters-recognized,
# user:unauthorized, user:creation-not-enabled, user:invalid-prefix, user:name-empty, user:name-invalid,
# user:too-many-users, user:not-found, telegram:no-telegram-received, request:internal-server-error,
# request:insufficient-storage (a flash write that failed: nothing changed).

API_VERSION = '2.0.0'

# v1 name -> v2 name (the fields both modules' /api/v1/data carry); anything else is not in v2
V1_TO_V2 = {
    'smr_version': 'protocol_version', 'meter_model': 'meter_model', 'unique_id': 'unique_id',
    'active_tariff': 'tariff',
    'total_power_import_kwh': 'energy_import_kwh', 'total_power_import_t1_kwh': 'energy_import_t1_kwh',
    'total_power_import_t2_kwh': 'energy_import_t2_kwh', 'total_power_import_t3_kwh': 'energy_import_t3_kwh',
    'total_power_import_t4_kwh': 'energy_import_t4_kwh',
    'total_power_export_kwh': 'energy_export_kwh', 'total_power_export_t1_kwh': 'energy_export_t1_kwh',
    'total_power_export_t2_kwh': 'energy_export_t2_kwh', 'total_power_export_t3_kwh': 'energy_export_t3_kwh',
    'total_power_export_t4_kwh': 'energy_export_t4_kwh',
    'active_power_w': 'power_w', 'active_power_l1_w': 'power_l1_w', 'active_power_l2_w': 'power_l2_w',
    'active_power_l3_w': 'power_l3_w',
    'active_voltage_v': 'voltage_v', 'active_voltage_l1_v': 'voltage_l1_v',
    'active_voltage_l2_v': 'voltage_l2_v', 'active_voltage_l3_v': 'voltage_l3_v',
    'active_current_a': 'current_a', 'active_current_l1_a': 'current_l1_a',
    'active_current_l2_a': 'current_l2_a', 'active_current_l3_a': 'current_l3_a',
    'active_frequency_hz': 'frequency_hz',
    'voltage_sag_l1_count': 'voltage_sag_l1_count', 'voltage_sag_l2_count': 'voltage_sag_l2_count',
    'voltage_sag_l3_count': 'voltage_sag_l3_count', 'voltage_swell_l1_count': 'voltage_swell_l1_count',
    'voltage_swell_l2_count': 'voltage_swell_l2_count', 'voltage_swell_l3_count': 'voltage_swell_l3_count',
    'any_power_fail_count': 'any_power_fail_count', 'long_power_fail_count': 'long_power_fail_count',
    'active_power_average_w': 'average_power_15m_w',
    'montly_power_peak_w': 'monthly_power_peak_w',                 # v1's spelling, v2's
    'montly_power_peak_timestamp': 'monthly_power_peak_timestamp',
}
_TIMESTAMPS = ('montly_power_peak_timestamp',)

USER_NAME_MAX = 40        # HomeWizard: 'local/' and 1 to 40 characters
_NAME_EXTRA = '-_\\/# '


def error(code):
    return {'error': code}


def device(product_type, product_name, serial, firmware_version):
    return {'product_type': product_type, 'product_name': product_name, 'serial': serial,
            'firmware_version': firmware_version, 'api_version': API_VERSION}


def v2_timestamp(t):
    if not isinstance(t, int) or isinstance(t, bool) or t < 0 or t > 991231235959:
        return None
    s = '%012d' % t
    mo, d, h, mi, sec = int(s[2:4]), int(s[4:6]), int(s[6:8]), int(s[8:10]), int(s[10:12])
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and sec < 60):
        return None
    return '20%s-%s-%sT%s:%s:%s' % (s[0:2], s[2:4], s[4:6], s[6:8], s[8:10], s[10:12])


def measurement(v1):
    out = {}
    for k in v1:
        name = V1_TO_V2.get(k)
        if name is None:
            continue
        v = v1[k]
        if k in _TIMESTAMPS:
            v = v2_timestamp(v)
        if v is not None:
            out[name] = v
    ext = v1.get('external')
    if ext:
        out['external'] = [_external(e) for e in ext]
    return out


def rename(pairs):
    for k, v in pairs:
        name = V1_TO_V2.get(k)
        if name is not None:
            yield name, v


def _external(e):
    d = {}
    for k in e:
        d[k] = v2_timestamp(e[k]) if k == 'timestamp' else e[k]
    return d


def system(ssid, rssi_db, uptime_s, api_v1_enabled):
    d = {'cloud_enabled': False, 'uptime_s': uptime_s, 'api_v1_enabled': api_v1_enabled}
    if ssid is not None:
        d['wifi_ssid'] = ssid
    if rssi_db is not None:
        d['wifi_rssi_db'] = rssi_db
    return d


def system_put(obj):
    changes = {}
    known = False
    for k in obj:
        v = obj[k]
        if k == 'api_v1_enabled':
            known = True
            if v is not True and v is not False:
                return None, 'json:parameter-invalid-type:api_v1_enabled'
            changes[k] = v
        elif k == 'cloud_enabled':
            known = True
            if v is not True and v is not False:
                return None, 'json:parameter-invalid-type:cloud_enabled'
            if v:   # these modules have no cloud
                return None, 'json:parameter-invalid-value:cloud_enabled'
        elif k == 'status_led_brightness_pct':
            return None, 'json:parameter-invalid-value:status_led_brightness_pct'
        else:
            return None, 'json:parameter-invalid-value:%s' % k[:40]
    if not known:
        return None, 'json:no-parameters-recognized'
    return changes, None


def check_user_name(name):
    if not isinstance(name, str):
        return 'json:parameter-invalid-type:name' if name is not None else 'json:parameter-missing:name'
    if not name.startswith('local/'):
        return 'user:invalid-prefix'
    rest = name[6:]
    if not rest:
        return 'user:name-empty'
    if len(rest) > USER_NAME_MAX - 6:   # auth.Users keeps names of at most auth.NAME_MAX (40) characters
        return 'user:name-invalid'
    for c in rest:
        if not ('a' <= c <= 'z' or 'A' <= c <= 'Z' or '0' <= c <= '9' or c in _NAME_EXTRA):
            return 'user:name-invalid'
    return None
