"""The suites in this folder run only through a labgrid place (``--rig-place``)."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip them before any rig starts when no place is asked for."""
    if config.getoption("--rig-place"):
        return
    skip = pytest.mark.skip(reason="runs through a labgrid place: pytest --rig-place NAME|key=value,... "
                                   "(docs/lab.md)")
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(skip)
