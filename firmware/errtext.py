# An exception in the firmware's own words, the same text on MicroPython (the ESP32) and CPython (the rig).
# Portable. The interpreters word their messages differently ("[Errno 111] Connection refused" against
# "[Errno 111] ECONNREFUSED", JSON parser messages, ...), so a text a user, an API or the flash sees names
# what failed itself and takes from the exception only what both interpreters agree on:
#
#   what(e) -> str    an OSError: 'OSError EIO' (the name of its errno, e.args[0]), 'OSError errno 7'
#                     (a number the port has no name for), 'OSError' (none); a UnicodeError (CPython's
#                     UnicodeDecodeError too): 'UnicodeError'; anything else: its type's name
#                     ('KeyError', the firmware's own 'HttpError'). Never the message.
#   The name, not the number: ESP-IDF's newlib, Linux and the WebAssembly port (Emscripten) number
#   errors differently (ETIMEDOUT is 116, 110 and 73), the names are the same everywhere.
try:
    from errno import errorcode
except ImportError:  # a port built without errno: numbers only
    errorcode = {}


def what(e):
    """The exception e as 'OSError NAME' or its type's name: no interpreter-specific text."""
    if isinstance(e, OSError):
        n = e.args[0] if e.args else None
        if isinstance(n, int) and not isinstance(n, bool):
            name = errorcode.get(n)
            return 'OSError ' + name if name else 'OSError errno %d' % n
        # CPython's TimeoutError (asyncio's since 3.11) is an OSError without errno; MicroPython's is not
        return 'TimeoutError' if type(e).__name__ == 'TimeoutError' else 'OSError'
    if isinstance(e, UnicodeError):
        return 'UnicodeError'
    return type(e).__name__
