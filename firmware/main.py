# The loader: picks the application slot, counts trial boots, arms the watchdog, rolls back. It is never
# updated over the air (it is not in any image) and imports nothing from a slot before it chose one, so a
# broken image cannot break it. Portable: MicroPython (this file is /main.py on the ESP32) and CPython
# (emulated boards: hil/cli/board.py calls boot()). See docs/ota.md.
#
# Flash (the HAL's flash_root): ota.json holds {active, pending, tries, ...} (shared with
# firmware/ota/service.py); app/a and app/b hold the slots; 'factory' is the application the board was
# made with (the checkout on an emulated board, /app/a after `hil flash` on an ESP32).
#
#   decide(state, max_tries) -> (slot, trial, new state)   pure: the whole boot decision
#   boot(hal, config=None, hooks=())                       run the chosen application (does not return)
import json
import os
import sys

STATE_FILE = 'ota.json'
MAX_TRIES = 3                   # failed trial boots before the previous slot comes back
WDT_MS = 30000                  # a trial boot that stops feeding the watchdog this long is reset
APPS = {'smartmeter': 'firmware.apps.smartmeter.app', 'smartplug': 'firmware.apps.smartplug.app'}


def decide(state, max_tries=MAX_TRIES):
    """(slot to run, on trial?, the state to persist before running it)."""
    s = dict(state)
    active = s.get('active') or 'factory'
    pending = s.get('pending') or ''
    s['boots'] = s.get('boots', 0) + 1
    if pending:
        tries = s.get('tries', 0) + 1
        if tries > max_tries:
            s['pending'] = ''
            s['tries'] = 0
            s['state'] = 'rolled back'
            s['rolled_back_from'] = pending
            why = s.get('trial_error') or 'no health confirmation'
            s['reason'] = '%s (slot %s failed %d trial boots)' % (why, pending, max_tries)
            s['trial_error'] = ''
            return active, False, s
        s['tries'] = tries
        s['state'] = 'pending'
        return pending, True, s
    return active, False, s


def slot_dir(root, slot):
    if slot == 'factory':
        return None
    return (root + '/' if root else '') + 'app/' + slot


def _path(root, name):
    return (root + '/' if root else '') + name


def load_state(root):
    for name in (STATE_FILE, STATE_FILE + '.tmp'):  # .tmp: a cut between remove and rename (FAT)
        try:
            with open(_path(root, name)) as f:
                obj = json.loads(f.read())
            if isinstance(obj, dict):
                return obj
        except (OSError, ValueError):
            pass
    return {}


def sorted_json(v):
    # keys sorted (at every depth) and compact, as firmware.storage writes the same file (jsonw: the loader
    # imports nothing from a slot): MicroPython's dict order differs from CPython's, json.dumps would keep it
    if isinstance(v, dict):
        return '{' + ','.join([json.dumps(k) + ':' + sorted_json(v[k]) for k in sorted(v)]) + '}'
    if isinstance(v, list):
        return '[' + ','.join([sorted_json(x) for x in v]) + ']'
    return json.dumps(v)


def save_state(root, state):
    p = _path(root, STATE_FILE)
    text = sorted_json(state)
    with open(p + '.tmp', 'w') as f:
        f.write(text)
    try:
        os.rename(p + '.tmp', p)
    except OSError:
        os.remove(p)
        os.rename(p + '.tmp', p)


def activate(path):
    """Make the slot's firmware package the one `import firmware...` finds from now on."""
    for name in list(sys.modules):
        if name == 'firmware' or name.startswith('firmware.'):
            del sys.modules[name]
    sys.path.insert(0, path)


def record_failure(root, why):
    st = load_state(root)
    st['trial_error'] = why
    save_state(root, st)


def boot(hal, config=None, hooks=(), make_hal=None, root=None, log=print):
    """Choose the slot, count the try, arm the watchdog on a trial, run the application.

    hal: the board's HAL, or None with make_hal() building it from the chosen slot (the ESP32, where
    the HAL is application code) and root its flash folder."""
    config = config or {}
    root = hal.flash_root if hal is not None else (root or '')
    tries = config.get('ota_max_tries') or MAX_TRIES
    before = load_state(root)
    cause = hal.reset_cause() if hal is not None and hasattr(hal, 'reset_cause') else ''
    if before.get('pending') and before.get('tries') and cause == 'watchdog' and not before.get('trial_error'):
        before['trial_error'] = 'watchdog reset: trial boot %d hung' % before['tries']
    slot, trial, state = decide(before, tries)
    save_state(root, state)         # the try is counted before a single line of the slot runs
    if before.get('pending') and not state.get('pending'):
        log('loader: rolled back to slot %s: %s' % (slot, state.get('reason')))
    path = slot_dir(root, slot)
    log('loader: boot %d, slot %s%s' % (state['boots'], slot,
                                       ' (trial %d of %d)' % (state['tries'], tries) if trial else ''))
    try:
        if path is not None:
            activate(path)
        if hal is None:
            hal = make_hal()
        wdt = hal.watchdog(config.get('ota_wdt_ms') or WDT_MS) if trial and hasattr(hal, 'watchdog') else None
        from firmware.ota import service
        service.BOOT.update({'slot': slot, 'trial': trial, 'tries': state.get('tries', 0), 'wdt': wdt,
                             'max_tries': tries, 'health_s': config.get('ota_health_s') or service.HEALTH_S,
                             'stall_s': config.get('ota_stall_s') or service.STALL_S})
        for hook in hooks:
            hook()
        app = __import__(APPS[hal.kind], None, None, ['run'])
        app.run(hal, config)
    except KeyboardInterrupt:
        raise
    except Exception as e:
        if not trial:
            raise
        # ota.json and GET /api/ota get the type only (the same text on both interpreters, whose messages
        # differ); the console gets the whole exception for diagnosis
        from firmware.errtext import what
        why = 'trial boot %d raised %s' % (state.get('tries', 0), what(e))
        log('loader: %s (%r); resetting' % (why, e))
        record_failure(root, why)
        if hal is not None:
            hal.reset()
        import machine  # no HAL: only on the device
        machine.reset()


def _esp32():  # pragma: no cover - the ESP32's entry point
    with open('ota/board.json') as f:
        board = json.loads(f.read())

    def make_hal():
        from firmware.hal.esp32 import Esp32Hal
        return Esp32Hal(board['kind'])
    boot(None, board.get('config'), make_hal=make_hal, root='')


if __name__ == '__main__':
    _esp32()
