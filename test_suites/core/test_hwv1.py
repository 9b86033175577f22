# The HomeWizard v1 parts both modules share (firmware/apps/common/hwv1.py): the system PUT's checks and the
# error body. Portable: runs under CPython (pytest) and MicroPython (mpy/run.mjs).
import json

from firmware.apps.common import hwv1


def test_system_get_is_the_documented_shape():
    assert json.loads(hwv1.SYSTEM_TEXT) == {'cloud_enabled': False}
    assert json.loads(hwv1.IDENTIFY_TEXT) == {'identify': 'ok'}


def test_system_put_accepts_only_cloud_off():
    assert hwv1.system_put({'cloud_enabled': False}) is None
    for bad, word in (({'cloud_enabled': True}, 'no cloud'), ({'cloud_enabled': 0}, 'got 0'),
                      ({}, 'without cloud_enabled'), ({'cloud_enabled': False, 'x': 1}, 'unknown key "x"'),
                      ({'api_v1_enabled': False}, 'expected cloud_enabled')):
        why = hwv1.system_put(bad)
        assert why is not None and word in why and 'expected' in why, (bad, why)


def test_error_body_is_homewizards():
    assert json.loads(hwv1.error_text('x: expected y', hwv1.INVALID_JSON)) == {
        'error': {'id': 2, 'description': 'x: expected y'}}
