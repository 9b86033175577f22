# An exception in the firmware's own words, the same text on MicroPython (the ESP32) and CPython (the rig).
# Portable. The interpreters word their messages differently ("[Errno 111] Connection refused" against
# "[Errno 111] ECONNREFUSED", JSON parser messages, ...), so a text a user, an API or the flash sees names
# what failed itself and takes from the exception only what both interpreters agree on:
#
#   what(e) -> str    an OSError: 'OSError EIO' (the name of its errno, e.args[0]), 'OSError errno 28'
#                     (a number without a name in NAMES), 'OSError' (none); a UnicodeError (CPython's
#                     UnicodeDecodeError too): 'UnicodeError'; anything else: its type's name
#                     ('KeyError', the firmware's own 'HttpError'). Never the message.
#   The name, not the number where there is one (ports may number an error differently; the WebAssembly
#   port's file errors come from Emscripten: ENOENT is 44 there, 2 on Linux). Only the names MicroPython's
#   errno.errorcode has (NAMES, py/moderrno.c) are used, on both: CPython knows more (ENOSPC, a full
#   flash, is 'OSError errno 28' on both, not 'OSError ENOSPC' on one of them).
try:
    from errno import errorcode
except ImportError:  # a port built without errno: numbers only
    errorcode = {}

NAMES = ('EACCES', 'EADDRINUSE', 'EAGAIN', 'EALREADY', 'EBADF', 'ECONNABORTED', 'ECONNREFUSED', 'ECONNRESET',
         'EEXIST', 'EHOSTUNREACH', 'EINPROGRESS', 'EINVAL', 'EIO', 'EISDIR', 'ENOBUFS', 'ENODEV', 'ENOENT',
         'ENOMEM', 'ENOTCONN', 'EOPNOTSUPP', 'EPERM', 'ETIMEDOUT')


def what(e):
    """The exception e as 'OSError NAME' or its type's name: no interpreter-specific text."""
    if isinstance(e, OSError):
        n = e.args[0] if e.args else None
        if isinstance(n, int) and not isinstance(n, bool):
            name = errorcode.get(n)
            return 'OSError ' + name if name in NAMES else 'OSError errno %d' % n
        # CPython's TimeoutError (asyncio's since 3.11) is an OSError without errno; MicroPython's is not
        return 'TimeoutError' if type(e).__name__ == 'TimeoutError' else 'OSError'
    if isinstance(e, UnicodeError):
        return 'UnicodeError'
    return type(e).__name__
