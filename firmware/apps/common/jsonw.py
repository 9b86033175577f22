# Exact JSON in and out for the web APIs. Portable (MicroPython and CPython).
#
#   dumps(obj) -> str      dict / list / tuple / str / int / bool / None / Dec. A Dec is written as its
#                          decimal text (4592.767 stays 4592.767: the ESP32's 32-bit floats never touch
#                          a register). Key order is the dict's (MicroPython dicts are unordered).
#   loads_object(body) -> (dict, None) or (None, reason)     a request body that must be a JSON object;
#                          the reason says what was expected and what came.
import json

from firmware.fixed import Dec

_ESC = {'"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f'}


def quote(s):
    """A JSON string literal of s."""
    out = None
    for i in range(len(s)):
        c = s[i]
        if c in _ESC or c < ' ':
            if out is None:
                out = [s[:i]]
            out.append(_ESC.get(c) or '\\u%04x' % ord(c))
        elif out is not None:
            out.append(c)
    if out is None:
        return '"' + s + '"'
    return '"' + ''.join(out) + '"'


def _write(obj, parts):
    if obj is None:
        parts.append('null')
    elif obj is True:
        parts.append('true')
    elif obj is False:
        parts.append('false')
    elif isinstance(obj, str):
        parts.append(quote(obj))
    elif isinstance(obj, int):
        parts.append(str(obj))
    elif isinstance(obj, Dec):
        parts.append(obj.text())
    elif isinstance(obj, float):
        if obj != obj or obj in (float('inf'), float('-inf')):
            parts.append('null')  # JSON has no NaN: ArduinoJson (ESPHome) writes null too
        else:
            parts.append(repr(obj))
    elif isinstance(obj, dict):
        parts.append('{')
        first = True
        for k in obj:
            if not first:
                parts.append(',')
            first = False
            parts.append(quote(str(k)))
            parts.append(':')
            _write(obj[k], parts)
        parts.append('}')
    elif isinstance(obj, (list, tuple)):
        parts.append('[')
        for i in range(len(obj)):
            if i:
                parts.append(',')
            _write(obj[i], parts)
        parts.append(']')
    else:
        raise TypeError('jsonw: cannot write %s' % type(obj).__name__)


def dumps(obj):
    parts = []
    _write(obj, parts)
    return ''.join(parts)


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
        return None, 'expected a JSON object, got malformed JSON (%s)' % (e,)
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
    if isinstance(v, list):
        return 'an array'
    return type(v).__name__


kind = _kind
