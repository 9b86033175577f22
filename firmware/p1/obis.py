# What each OBIS object of DSMR 2.2 ... 5, Fluvius e-MUCS 1.x/2.x and Luxembourg Smarty holds.
# Key: the reference with an M-Bus channel written as '*' ('0-*:24.2.1'). Value: (kind, units).
# Kinds: N number with a unit from units; I integer; S text; T timestamp; TN timestamp + number;
#        H e-MUCS monthly peak history; L power failure event log; G DSMR 2.2/3 gas (value on next line).

KWH = ('kWh', 'Wh')         # some meters (Sagemcom T210-D-R, EasyMeter) count in Wh and W
KW = ('kW', 'W')
KVARH = ('kvarh', 'varh')
KVAR = ('kvar', 'var')
KVA = ('kVA', 'VA')
LIMIT = ('kW', 'A', 'kVA')   # limiter threshold: kW (DSMR 4+), A (DSMR 2.2/3), kVA (Smarty)
V = ('V',)
A = ('A',)
MBUS_UNITS = ('m3', 'GJ', 'kWh', 'MWh', 'MJ')

OBJECTS = {
    # identification and versions
    '1-3:0.2.8': ('S', None),        # DSMR version
    '0-0:96.1.4': ('S', None),       # e-MUCS version
    '0-0:96.1.1': ('S', None),       # equipment identifier (hex text)
    '0-0:96.1.2': ('S', None),       # EAN code of the connection (e-MUCS 2.x, hex text)
    '0-0:96.1.0': ('S', None),       # equipment identifier (Smarty, DSMR 2.2)
    '0-0:42.0.0': ('S', None),       # logical device name (Smarty)
    '0-0:1.0.0': ('T', None),        # timestamp of the telegram
    # energy registers
    '1-0:1.8.0': ('N', KWH),
    '1-0:1.8.1': ('N', KWH),
    '1-0:1.8.2': ('N', KWH),
    '1-0:2.8.0': ('N', KWH),
    '1-0:2.8.1': ('N', KWH),
    '1-0:2.8.2': ('N', KWH),
    '1-0:3.8.0': ('N', KVARH),
    '1-0:4.8.0': ('N', KVARH),
    '0-0:96.14.0': ('I', None),      # tariff indicator
    # instantaneous power
    '1-0:1.7.0': ('N', KW),
    '1-0:2.7.0': ('N', KW),
    '1-0:3.7.0': ('N', KVAR),
    '1-0:4.7.0': ('N', KVAR),
    '1-0:21.7.0': ('N', KW),
    '1-0:41.7.0': ('N', KW),
    '1-0:61.7.0': ('N', KW),
    '1-0:22.7.0': ('N', KW),
    '1-0:42.7.0': ('N', KW),
    '1-0:62.7.0': ('N', KW),
    '1-0:9.7.0': ('N', KVA),         # Smarty: apparent power, import and export
    '1-0:10.7.0': ('N', KVA),
    '1-0:23.7.0': ('N', KVAR),       # Smarty: reactive power per phase, import and export
    '1-0:24.7.0': ('N', KVAR),
    '1-0:43.7.0': ('N', KVAR),
    '1-0:44.7.0': ('N', KVAR),
    '1-0:63.7.0': ('N', KVAR),
    '1-0:64.7.0': ('N', KVAR),
    # capacity tariff (e-MUCS)
    '1-0:1.4.0': ('N', KW),          # current average demand (running quarter hour)
    '1-0:1.6.0': ('TN', KW),         # this month's peak with its timestamp
    '0-0:98.1.0': ('H', KW),         # up to 13 months of peaks
    # breaker and limiter
    '0-0:96.3.10': ('I', None),      # breaker state
    '0-0:17.0.0': ('N', LIMIT),         # limiter threshold
    '1-0:31.4.0': ('N', A),          # fuse supervision threshold
    # power quality
    '0-0:96.7.21': ('I', None),      # number of power failures
    '0-0:96.7.9': ('I', None),       # number of long power failures
    '1-0:99.97.0': ('L', None),      # long power failure event log
    '1-0:32.32.0': ('I', None),      # voltage sags L1..L3
    '1-0:52.32.0': ('I', None),
    '1-0:72.32.0': ('I', None),
    '1-0:32.36.0': ('I', None),      # voltage swells L1..L3
    '1-0:52.36.0': ('I', None),
    '1-0:72.36.0': ('I', None),
    '1-0:32.7.0': ('N', V),
    '1-0:52.7.0': ('N', V),
    '1-0:72.7.0': ('N', V),
    '1-0:31.7.0': ('N', A),
    '1-0:51.7.0': ('N', A),
    '1-0:71.7.0': ('N', A),
    # messages
    '0-0:96.13.0': ('S', None),
    '0-0:96.13.1': ('S', None),
    '0-0:96.13.2': ('S', None),      # Smarty: text message parts 2..5
    '0-0:96.13.3': ('S', None),
    '0-0:96.13.4': ('S', None),
    '0-0:96.13.5': ('S', None),
    # M-Bus devices (channel n = 1..4)
    '0-*:24.1.0': ('I', None),       # device type
    '0-*:96.1.0': ('S', None),       # equipment identifier
    '0-*:96.1.1': ('S', None),       # equipment identifier (e-MUCS)
    '0-*:96.1.2': ('S', None),       # EAN code of the M-Bus device (e-MUCS 2.x)
    '0-*:96.3.10': ('I', None),      # M-Bus device's breaker / valve state (e-MUCS 2.x)
    '0-*:24.4.0': ('I', None),       # valve position
    '0-*:24.2.1': ('TN', MBUS_UNITS),  # last 5-minute value (DSMR 4/5)
    '0-*:24.2.3': ('TN', MBUS_UNITS),  # last value, not temperature corrected (e-MUCS)
    '0-*:24.3.0': ('G', MBUS_UNITS),   # DSMR 2.2/3 gas, value on the following line
}

# the objects that hold one number with a unit, by reference: the parser's fast path
NUMERIC = {}
for _ref, _spec in OBJECTS.items():
    if _spec[0] == 'N':
        NUMERIC[_ref] = _spec[1]


def kind_of(ref):
    """(kind, units) of a reference, or None for an object no supported standard defines."""
    star = ref.find('*')
    if star > 0:  # an OBIS F group ('1-0:1.8.0*255') names the same object
        ref = ref[:star]
    spec = OBJECTS.get(ref)
    if spec is not None:
        return spec
    if ref[:2] == '0-':
        c = ref.find(':')
        if c > 2 and ref[2:c] != '0':
            return OBJECTS.get('0-*' + ref[c:])
    return None


def channel_of(ref):
    """M-Bus channel of a reference ('0-n:...' with n >= 1), or 0 for the meter's own objects."""
    if ref[:2] != '0-':
        return 0
    c = ref.find(':')
    try:
        return int(ref[2:c])
    except ValueError:
        return 0
