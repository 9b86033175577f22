"""Where the shared example telegrams are, for the P1 suites (reading them is p1_expected's job)."""

from pathlib import Path

from test_suites.core.p1_expected import TELEGRAMS as _TELEGRAMS
from test_suites.core.p1_expected import telegram_bytes

TELEGRAMS = Path(_TELEGRAMS).resolve()

__all__ = ["TELEGRAMS", "all_telegram_names", "telegram_bytes"]


def all_telegram_names() -> list[str]:
    """Every single-telegram example file, sorted."""
    return sorted(p.name for p in TELEGRAMS.glob("*.txt"))
