"""``hil lab janitor``: release places whose holder stopped beating, and hand them on at once.

One pass (:func:`sweep`) reads every place, judges it (:func:`hil.lab.lease.judge`: held by the
heartbeat's holder and its beat older than its lease), and for each stale one: ``release-from`` the dead
holder (atomic: only if that holder still has it), cancels its reservation (else the reservation,
``acquired`` and never expiring, would keep the place allocated to the dead job), and nudges the
scheduler once so the next waiter is allocated now rather than at the coordinator's 15 s tick.
Run it from cron / a CI schedule (one pass) or as a service (``--every S``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import attrs

from hil.lab.lease import Verdict, judge
from hil.lab.session import LabError, LabSession

log = logging.getLogger("hil.lab")


def sweep(session: LabSession, stale_s: float | None = None, now: float | None = None) -> list[Verdict]:
    """Judge every place and free the stale ones; return the verdicts (released ones first)."""
    now = time.time() if now is None else now
    verdicts = [
        judge(name, p["acquired"], p["comment"], p["reservation"], now, stale_s)
        for name, p in sorted(session.places().items())
    ]
    freed = False
    for i, v in enumerate(verdicts):
        if v.action != "release":
            continue
        verdicts[i] = v = attrs.evolve(v, at=time.time())
        session.release(v.place, fromuser=v.holder)
        if v.token:
            try:
                session.cancel(v.token)
            except LabError as exc:  # already gone (expired, or the holder cancelled it): nothing to do
                log.info("janitor: %s: reservation %s: %s", v.place, v.token, exc)
        session.set_comment(v.place, f"hil-janitor released it from {v.holder} at {now:.3f}: {v.reason}")
        log.warning("janitor: released %s: %s", v.place, v.reason)
        freed = True
    if freed:
        session.nudge()
    return sorted(verdicts, key=lambda v: v.action != "release")


class Janitor:
    """:func:`sweep` every ``every_s`` seconds on a background thread (the service form)."""

    def __init__(
        self,
        session: LabSession,
        every_s: float,
        stale_s: float | None = None,
        on_verdicts: Callable[[list[Verdict]], None] | None = None,
    ) -> None:
        """Describe the janitor; :meth:`start` runs it."""
        self.session = session
        self.every_s = every_s
        self.stale_s = stale_s
        self.on_verdicts = on_verdicts
        self.released: list[tuple[float, Verdict]] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Janitor:
        """Sweep now and then every ``every_s`` seconds."""
        self._thread = threading.Thread(target=self._run, name="hil janitor", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            try:
                verdicts = sweep(self.session, self.stale_s)
                self.released += [(v.at or time.time(), v) for v in verdicts if v.action == "release"]
                if self.on_verdicts is not None:
                    self.on_verdicts(verdicts)
            except LabError as exc:
                self.errors.append(str(exc))
                log.error("janitor: %s", exc)
            if self._stop.wait(self.every_s):
                return

    def stop(self) -> None:
        """Stop sweeping."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10.0)
