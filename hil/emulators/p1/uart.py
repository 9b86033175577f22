"""What a UART receiver decodes from a line driven at other settings (the "wrong baud rate" fault).

Pure bit-level emulation: the sender's bytes become a line signal (start bit 0, data bits LSB first,
optional parity, stop bits 1, idle 1); the receiver waits for the line to go low, samples every bit in
the middle of its own bit time and delivers the data bits, framing errors included (the ESP32 UART
hands such bytes over as well). Time is kept in integer units of 1 / (2 * tx_baud * rx_baud) s, so the
result is exact and deterministic.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class UartFormat:
    """Baud rate and character format of one end of a serial line."""

    baudrate: int = attrs.field(validator=attrs.validators.gt(0))
    bytesize: int = attrs.field(default=8, validator=attrs.validators.in_((5, 6, 7, 8)))
    parity: str = attrs.field(default='N', validator=attrs.validators.in_(('N', 'E', 'O')))
    stopbits: int = attrs.field(default=1, validator=attrs.validators.in_((1, 2)))

    @property
    def frame_bits(self) -> int:
        """Bits per character including start, parity and stop bits."""
        return 1 + self.bytesize + (0 if self.parity == 'N' else 1) + self.stopbits


def line_bits(data: bytes, fmt: UartFormat) -> bytearray:
    """Return the line levels (one byte 0/1 per bit) of data sent back to back in format fmt."""
    out = bytearray()
    mask = (1 << fmt.bytesize) - 1
    for b in data:
        b &= mask
        out.append(0)
        ones = 0
        for i in range(fmt.bytesize):
            bit = (b >> i) & 1
            ones += bit
            out.append(bit)
        if fmt.parity == 'E':
            out.append(ones & 1)
        elif fmt.parity == 'O':
            out.append(1 - (ones & 1))
        out.extend(b'\x01' * fmt.stopbits)
    return out


def receive(bits: bytearray, tx_baud: int, rx: UartFormat) -> bytes:
    """Return the bytes a receiver in format rx decodes from line levels `bits` sent at tx_baud."""
    tx_len = 2 * rx.baudrate        # one sender bit, in time units
    rx_len = 2 * tx_baud            # one receiver bit
    n = len(bits)
    end = n * tx_len
    out = bytearray()
    t = 0
    while t < end:
        i = t // tx_len
        if bits[i] != 0:
            j = bits.find(0, i + 1)
            if j < 0:
                break
            t = j * tx_len          # falling edge at the start of sender bit j
        value = 0
        for k in range(rx.bytesize):
            s = (t + rx_len * (k + 1) + rx_len // 2) // tx_len
            if s >= n or bits[s]:
                value |= 1 << k
        out.append(value)
        # back to idle after sampling the (first) stop bit
        t += rx_len * (rx.frame_bits - rx.stopbits) + rx_len // 2
    return bytes(out)


def misbaud(data: bytes, tx: UartFormat, rx: UartFormat) -> bytes:
    """Return what a receiver in format rx makes of data sent in format tx."""
    if tx == rx:
        return bytes(data)
    return receive(line_bits(data, tx), tx.baudrate, rx)
