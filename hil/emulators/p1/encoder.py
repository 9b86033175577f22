"""Telegram encoder: a meter state and a profile in, the exact bytes a meter puts on its P1 line out.

Output: '/' + header, CRLF, empty line, one object per line (CRLF), '!' + CRC-16/ARC of every byte from
'/' through '!' as 4 upper-case hex digits (none for DSMR 2.2) + CRLF. Values have the profile's fixed
widths; rounding is half up. Energy and gas registers wrap around like a real meter's when they outgrow
their width; a power, voltage or current that does not fit is a ValueError (no real meter shows it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import attrs

from firmware.timebase import local_fields
from hil.p1_fastcrc import crc16_arc  # same result as the device's byte table, faster on CPython

from .meter import MeterState
from .profiles import CHANNEL, Profile

PLACEHOLDER_TS = '632525252525W'   # what a meter writes for "no timestamp" (e.g. a month without data)


@attrs.frozen
class Identity:
    """Serial numbers a meter writes (as hex of their ASCII text, like real meters do)."""

    serial: str = '1EMU0000000001'
    gas_serial: str = '7EMU0000000001'
    ean: str = '541449900000000001'
    gas_ean: str = '000000000000000000'
    device_name: str = 'SAG1099900000001'   # Smarty 0-0:42.0.0 (16 characters)


def hex_text(s: str) -> str:
    """Return upper-case hex of the ASCII text s, the way equipment identifiers are written."""
    return s.encode('ascii').hex().upper()


_POW10 = tuple(10 ** i for i in range(40))  # the powers fixed() needs (~25 numbers a telegram)


def fixed(m: int, e: int, fmt: tuple[int, int], what: str, wrap: bool = False) -> str:
    """Write m * 10**-e (m >= 0) as text with fmt = (integer digits, decimals), rounded half up.

    wrap: drop the digits that do not fit (a register rolling over) instead of raising ValueError.
    """
    digits, dec = fmt
    if m < 0:
        raise ValueError('%s: expected a value >= 0, got %d * 10^-%d' % (what, m, e))
    if dec >= e:
        v = m * _POW10[dec - e]
    else:
        q = _POW10[e - dec]
        v = (m + q // 2) // q
    width = digits + dec
    if v >= _POW10[width]:
        if not wrap:
            raise ValueError('%s: %d * 10^-%d does not fit %d.%d digits' % (what, m, e, digits, dec))
        v %= _POW10[width]
    text = '%0*d' % (width, v)
    return text[:digits] + '.' + text[digits:] if dec else text


@functools.lru_cache(maxsize=64)  # a telegram repeats its peak, gas and history times every second
def ts_text(t: int, std: int, flag: bool = True) -> str:
    """Return the DSMR timestamp YYMMDDhhmmss + S (summer) / W (winter) of UTC instant t."""
    y, mo, d, h, mi, s, summer = local_fields(t, std)
    text = '%02d%02d%02d%02d%02d%02d' % (y % 100, mo, d, h, mi, s)
    return text + ('S' if summer else 'W') if flag else text


def _phases(m: MeterState) -> range:
    return range(m.phases)


_L = (('21', '22', '32', '31'), ('41', '42', '52', '51'), ('61', '62', '72', '71'))  # per-phase C groups


def _version(m: MeterState, p: Profile, ident: Identity) -> list[str]:
    if p.version is None:
        return []
    return ['%s(%s)' % p.version]


def _energy(m: MeterState, p: Profile, ident: Identity) -> list[str]:
    regs = {'1.8.1': m.import_wh[0], '1.8.2': m.import_wh[1],
            '2.8.1': m.export_wh[0], '2.8.2': m.export_wh[1]}
    return ['1-0:%s(%s*kWh)' % (ref, fixed(regs[ref], 3, p.energy_fmt, '1-0:' + ref, wrap=True))
            for ref in p.energy_order]


def _kw(w: int, p: Profile, what: str) -> str:
    return fixed(w, 3, p.power_fmt, what) + '*kW'


def _power(m: MeterState, p: Profile, ident: Identity) -> list[str]:
    return ['1-0:1.7.0(%s)' % _kw(m.import_w, p, '1-0:1.7.0'),
            '1-0:2.7.0(%s)' % _kw(m.export_w, p, '1-0:2.7.0')]


def _phase_power(m: MeterState, p: Profile, ident: Identity) -> list[str]:
    imp = ['1-0:%s.7.0(%s)' % (_L[i][0], _kw(m.phase_import_w[i], p, '1-0:%s.7.0' % _L[i][0]))
           for i in _phases(m)]
    exp = ['1-0:%s.7.0(%s)' % (_L[i][1], _kw(m.phase_export_w[i], p, '1-0:%s.7.0' % _L[i][1]))
           for i in _phases(m)]
    if p.phase_power_paired:
        return [line for pair in zip(imp, exp, strict=True) for line in pair]
    return imp + exp


def _voltage(m: MeterState, p: Profile, ident: Identity) -> list[str]:
    return ['1-0:%s.7.0(%s*V)' % (_L[i][2], fixed(m.voltage_dv[i], 1, p.voltage_fmt, '1-0:%s.7.0' % _L[i][2]))
            for i in _phases(m)]


def _current(m: MeterState, p: Profile, ident: Identity) -> list[str]:
    ca = m.current_ca
    return ['1-0:%s.7.0(%s*A)' % (_L[i][3], fixed(ca[i], 2, p.current_fmt, '1-0:%s.7.0' % _L[i][3]))
            for i in _phases(m)]


def _energy_total(m: MeterState, p: Profile, ident: Identity) -> list[str]:
    # Smarty: one import and one export register (no tariffs on the P1 port)
    return ['1-0:%s(%s*kWh)' % (ref, fixed(sum(regs), 3, p.energy_fmt, '1-0:' + ref, wrap=True))
            for ref, regs in (('1.8.0', m.import_wh), ('2.8.0', m.export_wh))]


def _apparent(m: MeterState, p: Profile, ident: Identity) -> list[str]:
    # Smarty 1-0:9.7.0 / 10.7.0 (kVA): the emulated meter's power factor is 1
    return ['1-0:9.7.0(%s)' % _kw(m.import_w, p, '1-0:9.7.0').replace('*kW', '*kVA'),
            '1-0:10.7.0(%s)' % _kw(m.export_w, p, '1-0:10.7.0').replace('*kW', '*kVA')]


def _history(m: MeterState, p: Profile, ident: Identity) -> list[str]:
    if not m.history:
        return ['0-0:98.1.0(0)(1-0:1.6.0)(1-0:1.6.0)()']  # as Fluvius meters write an empty history
    parts = ['0-0:98.1.0(%d)(1-0:1.6.0)(1-0:1.6.0)' % len(m.history)]
    for month_start, peak_at, peak_w in m.history:
        at = PLACEHOLDER_TS if peak_at is None else ts_text(peak_at, m.std)
        parts.append('(%s)(%s)(%s)' % (ts_text(month_start, m.std), at, _kw(peak_w, p, '0-0:98.1.0')))
    return [''.join(parts)]


def _failure_log(m: MeterState, p: Profile, ident: Identity) -> list[str]:
    parts = ['1-0:99.97.0(%d)(0-0:96.7.19)' % len(m.failure_log)]
    for end, duration in m.failure_log:
        parts.append('(%s)(%010d*s)' % (ts_text(end, m.std), duration))
    return [''.join(parts)]


def _gas(m: MeterState, p: Profile, ident: Identity) -> list[str]:
    ts, dm3 = m.gas_reading
    return ['0-%d:%s(%s)(%s*m3)' % (CHANNEL, p.gas_ref, ts_text(ts, m.std),
                                    fixed(dm3, 3, p.gas_fmt, 'gas register', wrap=True))]


def _gas22(m: MeterState, p: Profile, ident: Identity) -> list[str]:
    ts, dm3 = m.gas_reading
    stamp = ts_text(ts, m.std, flag=False)
    return ['0-%d:24.3.0(%s)(00)(60)(1)(0-%d:24.2.1)(m3)' % (CHANNEL, stamp, CHANNEL),
            '(%s)' % fixed(dm3, 3, p.gas_fmt, 'gas register', wrap=True)]


Block = Callable[[MeterState, Profile, Identity], list[str]]

BLOCKS: dict[str, Block] = {
    'version': _version,
    'ts': lambda m, p, ident: ['0-0:1.0.0(%s)' % ts_text(m.t, m.std)],
    'id': lambda m, p, ident: ['0-0:96.1.1(%s)' % hex_text(ident.serial)],
    'ean': lambda m, p, ident: ['0-0:96.1.2(%s)' % hex_text(ident.ean)],
    'device_name': lambda m, p, ident: ['0-0:42.0.0(%s)' % hex_text(ident.device_name)],
    'energy': _energy,
    'energy_total': _energy_total,
    'apparent': _apparent,
    'failure_count': lambda m, p, ident: ['0-0:96.7.21(%05d)' % m.power_failures],
    'tariff': lambda m, p, ident: ['0-0:96.14.0(%04d)' % m.tariff],
    'demand': lambda m, p, ident: ['1-0:1.4.0(%s)' % _kw(m.demand_w, p, '1-0:1.4.0')],
    'peak': lambda m, p, ident: ['1-0:1.6.0(%s)(%s)' % (ts_text(m.peak[0], m.std),
                                                         _kw(m.peak[1], p, '1-0:1.6.0'))],
    'history': _history,
    'power': _power,
    'phase_power': _phase_power,
    'voltage': _voltage,
    'current': _current,
    'failures': lambda m, p, ident: ['0-0:96.7.21(%05d)' % m.power_failures,
                                     '0-0:96.7.9(%05d)' % m.long_power_failures],
    'failure_log': _failure_log,
    'sags': lambda m, p, ident: ['1-0:%s.32.0(%05d)' % (_L[i][2], m.voltage_sags[i]) for i in _phases(m)],
    'swells': lambda m, p, ident: ['1-0:%s.36.0(%05d)' % (_L[i][2], m.voltage_swells[i]) for i in _phases(m)],
    'gas_id': lambda m, p, ident: ['0-%d:%s(%s)' % (CHANNEL, p.gas_id_ref, hex_text(ident.gas_serial))],
    'gas_ean': lambda m, p, ident: ['0-%d:96.1.2(%s)' % (CHANNEL, ident.gas_ean)],
    'gas': _gas,
    'gas22': _gas22,
}


def telegram_lines(meter: MeterState, profile: Profile, identity: Identity | None = None) -> list[str]:
    """Return the object lines of a telegram (no header, no '!' line), as text."""
    if meter.phases != profile.phases:
        raise ValueError('profile %s writes %d phase(s) but the meter has %d'
                         % (profile.key, profile.phases, meter.phases))
    ident = identity or Identity()
    out: list[str] = []
    for block in profile.lines:
        if block.startswith('='):
            out.append(block[1:])
        else:
            out.extend(BLOCKS[block](meter, profile, ident))
    return out


def frame(header: str, lines: list[str], crc: bool = True) -> bytes:
    """Return the bytes of a telegram from its header (without '/') and object lines."""
    body = ('/%s\r\n\r\n%s\r\n!' % (header, '\r\n'.join(lines))).encode('latin-1')
    if not crc:
        return body + b'\r\n'
    return body + b'%04X\r\n' % crc16_arc(body)


def encode_telegram(meter: MeterState, profile: Profile, identity: Identity | None = None) -> bytes:
    """Return the telegram a meter of this profile sends in the meter's current state."""
    return frame(profile.header, telegram_lines(meter, profile, identity), profile.crc)
