# HomeWizard API v2 shapes (firmware/apps/common/hwv2.py) and the certificate fingerprint the label shows
# (firmware/apps/common/tls.py). Portable: CPython (pytest) and MicroPython.
import binascii
import hashlib

from firmware.apps.common import hwv2, tls
from firmware.fixed import Dec


def test_every_v1_data_name_has_its_v2_name():
    v1 = {}
    for i, k in enumerate(hwv2.V1_TO_V2):
        v1[k] = i if 'timestamp' not in k else 250101120000 + i
    m = hwv2.measurement(v1)
    assert sorted(m) == sorted(hwv2.V1_TO_V2[k] for k in hwv2.V1_TO_V2)
    assert m['energy_import_t1_kwh'] == v1['total_power_import_t1_kwh']
    assert m['power_w'] == v1['active_power_w'] and m['voltage_l3_v'] == v1['active_voltage_l3_v']
    assert m['protocol_version'] == v1['smr_version'] and m['tariff'] == v1['active_tariff']
    assert m['average_power_15m_w'] == v1['active_power_average_w']
    assert m['monthly_power_peak_w'] == v1['montly_power_peak_w']     # v1's misspelling, v2's name
    assert m['monthly_power_peak_timestamp'] == '2025-01-01T12:00:%02d' % (
        v1['montly_power_peak_timestamp'] - 250101120000)


def test_v1_only_fields_stay_out_and_values_keep_their_exact_decimals():
    v1 = {'wifi_ssid': 'home', 'wifi_strength': 80, 'total_gas_m3': Dec(1234567, 3), 'gas_timestamp': 1,
          'gas_unique_id': 'x', 'total_power_import_kwh': Dec(10857434, 3), 'active_power_l1_w': -12}
    m = hwv2.measurement(v1)
    assert m == {'energy_import_kwh': Dec(10857434, 3), 'power_l1_w': -12}
    assert m['energy_import_kwh'].text() == '10857.434'


def test_external_devices_keep_their_fields_with_iso_timestamps():
    ext = [{'unique_id': 'G1', 'type': 'gas_meter', 'timestamp': 230101120000, 'value': Dec(1234, 3),
            'unit': 'm3'},
           {'unique_id': 'W', 'type': 'water_meter', 'timestamp': None, 'value': 1, 'unit': 'm3'}]
    m = hwv2.measurement({'external': ext})
    assert m['external'][0] == {'unique_id': 'G1', 'type': 'gas_meter', 'timestamp': '2023-01-01T12:00:00',
                                'value': Dec(1234, 3), 'unit': 'm3'}
    assert m['external'][1]['timestamp'] is None
    assert 'external' not in hwv2.measurement({'external': []})


def test_timestamps():
    assert hwv2.v2_timestamp(240229235959) == '2024-02-29T23:59:59'
    assert hwv2.v2_timestamp(101000000) == '2000-01-01T00:00:00'
    # not a time: month 0 or 13, day 0 or 32, hour 24, minute or second 60
    for bad in (None, -1, 10 ** 12, '240229235959', True, 2.5, 1010000, 241301000000, 240100000000,
                240132000000, 240101240000, 240101006000, 240101000060):
        assert hwv2.v2_timestamp(bad) is None, bad


def test_rename_pairs_keeps_order_and_drops_what_v2_lacks():
    pairs = (('wifi_ssid', 'home'), ('total_power_import_kwh', 1), ('active_power_w', 2), ('bogus', 3))
    assert list(hwv2.rename(pairs)) == [('energy_import_kwh', 1), ('power_w', 2)]


def test_device_and_system():
    assert hwv2.device('HWE-P1', 'P1 meter', 'ab', '1.0.0') == {
        'product_type': 'HWE-P1', 'product_name': 'P1 meter', 'serial': 'ab', 'firmware_version': '1.0.0',
        'api_version': '2.0.0'}
    assert hwv2.system('home', None, 5, True) == {'wifi_ssid': 'home', 'cloud_enabled': False, 'uptime_s': 5,
                                                  'api_v1_enabled': True}
    assert 'wifi_ssid' not in hwv2.system(None, None, 0, False)


def test_system_put():
    assert hwv2.system_put({'api_v1_enabled': True}) == ({'api_v1_enabled': True}, None)
    assert hwv2.system_put({'cloud_enabled': False}) == ({}, None)
    assert hwv2.system_put({'cloud_enabled': False, 'api_v1_enabled': False}) == ({'api_v1_enabled': False},
                                                                                 None)
    for body, code in (({}, 'json:no-parameters-recognized'),
                       ({'api_v1_enabled': 1}, 'json:parameter-invalid-type:api_v1_enabled'),
                       ({'api_v1_enabled': 'true'}, 'json:parameter-invalid-type:api_v1_enabled'),
                       ({'cloud_enabled': True}, 'json:parameter-invalid-value:cloud_enabled'),
                       ({'cloud_enabled': None}, 'json:parameter-invalid-type:cloud_enabled'),
                       ({'status_led_brightness_pct': 50},
                        'json:parameter-invalid-value:status_led_brightness_pct'),
                       ({'api_v1_enabled': True, 'x': 1}, 'json:parameter-invalid-value:x')):
        assert hwv2.system_put(body) == (None, code), body


def test_user_names_follow_homewizard_and_fit_the_users_table():
    for ok in ('local/ha', 'local/Home Assistant #2', 'local/a-b_c/d\\e', 'local/' + 'x' * 34):
        assert hwv2.check_user_name(ok) is None, ok
    for bad, code in (('ha', 'user:invalid-prefix'), ('cloud/x', 'user:invalid-prefix'),
                      ('local/', 'user:name-empty'), ('local/' + 'x' * 35, 'user:name-invalid'),
                      ('local/a;b', 'user:name-invalid'), ('local/\u00e9', 'user:name-invalid'),
                      ('local/a\nb', 'user:name-invalid'), (None, 'json:parameter-missing:name'),
                      (7, 'json:parameter-invalid-type:name'),
                      (['local/x'], 'json:parameter-invalid-type:name')):
        assert hwv2.check_user_name(bad) == code, bad


def _pem(der, width=64, nl=b'\n'):
    b64 = binascii.b2a_base64(der).strip()
    lines = [b64[i:i + width] for i in range(0, len(b64), width)]
    return b'-----BEGIN CERTIFICATE-----' + nl + nl.join(lines) + nl + b'-----END CERTIFICATE-----' + nl


def test_fingerprint_is_sha256_of_the_der_whatever_the_line_breaks():
    der = bytes(range(256)) * 3 + b'\x01'
    want = binascii.hexlify(hashlib.sha256(der).digest()).decode().upper()
    for pem in (_pem(der), _pem(der, 76), _pem(der, 64, b'\r\n'), b'junk\n' + _pem(der) + _pem(b'other')):
        fp = tls.fingerprint_text(pem)
        assert fp.replace(':', '') == want and len(fp) == 95 and fp.count(':') == 31
    for bad in (b'', b'-----BEGIN CERTIFICATE-----\n',
                b'-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----',
                b'-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n'):
        assert tls.fingerprint_text(bad) is None, bad
