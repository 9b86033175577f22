# The shared web layer's pure parts (firmware/apps/common): ESPHome object ids and entity JSON, exact
# JSON, the States page and the WiFi portal, the portal's input checks.
# Portable: runs under CPython (pytest) and MicroPython (mpy/run.mjs).
import json

from firmware.apps.common import entities as ents
from firmware.apps.common.jsonw import dumps, loads_object, quote
from firmware.apps.common.page import esc, portal_page, states_page
from firmware.apps.common.wifi import check_credentials
from firmware.fixed import Dec


def test_object_id_follows_esphome():
    assert ents.object_id('Energy Consumed Tariff 1') == 'energy_consumed_tariff_1'
    assert ents.object_id('Long Electricity Failures') == 'long_electricity_failures'
    assert ents.object_id('Threshold ON +5 W') == 'threshold_on__5_w'
    assert ents.object_id('Threshold ON -5 W') == 'threshold_on_-5_w'
    assert ents.object_id('Ünit/x') == '_nit_x'


def test_entity_key_and_bad_domain():
    e = ents.Entity('sensor', 'Power Consumed', 'kW', 3)
    assert e.oid == 'power_consumed' and e.key == 'sensor-power_consumed'
    try:
        ents.Entity('sensors', 'X')
    except ValueError as err:
        assert 'sensors' in str(err) and 'sensor' in str(err)
    else:
        raise AssertionError('a bad domain must be refused')


def test_find_by_object_id_name_and_url_encoded_name():
    a = ents.Entity('sensor', 'Voltage Phase 1', 'V', 1)
    b = ents.Entity('switch', 'Relay')
    es = [a, b]
    assert ents.find(es, 'sensor', 'voltage_phase_1') is a
    assert ents.find(es, 'sensor', 'Voltage Phase 1') is a
    assert ents.find(es, 'sensor', 'Voltage%20Phase%201') is a
    assert ents.find(es, 'switch', 'relay') is b
    assert ents.find(es, 'sensor', 'relay') is None          # right id, wrong domain
    assert ents.find(es, 'sensor', 'voltage_phase_2') is None
    assert ents.find(es, 'sensor', 'Voltage%2') is None       # a broken escape stays literal


def test_url_unquote():
    assert ents.url_unquote('a%20b') == 'a b'
    assert ents.url_unquote('a+b') == 'a+b'
    assert ents.url_unquote('%C3%A9t%C3%A9') == '\u00e9t\u00e9'
    assert ents.url_unquote('100%') == '100%'
    assert ents.url_unquote('%zz') == '%zz'


def test_sensor_state_rounds_half_away_from_zero_and_keeps_value_exact():
    assert ents.sensor_state(Dec(4592767, 3), 3, 'kWh') == ('4592.767 kWh', Dec(4592767, 3))
    assert ents.sensor_state(Dec(540, 2), 1, 'A')[0] == '5.4 A'
    assert ents.sensor_state(Dec(545, 2), 1, 'A')[0] == '5.5 A'
    assert ents.sensor_state(Dec(-545, 2), 1, 'A')[0] == '-5.5 A'
    assert ents.sensor_state(5, 1, 'A')[0] == '5.0 A'
    assert ents.sensor_state(3, 0, None) == ('3', 3)
    assert ents.sensor_state(None, 3, 'kWh') == ('NA', None)
    assert ents.switch_state(True) == ('ON', True) and ents.switch_state(False) == ('OFF', False)
    assert ents.text_state(None) == ('', None) and ents.text_state('Connected') == ('Connected', 'Connected')


def test_entity_json_is_esphome_shaped_with_exact_value():
    e = ents.Entity('sensor', 'Energy Consumed Tariff 1', 'kWh', 3)
    text = ents.entity_json(e, '4592.767 kWh', Dec(4592767, 3))
    assert text == '{"id":"sensor-energy_consumed_tariff_1","state":"4592.767 kWh","value":4592.767}'
    assert json.loads(text)['value'] == 4592.767
    assert ents.entity_json(e, 'NA', None) == \
        '{"id":"sensor-energy_consumed_tariff_1","state":"NA","value":null}'


def test_dumps_writes_exact_decimals_and_escapes():
    text = dumps({'a': Dec(123456789, 3), 'b': [1, True, None, 'x"y\\z\n'], 'c': Dec(-5, 3)})
    assert '"a":123456.789' in text and '"c":-0.005' in text        # exact: never through a float
    assert '"b":[1,true,null,"x\\"y\\\\z\\n"]' in text
    assert json.loads(text) == {'a': 123456.789, 'b': [1, True, None, 'x"y\\z\n'], 'c': -0.005}
    assert json.loads(dumps({'t': 'tab\there\x01'})) == {'t': 'tab\there\x01'}
    assert quote('\u00e9') == '"\u00e9"'
    assert dumps(Dec(5, 0)) == '5'
    try:
        dumps({'x': object()})
    except TypeError as err:
        assert 'object' in str(err)
    else:
        raise AssertionError('an object that is not JSON must be refused')


def test_loads_object_says_what_was_expected_and_what_came():
    assert loads_object(b'{"a": 1}') == ({'a': 1}, None)
    for body, word in ((b'', 'empty'), (b'  ', 'empty'), (b'{"a": ', 'malformed'), (b'[1]', 'array'),
                       (b'3', 'number'), (b'"x"', 'string'), (b'null', 'null'), (b'true', 'boolean'),
                       (b'\xff\xfe', 'UTF-8')):
        obj, why = loads_object(body)
        assert obj is None, body
        assert 'expected a JSON object' in why and word in why, (body, why)


def _row_cells(html, row_id):
    i = html.index('id="%s"' % row_id)
    tr = html[html.rindex('<tr', 0, i):html.index('</tr>', i)]
    cells = []
    pos = 0
    while True:
        a = tr.find('<td>', pos)
        if a < 0:
            return cells
        b = tr.index('</td>', a)
        cells.append(tr[a + 4:b])
        pos = b


def test_states_page_has_title_rows_actions_ota_and_script():
    v1 = ents.Entity('sensor', 'Voltage Phase 1', 'V', 1)
    fail = ents.Entity('sensor', 'Electricity Failures', None, 0)
    relay = ents.Entity('switch', 'Relay')
    msg = ents.Entity('text_sensor', 'Status <x>')
    html = states_page('smartmeter', [(v1, '240.3 V', Dec(2403, 1)), (fail, 'NA', None), (relay, 'ON', True),
                                      (msg, 'a & b', 'a & b')], ['Threshold ON > OFF'])
    assert '<title>smartmeter Web Server</title>' in html and '<h1>smartmeter Web Server</h1>' in html
    assert '<h2>States</h2><table id="states"><thead><tr><th>Name<th>State<th>Actions' in html
    assert _row_cells(html, 'sensor-voltage_phase_1') == ['Voltage Phase 1', '240.3 V', '']
    assert _row_cells(html, 'sensor-electricity_failures') == ['Electricity Failures', '', '']
    assert _row_cells(html, 'switch-relay') == ['Relay', 'ON', '<button>Toggle</button>']
    assert _row_cells(html, 'text_sensor-status__x_') == ['Status &lt;x&gt;', 'a &amp; b', '']
    assert '<p id="warnings" class="warning">Threshold ON &gt; OFF</p>' in html
    assert '<h2>OTA Update</h2><form method="POST" action="/update" enctype="multipart/form-data">' in html
    assert "new EventSource('/events')" in html
    assert html.index('sensor-voltage_phase_1') < html.index('switch-relay') < html.index('OTA Update')


def test_portal_page_has_the_manuals_fields():
    html = portal_page('smartmeter', 'Not connected.', [('HomeNet', -40), ('Neighbour "5G"', -71)],
                       'Home<Net', 'Could not join HomeNet: wrong password')
    for text in ('<h1>smartmeter</h1>', '<h2>WiFi Networks</h2>', '<li>HomeNet (-40 dBm)</li>',
                 '<li>Neighbour &quot;5G&quot; (-71 dBm)</li>', '<h2>WiFi Settings</h2>', '>SSID</label>',
                 '>Password</label>', 'type="password"', 'value="Save"', '<h2>OTA Update</h2>',
                 'value="Home&lt;Net"', 'Could not join HomeNet: wrong password', 'action="/wifisave"'):
        assert text in html, text
    assert 'id="error"' not in portal_page('smartmeter', 'x')


def test_esc():
    assert esc('<a href="x">&</a>') == '&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;'
    assert esc(None) == '' and esc(5) == '5'


def test_check_credentials():
    ok = check_credentials
    assert ok('HomeNet', 'correct horse') is None
    assert ok('HomeNet', '') is None and ok('HomeNet', None) is None     # an open network
    assert ok('x' * 32, 'a' * 63) is None
    assert ok('HomeNet', '0123456789abcdef' * 4) is None                # a raw 64-hex-digit key
    for ssid, psk, word in ((None, 'x' * 8, 'SSID'), ('', 'x' * 8, '1 to 32'), ('x' * 33, 'x' * 8, 'got 33'),
                            ('a\x00b', 'x' * 8, 'control'), ('HomeNet', 'short', 'got 5'),
                            ('HomeNet', 'x' * 64, 'hex'), ('HomeNet', 'x' * 65, 'got 65'),
                            ('HomeNet', 'caf\u00e9 ol\u00e9!', 'ASCII'), (5, 'x' * 8, 'text')):
        why = ok(ssid, psk)
        assert why is not None and word in why, (ssid, psk, why)
