# The device side of OTA: POST /update streams an image into the inactive slot, GET /api/ota reports,
# and a health check confirms a freshly installed application (or resets it so the loader counts a
# failed try). Portable (MicroPython asyncio, CPython). The checks themselves are in update.py,
# manifest.py and sigblock.py; the slot choice at boot is the loader's (firmware/main.py).
#
#   svc = for_device(dev)           the board's service (one per HAL), or None without a HAL
#   await svc.upload(read, allow_downgrade) -> (status, dict)   read(n) -> bytes ('' at the end)
#   svc.status()                    the /api/ota document
#   await svc.run(port)             feeds the watchdog; on a trial boot runs the health check, then confirms
#
# Flash layout (hal.flash_root): ota.json (the state, shared with the loader), app/a and app/b (slots, each
# with IMAGE.json; an upload goes to app/<slot>.new and is renamed over the slot once verified), ota/trusted_keys (hex SHA-256 key digests, one a line), ota/board.json.
import asyncio
import os

from firmware.apps.common import jsonw
from firmware.errtext import what
from firmware.ota import manifest as mf
from firmware.ota.errors import OtaError
from firmware.storage import Store

STATE_FILE = 'ota.json'
TRUSTED_FILE = 'ota/trusted_keys'
CHUNK = 1024                    # bytes read from the request per step
STALL_S = 10                    # an upload that sends nothing for this long is abandoned (408)
MAX_PAYLOAD = 1024 * 1024       # a slot holds at most this much payload
HEALTH_S = 30                   # a trial boot must run this long (main loop ticks) before it confirms
FEED_S = 1                      # the watchdog is fed this often
QUIET_S = 5                     # a reboot waits at most this long for HTTP answers on their way

def default_state():
    # a function, not a module-level dict: the dict lives only while a state is loaded (heap budget)
    return {'active': 'factory', 'previous': '', 'pending': '', 'tries': 0, 'floor': 0,
            'state': 'confirmed', 'rolled_back_from': '', 'reason': '', 'trial_error': '',
            'last_error': '', 'updates': 0, 'refused': 0, 'boots': 0, 'slots': {}}

# Filled by the loader before the application is imported: which slot runs, whether it is on trial, the
# watchdog it armed. Empty when an app is started without the loader (unit tests).
BOOT = {}

_services = []


def for_device(dev):
    hal = getattr(dev, 'hal', None)
    if hal is None or not hasattr(hal, 'flash_root'):
        return None
    for s in _services:
        if s.hal is hal:
            return s
    s = OtaService(hal, getattr(dev, 'log', print), getattr(dev, 'store', None))
    _services.append(s)
    return s


def feed_wdt():
    w = BOOT.get('wdt')
    if w is not None:
        w.feed()


def rmtree(path):
    try:
        names = os.listdir(path)
    except OSError:
        return
    for n in names:
        p = path + '/' + n
        try:
            os.remove(p)
        except OSError:
            rmtree(p)
    try:
        os.rmdir(path)
    except OSError:
        pass


class OtaService:
    def __init__(self, hal, log=print, store=None):
        self.hal = hal
        self.log = log
        self.store = store or Store(hal.flash_root, log)  # the app's own when it has one (heap budget)
        self.busy = False
        self.progress = None        # {'phase', 'received', 'expected'} while an upload runs
        self.health = 'not on trial'
        self.reset_pending = False
        self.answering = None       # () -> HTTP answers on their way (set by the web server)
        for s in ('a', 'b'):  # an upload cut by a power loss leaves a partial staging folder
            rmtree(self.store.path('app/%s.new' % s))

    # ---- what this board is ---------------------------------------------------------------------------
    def state(self):
        return self.store.load(STATE_FILE, default_state())

    def running(self):
        return BOOT.get('slot') or self.state()['active']

    def running_meta(self):
        slot = self.running()
        return self.state()['slots'].get(slot) if slot != 'factory' else None

    def trusted(self):
        out = []
        try:
            with open(self.store.path(TRUSTED_FILE)) as f:
                for line in f:
                    line = line.strip()
                    if len(line) == 64:
                        out.append(bytes([int(line[i:i + 2], 16) for i in range(0, 64, 2)]))
        except (OSError, ValueError):
            pass
        return out

    def device(self, allow_downgrade):
        st = self.state()
        meta = self.running_meta()
        free = self.hal.flash_free() if hasattr(self.hal, 'flash_free') else MAX_PAYLOAD
        return {'module': self.hal.kind, 'hw': getattr(self.hal, 'hw_rev', 1),
                'abi': getattr(self.hal, 'mpy_abi', 6), 'max_payload': MAX_PAYLOAD,
                'free': free, 'floor': st['floor'],
                'installed': tuple(meta['version_t']) if meta else None,
                'allow_downgrade': allow_downgrade}

    # ---- POST /update -----------------------------------------------------------------------------------
    async def upload(self, read, allow_downgrade=False):
        """Stream one image from read(n); (status, JSON-able dict). Nothing is written before the head
        passed every check; the state switches only after the whole payload verified."""
        if self.busy:
            return 409, {'error': 'another update is in progress (%s, %d bytes so far): try again later; '
                         'nothing was changed' % (self.progress['phase'], self.progress['received'])}
        st = self.state()
        if st['pending']:
            return 409, {'error': 'slot %s is still on trial (boot %d): wait until it is confirmed or rolled '
                         'back; nothing was changed' % (st['pending'], st['tries'])}
        self.busy = True
        slot = 'b' if st['active'] == 'a' else 'a'
        slot_dir = self.store.path('app/' + slot)
        staging = slot_dir + '.new'   # the old inactive slot stays intact until the new image verified
        wrote = [False]
        running = self.running_meta()

        def prepare(upd):
            m = upd.manifest
            if running is not None and running.get('manifest_sha256') == upd.head_digest:
                raise OtaError(409, 'image %s %s is already installed and running: nothing was changed'
                               % (m.module, mf.version_text(m.version)))
            wrote[0] = True
            rmtree(staging)
            makedirs(staging)
            return staging

        # the update machinery (image reader, signature check, tar writer) is imported by the first upload,
        # not at boot: a board in service keeps its heap for telegrams and requests (docs/memory.md)
        from firmware.ota.untar import makedirs
        from firmware.ota.update import Update
        u = Update(self.device(allow_downgrade), self.trusted(), prepare, getattr(self.hal, 'ota_flavor', 'py'))
        self.progress = {'phase': 'head', 'received': 0, 'expected': None}
        t0 = self.hal.ticks_ms()
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(read(CHUNK), BOOT.get('stall_s', STALL_S))
                except asyncio.TimeoutError:
                    raise OtaError(408, 'upload stalled: no data for %d s after %d bytes' % (BOOT.get('stall_s', STALL_S),
                                                                                       u.received), u.phase)
                if not chunk:
                    break
                u.feed(chunk)
                self.progress['phase'] = u.phase
                self.progress['received'] = u.received
                self.progress['expected'] = u.expected_len() if u.manifest else None
                feed_wdt()
            identity = u.finish()
        except OtaError as e:
            u.abort()
            if wrote[0]:
                rmtree(staging)
            return self._refuse(e, u)
        except Exception as e:  # the flash or the connection failed under us: the old image stays
            u.abort()
            if wrote[0]:
                rmtree(staging)
            self.log('ota: update failed: %r' % (e,))
            return self._refuse(OtaError(500, 'update failed while %s after %d bytes: %s; nothing was changed'
                                         % (u.phase, u.received, what(e)), u.phase), u)
        finally:
            self.busy = False
            self.progress = None
        m = u.manifest
        meta = {'module': m.module, 'version': mf.version_text(m.version), 'version_t': list(m.version),
                'security_counter': m.counter, 'identity': identity, 'manifest_sha256': u.head_digest,
                'source_commit': mf.hexlify(m.commit), 'payload_len': m.payload_len, 'key_block': u.key_index}
        with open(staging + '/IMAGE.json', 'w') as f:
            f.write(jsonw.dumps(meta))  # keys sorted: the same bytes on both interpreters
        rmtree(slot_dir)
        os.rename(staging, slot_dir)  # a cut before this leaves the state pointing at the running slot
        st = self.state()
        st['slots'][slot] = meta
        st['pending'] = slot
        st['tries'] = 0
        st['state'] = 'pending'
        st['trial_error'] = ''
        st['last_error'] = ''
        st['updates'] += 1
        if not self.store.save(STATE_FILE, st):
            rmtree(slot_dir)
            return 507, {'error': 'could not record the new slot (flash write failed): nothing was changed'}
        ms = self.hal.ticks_diff(self.hal.ticks_ms(), t0)
        self.log('ota: installed %s %s (%s...) in slot %s in %d ms; rebooting into it'
                 % (m.module, meta['version'], identity[:16], slot, ms))
        self.reset_pending = True
        return 200, {'result': 'installed', 'slot': slot, 'identity': identity, 'version': meta['version'],
                     'ms': ms, 'reboot': True}

    def _refuse(self, e, u):
        st = self.state()
        st['last_error'] = '%d %s: %s' % (e.status, e.phase, e.message)
        st['refused'] += 1
        self.store.save(STATE_FILE, st)
        self.log('ota: refused (%s, %d bytes): %s' % (e.phase, u.received, e.message))
        return e.status, {'error': e.message, 'phase': e.phase, 'received': u.received}

    # ---- GET /api/ota -------------------------------------------------------------------------------------
    def status(self):
        st = self.state()
        slots = {}
        for name in ('a', 'b'):
            meta = st['slots'].get(name)
            slots[name] = meta if meta else None
        return {'module': self.hal.kind, 'hw': getattr(self.hal, 'hw_rev', 1),
                'mpy_abi': getattr(self.hal, 'mpy_abi', 6), 'running': self.running(),
                'running_identity': (self.running_meta() or {}).get('identity', 'factory'),
                'active': st['active'], 'previous': st['previous'], 'pending': st['pending'],
                'state': st['state'], 'trial': bool(BOOT.get('trial')), 'tries': st['tries'],
                'max_tries': BOOT.get('max_tries', 0), 'health': self.health,
                'security_counter_floor': st['floor'], 'rolled_back_from': st['rolled_back_from'],
                'reason': st['reason'], 'last_error': st['last_error'], 'updates': st['updates'],
                'refused': st['refused'], 'busy': self.busy, 'progress': self.progress,
                'trusted_keys': len(self.trusted()), 'loader': bool(BOOT), 'slots': slots}

    def page_rows(self):
        s = self.status()
        run = s['slots'].get(s['running']) if s['running'] != 'factory' else None
        rows = [('Firmware', 'slot %s, %s' % (s['running'], ('%s (%s...)' % (run['version'], run['identity'][:12]))
                                                if run else 'as made')),
                ('Update state', s['state'] + (' (trial %d of %d: %s)' % (s['tries'], s['max_tries'], s['health'])
                                               if s['trial'] else '')),
                ('Security counter floor', str(s['security_counter_floor']))]
        if s['rolled_back_from']:
            rows.append(('Rolled back from', 'slot %s: %s' % (s['rolled_back_from'], s['reason'])))
        if s['last_error']:
            rows.append(('Last update error', s['last_error']))
        return rows

    # ---- health check and confirmation -------------------------------------------------------------------
    def confirm(self):
        st = self.state()
        slot = st['pending']
        if not slot or slot != BOOT.get('slot'):
            return False
        st['previous'] = st['active']
        st['active'] = slot
        st['pending'] = ''
        st['tries'] = 0
        st['state'] = 'confirmed'
        st['trial_error'] = ''
        counter = st['slots'].get(slot, {}).get('security_counter', 0)
        if counter > st['floor']:
            st['floor'] = counter
        ok = self.store.save(STATE_FILE, st)
        BOOT['trial'] = False
        self.health = 'confirmed' if ok else 'confirm failed: state not saved'
        self.log('ota: slot %s confirmed (security counter floor %d)' % (slot, st['floor']))
        return ok

    async def fail_trial(self, reason):
        st = self.state()
        st['trial_error'] = reason
        self.store.save(STATE_FILE, st)
        self.health = 'failed: ' + reason
        self.log('ota: health check failed on trial boot %d: %s; resetting' % (st['tries'], reason))
        await self.reboot()

    async def reboot(self):
        """Reset once no HTTP answer is on its way (a reset cuts it: the client would read a status line
        and half the headers, e.g. a 200 with no body), but at most QUIET_S later: a flood of requests
        cannot hold the reboot off."""
        t0 = self.hal.ticks_ms()
        while self.answering is not None and self.answering() > 0:
            if self.hal.ticks_diff(self.hal.ticks_ms(), t0) >= QUIET_S * 1000:
                self.log('ota: %d HTTP answers still on their way after %d s; resetting anyway'
                         % (self.answering(), QUIET_S))
                break
            await asyncio.sleep(0.02)
        self.hal.reset()

    async def health_check(self, port, ticks):
        """None when healthy, else the reason."""
        from firmware.apps.common import boot as appboot
        if appboot.task_failures:
            return 'tasks failed: ' + ', '.join(sorted(appboot.task_failures))
        if self.store.errors:
            return 'settings did not load: %s' % self.store.last_error
        try:
            r, w = await asyncio.open_connection('127.0.0.1', port)
            try:
                w.write(b'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n')
                await w.drain()
                line = (await asyncio.wait_for(r.readline(), 10)).decode().strip()
            finally:
                w.close()
        except Exception as e:
            return 'web server did not answer GET /: ' + what(e)
        if ' 200 ' not in line + ' ':
            return 'web server answered GET / with %r' % line
        return None

    async def run(self, port):
        """Feed the watchdog forever; on a trial boot confirm after health_s of ticks, or reset."""
        health_s = BOOT.get('health_s', HEALTH_S)
        ticks = 0
        if BOOT.get('trial'):
            self.health = 'checking: %d s to go' % health_s
        while True:
            feed_wdt()
            if self.reset_pending and not self.busy:
                self.reset_pending = False
                await self.reboot()  # once the answer to the upload is out
            if BOOT.get('trial'):
                ticks += 1
                if ticks >= health_s:
                    why = await self.health_check(port, ticks)
                    if why is None:
                        self.confirm()
                    else:
                        await self.fail_trial(why)
                else:
                    self.health = 'checking: %d s to go' % (health_s - ticks)
            await asyncio.sleep(FEED_S)

