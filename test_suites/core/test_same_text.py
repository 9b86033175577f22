# The same text on MicroPython and CPython: JSON keys and mDNS TXT records in a fixed (sorted) order,
# error texts without the interpreter's own words. Portable: also runs under MicroPython (hil.mpy), where
# dicts do not keep the insertion order.

from firmware.apps.common.jsonw import dumps, loads_object, write
from firmware.fixed import Dec
from firmware.hal.mdns import _txt


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
