"""The texts and flash bytes the firmware makes from given inputs, one line per result, on either interpreter.

Portable (MicroPython and CPython): test_same_text_mpy.py runs `lines()` under both on the same cases and
compares the lines. A line is `<case number> <what> <UTF-8 bytes as hex>`, so nothing of the
interpreters' own printing (repr, escapes) gets between the firmware and the comparison.

A case is a list (JSON): ["flash", obj] saves obj as a flash file, reads it back with defaults of other
types (the "found ..." texts) and as a damaged file; ["json", value] jsonw's text and shown() of a value;
["wifi", ssid, password] the portal's check; ["meter", patch] the SmartPlug's meter settings PUT;
["reading", status, body] the meter link's reading of an answer; ["oserror", number] an OSError with that
errno as the texts name it; ["homewizard", description] the HomeWizard error bodies; ["metersettings",
patch] the SmartMeter's settings PUT; ["plugput", obj] the SmartPlug's PUT /api/v1/state and settings PUT.
"""
import binascii
import os

from firmware.apps.common import hwv1
from firmware.apps.common.jsonw import dumps, shown
from firmware.apps.common.wifi import check_credentials
from firmware.apps.smartmeter import model as meter_model
from firmware.apps.smartplug import hwapi, meterlink
from firmware.apps.smartplug.model import Plug
from firmware.errtext import what
from firmware.storage import Store


def _hex(v):
    if v is None:
        return '-'
    if isinstance(v, str):
        v = v.encode()
    return binascii.hexlify(v).decode()


def _other(v):
    # a default of another type than v, so that load() refuses v and says what it found (not by
    # isinstance(v, int): True is an int on CPython and not on MicroPython)
    return 0 if isinstance(v, str) else 'x'


def _flash(i, obj, folder, out):
    logs = []
    s = Store(folder, log=logs.append)
    name = 'c%d.json' % i
    path = folder + '/' + name
    s.save(name, obj)
    with open(path, 'rb') as f:
        data = f.read()
    out.append('%d file %s' % (i, _hex(data)))
    defaults = {}
    for k in obj:
        defaults[k] = _other(obj[k])
    s.load(name, defaults)
    for line in logs:
        out.append('%d found %s' % (i, _hex(line)))
    del logs[:]
    with open(path, 'wb') as f:   # cut short, as a power cut in the middle of a write would leave it
        f.write(data[:len(data) // 2])
    s.load_raw(name)
    out.append('%d damaged %s' % (i, _hex(' | '.join(logs))))
    for n in os.listdir(folder):
        os.remove(folder + '/' + n)


def _one(i, case, folder, out):
    kind = case[0]
    if kind == 'flash':
        _flash(i, case[1], folder, out)
    elif kind == 'json':
        out.append('%d dumps %s' % (i, _hex(dumps(case[1]))))
        out.append('%d shown %s' % (i, _hex(shown(case[1]))))
    elif kind == 'wifi':
        out.append('%d wifi %s' % (i, _hex(check_credentials(case[1], case[2]))))
    elif kind == 'meter':
        new, why = meterlink.patch_settings(meterlink.DEFAULTS, case[1])
        out.append('%d meter %s %s' % (i, _hex(dumps(new) if new is not None else None), _hex(why)))
    elif kind == 'reading':
        r, why = meterlink.parse_reading(case[1], case[2].encode())
        out.append('%d reading %s %s' % (i, _hex(dumps(r) if r is not None else None), _hex(why)))
    elif kind == 'oserror':
        out.append('%d oserror %s' % (i, _hex(what(OSError(case[1], 'the message')))))
    elif kind == 'homewizard':
        out.append('%d homewizard %s %s' % (i, _hex(hwv1.error_text(case[1], 2)),
                                             _hex(hwapi.error_text(case[1]))))
    elif kind == 'metersettings':
        new, why = meter_model.update_settings(meter_model.DEFAULT_SETTINGS, case[1])
        out.append('%d metersettings %s %s' % (i, _hex(dumps(new) if new is not None else None), _hex(why)))
    elif kind == 'plugput':
        for what_put in ('put_state', 'put_settings'):
            status, body = getattr(Plug(now_ms=0, log=lambda t: None), what_put)(case[1])
            out.append('%d plugput %d %s' % (i, status, _hex(body if isinstance(body, str) else dumps(body))))
    else:
        raise ValueError('case %d: unknown kind %r' % (i, kind))


def lines(cases, folder):
    """The results of every case as text lines; flash files go into folder (made and removed here)."""
    os.mkdir(folder)
    out = []
    try:
        for i in range(len(cases)):
            _one(i, cases[i], folder, out)
    finally:
        for n in os.listdir(folder):
            os.remove(folder + '/' + n)
        os.rmdir(folder)
    return out
