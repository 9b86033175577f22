# The same text on MicroPython and CPython: JSON keys and mDNS TXT records in a fixed (sorted) order,
# error texts without the interpreter's own words. Portable: also runs under MicroPython (hil.mpy), where
# dicts do not keep the insertion order.

import errno
import os
import time

from firmware.apps.common import hwv1
from firmware.apps.common.jsonw import dumps, loads_object, shown, write
from firmware.apps.common.wifi import Provisioner, check_credentials
from firmware.apps.smartplug import hwapi, meterlink
from firmware.errtext import what
from firmware.fixed import Dec
from firmware.hal.mdns import _txt
from firmware.main import save_state
from firmware.storage import Store


def test_json_object_keys_come_out_sorted_whatever_the_dict_order():
    d = {}
    keys = ('wifi_ssid', 'active_power_w', 'smr_version', 'total_power_import_kwh', 'z', 'a', 'meter_model')
    for k in keys:
        d[k] = len(k)
    text = dumps(d)
    assert text == ('{"a":1,"active_power_w":14,"meter_model":11,"smr_version":11,'
                    '"total_power_import_kwh":22,"wifi_ssid":9,"z":1}')
    nested = {'b': {'y': [1, {'d': None, 'c': True}], 'x': Dec(15, 1)}, 'a': 'q'}
    assert dumps(nested) == '{"a":"q","b":{"x":1.5,"y":[1,{"c":true,"d":null}]}}'


def test_write_gives_the_text_of_dumps_piece_by_piece():
    obj = {'s': 'a"b\\c\nd\x01e', 'n': -12, 'l': [True, False, None, Dec(-5, 3)], 'u': '\u00e9t\u00e9'}
    pieces = []
    write(obj, pieces.append)
    assert ''.join(pieces) == dumps(obj)
    assert dumps(obj) == ('{"l":[true,false,null,-0.005],"n":-12,"s":"a\\"b\\\\c\\nd\\u0001e",'
                          '"u":"\u00e9t\u00e9"}')
    assert 'a"b' not in pieces  # a string that needs escapes is written in parts, never copied whole


def test_malformed_json_is_described_in_our_own_words():
    obj, why = loads_object(b'{"a": ')
    assert obj is None
    assert why == 'expected a JSON object, got malformed JSON (6 characters that do not parse)'


def test_mdns_txt_records_in_sorted_order():
    props = {}
    for k in ('serial', 'api_enabled', 'product_type', 'path', 'product_name'):
        props[k] = k.upper()
    raw = _txt(props)
    items = []
    i = 0
    while i < len(raw):
        n = raw[i]
        items.append(bytes(raw[i + 1:i + 1 + n]).decode())
        i += 1 + n
    keys = [s.split('=')[0] for s in items]
    assert keys == ['api_enabled', 'path', 'product_name', 'product_type', 'serial']
    assert items[0] == 'api_enabled=API_ENABLED'


# ---- flash files and error texts (firmware/storage.py, errtext.py, wifi.py, meterlink.py, hwv1.py) --------
# Each expected text below is a literal: these tests pass on both interpreters only if both write the same
# bytes. test_suites/toolchain/test_same_text_mpy.py compares the two on generated inputs as well.



def _folder():
    d = '/tmp/bchain-same-text-%d' % time.time_ns()
    os.mkdir(d)
    return d


def _clean(d):
    for n in os.listdir(d):
        os.remove(d + '/' + n)
    os.rmdir(d)


def _bytes(p):
    with open(p, 'rb') as f:
        return f.read()


def _step(coro):
    # the fakes below never wait: step the coroutine by hand (the WebAssembly port has no asyncio.run)
    try:
        while True:
            coro.send(None)
    except StopIteration as e:
        return e.value


def test_flash_files_are_the_same_bytes_whatever_the_dict_order():
    d = _folder()
    try:
        logs = []
        s = Store(d, log=logs.append)
        first = {}
        for k in ('ssid', 'password', 'zone', '\u00c4', 'a b', 'poll_s', 'list', 'nested'):
            first[k] = None
        first.update({'ssid': 'Caf\u00e9 \u2615 "5G"', 'password': 'p\\w\n\x01\x7f', 'zone': None,
                      '\u00c4': True, 'a b': -7, 'poll_s': 2.5, 'list': [1, 'x', False, {'b': 1, 'a': 2}],
                      'nested': {'y': {'d': 0.125, 'c': []}, 'x': {}}})
        assert s.save('w.json', first)
        want = ('{"a b":-7,"list":[1,"x",false,{"a":2,"b":1}],"nested":{"x":{},"y":{"c":[],"d":0.125}},'
                '"password":"p\\\\w\\n\\u0001\x7f","poll_s":2.5,"ssid":"Caf\u00e9 \u2615 \\"5G\\"",'
                '"zone":null,"\u00c4":true}').encode()
        assert _bytes(d + '/w.json') == want
        # the same content inserted in the opposite order: the same text, so not even written again
        second = {}
        for k in reversed(list(first)):
            second[k] = first[k]
        assert s.save('w.json', second) and s.saves == 1
        assert Store(d).save('w.json', second) and _bytes(d + '/w.json') == want
        assert Store(d).load_raw('w.json') == first and logs == []
    finally:
        _clean(d)


def test_the_loader_writes_ota_json_as_the_store_does():
    # ota.json has two writers: the loader (firmware/main.py, no slot code) and the OTA service (Store)
    d = _folder()
    try:
        state = {}
        for k in ('tries', 'active', 'pending', 'boots', 'state', 'trial_error'):
            state[k] = None
        state.update({'tries': 1, 'active': 'a', 'pending': 'b', 'boots': 12, 'state': 'pending',
                      'trial_error': 'web server did not answer GET /'})
        save_state(d, state)
        want = (b'{"active":"a","boots":12,"pending":"b","state":"pending",'
                b'"trial_error":"web server did not answer GET /","tries":1}')
        assert _bytes(d + '/ota.json') == want
        assert Store(d).save('ota2.json', state) and _bytes(d + '/ota2.json') == want
    finally:
        _clean(d)


def test_storage_error_texts_are_the_firmwares_words():
    d = _folder()
    try:
        logs = []
        s = Store(d, log=logs.append, fault=lambda name: name == 'f.json')
        assert not s.save('f.json', {'a': 1})
        assert logs[-1] == 'cannot save %s/f.json: OSError EIO; the previous content is kept' % d
        with open(d + '/p.json', 'w') as f:
            f.write('{"n": 6')
        assert s.load('p.json', {'n': 1}) == {'n': 1}
        assert logs[-1] == ('%s/p.json: expected a JSON object, found 7 characters that do not parse; '
                            'using defaults, file kept as %s/p.json.bad' % (d, d))
        with open(d + '/l.json', 'w') as f:
            f.write('[1, 2]')
        s.load_raw('l.json')
        assert logs[-1].startswith('%s/l.json: expected a JSON object, found an array;' % d)
        with open(d + '/t.json', 'w') as f:
            f.write('{"n": "\u00e9\u00e8", "m": {"k": 1, "j": [2.5]}, "o": true}')
        assert s.load('t.json', {'n': 1, 'm': 'x', 'o': False}) == {'n': 1, 'm': 'x', 'o': True}
        assert logs[-2:] == [
            '%s/t.json: key "m": expected str, found {"j":[2.5],"k":1}; using the default "x"' % d,
            '%s/t.json: key "n": expected int, found "\u00e9\u00e8"; using the default 1' % d]   # key order
        assert s.errors == 5
    finally:
        _clean(d)


def test_floats_are_written_with_the_digits_a_32_bit_float_holds():
    # MicroPython's WebAssembly port parses -991.94 as -991.9400000000001; the ESP32 has 32-bit floats
    assert dumps([float('-991.94'), 2.5, 5.0, 60.0, 0.1 + 0.2, 1e-05, 1234567.125, -0.0, 1e22]) == \
        '[-991.94,2.5,5.0,60.0,0.3,1e-05,1.23457e+06,-0.0,1e+22]'


def test_exceptions_are_named_by_type_and_errno_never_by_message():
    assert what(OSError(errno.ECONNREFUSED, 'Connection refused')) == 'OSError ECONNREFUSED'
    assert what(OSError(errno.ETIMEDOUT)) == 'OSError ETIMEDOUT'
    assert what(OSError(errno.ENOENT, 'No such file or directory', 'x.json')) == 'OSError ENOENT'
    assert what(OSError(65432)) == 'OSError errno 65432'
    assert what(OSError(28, 'No space left')) == 'OSError errno 28'   # ENOSPC: no name in MicroPython
    assert what(OSError()) == 'OSError' and what(OSError('no errno')) == 'OSError'
    assert what(KeyError('ssid')) == 'KeyError' and what(ValueError('bad value: 3')) == 'ValueError'
    assert what(meterlink.HttpError('x')) == 'HttpError'
    assert what(UnicodeError('bad')) == 'UnicodeError'
    try:
        b'\xff'.decode()
    except Exception as e:  # CPython: UnicodeDecodeError, MicroPython: UnicodeError
        assert what(e) == 'UnicodeError'


class _Wifi:
    """hal.wifi whose driver raises, as a WiFi chip that failed would."""

    def __init__(self, exc):
        self.exc = exc
        self.ap = None

    async def connect(self, ssid, psk, timeout_ms):
        raise self.exc

    def ap_active(self):
        return self.ap is not None

    def ap_start(self, name, password):
        self.ap = name
        return '192.168.4.1'

    def scan(self):
        raise OSError(errno.EIO, 'scan: driver busy')

    def ip(self):
        return None

    def disconnect(self):
        pass

    def isconnected(self):
        return False


class _Hal:
    def __init__(self, wifi):
        self.wifi = wifi

    def ticks_ms(self):
        return 0


def test_wifi_texts_say_what_failed_in_the_firmwares_words():
    d = _folder()
    try:
        logs = []
        hal = _Hal(_Wifi(OSError(errno.EIO, 'Wifi Internal Error')))
        prov = Provisioner(hal, Store(d, log=logs.append), 'smartplug-10021e', log=logs.append)
        status, page = _step(prov.save('Caf\u00e9', 'secret-password'))
        want = ('Could not join Caf\u00e9: the WiFi driver failed (OSError EIO). Nothing was stored')
        assert status == 400 and prov.info()['error'] == want and want in page
        assert 'wifi: scan failed: OSError EIO' in logs
        prov.wifi.exc = KeyError('auth')
        _step(prov._join('Home', 'secret-password'))
        assert prov.error == 'Could not join Home: the WiFi driver failed (KeyError)'
        assert sorted(os.listdir(d)) == ['secret.json']   # nothing but the access point's password
    finally:
        _clean(d)
    assert check_credentials('Caf\u00e9\x01', '') == \
        'SSID: expected printable characters, got control character U+0001'
    assert check_credentials('a', 'caf\u00e9-password') == \
        'password: expected printable ASCII characters, got U+00E9'
    assert check_credentials('a', 'g' * 64) == \
        "password: 64 characters must be hex digits (a raw WPA key), got 'g'"


def test_meter_link_texts_show_what_came_as_json():
    body = b'{"fresh": true, "meter_ts": 5, "import_wh": {"total": -1, "t1": 2}, "export_wh": {"total": 0}}'
    assert meterlink.parse_reading(200, body) == (
        None, 'expected integers meter_ts, import_wh.total >= 0, export_wh.total >= 0, got 5, '
              '{"t1":2,"total":-1}, {"total":0}')
    assert meterlink.patch_settings(meterlink.DEFAULTS, {'poll_s': {'b': 1, 'a': '\u00e9'}}) == (
        None, 'poll_s: expected 0.5 ... 60 seconds, got {"a":"\u00e9","b":1}')
    assert meterlink.patch_settings(meterlink.DEFAULTS, {'adr\u00e9sse': 1}) == (
        None, 'unknown key "adr\u00e9sse": expected address or poll_s')
    assert meterlink.check_settings({'address': 'h\u00f6st', 'poll_s': 5.0}) == \
        'SmartMeter address "h\u00f6st": expected HOST or HOST:PORT'

    class Hal:
        async def mdns_resolve(self, name):
            raise OSError(errno.ETIMEDOUT, 'timed out')

    link = meterlink.MeterLink(Hal(), lambda *a: None, log=lambda t: None)
    assert _step(link.poll_once()) is False
    assert link.last_error == 'mDNS: looking up smartmeter.local failed: OSError ETIMEDOUT'


def test_homewizard_texts_escape_the_same_on_both():
    assert hwv1.error_text('Caf\u00e9 "x"', 7) == '{"error":{"id":7,"description":"Caf\u00e9 \\"x\\""}}'
    assert hwapi.error_text('\u00e9', 400) == '{"error":{"id":400,"description":"\u00e9"}}'
    assert hwv1.system_put({'cloud_enabled': {'z': 1, 'a': 2}}) == \
        'cloud_enabled: expected false (this module has no cloud), got {"a":2,"z":1}'
    assert hwv1.system_put({'cloud_enabled': False, '\u00e9': 1}) == \
        'unknown key "\u00e9": expected cloud_enabled'
    assert hwapi.obj_text((('wifi_ssid', 'Caf\u00e9'), ('n', None), ('p', ('num', '1.5')))) == \
        '{"wifi_ssid":"Caf\u00e9","p":1.5}'
    assert shown({1, 2}) == 'set' and shown(b'x') == 'bytes'
