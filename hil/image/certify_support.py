"""What `hil certify` does with OTA images (.bchfw): the record's entry, the plugin, the boards' reports.

Kept here so hil/certify needs only a few lines for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from firmware.ota import manifest as mf


def is_ota_image(path: Path) -> bool:
    """Whether path is a .bchfw container (by its magic)."""
    try:
        with path.open("rb") as f:
            return f.read(4) == mf.MAGIC
    except OSError:
        return False


def entry(images: list[Path], out: Path) -> dict[str, Any]:
    """Return the record's image entry; write copies signed with the rig key into out (identity kept)."""
    from hil.image import keys
    from hil.image.container import read

    listed = []
    modules: set[str] = set()
    for p in images:
        img = read(p)
        m = img.manifest
        if m.module in modules:
            raise ValueError(f"--image {p}: a second {m.module} image; give one image per module")
        modules.add(m.module)
        rig_copy = out / f"{m.module}.rig.bchfw"
        rig_copy.write_bytes(img.signed(keys.rig_key()).to_bytes())
        listed.append({"module": m.module, "sha256": img.identity, "version": m.as_dict()["version"],
                       "security_counter": m.counter, "path": str(p), "rig_signed": str(rig_copy)})
    return {"kind": "bchfw", "sha256": listed[0]["sha256"], "images": listed, "boards_running": {},
            "boards_module": {}}


def pytest_args(image_entry: dict[str, Any], out: Path) -> list[str]:
    """Return the arguments that load the OTA plugin for these images."""
    args = ["-p", "hil.image.certify_plugin", "--hil-ota-report", str(out / "ota-boards.json")]
    for i in image_entry["images"]:
        args += ["--hil-ota-image", i["rig_signed"]]
    return args


def merge_reports(image_entry: dict[str, Any], out: Path) -> None:
    """Fold every worker's report into the entry: what each board ran at the start and the end.

    A board counts as running the image only if it ran it at both ends of the session (confirmed);
    with several workers (one rig each) a board name is suffixed with the worker id.
    """
    for f in sorted(out.glob("ota-boards.json*")):
        worker = f.name.removeprefix("ota-boards.json").lstrip(".")
        doc = json.loads(f.read_text(encoding="utf-8"))
        for board, rep in doc["boards"].items():
            key = f"{board}@{worker}" if worker else board
            image_entry["boards_module"][key] = rep.get("module")
            same = rep.get("installed") is not None and rep.get("installed") == rep.get("at_end")
            image_entry["boards_running"][key] = rep.get("at_end") if same else rep.get("installed")
            if rep.get("installed") is not None and not same:
                image_entry["boards_running"][key] = f"changed during the run: {rep.get('at_end')}"
