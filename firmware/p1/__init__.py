# P1 telegram stack: framing (reader), CRC, parsing. Pure code, no I/O.
