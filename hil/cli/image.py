"""`hil build` and `hil image inspect|sign|keygen`: make, look into and sign OTA images."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

image_app = typer.Typer(help="OTA images: inspect, sign, make keys.", no_args_is_help=True)

ROOT = Path(__file__).resolve().parents[2]


@image_app.callback()
def _group() -> None:
    """OTA images: inspect, sign, make keys."""


def _hw(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    if not lo.isdigit() or (hi and not hi.isdigit()):
        raise typer.BadParameter(f"--hw {text!r}: expected N or MIN-MAX (hardware revisions)")
    return int(lo), int(hi or lo)


def build_cmd(
    module: Annotated[list[str] | None,
                      typer.Option(help="smartmeter or smartplug (repeat; default both).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the images.")] = Path("build"),
    version: Annotated[str, typer.Option(help="Firmware version MAJOR.MINOR.PATCH[+BUILD].")] = "1.0.0",
    security_counter: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Anti-rollback counter: "
                                                  "boards refuse images below the highest they "
                                                  "confirmed.")] = 1,
    hw: Annotated[str, typer.Option(help="Hardware revisions the image runs on, N or MIN-MAX.")] = "1",
    source: Annotated[Path, typer.Option(help="The checkout to build from.")] = ROOT,
) -> None:
    """Build each module's unsigned image from the checkout (same commit, same bytes)."""
    from hil.image.build import MODULES, BuildSpec, build, parse_version

    try:
        v = parse_version(version)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from e
    lo, hi = _hw(hw)
    out.mkdir(parents=True, exist_ok=True)
    for mod in module or list(MODULES):
        try:
            img = build(source, BuildSpec(mod, v, security_counter, lo, hi))
        except ValueError as e:
            raise typer.BadParameter(str(e)) from e
        path = out / f"{mod}-{version}.bchfw"
        path.write_bytes(img.to_bytes())
        typer.echo(f"{path}  {len(img.to_bytes())} bytes  identity {img.identity}")


def describe(path: Path, trust: list[Path] | None = None) -> dict:
    """Return the inspect document of an image file."""
    from cryptography.hazmat.primitives import serialization

    from hil.image import payload as pl
    from hil.image import sbv2
    from hil.image.container import read

    img = read(path)
    trusted = {}
    for p in trust or []:
        pub = serialization.load_pem_public_key(p.read_bytes())
        trusted[sbv2.key_digest(pub)] = str(p)  # type: ignore[arg-type]
    sigs = []
    for i, b in enumerate(img.blocks()):
        kd = sbv2.block_key_digest(b)
        sigs.append({"block": i, "key_digest": kd.hex(), "valid": sbv2.verify_block(b, img.manifest_sector),
                     "trusted_as": trusted.get(kd)})
    members = pl.list_payload(img.payload)
    return {"file": str(path), "bytes": len(img.to_bytes()), "identity": img.identity,
            "manifest": img.manifest.as_dict(), "signatures": sigs,
            "payload": {"members": len(members),
                        "mpy_bytes": sum(s for n, s in members if n.startswith("mpy/")),
                        "py_bytes": sum(s for n, s in members if n.startswith("py/"))}}


@image_app.command("inspect")
def inspect_cmd(
    file: Annotated[Path, typer.Argument(help="An image (.bchfw).", exists=True, dir_okay=False)],
    trust: Annotated[list[Path] | None,
                     typer.Option(help="A public key (PEM) to name in the output.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show an image's manifest, hashes and signatures."""
    from hil.image.container import ImageError

    try:
        doc = describe(file, trust)
    except ImageError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
        return
    m = doc["manifest"]
    typer.echo(f"{doc['file']}: {doc['bytes']} bytes")
    typer.echo(f"  identity         {doc['identity']}  (SHA-256 of manifest sector + payload)")
    for k in ("module", "hw", "version", "security_counter", "mpy_abi", "payload_kind", "payload_len",
              "payload_sha256", "source_commit"):
        typer.echo(f"  {k:<16} {m[k]}")
    p = doc["payload"]
    typer.echo(f"  payload          {p['members']} files: {p['mpy_bytes']} bytes .mpy, "
               f"{p['py_bytes']} bytes .py")
    if not doc["signatures"]:
        typer.echo("  signatures       none (unsigned)")
    for s in doc["signatures"]:
        state = "valid" if s["valid"] else "INVALID"
        who = f", trusted as {s['trusted_as']}" if s["trusted_as"] else ""
        typer.echo(f"  signature {s['block']}      {state}, key digest {s['key_digest']}{who}")


@image_app.command("sign")
def sign_cmd(
    file: Annotated[Path, typer.Argument(help="An image (.bchfw).", exists=True, dir_okay=False)],
    key: Annotated[Path, typer.Option(help="RSA-3072 private key (PEM).", exists=True, dir_okay=False)],
    out: Annotated[Path | None, typer.Option(help="Write here (default: in place).")] = None,
) -> None:
    """Add a signature block by KEY (the identity does not change). Releases go through `hil release`."""
    from hil.image.container import read
    from hil.image.keys import load_private

    img = read(file).signed(load_private(key))
    (out or file).write_bytes(img.to_bytes())
    typer.echo(f"{out or file}: {len(img.blocks())} signature block(s), identity {img.identity}")


@image_app.command("keygen")
def keygen_cmd(
    file: Annotated[Path, typer.Argument(help="Where to write the new private key (PEM, mode 0600).")],
) -> None:
    """Make an RSA-3072 signing key; its public half goes to FILE.pub.pem. Never commit it."""
    from hil.image.keys import digest_hex, generate, public_pem

    try:
        key = generate(file)
    except FileExistsError as e:
        raise typer.BadParameter(str(e)) from e
    pub = file.with_name(file.name + ".pub.pem")
    pub.write_bytes(public_pem(key))
    typer.echo(f"{file}: key digest {digest_hex(key)}; public key {pub}")
