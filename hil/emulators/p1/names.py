"""What people call each P1 object, identifiers as text, and meter times as local time with their offset.

Used by `hil p1 decode` and `hil p1 monitor`. Names follow the standards' descriptions (DSMR 5.0.2 P1,
e-MUCS H 1.7 / 2.x, Smarty P1 1.1), shortened; an M-Bus channel's objects are named with their channel.
"""

from __future__ import annotations

from firmware.p1.obis import channel_of
from firmware.timebase import CET, local_fields

NAMES: dict[str, str] = {
    '1-3:0.2.8': 'DSMR version',
    '0-0:96.1.4': 'e-MUCS version',
    '0-0:96.1.1': 'meter serial',
    '0-0:96.1.0': 'meter serial',
    '0-0:96.1.2': 'connection EAN',
    '0-0:42.0.0': 'logical device name',
    '0-0:1.0.0': 'meter clock',
    '1-0:1.8.0': 'import total',
    '1-0:1.8.1': 'import T1',
    '1-0:1.8.2': 'import T2',
    '1-0:1.8.3': 'import T3',
    '1-0:1.8.4': 'import T4',
    '1-0:2.8.0': 'export total',
    '1-0:2.8.1': 'export T1',
    '1-0:2.8.2': 'export T2',
    '1-0:2.8.3': 'export T3',
    '1-0:2.8.4': 'export T4',
    '1-0:3.8.0': 'reactive import total',
    '1-0:4.8.0': 'reactive export total',
    '0-0:96.14.0': 'tariff',
    '1-0:1.7.0': 'power import',
    '1-0:2.7.0': 'power export',
    '1-0:3.7.0': 'reactive power import',
    '1-0:4.7.0': 'reactive power export',
    '1-0:9.7.0': 'apparent power import',
    '1-0:10.7.0': 'apparent power export',
    '1-0:21.7.0': 'power import L1',
    '1-0:41.7.0': 'power import L2',
    '1-0:61.7.0': 'power import L3',
    '1-0:22.7.0': 'power export L1',
    '1-0:42.7.0': 'power export L2',
    '1-0:62.7.0': 'power export L3',
    '1-0:23.7.0': 'reactive import L1',
    '1-0:43.7.0': 'reactive import L2',
    '1-0:63.7.0': 'reactive import L3',
    '1-0:24.7.0': 'reactive export L1',
    '1-0:44.7.0': 'reactive export L2',
    '1-0:64.7.0': 'reactive export L3',
    '1-0:32.7.0': 'voltage L1',
    '1-0:52.7.0': 'voltage L2',
    '1-0:72.7.0': 'voltage L3',
    '1-0:31.7.0': 'current L1',
    '1-0:51.7.0': 'current L2',
    '1-0:71.7.0': 'current L3',
    '1-0:1.4.0': 'average demand (quarter)',
    '1-0:1.6.0': 'peak demand this month',
    '0-0:98.1.0': 'peak demand history (months)',
    '0-0:96.3.10': 'breaker state',
    '0-0:17.0.0': 'limiter threshold',
    '1-0:31.4.0': 'fuse supervision threshold',
    '1-1:31.4.0': 'max current import / export',
    '1-0:94.32.1': 'nominal voltage',
    '0-0:96.7.21': 'power failures',
    '0-0:96.7.9': 'long power failures',
    '1-0:99.97.0': 'long power failure log',
    '1-0:32.32.0': 'voltage sags L1',
    '1-0:52.32.0': 'voltage sags L2',
    '1-0:72.32.0': 'voltage sags L3',
    '1-0:32.36.0': 'voltage swells L1',
    '1-0:52.36.0': 'voltage swells L2',
    '1-0:72.36.0': 'voltage swells L3',
    '0-0:96.13.0': 'text message',
    '0-0:96.13.1': 'numeric message',
    '0-0:96.13.2': 'text message 2',
    '0-0:96.13.3': 'text message 3',
    '0-0:96.13.4': 'text message 4',
    '0-0:96.13.5': 'text message 5',
}
MBUS_NAMES: dict[str, str] = {
    '24.1.0': 'device type',
    '96.1.0': 'serial',
    '96.1.1': 'serial',
    '96.1.2': 'EAN',
    '96.3.10': 'valve / relay state',
    '24.4.0': 'valve position',
    '24.2.1': 'reading',
    '24.2.3': 'reading (not corrected)',
    '24.3.0': 'reading (DSMR 2.2)',
}
# objects whose value is ASCII text written as hex digits (serials, EANs, messages)
HEX_TEXT = frozenset(('0-0:96.1.1', '0-0:96.1.0', '0-0:96.1.2', '0-0:42.0.0', '0-0:96.13.0', '0-0:96.13.2',
                      '0-0:96.13.3', '0-0:96.13.4', '0-0:96.13.5'))
MBUS_HEX_TEXT = frozenset(('96.1.0', '96.1.1', '96.1.2'))


def _plain(ref: str) -> str:
    star = ref.find('*')
    return ref[:star] if star > 0 else ref  # an F group ('1-0:1.8.0*255') names the same object


def object_name(ref: str) -> str:
    """Return what the object is called ('import T1', 'M-Bus 1 reading'); '' for unknown objects."""
    ref = _plain(ref)
    ch = channel_of(ref)
    if ch:
        name = MBUS_NAMES.get(ref[ref.find(':') + 1:])
        return 'M-Bus %d %s' % (ch, name) if name else ''
    return NAMES.get(ref, '')


def decoded_text(ref: str, value: object) -> str | None:
    """Return the ASCII text of an identifier or message written in hex (the EAN, a serial), else None."""
    ref = _plain(ref)
    ch = channel_of(ref)
    hexed = ref[ref.find(':') + 1:] in MBUS_HEX_TEXT if ch else ref in HEX_TEXT
    if not hexed or not isinstance(value, str) or not value or len(value) % 2:
        return None
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return None
    if not all(32 <= b < 127 for b in raw):
        return None
    return raw.decode('ascii')


def local_iso(t: int | None, std: int = CET) -> str | None:
    """Return UTC instant t as the meter's local time with its offset, e.g. 2025-01-15T00:30:00+01:00."""
    if t is None:
        return None
    y, mo, d, h, mi, s, summer = local_fields(t, std)
    off = std + (60 if summer else 0)
    sign = '+' if off >= 0 else '-'
    return '%04d-%02d-%02dT%02d:%02d:%02d%s%02d:%02d' % (y, mo, d, h, mi, s, sign, abs(off) // 60,
                                                        abs(off) % 60)
