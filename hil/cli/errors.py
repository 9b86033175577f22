"""One-line errors for every verb: what was expected, what came, where; exit status 2 for bad usage.

- `fail(verb, message, code=2)`: print `hil VERB: message` on stderr and end with `code`;
- `check_serial(option, url)`: a local path must exist (a URL such as socket:// is left to pyserial);
- `check_free(option, host, port)`: the TCP port must be free to listen on (0: the OS picks one);
- `open_serial(verb, url, **settings)`: pyserial's serial_for_url, failing in one line if it cannot open.
"""

from __future__ import annotations

import errno
import socket
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer


def fail(verb: str, message: str, code: int = 2) -> NoReturn:
    """Print `hil VERB: message` on stderr and exit with code (2: bad usage, 1: it ran and failed)."""
    print(f"hil {verb}: {message}", file=sys.stderr, flush=True)
    raise typer.Exit(code)


def check_serial(option: str, url: str) -> None:
    """BadParameter when url is a local path that does not exist (a pty that is gone, a missing adapter)."""
    if "://" in url or url.startswith("loop"):
        return
    if not Path(url).exists():
        raise typer.BadParameter(f"{option} {url}: expected a serial device or a pyserial URL "
                                 "(socket://HOST:PORT, rfc2217://HOST:PORT), got a path that does not exist")


def check_free(option: str, host: str, port: int) -> None:
    """BadParameter when host:port cannot be listened on (in use, or an address this host lacks)."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # as the server itself binds (asyncio sets SO_REUSEADDR): a port a killed board left in TIME_WAIT
        # is free for its restart; one with a listener is not
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                why = "expected a free port to listen on, got one in use"
            else:
                why = f"expected an address to listen on, got: {e.strerror or e}"
            raise typer.BadParameter(f"{option} {host}:{port}: {why}") from None


def open_serial(verb: str, url: str, **settings: Any) -> Any:
    """serial.serial_for_url(url, **settings), or a one-line error (exit 2) naming the port and why."""
    import termios

    import serial

    from hil.board.uart import serial_for_url

    try:
        return serial_for_url(url, **settings)
    except (serial.SerialException, OSError, ValueError, termios.error) as e:
        fail(verb, f"{url}: expected a serial line that opens (a device, a pty, socket://HOST:PORT), "
                   f"got: {e}")
