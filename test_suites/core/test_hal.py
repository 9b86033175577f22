# firmware/hal helpers shared by the ESP32 and host HALs (portable).

from firmware.hal import (
    PINS,
    TICKS_MAX,
    UARTS,
    device_name,
    mac_text,
    parse_mac,
    pin_direction,
    ticks_add,
    ticks_diff,
    uart_format,
)


def _raises(fn, *args):
    try:
        fn(*args)
    except ValueError as e:
        return str(e)
    raise AssertionError('no ValueError from %r%r' % (fn, args))


def test_device_names_follow_the_spec():
    mac = parse_mac('24:6F:28:10:02:1E')
    assert mac == bytes([0x24, 0x6F, 0x28, 0x10, 0x02, 0x1E])
    assert device_name('smartplug', mac) == 'smartplug-10021e'
    assert device_name('smartmeter', mac) == 'smartmeter'
    assert mac_text(mac) == '246f2810021e'
    assert parse_mac('246f2810021e') == parse_mac('24-6f-28-10-02-1e') == mac


def test_bad_identities_say_what_was_expected():
    assert 'expected 6 hex bytes' in _raises(parse_mac, 'aa:bb:cc')
    assert "'zz' is not a hex byte" in _raises(parse_mac, 'aa:bb:cc:dd:ee:zz')
    assert 'expected one of' in _raises(device_name, 'toaster', bytes(6))
    assert 'expected 6' in _raises(device_name, 'smartplug', bytes(5))


def test_ticks_wrap_like_micropython():
    assert ticks_diff(5, 3) == 2 and ticks_diff(3, 5) == -2
    assert ticks_diff(2, TICKS_MAX - 1) == 4
    assert ticks_diff(TICKS_MAX - 1, 2) == -4
    assert ticks_add(TICKS_MAX, 3) == 2
    assert ticks_diff(ticks_add(100, -200), 100) == -200


def test_pins_and_uarts_per_board():
    assert pin_direction('smartplug', 'relay') == 'out'
    assert pin_direction('smartplug', 'button') == 'in'
    assert pin_direction('smartmeter', 'p1_request') == 'out'
    assert "no pin 'relay' on a smartmeter" in _raises(pin_direction, 'smartmeter', 'relay')
    assert uart_format('smartplug', 'metering') == (4800, 8, 0, 1)
    assert uart_format('smartmeter', 'p1') == (115200, 8, None, 1)
    assert "no UART 'p1' on a smartplug" in _raises(uart_format, 'smartplug', 'p1')
    assert sorted(PINS) == sorted(UARTS) == ['smartmeter', 'smartplug']


def test_mdns_responder_answers_a_ptr_query():
    import struct

    from firmware.hal.mdns import T_PTR, Responder, encode_name, read_name
    q = struct.pack('>HHHHHH', 0, 0, 1, 0, 0, 0) + encode_name('_hwenergy._tcp.local') + struct.pack('>HH',
                                                                                                   T_PTR, 1)
    r = Responder('smartmeter', [('_hwenergy._tcp', 80, {'path': '/api/v1'})], ip='192.168.1.7')
    out = r.answer(q)
    flags, qd, an, ns, ar = struct.unpack('>HHHHH', out[2:12])
    assert (flags, qd, an, ns, ar) == (0x8400, 0, 1, 0, 3)  # PTR; SRV, TXT, A as additional records
    name, off = read_name(out, 12)
    assert name == '_hwenergy._tcp.local'
    rtype, rclass, ttl, rdlen = struct.unpack('>HHIH', out[off:off + 10])
    assert (rtype, rclass, rdlen) == (T_PTR, 1, len(encode_name('smartmeter._hwenergy._tcp.local')))
    assert read_name(out, off + 10)[0] == 'smartmeter._hwenergy._tcp.local'
    assert r.answer(b'\x00\x01') is None and r.ignored == 1
