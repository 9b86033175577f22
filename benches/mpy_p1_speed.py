# Portable timing of the P1 stack under MicroPython (run by benches/bench_p1_micropython.py through
# hil/mpy.py, never collected by pytest itself). Each <profile>.p1 file in the telegram folder holds a
# stream of distinct telegrams; a cold P1Stack (the device's, byte-table CRC) reads them one telegram per
# feed, as the UART task hands them over (the fastest of passes 2-4 is kept).
# One line per profile: P1-SPEED {json}.
import gc
import json
import os
import time

from firmware.p1.crc16 import crc16_arc
from firmware.p1.stack import P1Stack

try:
    from mpy_paths import TELEGRAMS  # written by mpy/run.mjs for --telegrams
except ImportError:
    TELEGRAMS = None


def _frames(data):
    out = []
    i = 0
    while i < len(data):
        j = data.find(b'/', i + 1)
        if j < 0:
            j = len(data)
        out.append(data[i:j])
        i = j
    return out


def test_time_and_heap_per_telegram_of_each_profile():
    if TELEGRAMS is None:
        return
    for name in sorted(os.listdir(TELEGRAMS)):
        if not name.endswith('.p1'):
            continue
        with open(TELEGRAMS + '/' + name, 'rb') as f:
            frames = _frames(f.read())
        # time: the whole stream in one measurement (the WebAssembly port's clock ticks in ms), cold stack;
        # the fastest of passes 2-4 is kept: V8 compiles the interpreter's wasm in tiers (the first pass
        # would time its baseline code), and a shared host slows some passes down
        best = None
        for k in range(4):
            stack = P1Stack()
            values = 0
            t0 = time.ticks_us()
            for fr in frames:
                for t in stack.feed(fr):
                    for o in t.objects.values():  # every value produced, as dsmr-parser does
                        if o.value is not None or o.ts is not None:
                            values += 1
            total_us = time.ticks_diff(time.ticks_us(), t0)
            if k and (best is None or total_us < best):
                best = total_us
        total_us = best
        # the CRC alone (the device's byte table over '/' .. '!'), same passes
        bodies = [fr[:fr.find(b'!') + 1] for fr in frames]
        crc_us = None
        for k in range(4):
            t0 = time.ticks_us()
            for b in bodies:
                crc16_arc(b)
            dt = time.ticks_diff(time.ticks_us(), t0)
            if k and (crc_us is None or dt < crc_us):
                crc_us = dt
        # heap: bytes allocated per telegram by a second cold stack (nothing is collected meanwhile)
        stack2 = P1Stack()
        alloc = []
        for fr in frames:
            a = gc.mem_alloc()
            stack2.feed(fr)
            alloc.append(gc.mem_alloc() - a)
        alloc.sort()
        c = stack.counters
        assert c['accepted'] == len(frames) and c['parse_errors'] == 0 and c['crc_errors'] == 0, c
        print('P1-SPEED ' + json.dumps({
            'profile': name[:-3], 'telegrams': len(frames), 'bytes': len(frames[0]), 'values': values,
            'us_per_telegram': total_us // len(frames), 'us_total': total_us,
            'crc_us_per_telegram': crc_us // len(frames),
            'alloc_median': alloc[len(alloc) // 2], 'alloc_max': alloc[-1]}))
