"""MicroPython side of mpy/run.mjs: imports test modules, runs test functions, measures heap.

Runs inside the MicroPython WebAssembly interpreter. MicroPython only: no typing, no f-string format
specs, no os.path. Every function returns a JSON string so the JS side never converts Python objects.
"""
import gc
import io
import json
import sys
import time


def _tb(e):
    """Format an exception's traceback as text."""
    s = io.StringIO()
    sys.print_exception(e, s)
    return s.getvalue()


def add_path(p):
    """Put a folder first on sys.path (once)."""
    if p not in sys.path:
        sys.path.insert(0, p)
    return json.dumps(sys.path)


def load(modname):
    """Import a test module; return its test_* names (definition order is decided by the JS side)."""
    try:
        mod = __import__(modname)
        for part in modname.split('.')[1:]:
            mod = getattr(mod, part)
    except BaseException as e:  # an import failure must become a report, not kill the run
        return json.dumps({'ok': False, 'traceback': _tb(e)})
    names = [n for n in dir(mod) if n.startswith('test_') and callable(getattr(mod, n))]
    return json.dumps({'ok': True, 'tests': names})


def run_one(modname, name):
    """Run one test function; report pass/fail, duration and traceback."""
    mod = sys.modules[modname]
    fn = getattr(mod, name)
    gc.collect()
    t0 = time.ticks_us()
    try:
        fn()
        ok = True
        tb = ''
    except BaseException as e:  # AssertionError and everything else: a failing test, reported
        ok = False
        tb = _tb(e)
    ms = time.ticks_diff(time.ticks_us(), t0) / 1000
    return json.dumps({'ok': ok, 'ms': ms, 'traceback': tb})


# Heap measurement, in phases. The WebAssembly port cannot scan the wasm stack for roots, so it never
# collects while Python code runs: gc.collect() only marks a collection as pending and it happens when
# JavaScript next calls into the interpreter (ports/webassembly/main.c, external_call_depth_inc ->
# gc_collect_top_level), growing the heap instead (MICROPY_GC_SPLIT_HEAP_AUTO). So each phase below is
# a separate call from run.mjs, and within the measuring call nothing is freed: the bytes allocated
# from the first feed to the last result are an upper bound of the peak heap the read needs on a port
# whose collector runs at any time (the ESP32).
_h = {}


def heap_prepare(path, chunk):
    """Load one telegram file and cut it into `chunk`-byte pieces (on the device the UART driver does)."""
    _h.clear()
    with open(path, 'rb') as f:
        data = f.read()
    _h['bytes'] = len(data)
    _h['chunk'] = chunk
    _h['chunks'] = [data[i:i + chunk] for i in range(0, len(data), chunk)]
    from firmware.p1.stack import P1Stack  # imported before measuring: its code is not heap per read
    _h['cls'] = P1Stack
    gc.collect()
    return '{}'


def heap_mark():
    """Build the P1 stack (after a collection) and remember the heap before it."""
    _h['a0'] = gc.mem_alloc()
    _h['stack'] = _h['cls']()  # the stack lives for the whole uptime: built before the read, sized apart
    gc.collect()
    return '{}'


def heap_measure():
    """Feed the chunks to the fresh stack; return the bytes allocated doing so (nothing is freed)."""
    base = gc.mem_alloc()
    st = _h['stack']
    got = []
    gc.disable()
    try:
        for c in _h['chunks']:
            got.extend(st.feed(c))
        if not got:  # the sources' files often lack the CRLF a meter sends after the CRC
            got.extend(st.feed(b'\r\n'))
        if not got:
            got.extend(st.end())
        alloc = gc.mem_alloc() - base
    finally:
        gc.enable()
    _h['got'] = got
    _h['base'] = base
    _h['alloc'] = alloc
    gc.collect()
    return '{}'


def heap_result():
    """After a collection: what the read left allocated (the stack's state plus the parsed telegrams)."""
    live = gc.mem_alloc() - _h['base']
    st = _h['stack']
    n_obj = 0
    for t in _h['got']:
        n_obj += len(t.objects)
    r = {'bytes': _h['bytes'], 'chunk': _h['chunk'], 'telegrams': len(_h['got']), 'objects': n_obj,
         'alloc': _h['alloc'], 'live': live, 'stack': _h['base'] - _h['a0'], 'counters': dict(st.counters)}
    _h.clear()
    gc.collect()
    return json.dumps(r)


def version():
    """MicroPython version as 'x.y.z'."""
    return '%d.%d.%d' % sys.implementation.version[:3]
