"""Where the example P1 telegrams live: one place for suites, benchmarks, fuzz seeds, MicroPython runs.

The files are public test data of dsmr_parser and dsmr-reader, carried in the repository under
`test_suites/data/telegrams/` (their origin and licence: `SOURCES.md` there). Set `BCHAIN_TELEGRAMS` to a
folder of `*.txt` telegrams to use other captures instead.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "BCHAIN_TELEGRAMS"
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TELEGRAMS = ROOT / "test_suites" / "data" / "telegrams"


def telegram_dir() -> Path:
    """Return the telegram folder: `$BCHAIN_TELEGRAMS` if set, else the repository's own copy.

    Raises FileNotFoundError naming the folder that was expected and what was found there.
    """
    env = os.environ.get(ENV_VAR)
    d = Path(env) if env else DEFAULT_TELEGRAMS
    if not d.is_dir():
        raise FileNotFoundError(f"telegram folder {d} (from {'$' + ENV_VAR if env else 'the repository'}) "
                                "does not exist")
    if not any(d.glob("*.txt")):
        raise FileNotFoundError(f"telegram folder {d} holds no *.txt telegrams")
    return d
