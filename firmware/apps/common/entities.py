# Entities as ESPHome's web_server shows them: a domain, a name, an object id, a state text and a value.
# Pure and portable (MicroPython and CPython).
#
#   object_id(name)                 ESPHome's rule: ' ' -> '_', A-Z -> a-z, anything outside [a-z0-9_-]
#                                   -> '_' ("Energy Consumed Tariff 1" -> energy_consumed_tariff_1)
#   Entity(domain, name, unit=None, decimals=None, what=None)
#                                   .domain .name .oid .key ('sensor-<oid>') .unit .decimals .what
#   find(entities, domain, ident)   the entity of that domain whose object id or name is ident
#                                   (ident may be URL-encoded: "Energy%20Consumed%20Tariff%201"), or None
#   sensor_state(value, decimals, unit) -> (state, value): value a Dec / int / None. None (nothing
#                                   measured, or stale) gives ('NA', None), as ESPHome does for NaN.
#   switch_state(on) -> ('ON' | 'OFF', bool); text_state(s) -> (s or '', s)
#   entity_json(entity, state, value) -> '{"id":"sensor-x","state":"4592.767 kWh","value":4592.767}'
#                                   (REST GET, ESPHome's state detail)
#   event_json(entity, state, value) -> the live `state` event: entity_json's keys plus "name_id"
#                                   ("sensor/Energy Consumed Tariff 1", the key ESPHome's web UI v2/v3 use)
#                                   and "name", so every event says which row it is
#   detail_json(entity, state, value, weight=None) -> ESPHome's "detail all": event_json's keys plus
#                                   "domain", "icon", "entity_category" (0), "uom" (a sensor's unit: its
#                                   own, or the state text's after the number), "sorting_weight" (the
#                                   page order), a switch's "assumed_state"; the first event of a stream
#                                   and GET /<domain>/<id>?detail=all
#   action_html(entity)             the Actions cell: Toggle (switch), Press (button), '' otherwise
#
# Any object with .domain, .name and .oid works as an entity for the web layer (the SmartPlug keeps its
# own Entity class with the same attributes).
from firmware.apps.common.jsonw import dumps, quote
from firmware.fixed import Dec

SENSOR = 'sensor'
TEXT_SENSOR = 'text_sensor'
BINARY_SENSOR = 'binary_sensor'
SWITCH = 'switch'
BUTTON = 'button'
NUMBER = 'number'

DOMAINS = (SENSOR, TEXT_SENSOR, BINARY_SENSOR, SWITCH, BUTTON, NUMBER)


def object_id(name):
    """ESPHome's object id of an entity name."""
    out = []
    for c in name:
        if c == ' ':
            c = '_'
        elif 'A' <= c <= 'Z':
            c = chr(ord(c) + 32)
        if not ('a' <= c <= 'z' or '0' <= c <= '9' or c == '_' or c == '-'):
            c = '_'
        out.append(c)
    return ''.join(out)


class Entity:
    __slots__ = ('domain', 'name', 'oid', 'key', 'unit', 'decimals', 'what')

    def __init__(self, domain, name, unit=None, decimals=None, what=None):
        if domain not in DOMAINS:
            raise ValueError('entity %r: domain %r, expected one of %r' % (name, domain, DOMAINS))
        self.domain = domain
        self.name = name
        self.oid = object_id(name)
        self.key = domain + '-' + self.oid
        self.unit = unit
        self.decimals = decimals
        self.what = what

    def __repr__(self):
        return 'Entity(%s)' % self.key


def _hexval(c):
    o = ord(c)
    if 48 <= o <= 57:
        return o - 48
    o |= 32
    if 97 <= o <= 102:
        return o - 87
    return -1


def url_unquote(s):
    """Percent-decode a URL path segment ('+' stays '+': it is a space only in query strings)."""
    if '%' not in s:
        return s
    out = bytearray()
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == '%' and i + 2 < n:
            hi = _hexval(s[i + 1])
            lo = _hexval(s[i + 2])
            if hi >= 0 and lo >= 0:
                out.append(hi * 16 + lo)
                i += 3
                continue
        out.extend(c.encode())
        i += 1
    try:
        return bytes(out).decode()
    except Exception:
        return s


def find(entities, domain, ident):
    """The entity of `domain` whose object id or name is ident (URL-decoded), or None."""
    ident = url_unquote(ident)
    for e in entities:
        if e.domain == domain and (e.oid == ident or e.name == ident):
            return e
    return None


def decimals_text(value, decimals):
    """A Dec or int as text with exactly `decimals` decimals, rounded half away from zero."""
    if not isinstance(value, Dec):
        value = Dec(value, 0)
    return Dec(value.scaled(decimals), decimals).text()


def sensor_state(value, decimals, unit=None):
    if value is None:
        return 'NA', None
    s = decimals_text(value, decimals)
    if unit:
        s = s + ' ' + unit
    return s, value


def switch_state(on):
    if on is None:
        return 'NA', None
    return ('ON' if on else 'OFF'), bool(on)


def text_state(s):
    if s is None:
        return '', None
    return s, s


def entity_json(entity, state, value):
    # one formatting: the domain and the object id never need escaping ([a-z0-9_-], see object_id)
    return '{"id":"%s-%s","state":%s,"value":%s}' % (entity.domain, entity.oid, quote(state), dumps(value))


def _named(entity, tail=''):
    # one formatting (a chain of + makes a longer copy at each step: every entity's event is built once
    # a telegram while a browser listens); the domain and the object id never need escaping, so the
    # name_id is the domain, '/' and the quoted name without its opening quote
    qn = quote(entity.name)
    return '{"id":"%s-%s","name_id":"%s/%s,"name":%s%s' % (entity.domain, entity.oid, entity.domain, qn[1:], qn,
                                                            tail)


def event_json(entity, state, value):
    return _named(entity, ',"state":%s,"value":%s}' % (quote(state), dumps(value)))


def unit_of(entity, state):
    """A sensor's unit: the entity's own, else the state text's after its number ('237.0 V' -> 'V')."""
    if entity.domain != SENSOR:
        return None
    unit = getattr(entity, 'unit', None)
    if unit:
        return unit
    i = state.find(' ')
    if i > 0 and state[0] in '-0123456789':
        return state[i + 1:]
    return None


def detail_json(entity, state, value, weight=None):
    parts = [_named(entity), ',"domain":', quote(entity.domain), ',"icon":"","entity_category":0']
    if weight is not None:
        parts.append(',"sorting_weight":%d' % weight)
    uom = unit_of(entity, state)
    if uom:
        parts.append(',"uom":' + quote(uom))
    if entity.domain == SWITCH:
        parts.append(',"assumed_state":false')
    parts.append(',"state":' + quote(state) + ',"value":' + dumps(value) + '}')
    return ''.join(parts)


def action_html(entity):
    if entity.domain == SWITCH:
        return '<button>Toggle</button>'
    if entity.domain == BUTTON:
        return '<button>Press</button>'
    return ''
