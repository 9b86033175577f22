# A fixed, seeded day of plug life replayed through the controller; its decision-trace digest is printed
# so test_suites/controller/test_mpy_parity.py can check that CPython and MicroPython decide identically.
# Portable: runs under CPython (pytest) and MicroPython (mpy/run.mjs).
from controller_feed import trace

SEED = 1
HOURS = 36


def test_trace_covers_every_kind_of_boundary_and_prints_its_digest():
    digest, hourly, stats = trace(SEED, HOURS)
    print('CONTROLLER-TRACE seed=%d hours=%d digest=%08x decisions=%d lines=%d' % (
        SEED, HOURS, digest, stats['decisions'], stats['lines']))
    print('CONTROLLER-TRACE-HOURLY ' + ' '.join(['%08x' % x for x in hourly]))
    assert len(hourly) == HOURS
    # the scenario exercises the rules, so equal digests mean something
    for kind in ('switch', 'keep', 'measured', 'void'):
        assert stats.get(kind, 0) > 0, (kind, stats)
    assert stats['c_failsafe'] > 0 and stats['c_gaps'] > 0
    assert stats['c_backwards'] > 0 and stats['c_jumps'] > 0 and stats['c_stale'] > 0
    assert stats['c_manual'] > 0 and stats['decisions'] > 20


def test_trace_is_a_function_of_its_seed():
    a = trace(7, 3)
    assert trace(7, 3) == a
    assert trace(8, 3)[0] != a[0]
