# SmartPlug settings (firmware/control/settings.py): bounds, steps, buttons, warnings, flash round trip.
# Portable: runs under CPython (pytest) and MicroPython (mpy/run.mjs).
import json

from firmware.control.settings import FIELDS, Settings, from_dict, from_json


def _snapshot(s):
    return s.to_dict()


def test_defaults_are_the_manuals_screenshot_with_mode_off():
    s = Settings()
    assert (s.on_wh, s.off_wh, s.interval_min) == (625, 625, 15)
    assert s.mode is False and s.failsafe_n == 4 and s.failsafe_on is False
    assert s.warnings() == []


def test_thresholds_accept_the_bounds_and_every_wh():
    s = Settings()
    for v in (-10000, -9999, -1, 0, 1, 9999, 10000):
        assert s.set('on_wh', v) is None and s.on_wh == v
        assert s.set('off_wh', v) is None and s.off_wh == v


def test_threshold_out_of_bounds_is_refused_and_changes_nothing():
    s = Settings()
    before = _snapshot(s)
    err = s.set('on_wh', 10001)
    assert err == ('Threshold ON: expected -10.000 ... 10.000 kWh in steps of 0.001 kWh, got 10.001 kWh; '
                   'unchanged')
    err = s.set('off_wh', -10001)
    assert 'Threshold OFF' in err and 'got -10.001 kWh' in err
    assert _snapshot(s) == before


def test_threshold_wrong_type_is_refused():
    s = Settings()
    before = _snapshot(s)
    for v in (0.5, '625', True, None, [625]):
        err = s.set('on_wh', v)
        assert err is not None and 'expected an integer number of Wh' in err, v
    assert _snapshot(s) == before


def test_thresholds_from_kwh_text():
    s = Settings()
    assert s.set_kwh('on_wh', '-0.200') is None and s.on_wh == -200
    assert s.set_kwh('off_wh', '0.625') is None and s.off_wh == 625
    assert s.set_kwh('off_wh', '10') is None and s.off_wh == 10000
    assert s.set_kwh('off_wh', '-10.0000') is None and s.off_wh == -10000
    before = _snapshot(s)
    err = s.set_kwh('on_wh', '0.0005')
    assert err == 'Threshold ON: expected steps of 0.001 kWh, got 0.0005 kWh; unchanged'
    assert 'got 10.001 kWh' in s.set_kwh('on_wh', '10.001')
    assert 'like 0.625' in s.set_kwh('on_wh', 'abc')
    assert 'like 0.625' in s.set_kwh('on_wh', '')
    assert 'like 0.625' in s.set_kwh('on_wh', 0.5)
    assert 'expected on_wh or off_wh' in s.set_kwh('interval_min', '1')
    assert _snapshot(s) == before


def test_buttons_step_5_wh_and_1_min():
    s = Settings()
    assert s.press('on+') is None and s.on_wh == 630
    assert s.press('on-') is None and s.press('on-') is None and s.on_wh == 620
    assert s.press('off+') is None and s.off_wh == 630
    assert s.press('off-') is None and s.off_wh == 625
    assert s.press('interval+') is None and s.interval_min == 16
    assert s.press('interval-') is None and s.interval_min == 15


def test_buttons_at_the_bounds_are_refused():
    s = Settings()
    s.set('on_wh', 9998)
    s.set('off_wh', -9996)
    s.set('interval_min', 60)
    before = _snapshot(s)
    err = s.press('on+')
    assert err.startswith('button on+: Threshold ON: expected') and 'got 10.003 kWh' in err
    assert 'got -10.001 kWh' in s.press('off-')
    assert 'got 61 min' in s.press('interval+')
    assert _snapshot(s) == before
    s.set('interval_min', 1)
    assert 'expected 1 ... 60 min' in s.press('interval-') and s.interval_min == 1
    assert 'unknown button' in s.press('on+50')


def test_interval_bounds():
    s = Settings()
    for v in (1, 2, 7, 59, 60):
        assert s.set('interval_min', v) is None and s.interval_min == v
    for v in (0, 61, -15):
        assert 'expected 1 ... 60 min' in s.set('interval_min', v)
    assert 'integer number of minutes' in s.set('interval_min', 15.0)
    assert s.interval_min == 60


def test_aligned_intervals_are_the_divisors_of_60():
    s = Settings()
    got = []
    for v in range(1, 61):
        s.set('interval_min', v)
        if s.aligned():
            got.append(v)
    assert got == [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60]


def test_switches_take_only_booleans():
    s = Settings()
    assert s.set('mode', True) is None and s.mode is True
    assert s.set('failsafe_on', True) is None and s.failsafe_on is True
    for v in (1, 'on', None):
        assert 'expected true or false' in s.set('mode', v)
    assert s.mode is True


def test_failsafe_count_bounds():
    s = Settings()
    assert s.set('failsafe_n', 1) is None and s.set('failsafe_n', 96) is None
    assert 'expected 1 ... 96 intervals, got 0' in s.set('failsafe_n', 0)
    assert 'got 97' in s.set('failsafe_n', 97)
    assert s.failsafe_n == 96


def test_unknown_setting_is_refused():
    s = Settings()
    err = s.set('threshold', 5)
    assert err.startswith('unknown setting "threshold": expected one of on_wh, off_wh')


def test_warning_when_on_above_off():
    s = Settings()
    s.set('on_wh', 700)
    s.set('off_wh', 600)
    w = s.warnings()
    assert len(w) == 1 and w[0].startswith('Threshold ON (0.700 kWh) is above Threshold OFF (0.600 kWh)')
    s.set('off_wh', 700)
    assert s.warnings() == []


def test_flash_round_trip_through_json():
    s = Settings()
    s.set('on_wh', -160)
    s.set('off_wh', 40)
    s.set('interval_min', 6)
    s.set('mode', True)
    s.set('failsafe_n', 7)
    s.set('failsafe_on', True)
    text = json.dumps(s.to_dict())
    s2, errors = from_json(text)
    assert errors == [] and s2 == s
    assert s2.to_dict() == s.to_dict()


def test_corrupt_dict_gives_defaults_for_bad_keys_and_errors():
    d = {'v': 1, 'on_wh': -200, 'off_wh': 99999, 'interval_min': 'x', 'mode': True, 'junk': 1}
    s, errors = from_dict(d)
    assert s.on_wh == -200 and s.mode is True          # good keys kept
    assert s.off_wh == 625 and s.interval_min == 15    # bad keys: defaults
    assert s.failsafe_n == 4 and s.failsafe_on is False  # missing keys: defaults
    text = '\n'.join(errors)
    assert 'got 99.999 kWh' in text and 'got "x" (text)' in text   # as JSON: the same on MicroPython
    assert 'failsafe_n: missing' in text and 'unknown key "junk"' in text
    assert len(errors) == 5


def test_not_a_dict_or_not_json_gives_all_defaults():
    for bad in (None, [], 'settings', 42):
        s, errors = from_dict(bad)
        assert s == Settings() and len(errors) == 1 and 'expected a dict' in errors[0]
    s, errors = from_json('{"on_wh": 5')
    assert s == Settings() and 'expected JSON' in errors[0]
    s, errors = from_json('')
    assert s == Settings() and errors
    s, errors = from_dict({})
    assert s == Settings() and len(errors) == len(FIELDS) + 1   # version and every key missing
