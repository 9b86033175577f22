"""`hil release FILE --record record.json --key KEY`: the release gate on the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def release_cmd(
    file: Annotated[Path, typer.Argument(help="The image to release (.bchfw).", exists=True, dir_okay=False)],
    record: Annotated[list[Path], typer.Option(help="A certification record.json of this image (repeat "
                                               "for more rigs).", exists=True, dir_okay=False)],
    key: Annotated[Path, typer.Option(help="The release key (RSA-3072 PEM).", exists=True, dir_okay=False)],
    out: Annotated[Path | None, typer.Option(help="Where the signed image goes (default FILE with "
                                             ".release.bchfw).")] = None,
    ledger: Annotated[Path, typer.Option(help="The releases so far (JSON lines); appended.")] = Path(
        "releases/ledger.jsonl"),
    require_suite: Annotated[list[str] | None, typer.Option(help="A suite every release must have passed "
                                                            "(default test_suites/e2e and test_suites/ota).")
                             ] = None,
    require_rig: Annotated[list[str] | None, typer.Option(help="A rig the records must cover (default "
                                                          "emulated).")] = None,
) -> None:
    """Sign FILE with the release key only if the records prove exactly this image; say why not otherwise."""
    from hil.image.container import ImageError, read
    from hil.image.keys import load_private
    from hil.release import REQUIRED_RIGS, REQUIRED_SUITES, Policy, release

    try:
        img = read(file)
    except ImageError as e:
        typer.echo(f"release: {e}", err=True)
        raise typer.Exit(2) from None
    policy = Policy(tuple(require_suite or REQUIRED_SUITES), tuple(require_rig or REQUIRED_RIGS))
    records = [(str(p), p.read_bytes()) for p in record]
    verdict, signed, attestation = release(img, records, load_private(key), ledger, policy)
    if not verdict.ok or signed is None or attestation is None:
        typer.echo(f"release REFUSED for {file} (identity {img.identity[:16]}...):", err=True)
        for f in verdict.failures:
            typer.echo(f"  - {f}", err=True)
        raise typer.Exit(1)
    target = out or file.with_name(file.name.removesuffix(".bchfw") + ".release.bchfw")
    target.write_bytes(signed.to_bytes())
    att = target.with_name(target.name + ".attestation.json")
    att.write_text(json.dumps(attestation, indent=1), encoding="utf-8")
    typer.echo(f"released {target} (identity {img.identity}); attestation {att}; ledger {ledger}")
