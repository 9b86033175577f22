# The SmartPlug's entities: the rows of its States table (manual, section 5), in the page's order, with the
# ESPHome object ids the REST API uses, and the text each row shows.
#
# Pure and MicroPython-valid. Values are integers (mV, mA, mW, mWh, Wh); texts are built with Dec, never
# with floats (the ESP32's floats are 32-bit).
#
# ESPHome derives an entity's object id from its name: ' ' -> '_', A-Z -> a-z, then every character
# outside [a-z0-9_-] -> '_' (esphome core helpers str_snake_case + str_sanitize; aioesphomeapi's
# object_id.compute_object_id is the same rule). So "Threshold ON +5 W" is threshold_on__5_w and
# "Threshold ON -5 W" is threshold_on_-5_w.
#
# The manual shows the six +/- rows as switches (state OFF, a Toggle button): the original firmware made
# them ESPHome template switches that act once and fall back to OFF. They are switches here too (toggle and
# turn_on press them, turn_off does nothing), and the button domain answers for them as well
# (POST /button/<id>/press), as a modern ESPHome config would declare them.
from firmware.apps.common.entities import object_id, url_unquote
from firmware.fixed import Dec

url_ident = url_unquote   # an id or name from a URL path segment ("Threshold%20ON%20%2B5%20W")


SENSOR = 'sensor'
SWITCH = 'switch'
TEXT_SENSOR = 'text_sensor'

# (name, domain, what): what is the model's key for a sensor, the Settings.press name for a +/- switch,
# 'mode' / 'relay' for the two real switches, 'status' for SmartMeter Status.
ROWS = (
    ('Voltage', SENSOR, 'voltage'),
    ('Current', SENSOR, 'current'),
    ('Power', SENSOR, 'power'),
    ('Daily Energy', SENSOR, 'daily'),
    ('Threshold ON', SENSOR, 'on_wh'),
    ('Threshold OFF', SENSOR, 'off_wh'),
    ('Interval', SENSOR, 'interval_min'),
    ('Threshold ON +5 W', SWITCH, 'on+'),
    ('Threshold ON -5 W', SWITCH, 'on-'),
    ('Threshold OFF +5 W', SWITCH, 'off+'),
    ('Threshold OFF -5 W', SWITCH, 'off-'),
    ('Interval +1 min', SWITCH, 'interval+'),
    ('Interval -1 min', SWITCH, 'interval-'),
    ('SmartMeter Mode', SWITCH, 'mode'),
    ('Relay', SWITCH, 'relay'),
    ('SmartMeter Status', TEXT_SENSOR, 'status'),
    # Peak Guard (docs/peak-guard.md), after the manual's rows
    ('Peak Guard', SWITCH, 'pg_on'),
    ('Peak Guard Cap', TEXT_SENSOR, 'pg_cap'),
    ('Peak Guard Priority', TEXT_SENSOR, 'pg_priority'),
    ('Peak Guard Status', TEXT_SENSOR, 'pg_status'),
    ('Peak Guard Last Decision', TEXT_SENSOR, 'pg_last'),
)

# Settings also writable as ESPHome numbers (POST /number/<id>/set?value=...): object id -> (key, unit)
NUMBERS = {
    'threshold_on': ('on_wh', 'kWh'),
    'threshold_off': ('off_wh', 'kWh'),
    'interval': ('interval_min', 'min'),
}


class Entity:
    __slots__ = ('name', 'domain', 'what', 'oid')

    def __init__(self, name, domain, what):
        self.name = name
        self.domain = domain
        self.what = what
        self.oid = object_id(name)

    def is_button(self):
        return self.domain == SWITCH and self.what != 'mode' and self.what != 'relay' and self.what != 'pg_on'


ENTITIES = [Entity(n, d, w) for n, d, w in ROWS]
_BY_OID = {}
for _e in ENTITIES:
    _BY_OID[_e.oid] = _e


def find(domain, oid):
    """The entity with this domain and object id (or name), or None.

    The button domain finds the +/- switches; ESPHome also accepts an entity's name in place of its id.
    """
    oid = url_unquote(oid)
    e = _BY_OID.get(oid)
    if e is None:
        for x in ENTITIES:
            if x.name == oid:
                e = x
                break
    if e is None:
        return None
    if domain == e.domain or (domain == 'button' and e.is_button()):
        return e
    return None


def fixed_text(v, decimals_in, decimals_out):
    """Integer v with decimals_in decimals as text with decimals_out decimals (rounded half away from 0)."""
    return Dec(Dec(v, decimals_in).scaled(decimals_out), decimals_out).text()


def volts_text(mv):
    return '' if mv is None else fixed_text(mv, 3, 1) + ' V'


def amps_text(ma):
    return '' if ma is None else fixed_text(ma, 3, 3) + ' A'


def watts_text(mw):
    return '' if mw is None else fixed_text(mw, 3, 1) + ' W'


def kwh3_text(wh):
    return fixed_text(wh, 3, 3) + ' kWh'


def daily_text(mwh):
    return fixed_text(mwh, 6, 5) + ' kWh'


def on_off(b):
    return 'ON' if b else 'OFF'
