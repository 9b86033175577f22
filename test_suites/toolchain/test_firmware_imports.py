"""firmware/ imports only what MicroPython on the ESP32 provides (see esp32_modules.py for the list)."""

import ast
from pathlib import Path

import esp32_modules
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"


def firmware_files() -> list[Path]:
    return sorted(p for p in FIRMWARE.rglob("*.py") if "__pycache__" not in p.parts)


def module_of(rel: Path) -> tuple[str, bool]:
    """Dotted module name of a path relative to the repository root, and whether it is a package."""
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def firmware_module_exists(name: str) -> bool:
    p = ROOT.joinpath(*name.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def _fallbacks(tree: ast.AST) -> set[int]:
    """ids of the import nodes in `except ImportError:` handlers: the CPython fallback of a device import
    (`try: from binascii import crc32` / `except ImportError: from zlib import crc32`), never run on the
    device."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            for h in node.handlers:
                names = [h.type] if not isinstance(h.type, ast.Tuple) else list(h.type.elts)
                if any(isinstance(n, ast.Name) and n.id == "ImportError" for n in names):
                    out |= {id(n) for stmt in h.body for n in ast.walk(stmt)}
    return out


def imports_of(src: str, rel: Path) -> list[tuple[int, str, str | None]]:
    """(line, module, imported name or None) for every import in `src` the device runs, relative imports
    resolved (the fallbacks in `except ImportError:` handlers are left out)."""
    tree = ast.parse(src, filename=str(rel))
    here, is_pkg = module_of(rel)
    pkg = here if is_pkg else here.rpartition(".")[0]
    skip = _fallbacks(tree)
    out: list[tuple[int, str, str | None]] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name, None) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")
                anchor = ".".join(parts[: len(parts) - (node.level - 1)])
                base = f"{anchor}.{base}" if base else anchor
            out.extend((node.lineno, base, a.name) for a in node.names)
    return out


def problems(src: str, rel: Path) -> list[str]:
    """List imports in `src` (as if at `rel`) failing on the ESP32: file:line, what came, what is allowed."""
    bad = []
    for line, mod, name in imports_of(src, rel):
        where = f"{rel}:{line}"
        if mod == "firmware" or mod.startswith("firmware."):
            sub = f"{mod}.{name}" if name else mod
            if not (firmware_module_exists(mod) or firmware_module_exists(sub)):
                bad.append(f"{where}: imports {mod!r}, which is not a module under firmware/")
            continue
        if not esp32_modules.allowed(mod):
            bad.append(f"{where}: imports {mod!r}, which the ESP32 port of MicroPython does not provide "
                       f"(allowed: firmware.*, or one of {sorted(esp32_modules.ALLOWED)})")
        elif name is not None and (mod, name) in esp32_modules.MISSING_SUBMODULES:
            bad.append(f"{where}: imports {name!r} from {mod!r}; MicroPython's {mod} has no {name}")
    return bad


def test_there_is_firmware_to_check():
    assert len(firmware_files()) >= 5, f"expected the firmware tree under {FIRMWARE}"


@pytest.mark.parametrize("path", firmware_files(), ids=lambda p: str(p.relative_to(FIRMWARE)))
def test_firmware_file_imports_only_esp32_modules(path: Path):
    bad = problems(path.read_text(encoding="utf-8"), path.relative_to(ROOT))
    assert not bad, "\n".join(bad)


def test_the_checker_flags_each_import_the_device_lacks():
    src = (
        "import typing\n"                          # 1 CPython only
        "from dataclasses import dataclass\n"      # 2 CPython only
        "import os.path\n"                         # 3 MicroPython's os has no path
        "from os import path\n"                    # 4 same, spelled differently
        "import serial\n"                          # 5 pyserial: host side only
        "from firmware.nosuchmodule import x\n"    # 6 not ours either
        "from .nosuch import y\n"                  # 7 relative, resolved to firmware.p1.nosuch
        "import time, struct\n"                    # 8 fine
        "from collections import OrderedDict\n"    # 9 fine
        "import machine, network, esp32\n"         # 10 fine: the device has them
        "from firmware.p1 import crc16\n"          # 11 fine: our own module
        "from . import crc16\n"                    # 12 fine: relative, our own
        "from umqtt.simple import MQTTClient\n"    # 13 fine: frozen
        "import microdot\n"                        # 14 fine: installed with the firmware
        "try:\n"                                   # 15
        "    from binascii import crc32\n"         # 16 fine
        "except ImportError:\n"                    # 17
        "    from zlib import crc32\n"             # 18 fine: the CPython fallback, never run on the device
        "try:\n"                                   # 19
        "    import zlib\n"                        # 20 refused: what the device runs
        "except OSError:\n"                        # 21
        "    pass\n"                               # 22
        "from microdot.test_client import TestClient\n"  # 23 refused: not in the image
    )
    bad = problems(src, Path("firmware/p1/probe.py"))
    assert sorted(int(b.split(":")[1]) for b in bad) == [1, 2, 3, 4, 5, 6, 7, 20, 23], "\n".join(bad)
    assert "'typing'" in bad[0] and "does not provide" in bad[0]
