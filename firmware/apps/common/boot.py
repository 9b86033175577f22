# The start-up both apps share. Portable (MicroPython asyncio and CPython).
#
#   log = make_log()                    print() with a monotonic ms stamp; the board's log is its console
#   await run_tasks(tasks, log)         tasks: list of (name, coroutine function, fatal). A task that
#                                       raises is logged and restarted after RESTART_S (a P1 or WiFi
#                                       hiccup never stops the module); a fatal one (the web server not
#                                       able to listen) ends run_tasks with its exception
#   task_failures                       {name: count} of restarts, for the status APIs
#   tls_provisioned(root) -> bool       the flash holds a TLS identity (TLS_CERT_FILE and TLS_KEY_FILE, put
#                                       there at provisioning: hil/devcert.py): then, and only then, the
#                                       app loads its HTTPS server (firmware/apps/common/https.py, ~10 KB
#                                       of code: docs/security.md says which boards it fits)
import asyncio
import os

try:
    from time import ticks_ms as _ticks_ms
except ImportError:  # CPython
    import time as _time

    def _ticks_ms():
        return int(_time.monotonic() * 1000) & 0x3FFFFFFF

RESTART_S = 1
TLS_CERT_FILE = 'tls_cert.pem'
TLS_KEY_FILE = 'tls_key.pem'

task_failures = {}


def make_log(ticks_ms=None):
    t = ticks_ms or _ticks_ms

    def log(msg):
        print('[%d] %s' % (t(), msg))
    return log


async def _supervise(name, fn, fatal, log):
    while True:
        try:
            await fn()
            log('task %s: ended' % name)
            return
        except asyncio.CancelledError:
            raise
        except Exception as e:
            task_failures[name] = task_failures.get(name, 0) + 1
            if fatal:
                log('task %s: failed: %r; stopping' % (name, e))
                raise
            log('task %s: failed: %r; restarting in %d s' % (name, e, RESTART_S))
            await asyncio.sleep(RESTART_S)


async def run_tasks(tasks, log):
    await asyncio.gather(*[_supervise(name, fn, fatal, log) for name, fn, fatal in tasks])


def tls_provisioned(root):
    root = root.rstrip('/')
    for name in (TLS_CERT_FILE, TLS_KEY_FILE):
        try:
            os.stat(root + '/' + name if root else name)
        except OSError:
            return False
    return True
