# Settings and state files in flash, written atomically; a bad file gives defaults, never a crash.
#
# save(): write NAME.tmp, flush it to the medium, rename it over NAME. A rename within one directory is
# atomic on LittleFS (the ESP32's file system) and POSIX: after a power cut or a kill at any instant,
# NAME holds either the old or the new content, never a mix. A FAT volume refuses to rename over an
# existing file; then NAME is removed first, and load() recovers NAME.tmp if the cut fell in between.
# load(): JSON object -> dict, merged onto the defaults key by key (a value of the wrong type keeps the
# default); a missing file is a first boot (defaults, no error); a corrupt or partial file gives the
# defaults plus a logged error and is kept aside as NAME.bad for diagnosis, so the next boot is clean.
# The same bytes on both interpreters: a file is written by jsonw (keys sorted, compact, non-ASCII as
# UTF-8: json.dumps keeps MicroPython's dict order and escapes differently on each); error texts name
# what failed in the firmware's own words (firmware/errtext), never the interpreter's message.
# Portable: MicroPython (ESP32) and CPython, `os` and `json` only.

import json
import os

from firmware.apps.common import jsonw
from firmware.errtext import what


def _log(msg):
    print('storage: ' + msg)


def _exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False


def _remove(p):
    try:
        os.remove(p)
    except OSError:
        pass


def _same_type(v, d):
    if type(v) is type(d):
        return True
    return type(d) is float and type(v) is int  # 5 is a fine value for a float setting


class Store:
    def __init__(self, root, log=_log, fault=None):
        # fault(name) -> True makes the next write of name fail as a worn or full flash would (OSError):
        # the host HAL's injectable write failures (hil/board/hal.py flash_fault); None on the device
        root = root.rstrip('/')
        self.root = root
        self.log = log
        self.fault = fault
        self.errors = 0
        self.saves = 0
        self.recovered = 0
        self.last_error = None
        self._text = {}  # name -> text last loaded or saved (an unchanged save does not wear the flash)

    def path(self, name):
        return self.root + '/' + name if self.root else name

    def _error(self, msg):
        self.errors += 1
        self.last_error = msg
        self.log(msg)

    def _read(self, p):
        """(text, None) or (None, reason); reason None when the file does not exist."""
        if not _exists(p):  # by stat, not by errno: ports number ENOENT differently (wasm: 44)
            return None, None
        try:
            with open(p) as f:
                return f.read(), None
        except Exception as e:  # I/O errors, undecodable bytes and the like
            return None, 'cannot read %s: %s' % (p, what(e))

    def _parse(self, text, p):
        try:
            obj = json.loads(text)
        except Exception:  # not the parser's words: they differ between the interpreters
            return None, '%s: expected a JSON object, found %d characters that do not parse' % (p, len(text))
        if not isinstance(obj, dict):
            return None, '%s: expected a JSON object, found %s' % (p, jsonw.kind(obj))
        return obj, None

    def load_raw(self, name):
        """The stored dict, or None (missing or bad: the reason is logged and counted)."""
        p = self.path(name)
        text, err = self._read(p)
        if text is not None:
            obj, err = self._parse(text, p)
            if obj is not None:
                self._text[name] = text
                return obj
        if err is not None:
            self._error(err + '; using defaults, file kept as ' + p + '.bad')
            _remove(p + '.bad')
            try:
                os.rename(p, p + '.bad')
            except OSError:
                pass
        # the main file is missing or bad: a complete .tmp is the newest intent (a cut between the remove
        # and the rename on FAT, or before the very first rename)
        tmp = p + '.tmp'
        text, _ = self._read(tmp)
        if text is not None:
            obj, _ = self._parse(text, tmp)
            if obj is not None:
                self.recovered += 1
                self.log('recovered %s from %s' % (p, tmp))
                self.save(name, obj)
                return obj
            _remove(tmp)
        return None

    def load(self, name, defaults, check=None):
        """defaults updated with the stored values of the same keys and types.

        check(dict) -> None or a reason: a stored dict it refuses gives the defaults and a logged error.
        """
        out = dict(defaults)
        obj = self.load_raw(name)
        if obj is None:
            return out
        for k in sorted(defaults):   # the errors in one order on both interpreters
            if k in obj:
                v = obj[k]
                if _same_type(v, defaults[k]):
                    out[k] = v
                else:
                    self._error('%s: key %s: expected %s, found %s; using the default %s' % (
                        self.path(name), jsonw.shown(k), type(defaults[k]).__name__, jsonw.shown(v),
                        jsonw.shown(defaults[k])))
        if check is not None:
            why = check(out)
            if why:
                self._error('%s: %s; using defaults' % (self.path(name), why))
                return dict(defaults)
        return out

    def save(self, name, obj):
        """Write obj (a dict) atomically; True on success. On failure the old file stays intact."""
        text = jsonw.dumps(obj)
        if self._text.get(name) == text:
            return True
        p = self.path(name)
        tmp = p + '.tmp'
        try:
            if self.fault is not None and self.fault(name):
                raise OSError(5, 'EIO: write to flash failed (injected)')
            with open(tmp, 'w') as f:
                f.write(text)
                f.flush()
                if hasattr(f, 'fileno') and hasattr(os, 'fsync'):
                    os.fsync(f.fileno())
                elif hasattr(os, 'sync'):
                    os.sync()
            try:
                os.rename(tmp, p)
            except OSError:
                if not _exists(p):
                    raise
                os.remove(p)  # FAT: no rename over an existing file; load() recovers .tmp if cut here
                os.rename(tmp, p)
        except OSError as e:
            _remove(tmp)
            self._error('cannot save %s: %s; the previous content is kept' % (p, what(e)))
            return False
        self._text[name] = text
        self.saves += 1
        return True

    def remove(self, name):
        p = self.path(name)
        _remove(p)
        _remove(p + '.tmp')
        self._text.pop(name, None)
