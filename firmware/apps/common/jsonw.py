# Exact JSON in and out for the web APIs. Portable (MicroPython and CPython).
#
#   dumps(obj) -> str      dict / list / tuple / str / int / bool / None / Dec / float. A Dec is written as
#                          its decimal text (4592.767 stays 4592.767: the ESP32's 32-bit floats never touch
#                          a register); a float with 6 significant digits (float_text: the same text from
#                          the ESP32's 32-bit floats and CPython's doubles; NaN and infinities as null).
#                          Object keys come out sorted: MicroPython's dicts do not keep the insertion
#                          order, so any other order would differ between the ESP32 and CPython.
#   write(obj, w)          the same text through w(str), piece by piece (literals, keys and strings
#                          without escapes are passed as they are: no intermediate strings)
#   shown(v) -> str        what came, for an error text: dumps(v), or the type's name when v is not JSON
#   loads_object(body) -> (dict, None) or (None, reason)     a request body that must be a JSON object;
#                          the reason says what was expected and what came.
import json

from firmware.fixed import Dec

# the characters JSON escapes by name, and their escapes: a string and a tuple are constants (in flash
# with the code), a dict would be built on the heap at import
_ESC = '"\\\n\r\t\b\f'
_ESC_AS = ('\\"', '\\\\', '\\n', '\\r', '\\t', '\\b', '\\f')


def quote(s):
    """A JSON string literal of s."""
    for c in s:
        if c in _ESC or c < ' ':
            break
    else:  # nothing to escape (the usual case): one string, no list of parts
        return '"%s"' % s
    parts = []
    _quote(s, parts.append)
    return ''.join(parts)


def _quote(s, w):
    w('"')
    start = 0
    i = 0
    for c in s:  # iterating a str allocates nothing: one-character strings are interned
        if c in _ESC or c < ' ':
            if i > start:
                w(s[start:i])
            k = _ESC.find(c)
            w(_ESC_AS[k] if k >= 0 else '\\u%04x' % ord(c))
            start = i + 1
        i += 1
    if start == 0:
        w(s)
    elif start < i:
        w(s[start:])
    w('"')


def write(obj, w):
    """Write obj as JSON text through w(str)."""
    if obj is None:
        w('null')
    elif obj is True:
        w('true')
    elif obj is False:
        w('false')
    elif isinstance(obj, str):
        _quote(obj, w)
    elif isinstance(obj, int):
        w(str(obj))
    elif isinstance(obj, Dec):
        w(obj.text())
    elif isinstance(obj, float):
        if obj != obj or obj in (float('inf'), float('-inf')):
            w('null')  # JSON has no NaN: ArduinoJson (ESPHome) writes null too
        else:
            w(float_text(obj))
    elif isinstance(obj, dict):
        w('{')
        first = True
        for k in sorted(obj):
            if not first:
                w(',')
            first = False
            _quote(k if isinstance(k, str) else str(k), w)
            w(':')
            write(obj[k], w)
        w('}')
    elif isinstance(obj, (list, tuple)):
        w('[')
        for i in range(len(obj)):
            if i:
                w(',')
            write(obj[i], w)
        w(']')
    else:
        raise TypeError('jsonw: cannot write %s' % type(obj).__name__)


def float_text(v):
    """v with 6 significant digits, as '2.5', '5.0', '1e-05', '1.23457e+06'.

    6 digits is what the ESP32's 32-bit floats hold (FLT_DIG): a decimal of up to 6 digits read into a
    32-bit float (the ESP32), a double (CPython) or a double parsed less exactly (MicroPython's
    WebAssembly port reads -991.94 as -991.9400000000001) comes out as the same text. repr() would
    differ between all three. Values that need more digits are kept in integers (firmware/fixed.py)."""
    t = '%.6g' % v
    if '.' in t or 'e' in t or 'n' in t:
        return t
    return t + '.0'


def dumps(obj):
    parts = []
    write(obj, parts.append)
    return parts[0] if len(parts) == 1 else ''.join(parts)


def shown(v):
    """What came, as an error text shows it: v's JSON text (the same on both interpreters, where repr()
    differs: MicroPython escapes non-ASCII characters and keeps its own dict order), or its type's name
    when v is not JSON."""
    try:
        return dumps(v)
    except TypeError:
        return type(v).__name__


def loads_object(body):
    """(dict, None) when body (bytes or str) is one JSON object, else (None, reason)."""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode()
        except Exception:
            return None, 'expected a JSON object in UTF-8, got bytes that are not UTF-8'
    if not body or not body.strip():
        return None, 'expected a JSON object, got an empty body'
    try:
        obj = json.loads(body)
    except Exception as e:
        # not the parser's own words: they differ between MicroPython and CPython
        return None, 'expected a JSON object, got malformed JSON (%d characters that do not parse)' % len(body)
    if not isinstance(obj, dict):
        return None, 'expected a JSON object, got %s' % _kind(obj)
    if _surrogate_escape(body) or _surrogate(obj):
        return None, ('expected text of Unicode characters, got a surrogate escape (\\ud800 ... \\udfff); '
                      'send such characters as UTF-8')
    return obj, None


def _surrogate_escape(text):
    # "\ud800" is a lone surrogate in CPython (a 500 later, or a stored value that breaks every answer)
    # and MicroPython makes a surrogate of each half of an escaped pair ("\ud83d\ude00" too): refuse any
    # \uD800 ... \uDFFF escape on both, the same rule for both interpreters
    i = text.find('\\u')
    while i >= 0:
        h = text[i + 2:i + 4].lower()
        if h[:1] == 'd' and h[1:2] in '89abcdef' and h[1:2] != '':
            # an escaped backslash before it ("\\\\ud800") is text, not an escape
            j = i
            while j > 0 and text[j - 1] == '\\':
                j -= 1
            if (i - j) % 2 == 0:
                return True
        i = text.find('\\u', i + 2)
    return False


def _surrogate(v):
    # a surrogate that came as UTF-8 bytes (MicroPython decodes them; CPython refuses them earlier)
    if isinstance(v, str):
        for c in v:
            if 0xD800 <= ord(c) <= 0xDFFF:
                return True
        return False
    if isinstance(v, dict):
        for k in v:
            if _surrogate(k) or _surrogate(v[k]):
                return True
    elif isinstance(v, list):
        for x in v:
            if _surrogate(x):
                return True
    return False


def _kind(v):
    if v is None:
        return 'null'
    if v is True or v is False:
        return 'a boolean'
    if isinstance(v, str):
        return 'a string'
    if isinstance(v, (int, float)):
        return 'a number'
    if isinstance(v, (list, tuple)):
        return 'an array'
    if isinstance(v, dict):
        return 'an object'
    return type(v).__name__


kind = _kind
