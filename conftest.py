"""Root conftest: registers the project's pytest plugin (hil.fixtures: the rig, boards, instruments)."""

pytest_plugins = ["hil.fixtures.plugin"]
