"""`hil flash --port PORT FILE`: first install of the loader, the trusted keys and an image (mpremote)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def flash_cmd(
    file: Annotated[Path, typer.Argument(help="A signed image (.bchfw).", exists=True, dir_okay=False)],
    port: Annotated[str, typer.Option(help="The board's serial port (/dev/ttyUSB0, /dev/pts/N).")],
    trust: Annotated[list[Path], typer.Option(help="A public key (PEM) the board will trust (repeat, up "
                                              "to 3); the image must be signed by one.", exists=True)],
    micropython: Annotated[Path | None, typer.Option(help="Write this MicroPython firmware (.bin) with "
                                                     "esptool first (erases the flash).")] = None,
    tls: Annotated[bool, typer.Option(help="Give the module a new TLS key and self-signed certificate for "
                                      "HTTPS (API v2); prints the fingerprint for its label.")] = False,
    name: Annotated[str | None, typer.Option(help="With --tls: the module's name for its certificate "
                                             "(default: read the board's MAC, named as its firmware "
                                             "names itself).")] = None,
) -> None:
    """Install the loader, the trusted keys and the image in slot a on a board running MicroPython."""
    from cryptography.hazmat.primitives import serialization

    from hil.flash import FlashError, flash, write_micropython
    from hil.image import sbv2
    from hil.image.container import ImageError, read

    if len(trust) > 3:
        raise typer.BadParameter(f"{len(trust)} --trust keys: a board trusts at most 3")
    try:
        img = read(file)
        trusted = [sbv2.key_digest(serialization.load_pem_public_key(p.read_bytes())) for p in trust]
        if micropython is not None:
            write_micropython(port, micropython)
        identity = None
        if tls:
            from firmware.hal import device_name, parse_mac
            from hil.devcert import fingerprint, make_identity
            from hil.flash import board_mac

            name = name or device_name(img.manifest.module, parse_mac(board_mac(port)))
            identity = make_identity(name)
        got = flash(port, img, trusted, identity=identity)  # type: ignore[arg-type]
    except (ImageError, FlashError, ValueError) as e:
        typer.echo(f"flash: {e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{port}: {img.manifest.module} {img.manifest.as_dict()['version']} in slot a "
               f"(identity {img.identity[:16]}...), {len(got)} files read back and checked")
    if identity is not None:
        typer.echo(f"label: {name}: https certificate SHA-256 {fingerprint(identity[1])} (the key stays "
                   "on the board only)")
