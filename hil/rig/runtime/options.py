"""How a rig is asked to run (:class:`RuntimeOptions`), its error type and the manual's start values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from firmware.timebase import CET, local_to_utc
from hil.board_process import BOOT_GUARD_S

# Monday 15 January 2024, 09:58 local: winter (heat pump season), day tariff, two minutes before 10:00
DEFAULT_START = local_to_utc(2024, 1, 15, 9, 58, 0, None, CET)
# the manual's screenshot: what the meter's registers show at the start (Wh)
MANUAL_IMPORT_WH = (4_592_767, 6_664_174)
MANUAL_EXPORT_WH = (1_269_851, 439_646)


class RigRuntimeError(RuntimeError):
    """The rig could not be brought up, or a request does not fit this rig; the message says why."""


@attrs.frozen
class RuntimeOptions:
    """How to run a rig (everything has a default; the rig file says what the rig is).

    time_scale: overrides the rig file's (emulated rigs only). p1_period_s: meter seconds between
    telegrams (None: the profile's period, stretched at high time scales so the boards see at most
    about two telegrams per host second). plug_settings: flash settings the emulated plugs start with
    (e.g. ``{"failsafe_n": 1}``; settable only in flash). poll_s: how often plugs poll the SmartMeter
    (None: 5 rig seconds, at least 0.5 host seconds).
    """

    start_utc: int = DEFAULT_START
    time_scale: float | None = None
    seed: int = 1
    p1_period_s: float | None = None
    plug_settings: dict[str, Any] = attrs.field(factory=dict)
    poll_s: float | None = None
    step_s: float = 0.1
    run_dir: Path | None = None
    keep_run_dir: bool = False
    boot_timeout_s: float = BOOT_GUARD_S   # a hang guard in host seconds (hil.board_process)
    clock: str | None = None            # 'virtual' | 'realtime' (None: the rig file's, see Rig.clock_mode)
    quantum_s: float | None = None      # virtual: the boards' timer grid (None: the rig file's)
    ticks_start_ms: int = 0             # what the emulated boards' ticks_ms() reads at boot (wrap tests)
