"""Shared fixtures of the image tests: one build per session (a build runs mpy-cross on every module)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.image import build, keys
from hil.image.container import Image

ROOT = Path(__file__).resolve().parents[2]
COMMIT = bytes.fromhex("11" * 20)


@pytest.fixture(scope="session")
def meter_image() -> Image:
    """The SmartMeter image of this checkout, unsigned, with a fixed commit field."""
    return build.build(ROOT, build.BuildSpec("smartmeter"), commit=COMMIT)


@pytest.fixture(scope="session")
def rig_key():
    """The rig test key (made in the ignored .keys/ folder on first use)."""
    return keys.rig_key()
