"""The UART model behind the wrong-baud fault: exact at matching settings, physical when they differ."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hil.emulators.p1.uart import UartFormat, line_bits, misbaud, receive


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([UartFormat(115200), UartFormat(9600, 7, 'E', 1),
                                                 UartFormat(4800, 8, 'O', 2)]))
def test_matching_settings_receive_what_was_sent(data, fmt):
    mask = (1 << fmt.bytesize) - 1
    assert receive(line_bits(data, fmt), fmt.baudrate, fmt) == bytes(b & mask for b in data)


def test_line_bits_of_one_character():
    # 'A' = 0x41 = 1000001b, LSB first; 7E1: two ones -> parity 0
    assert list(line_bits(b'A', UartFormat(9600, 7, 'E', 1))) == [0, 1, 0, 0, 0, 0, 0, 1, 0, 1]
    assert list(line_bits(b'A', UartFormat(9600, 7, 'O', 2))) == [0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1]


def test_a_sender_at_half_speed_gives_two_characters_per_nul():
    # 0x00 at 4800 baud keeps the line low for 18 bit times of a 9600 receiver: it reads 0x00 with a
    # framing error, resynchronises at once (the line is still low, like a 16550) and reads a second
    # character whose last data bit falls where the sender's stop bit begins: 0x80
    assert misbaud(b'\x00', UartFormat(4800), UartFormat(9600)) == b'\x00\x80'


def test_an_idle_line_gives_nothing():
    assert receive(bytearray(b'\x01' * 50), 9600, UartFormat(115200)) == b''


def test_small_clock_errors_are_tolerated_large_ones_are_not():
    data = b'/FLU5\\253769484_A\r\n1-0:1.8.1(000301.548*kWh)\r\n!C4B0\r\n'
    rx = UartFormat(115200)
    assert misbaud(data, UartFormat(111000), rx) == data          # -3.6 %
    assert misbaud(data, UartFormat(119500), rx) == data          # +3.7 %
    assert misbaud(data, UartFormat(96000), rx) != data
    assert misbaud(data, UartFormat(9600), rx).strip(b'\x00\xf0\xfe\xc0\xff\xfc') == b''


def test_format_validation():
    with pytest.raises(ValueError):
        UartFormat(0)
    with pytest.raises(ValueError):
        UartFormat(9600, 9)
    with pytest.raises(ValueError):
        UartFormat(9600, 8, 'X')
