"""What goes onto a board: the image manifests (`firmware/manifest_<module>.py`) read on the host.

The manifests are written in micropython-lib's manifest style: Python files calling `metadata()`,
`include()`, `package()`, `module()` and `require()`. This module evaluates them the way MicroPython's
`tools/manifestfile.py` does (paths relative to the manifest being run, `package(path, files=None,
base_path=".")` takes `base_path/path/**/*.py` to the image path `path/**/*.py`, `module(path,
base_path=".")` takes `base_path/path` to `path`, an included file counts once) and lists the files:

    files("smartmeter") -> [(source Path, image path "firmware/p1/reader.py"), ...]   sorted by image path
    load("smartmeter")  -> Manifest(module, metadata, files=[ImageFile(src, dest, origin)])
    loader()            -> the loader's Manifest (boot.py, main.py at the root; never in an update)

`require(name)` takes a third-party package from the host's installed copy (the same release the
emulated boards run, pinned in pyproject.toml), restricted to the modules the device needs
(`DEVICE_FILES`); micropython-lib packages are not used by the firmware.

    python -m hil.manifest smartmeter       # prints image path, size and source of every file
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
MODULES = ("smartmeter", "smartplug")
LOADER = FIRMWARE / "manifest_loader.py"  # flashed once, never in an update

# The modules of a required package that go onto a board. microdot 2.x: the core server is
# microdot/__init__.py + microdot/microdot.py; multipart.py (+ helpers.py, which it imports) reads the OTA
# form upload (firmware/ota/http.py); the rest (test client, sessions, websockets, ASGI/WSGI adapters,
# templates) is host-side or unused by the apps.
DEVICE_FILES: dict[str, tuple[str, ...]] = {
    "microdot": ("__init__.py", "microdot.py", "helpers.py", "multipart.py"),
}

_METADATA_KEYS = frozenset({"description", "version", "license", "author", "pypi", "pypi_publish",
                            "stdlib"})


class ManifestError(ValueError):
    """A manifest that cannot be evaluated: names the manifest, the call, what was expected and found."""


@dataclass(frozen=True)
class ImageFile:
    """One file of an image: where it comes from on the host and where it goes on the board."""

    src: Path
    dest: str
    origin: str  # "firmware" (this repository) or the name of a required package ("microdot")

    @property
    def size(self) -> int:
        """Return the size of the source file in bytes."""
        return self.src.stat().st_size


@dataclass
class Manifest:
    """An evaluated image manifest."""

    module: str
    path: Path
    metadata: dict[str, str] = field(default_factory=dict)
    files: list[ImageFile] = field(default_factory=list)

    def dests(self) -> list[str]:
        """Return the image paths, sorted."""
        return [f.dest for f in self.files]


class _Evaluator:
    """Runs manifest files with the micropython-lib manifest API and collects the files they name."""

    def __init__(self) -> None:
        self.files: dict[str, ImageFile] = {}
        self.metadata: dict[str, str] = {}
        self.visited: set[Path] = set()
        self.stack: list[Path] = []

    # ---- helpers -------------------------------------------------------------------------------
    def _here(self) -> Path:
        return self.stack[-1].parent

    def _where(self) -> str:
        try:
            return str(self.stack[-1].relative_to(ROOT))
        except ValueError:
            return str(self.stack[-1])

    def _add(self, src: Path, dest: str, origin: str, call: str) -> None:
        dest = Path(dest).as_posix()
        if dest.startswith("/") or ".." in Path(dest).parts:
            raise ManifestError(f"{self._where()}: {call}: image path {dest!r} leaves the image root")
        if not dest.endswith(".py"):
            raise ManifestError(f"{self._where()}: {call}: expected a .py file, got {dest!r}")
        if not src.is_file():
            raise ManifestError(f"{self._where()}: {call}: expected a file at {src}, found none")
        old = self.files.get(dest)
        if old is not None and old.src.resolve() != src.resolve():
            raise ManifestError(f"{self._where()}: {call}: {dest} already comes from {old.src}, now {src}")
        self.files[dest] = ImageFile(src, dest, origin)

    def _package_files(self, base: Path, package_path: str, files: tuple[str, ...] | list[str] | None,
                       origin: str, call: str) -> None:
        if files is not None:
            if isinstance(files, str):
                raise ManifestError(f"{self._where()}: {call}: files= expects a list of names, got a string")
            for name in files:
                rel = f"{package_path}/{name}" if package_path else name
                self._add(base / rel, rel, origin, call)
            return
        top = base / package_path
        if not top.is_dir():
            raise ManifestError(f"{self._where()}: {call}: expected a package folder at {top}, found none")
        for p in sorted(top.rglob("*.py")):
            if "__pycache__" in p.parts:
                continue
            self._add(p, p.relative_to(base).as_posix(), origin, call)

    # ---- the manifest API ------------------------------------------------------------------------
    def metadata_(self, **kwargs: str) -> dict[str, str]:
        unknown = set(kwargs) - _METADATA_KEYS
        if unknown:
            raise ManifestError(f"{self._where()}: metadata(): unknown keys {sorted(unknown)}: expected "
                                f"some of {sorted(_METADATA_KEYS)}")
        if len(self.stack) == 1:  # the top-level manifest describes the image
            self.metadata.update({k: str(v) for k, v in kwargs.items()})
        return dict(self.metadata)

    def include(self, manifest_path: str, **_options: object) -> None:
        p = (self._here() / manifest_path).resolve()
        if p.is_dir():
            p = p / "manifest.py"
        self.run(p)

    def package(self, package_path: str, files: tuple[str, ...] | None = None, base_path: str = ".",
                opt: int | None = None) -> None:
        call = f"package({package_path!r})"
        self._package_files((self._here() / base_path).resolve(), package_path.strip("/"), files, "firmware",
                            call)

    def module(self, module_path: str, base_path: str = ".", opt: int | None = None) -> None:
        call = f"module({module_path!r})"
        self._add((self._here() / base_path / module_path).resolve(), module_path, "firmware", call)

    def require(self, name: str, version: str | None = None, **_kwargs: object) -> None:
        call = f"require({name!r})"
        if name not in DEVICE_FILES:
            raise ManifestError(f"{self._where()}: {call}: unknown package: expected one of "
                                f"{sorted(DEVICE_FILES)} (add its device files to hil.manifest.DEVICE_FILES)")
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise ManifestError(f"{self._where()}: {call}: the package {name!r} is not installed on this "
                                f"host: run scripts/setup (pyproject.toml lists it)")
        pkg_dir = Path(next(iter(spec.submodule_search_locations)))
        self._package_files(pkg_dir.parent, name, DEVICE_FILES[name], name, call)

    def run(self, path: Path) -> None:
        path = path.resolve()
        if path in self.visited:
            return
        if not path.is_file():
            where = f"{self._where()}: " if self.stack else ""
            raise ManifestError(f"{where}expected a manifest file at {path}, found none")
        self.visited.add(path)
        env = {"metadata": self.metadata_, "include": self.include, "package": self.package,
               "module": self.module, "require": self.require, "__file__": str(path)}
        self.stack.append(path)
        try:
            code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
            exec(code, env)  # noqa: S102 - a manifest is Python by definition (micropython-lib style)
        except ManifestError:
            raise
        except Exception as e:
            raise ManifestError(f"{self._where()}: the manifest failed: {type(e).__name__}: {e}") from e
        finally:
            self.stack.pop()


def manifest_path(module: str) -> Path:
    """Return the manifest of one module's image (`firmware/manifest_<module>.py`)."""
    if module not in MODULES:
        raise ManifestError(f"no image for module {module!r}: expected one of {', '.join(MODULES)}")
    return FIRMWARE / f"manifest_{module}.py"


def load(module: str, path: Path | None = None) -> Manifest:
    """Evaluate a module's manifest (or the one at `path`) and return its files, sorted by image path."""
    p = path or manifest_path(module)
    ev = _Evaluator()
    ev.run(p)
    return Manifest(module, p, ev.metadata, [ev.files[d] for d in sorted(ev.files)])


def loader() -> Manifest:
    """Evaluate the loader's manifest (`firmware/manifest_loader.py`: /boot.py and /main.py)."""
    return load("loader", LOADER)


def files(module: str) -> list[tuple[Path, str]]:
    """(source path on the host, path in the image) of every file of a module's image, sorted."""
    return [(f.src, f.dest) for f in load(module).files]


def _main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m hil.manifest", description=__doc__.splitlines()[0])
    ap.add_argument("module", choices=MODULES)
    a = ap.parse_args(argv)
    m = load(a.module)
    total = 0
    print(f"{m.module} {m.metadata.get('version', '?')}: {m.metadata.get('description', '')}")
    for f in m.files:
        total += f.size
        print(f"{f.dest:45} {f.size:7}  {f.origin}")
    print(f"{len(m.files)} files, {total} bytes of source")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
