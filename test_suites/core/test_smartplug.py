# The SmartPlug app's pure parts (firmware/apps/smartplug): entities and object ids, the page's texts, the
# actions of the page / ESPHome REST / HomeWizard API, the switch lock, flash round trips.
# Portable: runs under CPython (pytest) and MicroPython (mpy/run.mjs).
import json

from smartplug_frames import load_frame

from firmware.apps.smartplug import entities, httpget, hwapi, meterlink
from firmware.apps.smartplug.model import CHIP_STALE_MS, Plug
from firmware.timebase import local_to_utc

T0 = local_to_utc(2024, 1, 15, 10, 7, 0, None, 60)   # a winter Monday, 10:07 local


def _rows(p, now_ms):
    return [(e.name, p.row_state(e, now_ms)) for e in entities.ENTITIES]


def _chip(p, now_ms, mv=237000, ma=654, mw=311300, n=3, cf=100):
    for i in range(n):
        p.feed_chip(load_frame(mv, ma, mw, cf + i), now_ms + i * 105)
    return now_ms + n * 105


def test_object_ids_follow_esphome_rule():
    oid = entities.object_id
    assert oid('Threshold ON +5 W') == 'threshold_on__5_w'
    assert oid('Threshold ON -5 W') == 'threshold_on_-5_w'
    assert oid('Interval +1 min') == 'interval__1_min'
    assert oid('SmartMeter Mode') == 'smartmeter_mode'
    assert oid('SmartMeter Status') == 'smartmeter_status'
    assert oid('Daily Energy') == 'daily_energy'
    assert oid('Tëst/ä') == 't_st__'
    ids = [e.oid for e in entities.ENTITIES]
    assert len(set(ids)) == len(ids)


def test_rows_are_the_manuals_rows_in_order():
    names = [e.name for e in entities.ENTITIES]
    assert names == ['Voltage', 'Current', 'Power', 'Daily Energy', 'Threshold ON', 'Threshold OFF',
                     'Interval',
                     'Threshold ON +5 W', 'Threshold ON -5 W', 'Threshold OFF +5 W', 'Threshold OFF -5 W',
                     'Interval +1 min', 'Interval -1 min', 'SmartMeter Mode', 'Relay', 'SmartMeter Status',
                     # Peak Guard's rows come after the manual's
                     'Peak Guard', 'Peak Guard Cap', 'Peak Guard Priority', 'Peak Guard Status',
                     'Peak Guard Last Decision']
    assert [e.oid for e in entities.ENTITIES if e.domain == 'switch'] == [
        'threshold_on__5_w', 'threshold_on_-5_w', 'threshold_off__5_w', 'threshold_off_-5_w',
        'interval__1_min', 'interval_-1_min', 'smartmeter_mode', 'relay', 'peak_guard']


def test_find_by_domain_id_and_name():
    assert entities.find('switch', 'relay').name == 'Relay'
    assert entities.find('switch', 'Relay').oid == 'relay'
    assert entities.find('button', 'threshold_on__5_w').what == 'on+'
    assert entities.find('button', 'relay') is None          # a real switch is not a button
    assert entities.find('sensor', 'relay') is None
    assert entities.find('switch', 'nope') is None
    assert entities.find('sensor', 'daily_energy').what == 'daily'


def test_page_texts_like_the_manual():
    p = Plug(now_ms=0)
    now = _chip(p, 1000)
    rows = dict(_rows(p, now))
    assert rows['Voltage'] == '237.0 V'
    assert rows['Current'] == '0.654 A'
    assert rows['Power'] == '311.3 W'
    assert rows['Daily Energy'] == '0.00000 kWh'
    assert rows['Threshold ON'] == '0.625 kWh'
    assert rows['Threshold OFF'] == '0.625 kWh'
    assert rows['Interval'] == '15 min'
    assert rows['Threshold ON +5 W'] == 'OFF'
    assert rows['Interval -1 min'] == 'OFF'
    assert rows['SmartMeter Mode'] == 'OFF'
    assert rows['Relay'] == 'OFF'                 # first boot: the fail-safe state (off)
    assert rows['SmartMeter Status'] == 'Disconnected'
    p.ctl.daily.mwh = 156890
    assert p.row_state(entities.find('sensor', 'daily_energy'), now) == '0.15689 kWh'
    p.ctl.daily.mwh = 156895
    assert p.row_state(entities.find('sensor', 'daily_energy'), now) == '0.15690 kWh'


def test_chip_values_go_blank_when_the_chip_is_silent():
    p = Plug(now_ms=0)
    rows = dict(_rows(p, 0))
    assert rows['Voltage'] == '' and rows['Power'] == '' and rows['Current'] == ''
    now = _chip(p, 1000)
    last = now - 105
    assert p.voltage_mv(last + CHIP_STALE_MS - 1) is not None
    assert p.voltage_mv(last + CHIP_STALE_MS) is None
    rows = dict(_rows(p, last + CHIP_STALE_MS))
    assert rows['Voltage'] == '' and rows['Power'] == '' and rows['Current'] == ''
    # garbage on the line changes nothing and is counted
    before = p.chip.counters['garbage_bytes']
    assert p.feed_chip(b'\x00\x01\x02garbage', last + 10) == 0
    assert p.chip.counters['garbage_bytes'] > before
    assert p.voltage_mv(last + 20) is not None


def test_plug_energy_reaches_daily_energy_and_totals():
    p = Plug(now_ms=0)
    # 5.35 J per CF pulse: 673 pulses = 3600.55 J = 1000.15 mWh
    p.feed_chip(load_frame(230000, 1000, 230000, 0), 0)
    p.feed_chip(load_frame(230000, 1000, 230000, 0), 105)
    for i in range(1, 674):
        p.feed_chip(load_frame(230000, 1000, 230000, i), 105 + 100 * i)
    assert p.chip.energy_mwh == 673 * 5350000 // 3600000
    assert p.ctl.daily.mwh == p.chip.energy_mwh


def test_buttons_step_and_refuse_at_bounds():
    p = Plug(now_ms=0)
    assert p.switch('threshold_on__5_w', 'toggle') == (200, '')
    assert p.settings.on_wh == 630
    assert p.switch('threshold_on__5_w', 'turn_off') == (200, '')   # always OFF: nothing to do
    assert p.settings.on_wh == 630
    assert p.button('threshold_off_-5_w', 'press') == (200, '')
    assert p.settings.off_wh == 620
    assert p.warnings() and 'above Threshold OFF' in p.warnings()[0]
    assert p.switch('interval__1_min', 'turn_on') == (200, '')
    assert p.settings.interval_min == 16
    p.settings.set('interval_min', 60)
    st, msg = p.switch('interval__1_min', 'toggle')
    assert st == 400 and '60' in msg and 'expected 1 ... 60' in msg
    assert p.settings.interval_min == 60
    p.settings.set('on_wh', 10000)
    st, msg = p.button('threshold_on__5_w', 'press')
    assert st == 400 and p.settings.on_wh == 10000
    assert p.counters['refused'] == 2


def test_unknown_entities_and_actions_are_404():
    p = Plug(now_ms=0)
    st, msg = p.switch('nope', 'toggle')
    assert st == 404 and 'relay' in msg
    st, msg = p.switch('relay', 'explode')
    assert st == 404 and 'toggle' in msg
    assert p.button('relay', 'press')[0] == 404
    assert p.button('threshold_on__5_w', 'toggle')[0] == 404
    assert p.set_number('voltage', '1')[0] == 404
    assert p.ctl.relay is False and p.settings.on_wh == 625


def test_numbers_set_thresholds_and_interval():
    p = Plug(now_ms=0)
    assert p.set_number('threshold_on', '-0.160') == (200, '')
    assert p.settings.on_wh == -160
    assert p.set_number('interval', '6') == (200, '')
    assert p.settings.interval_min == 6
    assert p.set_number('interval', '7.0') == (200, '')
    for bad in ('0', '61', 'abc', '6.5', '', '-'):
        st, msg = p.set_number('interval', bad)
        assert st == 400, bad
        assert p.settings.interval_min == 7
    for bad in ('10.001', '-10.001', '0.0005', 'x', ''):
        st, msg = p.set_number('threshold_off', bad)
        assert st == 400, bad
        assert p.settings.off_wh == 625
    assert p.set_number('threshold_off', None)[0] == 400


def test_relay_and_mode_switches():
    p = Plug(now_ms=0)
    assert p.switch('relay', 'toggle') == (200, '')
    assert p.relay_out() is True
    assert p.switch('relay', 'turn_on') == (200, '')
    assert p.relay_out() is True
    assert p.switch('relay', 'turn_off') == (200, '')
    assert p.relay_out() is False
    assert p.switch('smartmeter_mode', 'toggle') == (200, '')
    assert p.settings.mode is True
    assert p.switch('smartmeter_mode', 'turn_off') == (200, '')
    assert p.settings.mode is False


def test_homewizard_state_put_echoes_and_locks():
    p = Plug(now_ms=0)
    assert json.loads(hwapi.state_text(p)) == {'power_on': False, 'switch_lock': False, 'brightness': 255}
    assert p.put_state({'power_on': True}) == (200, {'power_on': True})
    assert p.relay_out() is True
    assert p.put_state({'switch_lock': True}) == (200, {'switch_lock': True})
    st, msg = p.put_state({'power_on': False})
    assert st == 400 and 'switch_lock' in msg
    assert p.relay_out() is True
    st, msg = p.switch('relay', 'toggle')
    assert st == 400 and p.relay_out() is True
    # same state is not a change: accepted
    assert p.put_state({'power_on': True}) == (200, {'power_on': True})
    # unlock and switch in one request
    assert p.put_state({'switch_lock': False, 'power_on': False}) == (200, {'switch_lock': False,
                                                                            'power_on': False})
    assert p.relay_out() is False
    # switch and lock in one request
    both = {'power_on': True, 'switch_lock': True}
    assert p.put_state(both) == (200, both)
    assert p.relay_out() is True and p.lock is True


def test_homewizard_state_put_refuses_bad_bodies_atomically():
    p = Plug(now_ms=0)
    for bad in ({}, [], 'on', {'power_on': 1}, {'power_on': 'true'}, {'brightness': 256},
                {'brightness': True}, {'power_on': True, 'colour': 'red'}, {'switch_lock': None},
                {'power_on': True, 'brightness': -1}, {'brightness': 255.6}, {'brightness': '7'}):
        st, msg = p.put_state(bad)
        assert st == 400, bad
        assert 'expected' in msg, msg
        assert p.hw_state() == {'power_on': False, 'switch_lock': False, 'brightness': 255}, bad
    assert p.put_state({'brightness': 0}) == (200, {'brightness': 0})
    # python-homewizard-energy sends percent * 2.55: a fraction is rounded to the nearest step
    assert p.put_state({'brightness': 127.49999999999999}) == (200, {'brightness': 127})
    assert p.put_state({'brightness': 127.5}) == (200, {'brightness': 128})


def test_lock_holds_the_controllers_decision():
    s = {'v': 1, 'on_wh': 100, 'off_wh': 300, 'interval_min': 1, 'mode': True, 'failsafe_n': 4,
         'failsafe_on': False}
    p = Plug(s, {'v': 1, 'ctl': {'v': 1, 'relay': False}}, now_ms=0)
    assert p.put_state({'switch_lock': True})[0] == 200
    t = T0 - T0 % 60 + 60         # on a minute boundary
    imp = 1000000
    mono = 1000
    for k in range(3 * 60 + 1):
        p.on_meter(t + k, imp, 0, mono + k * 1000)   # nothing imported: E = 0 < ON -> the controller wants ON
    assert p.counters['lock_held'] >= 1
    assert p.relay_out() is False
    assert any('switch_lock' in x for x in p.log_lines)
    p.put_state({'switch_lock': False})
    for k in range(3 * 60 + 1, 6 * 60 + 1):
        p.on_meter(t + k, imp, 0, mono + k * 1000)
    assert p.relay_out() is True


def test_flash_round_trip_keeps_settings_relay_and_lock():
    p = Plug(now_ms=0)
    p.switch('relay', 'turn_on')
    p.switch('smartmeter_mode', 'turn_on')
    p.press('off+')
    p.put_state({'switch_lock': True, 'brightness': 7})
    _chip(p, 0)
    s = json.loads(json.dumps(p.settings_dict()))
    st = json.loads(json.dumps(p.state_dict()))
    q = Plug(s, st, now_ms=0)
    assert q.relay_out() is True
    assert q.settings.mode is True and q.settings.off_wh == 630
    assert q.lock is True and q.brightness == 7
    assert q.chip.energy_mwh == p.chip.energy_mwh
    assert q.counters['settings_errors'] == 0 and q.counters['state_errors'] == 0
    # relay off survives as off
    p.put_state({'switch_lock': False, 'power_on': False})
    assert Plug(p.settings_dict(), p.state_dict()).relay_out() is False


def test_corrupt_flash_gives_defaults_and_counted_errors():
    q = Plug({'v': 1, 'on_wh': 'lots', 'interval_min': 99}, {'switch_lock': 3, 'total_mwh': -1,
                                                              'ctl': {'relay': 'yes'}}, now_ms=0)
    assert q.settings.on_wh == 625 and q.settings.interval_min == 15
    assert q.counters['settings_errors'] >= 2
    assert q.counters['state_errors'] >= 3
    assert q.lock is False and q.chip.energy_mwh == 0 and q.relay_out() is False
    assert Plug(None, 'garbage').counters['state_errors'] == 1


def test_homewizard_data_and_device_json():
    p = Plug(now_ms=0)
    d = json.loads(hwapi.data_text(p, 0, 'home', 80))
    assert d == {'wifi_ssid': 'home', 'wifi_strength': 80, 'total_power_import_kwh': 0,
                 'total_power_import_t1_kwh': 0, 'total_power_export_kwh': 0, 'total_power_export_t1_kwh': 0}
    now = _chip(p, 1000)
    text = hwapi.data_text(p, now)
    assert '"active_voltage_v":237.0' in text and '"active_current_a":0.654' in text
    assert '"active_power_w":311.3' in text
    d = json.loads(text)
    assert d['active_power_l1_w'] == d['active_power_w']
    dev = json.loads(hwapi.device_text('aabbcc10021e', '1.0.0'))
    assert dev['product_type'] == 'HWE-SKT' and dev['api_version'] == 'v1' and dev['serial'] == 'aabbcc10021e'
    assert json.loads(hwapi.error_text('bad'))['error']['description'] == 'bad'


def test_meter_reading_parse():
    ok = (b'{"fresh": true, "seq": 7, "age_s": 0.4, "meter_ts": 1705309620, '
          b'"import_wh": {"t1": 10, "t2": 5, "total": 15}, "export_wh": {"t1": 1, "t2": null, "total": 1}}')
    assert meterlink.parse_reading(200, ok) == ((1705309620, 15, 1), None)
    r, why = meterlink.parse_reading(503, b'{"fresh": false, "error": "no current meter reading"}')
    assert r is None and 'HTTP 503' in why and 'no current meter reading' in why
    bad_bodies = (
        b'', b'[]', b'{"fresh": true}', b'not json',
        b'{"fresh": true, "meter_ts": "x", "import_wh": {"total": 1}, "export_wh": {"total": 0}}',
        b'{"fresh": true, "meter_ts": 5, "import_wh": {"total": -1}, "export_wh": {"total": 0}}',
    )
    for body in bad_bodies:
        r, why = meterlink.parse_reading(200, body)
        assert r is None and 'expected' in why, body


def test_meter_address_and_settings():
    assert meterlink.parse_addr('192.168.1.20') == ('192.168.1.20', 80)
    assert meterlink.parse_addr('smartmeter.local:8081') == ('smartmeter.local', 8081)
    for bad in ('', 'a b', 'h:0', 'h:70000', 'h:x', ':80', 'http://h', 5):
        try:
            meterlink.parse_addr(bad)
            raise AssertionError('accepted %r' % (bad,))
        except ValueError as e:
            assert 'expected' in str(e)
    cur = dict(meterlink.DEFAULTS)
    new, why = meterlink.patch_settings(cur, {'address': '127.0.0.1:8081', 'poll_s': 1})
    assert why is None and new == {'address': '127.0.0.1:8081', 'poll_s': 1.0}
    assert cur == meterlink.DEFAULTS
    assert meterlink.patch_settings(new, {'address': None}) == ({'address': '', 'poll_s': 1.0}, None)
    for bad in ({}, {'poll_s': 0.1}, {'poll_s': 61}, {'poll_s': True}, {'address': 'a b'}, {'colour': 1},
                {'address': '127.0.0.1', 'poll_s': 'fast'}):
        new2, why = meterlink.patch_settings(new, bad)
        assert new2 is None and 'expected' in why, bad


class _Stream:
    """A stream with readline() and read(n), as asyncio's StreamReader, over fixed bytes."""

    def __init__(self, data, step=7):
        self.data = data
        self.step = step

    async def readline(self):
        i = self.data.find(b'\n')
        n = len(self.data) if i < 0 else i + 1
        out, self.data = self.data[:n], self.data[n:]
        return out

    async def read(self, n):
        n = min(n, self.step)
        out, self.data = self.data[:n], self.data[n:]
        return out


def _response(data, max_body=64):
    # the fake stream never waits: step the coroutine by hand (the WebAssembly port has no asyncio.run)
    async def go():
        try:
            return await httpget.read_response(_Stream(data), 'http://m/r', max_body)
        except httpget.HttpError as e:
            return str(e)
    c = go()
    try:
        while True:
            c.send(None)
    except StopIteration as e:
        return e.value


def test_http_response_reading():
    ok = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"a": true}'
    assert _response(ok) == (200, b'{"a": true}')
    assert _response(b'HTTP/1.0 503 Service Unavailable\r\n\r\n{"fresh":false}') == (503, b'{"fresh":false}')
    assert _response(b'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nabcdef') == (200, b'ab')
    for data, words in (
            (b'', 'expected a status line'),
            (b'SMTP 220 hello\r\n\r\n', 'expected a status line'),
            (b'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n', 'closed inside the response headers'),
            (b'HTTP/1.1 200 OK\r\nContent-Length: x1\r\n\r\n', 'Content-Length: expected digits'),
            (b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc', 'cut short: expected 10 bytes, got 3'),
            (b'HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n', 'at most 64 bytes'),
            (b'HTTP/1.1 200 OK\r\n\r\n' + b'x' * 65, 'at most 64 bytes, got more'),
            (b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'Transfer-Encoding'),
            (b'HTTP/1.1 200 OK\r\n' + b'X: y\r\n' * 65 + b'\r\n', 'at most 64 header lines')):
        got = _response(data)
        assert isinstance(got, str) and words in got and 'http://m/r' in got, (data, got)


def test_settings_put_is_all_or_nothing():
    p = Plug(now_ms=0)
    new = {'failsafe_n': 2, 'failsafe_on': True, 'interval_min': 6, 'mode': True}
    assert p.put_settings(new) == (200, '')
    d = p.settings_dict()
    assert d['failsafe_n'] == 2 and d['failsafe_on'] is True and d['interval_min'] == 6 and d['mode'] is True
    for bad in ({}, [], {'failsafe_n': 0}, {'interval_min': 6.0}, {'on_wh': 100, 'off_wh': 10001},
                {'mode': 'on'}, {'speed': 3}, {'interval_min': 7, 'failsafe_on': 1}):
        st, msg = p.put_settings(bad)
        assert st == 400 and 'expected' in msg, bad
        assert p.settings_dict() == d, bad
