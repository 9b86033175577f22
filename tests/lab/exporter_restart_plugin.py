"""A pytest plugin for the inner run of tests/lab/test_world_place.py: restart the exporter mid-suite.

After the first test it SIGKILLs the labgrid exporter whose pid ``$HIL_TEST_KILL_EXPORTER`` names (its
supervisor, ``hil rig up --export``, starts a new one) and waits on labgrid's update stream until this
process's lease sees the place's resources gone, so the next test's setup must reconnect.
"""

from __future__ import annotations

import os
import signal

import pytest

_DONE: list[bool] = []
_CONFIG: list[pytest.Config] = []


def pytest_configure(config: pytest.Config) -> None:
    """Remember the config (the lease lives in its stash)."""
    _CONFIG[:] = [config]


def pytest_runtest_logfinish(nodeid: str, location: tuple[str, int | None, str]) -> None:
    """After the first test: kill the exporter and wait until our place's resources are gone."""
    pid = int(os.environ.get("HIL_TEST_KILL_EXPORTER", "0"))
    if _DONE or not pid or not _CONFIG:
        return
    _DONE.append(True)
    from hil.lab import pytest_places

    config = _CONFIG[0]
    lease = config.stash[pytest_places._LEASE]
    os.kill(pid, signal.SIGKILL)
    seen = lease.session.wait_for(lambda: (p := lease.problem()) and "is gone" in p and p, 30.0)
    assert seen, f"the holder did not see the exporter {pid} go within 30 s: {lease.events}"
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"exporter {pid} killed after {nodeid}: {seen}")
