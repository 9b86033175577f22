"""Telegram profiles: which objects a meter type sends, in which order, with which widths, at which rate.

Each profile copies a real meter's telegram (see test_suites/data/telegrams and SOURCES.md there):

| key          | meter                                   | modelled on                      |
|--------------|-----------------------------------------|----------------------------------|
| emucs17-3p   | Fluvius e-MUCS 1.7 (50217), three-phase | dsmr_parser_08, dsmr_reader_09   |
| emucs17-1p   | Fluvius e-MUCS 1.7, single-phase        | dsmr_reader_06 + 1.7 objects     |
| emucs2-3p    | Fluvius e-MUCS 2.x (50221), three-phase | e-MUCS 2.1 field captures        |
| emucs2-1p    | Fluvius e-MUCS 2.x, single-phase        | as above, L1 only                |
| dsmr5        | DSMR 5.0 (NL), Iskra AM550              | dsmr_parser_05                   |
| dsmr42       | DSMR 4.2, Kaifa                         | dsmr_parser_03                   |
| dsmr22       | DSMR 2.2, Iskra MT382, no CRC, 9600 7E1 | dsmr_parser_01                   |
| smarty       | Luxembourg Smarty P1 1.1 (Sagemcom T210-D), plaintext | dsmr_reader_20 + field captures |

Smarty meters encrypt their telegrams (DLMS GCM with the customer's key); the emulator sends the plaintext
telegram, what a reader sees after decryption.

`lines` lists the blocks of a telegram in order. A block is either the name of something the encoder
computes from the meter state (see encoder.BLOCKS) or, when it starts with '=', a literal line.
"""

from __future__ import annotations

import attrs

CHANNEL = 1  # M-Bus channel of the gas meter


def _fmt(value: tuple[int, int]) -> tuple[int, int]:
    if len(value) != 2 or value[0] < 1 or value[1] < 0:
        raise ValueError('format: expected (integer digits >= 1, decimals >= 0), got %r' % (value,))
    return value


@attrs.frozen
class Profile:
    """How one meter type writes its telegrams and drives its P1 line."""

    key: str
    title: str
    header: str                                 # identification line without the leading '/'
    lines: tuple[str, ...]
    version: tuple[str, str] | None = None      # (reference, value) of the version line
    crc: bool = True
    baudrate: int = 115200
    bytesize: int = 8
    parity: str = attrs.field(default='N', validator=attrs.validators.in_(('N', 'E', 'O')))
    stopbits: int = 1
    period_s: int = 1
    phases: int = attrs.field(default=3, validator=attrs.validators.in_((1, 3)))
    energy_fmt: tuple[int, int] = attrs.field(default=(6, 3), converter=_fmt)    # kWh
    power_fmt: tuple[int, int] = attrs.field(default=(2, 3), converter=_fmt)     # kW
    voltage_fmt: tuple[int, int] = attrs.field(default=(3, 1), converter=_fmt)   # V
    current_fmt: tuple[int, int] = attrs.field(default=(3, 0), converter=_fmt)   # A
    gas_fmt: tuple[int, int] = attrs.field(default=(5, 3), converter=_fmt)       # m3
    energy_order: tuple[str, ...] = ('1.8.1', '1.8.2', '2.8.1', '2.8.2')
    phase_power_paired: bool = False            # 21,22,41,42,61,62 instead of 21,41,61,22,42,62
    gas_id_ref: str = '96.1.0'                  # 96.1.1 on e-MUCS
    gas_ref: str = '24.2.1'                     # 24.2.3 on e-MUCS (temperature-corrected volume)
    gas_period_s: int = 300
    gas_offset_s: int = 0

    @property
    def bits_per_char(self) -> int:
        """Bits on the wire per character: start + data + parity + stop."""
        return 1 + self.bytesize + (0 if self.parity == 'N' else 1) + self.stopbits

    @property
    def line_settings(self) -> str:
        """The UART settings as people write them, e.g. '115200 8N1'."""
        return '%d %d%s%d' % (self.baudrate, self.bytesize, self.parity, self.stopbits)


_EMUCS17_3P = (
    'version', 'id', 'ts', 'energy', 'tariff', 'demand', 'peak', 'history', 'power', 'phase_power',
    'voltage', 'current', '=0-0:96.3.10(1)', '=0-0:17.0.0(999.9*kW)', '=1-0:31.4.0(999*A)', '=0-0:96.13.0()',
    '=0-1:24.1.0(003)', 'gas_id', '=0-1:24.4.0(1)', 'gas',
)
_EMUCS2_3P = (
    'version', '=1-0:94.32.1(400)', 'id', 'ean', 'ts', 'energy', 'tariff', 'demand', 'peak', 'history',
    'power', 'phase_power', 'voltage', 'current', '=0-0:96.3.10(1)', '=0-0:17.0.0(99.999*kW)',
    '=1-0:31.4.0(999.99*A)', '=0-1:96.3.10(0)', '=0-2:96.3.10(0)', '=0-3:96.3.10(0)', '=0-4:96.3.10(0)',
    '=0-0:96.13.0()', '=0-1:24.1.0(003)', 'gas_id', 'gas_ean', '=0-1:24.4.0(1)', 'gas',
)
_DSMR5 = (
    'version', 'ts', 'id', 'energy', 'tariff', 'power', 'failures', 'failure_log', 'sags', 'swells',
    '=0-0:96.13.0()', 'voltage', 'current', 'phase_power', '=0-1:24.1.0(003)', 'gas_id', 'gas',
)
_DSMR42 = (
    'version', 'ts', 'id', 'energy', 'tariff', 'power', 'failures', 'failure_log', 'sags', 'swells',
    '=0-0:96.13.1()', '=0-0:96.13.0()', 'current', 'phase_power', '=0-1:24.1.0(003)', 'gas_id', 'gas',
)
_DSMR22 = (
    'id', 'energy', 'tariff', 'power', '=0-0:17.0.0(0999.00*kW)', '=0-0:96.3.10(1)', '=0-0:96.13.1()',
    '=0-0:96.13.0()', '=0-1:24.1.0(3)', 'gas_id', 'gas22', '=0-1:24.4.0(1)',
)

_SMARTY = (
    'version', 'ts', 'device_name', 'energy_total', '=1-0:3.8.0(000000.000*kvarh)',
    '=1-0:4.8.0(000000.000*kvarh)', 'power', '=1-0:3.7.0(00.000*kvar)', '=1-0:4.7.0(00.000*kvar)',
    '=0-0:17.0.0(027.6*kVA)', 'apparent', '=1-1:31.4.0(040*A)(-040*A)', '=0-0:96.3.10(1)', '=0-1:96.3.10(0)',
    '=0-2:96.3.10(0)', 'failure_count', 'sags', 'swells', '=0-0:96.13.0()', '=0-0:96.13.2()',
    '=0-0:96.13.3()', '=0-0:96.13.4()', '=0-0:96.13.5()', 'voltage', 'current', 'phase_power',
    '=1-0:23.7.0(00.000*kvar)', '=1-0:43.7.0(00.000*kvar)', '=1-0:63.7.0(00.000*kvar)',
    '=1-0:24.7.0(00.000*kvar)', '=1-0:44.7.0(00.000*kvar)', '=1-0:64.7.0(00.000*kvar)',
)

_EMUCS = dict(current_fmt=(3, 2), gas_id_ref='96.1.1', gas_ref='24.2.3', gas_offset_s=2)
_EMUCS17 = dict(_EMUCS, version=('0-0:96.1.4', '50217'))
_EMUCS2 = dict(_EMUCS, version=('0-0:96.1.4', '50221'))

PROFILES: dict[str, Profile] = {p.key: p for p in (
    Profile('emucs17-3p', 'Fluvius e-MUCS 1.7, three-phase, gas on M-Bus', 'FLU5\\253769484_A',
            _EMUCS17_3P, **_EMUCS17),
    Profile('emucs17-1p', 'Fluvius e-MUCS 1.7, single-phase, gas on M-Bus', 'FLU5\\253769484_A',
            _EMUCS17_3P, phases=1, **_EMUCS17),
    Profile('emucs2-3p', 'Fluvius e-MUCS 2.x, three-phase, gas on M-Bus', 'FLU5\\253967035_D',
            _EMUCS2_3P, **_EMUCS2),
    Profile('emucs2-1p', 'Fluvius e-MUCS 2.x, single-phase, gas on M-Bus', 'FLU5\\253967035_D',
            tuple('=1-0:94.32.1(230)' if b == '=1-0:94.32.1(400)' else b for b in _EMUCS2_3P),
            phases=1, **_EMUCS2),
    Profile('dsmr5', 'DSMR 5.0 (NL), three-phase, gas on M-Bus', 'ISK5\\2M550T-1012', _DSMR5,
            version=('1-3:0.2.8', '50'), gas_offset_s=1),
    Profile('dsmr42', 'DSMR 4.2, three-phase, gas on M-Bus (hourly)', 'KFM5KAIFA-METER', _DSMR42,
            version=('1-3:0.2.8', '42'), period_s=10, phase_power_paired=True, gas_period_s=3600),
    Profile('dsmr22', 'DSMR 2.2, no CRC, 9600 7E1, gas value on the next line', 'ISk5\\2MT382-1004', _DSMR22,
            crc=False, baudrate=9600, bytesize=7, parity='E', period_s=10, energy_fmt=(5, 3),
            power_fmt=(4, 2), gas_period_s=3600),
    Profile('smarty', 'Luxembourg Smarty P1 1.1, three-phase, plaintext', 'Lux5\\253000001_D', _SMARTY,
            version=('1-3:0.2.8', '42'), period_s=10),
)}


def get_profile(key: str) -> Profile:
    """Return the profile called key, or raise ValueError naming the ones that exist."""
    try:
        return PROFILES[key]
    except KeyError:
        raise ValueError('profile %r: expected one of %s' % (key, ', '.join(PROFILES))) from None
