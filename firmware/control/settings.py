# SmartPlug settings: thresholds, interval, SmartMeter Mode and the fail-safe, with their bounds and steps.
#
# Pure and MicroPython-valid. Energies are integers in Wh (0.001 kWh, the page's resolution): the ESP32's
# 32-bit floats never touch a setting. Every change goes through Settings.set / set_kwh / press, which
# return None when the change was made, or a reason (what was expected, what came) and change nothing.
#
#   s = Settings()                      # defaults: ON = OFF = 0.625 kWh, 15 min, mode off, fail-safe 4/off
#   s.set('interval_min', 6)            # -> None
#   s.set_kwh('on_wh', '-0.200')        # -> None  (page text in kWh)
#   s.press('off+')                     # -> None  (+0.005 kWh)
#   s.set('on_wh', 10001)               # -> 'Threshold ON: expected -10.000 ... 10.000 kWh ..., got 10.001'
#   s.warnings()                        # ['Threshold ON (...) is above Threshold OFF (...): ...'] or []
#   d = s.to_dict(); s2, errors = from_dict(d)      # flash image; never raises
from firmware.apps.common.jsonw import shown
from firmware.fixed import Dec, parse_dec

VERSION = 1

THRESHOLD_MIN_WH = -10000   # -10.000 kWh
THRESHOLD_MAX_WH = 10000    # +10.000 kWh
BUTTON_STEP_WH = 5          # the page's "+5" / "-5" buttons: 0.005 kWh
INTERVAL_MIN = 1            # minutes
INTERVAL_MAX = 60
FAILSAFE_N_MIN = 1          # intervals without meter data before the fail-safe state
FAILSAFE_N_MAX = 96

# (key, default, label). Order is the page's order.
FIELDS = (
    ('on_wh', 625, 'Threshold ON'),
    ('off_wh', 625, 'Threshold OFF'),
    ('interval_min', 15, 'Interval'),
    ('mode', False, 'SmartMeter Mode'),
    ('failsafe_n', 4, 'Fail-safe after (intervals)'),
    ('failsafe_on', False, 'Fail-safe relay state'),
)

# button -> (key, delta)
BUTTONS = {
    'on+': ('on_wh', BUTTON_STEP_WH),
    'on-': ('on_wh', -BUTTON_STEP_WH),
    'off+': ('off_wh', BUTTON_STEP_WH),
    'off-': ('off_wh', -BUTTON_STEP_WH),
    'interval+': ('interval_min', 1),
    'interval-': ('interval_min', -1),
}


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def kwh_text(wh):
    """'0.625' for 625 Wh: the page's kWh text of an integer Wh value."""
    return Dec(wh, 3).text()


def _label(key):
    for k, _, label in FIELDS:
        if k == key:
            return label
    return key


def _shown(v):
    # as JSON (jsonw.shown), not repr(): MicroPython escapes non-ASCII text and keeps its own dict order
    if isinstance(v, str):
        return shown(v) + ' (text)'
    return '%s (%s)' % (shown(v), type(v).__name__)


def check(key, value):
    """None if `value` is a valid value for setting `key`, else the reason (expected, got)."""
    label = _label(key)
    if key == 'on_wh' or key == 'off_wh':
        if not _is_int(value):
            return '%s: expected an integer number of Wh (0.001 kWh), got %s' % (label, _shown(value))
        if value < THRESHOLD_MIN_WH or value > THRESHOLD_MAX_WH:
            return '%s: expected %s ... %s kWh in steps of 0.001 kWh, got %s kWh; unchanged' % (
                label, kwh_text(THRESHOLD_MIN_WH), kwh_text(THRESHOLD_MAX_WH), kwh_text(value))
        return None
    if key == 'interval_min':
        if not _is_int(value):
            return '%s: expected an integer number of minutes, got %s' % (label, _shown(value))
        if value < INTERVAL_MIN or value > INTERVAL_MAX:
            return '%s: expected %d ... %d min in steps of 1 min, got %d min; unchanged' % (
                label, INTERVAL_MIN, INTERVAL_MAX, value)
        return None
    if key == 'failsafe_n':
        if not _is_int(value):
            return '%s: expected an integer number of intervals, got %s' % (label, _shown(value))
        if value < FAILSAFE_N_MIN or value > FAILSAFE_N_MAX:
            return '%s: expected %d ... %d intervals, got %d; unchanged' % (
                label, FAILSAFE_N_MIN, FAILSAFE_N_MAX, value)
        return None
    if key == 'mode' or key == 'failsafe_on':
        if not isinstance(value, bool):
            return '%s: expected true or false, got %s' % (label, _shown(value))
        return None
    return 'unknown setting %s: expected one of %s' % (shown(key), ', '.join([f[0] for f in FIELDS]))


class Settings:
    """The SmartPlug's settings, always within bounds (change them only through set/set_kwh/press)."""

    def __init__(self):
        for key, default, _ in FIELDS:
            setattr(self, key, default)

    def set(self, key, value):
        """Set one setting. None when done; else the reason, and nothing changed."""
        err = check(key, value)
        if err is not None:
            return err
        setattr(self, key, value)
        return None

    def set_kwh(self, key, text):
        """Set a threshold ('on_wh' or 'off_wh') from kWh text such as '-0.160' (the page's form)."""
        if key != 'on_wh' and key != 'off_wh':
            return 'set_kwh: expected on_wh or off_wh, got %s' % (shown(key),)
        label = _label(key)
        d = parse_dec(text) if isinstance(text, str) and len(text) <= 24 else None
        if d is None:
            return '%s: expected a number of kWh like 0.625 or -0.160, got %s; unchanged' % (
                label, _shown(text))
        wh = d.scaled(3)
        if not (Dec(wh, 3) == d):
            return '%s: expected steps of 0.001 kWh, got %s kWh; unchanged' % (label, d.text())
        return self.set(key, wh)

    def press(self, button):
        """A page button: 'on+', 'on-', 'off+', 'off-' (0.005 kWh) or 'interval+', 'interval-' (1 min)."""
        b = BUTTONS.get(button)
        if b is None:
            return 'unknown button %s: expected one of %s' % (shown(button), ', '.join(sorted(BUTTONS)))
        key, delta = b
        err = check(key, getattr(self, key) + delta)
        if err is not None:
            return 'button %s: %s' % (button, err)
        setattr(self, key, getattr(self, key) + delta)
        return None

    def warnings(self):
        """Advice that is not an error: Threshold ON above Threshold OFF makes the relay flap."""
        w = []
        if self.on_wh > self.off_wh:
            w.append('Threshold ON (%s kWh) is above Threshold OFF (%s kWh): when E lies between them '
                     'the relay switches on and off every interval' % (
                         kwh_text(self.on_wh), kwh_text(self.off_wh)))
        return w

    def aligned(self):
        """True when the interval divides 60 min: boundaries sit on the clock (:00, :15, ...)."""
        return 60 % self.interval_min == 0

    def to_dict(self):
        d = {'v': VERSION}
        for key, _, _ in FIELDS:
            d[key] = getattr(self, key)
        return d

    def __eq__(self, other):
        if not isinstance(other, Settings):
            return NotImplemented
        for key, _, _ in FIELDS:
            if getattr(self, key) != getattr(other, key):
                return False
        return True

    def __repr__(self):
        return 'Settings(%s)' % ', '.join(['%s=%r' % (k, getattr(self, k)) for k, _, _ in FIELDS])


def from_dict(d):
    """(Settings, errors) from a flash dict. Bad or missing keys get their default and an error line;
    never raises."""
    s = Settings()
    errors = []
    if not isinstance(d, dict):
        errors.append('settings: expected a dict, got %s; all defaults used' % _shown(d))
        return s, errors
    v = d.get('v', None)
    if v != VERSION:
        errors.append('v: expected %d, got %s; keys read as version %d' % (VERSION, _shown(v), VERSION))
    for key, default, _ in FIELDS:
        if key not in d:
            errors.append('%s: missing; default %s used' % (key, shown(default)))
            continue
        err = s.set(key, d[key])
        if err is not None:
            errors.append('%s; default %s used' % (err, shown(default)))
    known = [f[0] for f in FIELDS]
    for key in d:
        if key != 'v' and key not in known:
            errors.append('unknown key %s ignored' % (shown(key),))
    return s, errors


def from_json(text):
    """(Settings, errors) from the JSON text of a settings file; never raises."""
    import json
    try:
        d = json.loads(text)
    except Exception:  # ValueError on both ports; its words differ between them: not shown
        return Settings(), ['settings file: expected JSON, got %s that does not parse; all defaults used' % (
            _shown(text[:40] if isinstance(text, str) else text),)]
    return from_dict(d)
