# The P1 stack under MicroPython's unix port (x86-64, native emitter), run by benches/bench_p1_native.py
# (never collected by pytest). Each <profile>.p1 file in the folder given as argv[1] holds a stream of
# distinct telegrams; a cold P1Stack reads them one telegram per feed and every value is read, with the
# device's CRC as the ESP32 runs it (crc16_native: viper) and with the byte-table loop (crc16_table, what
# a port without a native emitter runs). The fastest of passes 2-6 is kept. One line per profile:
# P1-NATIVE {json}.
import json
import os
import sys
import time

sys.path.insert(0, sys.argv[2])
from firmware.p1.crc16 import crc16_native, crc16_table  # noqa: E402
from firmware.p1.stack import P1Stack  # noqa: E402


def frames_of(data):
    out = []
    i = 0
    while i < len(data):
        j = data.find(b'/', i + 1)
        if j < 0:
            j = len(data)
        out.append(data[i:j])
        i = j
    return out


def best_us(frames, crc):
    best = None
    for k in range(6):
        stack = P1Stack(crc=crc)
        values = 0
        t0 = time.ticks_us()
        for fr in frames:
            for t in stack.feed(fr):
                for o in t.objects.values():
                    if o.value is not None or o.ts is not None:
                        values += 1
        dt = time.ticks_diff(time.ticks_us(), t0)
        c = stack.counters
        assert c['accepted'] == len(frames) and c['crc_errors'] == 0 and c['parse_errors'] == 0, c
        if k and (best is None or dt < best):
            best = dt
    return best


def crc_us(frames, crc):
    bodies = [fr[:fr.find(b'!') + 1] for fr in frames]
    best = None
    for k in range(6):
        t0 = time.ticks_us()
        for b in bodies:
            crc(b)
        dt = time.ticks_diff(time.ticks_us(), t0)
        if k and (best is None or dt < best):
            best = dt
    return best


assert crc16_native is not None, 'this MicroPython has no native emitter'
folder = sys.argv[1]
for name in sorted(os.listdir(folder)):
    if not name.endswith('.p1'):
        continue
    with open(folder + '/' + name, 'rb') as f:
        frames = frames_of(f.read())
    n = len(frames)
    print('P1-NATIVE ' + json.dumps({
        'profile': name[:-3], 'telegrams': n, 'bytes': len(frames[0]),
        'stack_native_us': best_us(frames, crc16_native) / n,
        'stack_table_us': best_us(frames, crc16_table) / n,
        'crc_native_us': crc_us(frames, crc16_native) / n, 'crc_table_us': crc_us(frames, crc16_table) / n}))
