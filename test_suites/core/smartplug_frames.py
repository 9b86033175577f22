# Portable helper for the SmartPlug's tests: CSE7766 frames built by hand (layout in
# firmware/metering/cse7766.py), so the tests run under CPython and MicroPython without the host emulator.

V_PARAM = 1900000     # uV x us: 1.9e6 / cycle(us) = volts (a typical chip's voltage coefficient, scaled)
I_PARAM = 16000       # mA-ish coefficient
P_PARAM = 5350000     # uJ per CF pulse (typical)


def frame(v_cycle, i_cycle, p_cycle, cf, adj=0x70, state=0x55, vp=V_PARAM, ip=I_PARAM, pp=P_PARAM):
    b = bytearray(24)
    b[0] = state
    b[1] = 0x5A
    regs = ((2, vp), (5, v_cycle), (8, ip), (11, i_cycle), (14, pp), (17, p_cycle))
    for off, v in regs:
        b[off] = (v >> 16) & 0xFF
        b[off + 1] = (v >> 8) & 0xFF
        b[off + 2] = v & 0xFF
    b[20] = adj
    b[21] = (cf >> 8) & 0xFF
    b[22] = cf & 0xFF
    s = 0
    for i in range(2, 23):
        s += b[i]
    b[23] = s & 0xFF
    return bytes(b)


def cycle_for(param, milli_value):
    """The cycle register (us) that makes param / cycle read as milli_value thousandths (rounded)."""
    return (param * 1000 + milli_value // 2) // milli_value


def load_frame(mv, ma, mw, cf):
    """A frame that decodes to mv millivolts, ma milliamps, mw milliwatts, with CF register cf."""
    return frame(cycle_for(V_PARAM, mv), cycle_for(I_PARAM, ma), cycle_for(P_PARAM, mw), cf)


def decoded(param, cycle):
    return (param * 1000 + cycle // 2) // cycle
