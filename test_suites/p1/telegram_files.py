"""Where the shared example telegrams are, for the P1 suites."""

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
TELEGRAMS = SHARED / "telegrams"


def telegram_path(name: str) -> Path:
    """Path of one example telegram or stream file."""
    return TELEGRAMS / name


def telegram_bytes(name: str) -> bytes:
    """The exact bytes of one example telegram or stream file."""
    return telegram_path(name).read_bytes()


def all_telegram_names() -> list[str]:
    """Every single-telegram example file, sorted."""
    return sorted(p.name for p in TELEGRAMS.glob("*.txt") if p.name != "SOURCES.md")
