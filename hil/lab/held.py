"""A place we hold: its resources, a heartbeat, and what happened to it since we took it.

:meth:`hil.lab.session.LabSession.take` returns a :class:`Lease`. It writes the heartbeat
(:mod:`hil.lab.lease`) every lease/3 seconds, follows the place and its resources on the session's
update stream (events: lock lost, place taken away, exporter gone, back, moved), answers
:meth:`Lease.problem` before every test, and gives the place back: release, cancel the reservation,
nudge the scheduler so the next waiter gets it at once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from hil.lab.lease import Beat
from hil.lab.session import LabError, LabSession  # session imports this module only inside take()

log = logging.getLogger("hil.lab")
REACQUIRE_AFTER_S = 20.0  # longer than one labgrid sync tick (15 s): the coordinator's own re-acquire


def _acquire_request(place: str) -> Any:
    from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

    return pb.AcquirePlaceRequest(placename=place)


class Lease:
    """A place we hold: its resources, a heartbeat, and what happened to it since we took it."""

    def __init__(self, session: LabSession, place: str, token: str, lease_s: float, job: str = "") -> None:
        """Describe the held place; :meth:`start` begins the heartbeat."""
        self.session = session
        self.place = place
        self.token = token
        self.lease_s = float(lease_s)
        self.job = job
        self.taken_at = time.time()
        self.timings: dict[str, float] = {}
        self.events: list[tuple[float, str]] = []
        self.beats = 0
        self.beat_errors = 0
        self.reconnects = 0
        self.given_back = False
        self.resources = session.place_resources(place)  # the addresses the rig was resolved against
        self._last = dict(self.resources)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        session.listeners.append(self._on_change)

    def start(self) -> None:
        """Write the first beat now, then every lease/3 seconds on a background thread."""
        self.beat()
        self._thread = threading.Thread(target=self._run, name=f"lease {self.place}", daemon=True)
        self._thread.start()

    def beat(self) -> None:
        """Write one heartbeat into the place's comment."""
        beat = Beat(self.session.holder, os.getpid(), time.time(), self.lease_s, self.token, self.job)
        self.session.set_comment(self.place, beat.comment())
        self.beats += 1

    def _run(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            if not self.session.alive:
                continue
            try:
                self.beat()
            except LabError as exc:
                self.beat_errors += 1
                self._event(f"heartbeat failed: {exc}")

    def _event(self, text: str) -> None:
        self.events.append((time.time(), text))
        log.warning("place %s: %s", self.place, text)

    def _on_change(self, what: tuple[str, ...]) -> None:
        """Note changes of our place or its resources as they stream in (runs on the session's thread)."""
        if what[0] == "lost":
            self._event(
                f"coordinator {self.session.address} went away; labgrid drops every lock when it restarts"
            )
            return
        if what[0] == "place" and what[1] == self.place:
            p = self.session.session.places.get(self.place)
            if not self.given_back and (p is None or p.acquired != self.session.holder):
                self._event(
                    f"place {self.place} is no longer ours: acquired by "
                    f"{(p.acquired if p else None) or 'nobody'}"
                )
            return
        if what[0] == "resource" and not self.given_back:
            now = self.session.place_resources(self.place)
            for name, res in now.items():
                old = self._last.get(name, {})
                if res["avail"] != old.get("avail"):
                    state = "back" if res["avail"] else "gone"
                    self._event(
                        f"resource {name} of exporter {res['exporter']} is {state}"
                        + (f" at {_where(res)}" if res["avail"] else "")
                    )
                elif res["avail"] and _where(res) != _where(old):
                    self._event(f"resource {name} moved from {_where(old)} to {_where(res)}")
            self._last = now

    def owned(self) -> bool:
        """Return whether the coordinator still says we hold the place."""
        if not self.session.alive:
            return False
        p = self.session.places().get(self.place)
        return p is not None and p["acquired"] == self.session.holder

    def problem(self) -> str | None:
        """Return why the place is unusable as resolved (lock lost, taken, exporter gone, moved), or None."""
        return self._state()[1]

    def _state(self) -> tuple[str | None, str | None]:
        """Return (kind, why): kind lost, deleted, taken, gone or moved; (None, None) when all is well."""
        s = self.session
        if not s.alive:
            return "lost", (
                f"place {self.place}: lost the coordinator {s.address} (stopped or restarted); labgrid "
                "drops every lock when its coordinator restarts, so the place is no longer held by us"
            )
        p = s.places().get(self.place)
        if p is None:
            return "deleted", f"place {self.place}: deleted on the coordinator {s.address}"
        if p["acquired"] != s.holder:
            return "taken", (
                f"place {self.place}: taken away: now acquired by {p['acquired'] or 'nobody'} "
                f"(we are {s.holder}; kicked, or released by a janitor after a missed heartbeat?)"
            )
        now = s.place_resources(self.place)
        gone = [n for n in {**self.resources, **now} if not now.get(n, {}).get("avail")]
        if gone:  # unavailable, or no longer among the place's acquired resources
            exporters = sorted({(now.get(n) or self.resources[n])["exporter"] for n in gone})
            return "gone", (
                f"place {self.place}: exporter {', '.join(exporters)} is gone: resources {', '.join(gone)} "
                "unavailable (exporter stopped, or restarted and not yet re-acquired)"
            )
        moved = [
            f"{n} {_where(self.resources.get(n, {}))} -> {_where(r)}"
            for n, r in now.items()
            if _where(r) != _where(self.resources.get(n, {}))
        ]
        if moved:
            return "moved", (
                f"place {self.place}: its exporter restarted and resources moved ({'; '.join(moved)}); "
                "the rig was resolved against the old addresses"
            )
        return None, None

    def reconnect(self, timeout: float, reacquire_after: float = REACQUIRE_AFTER_S) -> str | None:
        """After an exporter restart, wait until the place's resources are back; return None or why not.

        Only an exporter that went away (resources gone) or came back elsewhere (moved) is waited for: a
        lost lock or a place taken away is returned as it is (another job may hold the place now). The
        wait follows labgrid's update stream: the coordinator re-acquires a restarted exporter's
        resources at its next sync (15 s tick); if, ``reacquire_after`` seconds in, the exporter is back
        (every resource published again) but they are not ours, the place is re-acquired (release,
        acquire: our reservation keeps it ours meanwhile; never while the exporter is away, labgrid
        would acquire the place without them).
        On success :attr:`resources` holds the new addresses (the caller resolves the rig again).
        """
        kind, why = self._state()
        if kind is None or kind not in ("gone", "moved"):
            return why
        t0 = time.monotonic()
        s = self.session
        wanted = {n: (r["exporter"], r["group"]) for n, r in self.resources.items()}

        def entries() -> list[Any]:
            res = s.session.resources
            return [res.get(exp, {}).get(grp, {}).get(n) for n, (exp, grp) in wanted.items()]

        def published() -> bool:  # the exporter is back: every resource of ours published and available
            return all(e is not None and bool(e.data) and e.avail for e in entries())

        def back() -> bool:  # ... and acquired for our place, which is still ours
            if not s.alive:
                return True  # stop waiting: reported below
            p = s.session.places.get(self.place)
            return (p is not None and p.acquired == s.holder and published()
                    and all(e.acquired == self.place for e in entries()))

        def remaining() -> float:
            return max(0.0, timeout - (time.monotonic() - t0))

        self._event(f"reconnecting: {why}")
        ok = s.wait_for(back, min(reacquire_after, timeout))
        if not ok and remaining() > 0:
            # the coordinator's own re-acquire missed its tick: once the exporter is back, acquire again
            ok = s.wait_for(lambda: back() or published(), remaining())
            if ok and not s.wait_for(back, 0.0) and s.alive:
                self._event(f"resources back, not ours after {reacquire_after:g} s: re-acquiring the place")
                try:
                    s.release(self.place, fromuser=s.holder)
                    s.rpc("AcquirePlace", _acquire_request(self.place), timeout=30.0)
                except LabError as exc:
                    return f"{why}; re-acquiring the place failed: {exc}"
                s.wait_for(back, remaining())
        kind, why_now = self._state()
        if kind not in (None, "moved"):
            return f"{why_now} (still, {time.monotonic() - t0:.1f} s after the exporter went away; "\
                f"--rig-reconnect {timeout:g})"
        old = self.resources
        self.resources = s.place_resources(self.place)
        self._last = dict(self.resources)
        moved = [f"{n} {_where(old.get(n, {}))} -> {_where(r)}" for n, r in self.resources.items()
                 if _where(r) != _where(old.get(n, {}))]
        self.reconnects += 1
        self._event(f"reconnected after {time.monotonic() - t0:.1f} s"
                    + (f"; moved: {'; '.join(moved)}" if moved else "; same addresses"))
        return None

    def identity(self) -> dict[str, Any]:
        """Return what the certification record keeps: place, exporters, coordinator, holder, token."""
        return {
            "place": self.place,
            "coordinator": self.session.address,
            "holder": self.session.holder,
            "token": self.token,
            "job": self.job,
            "exporters": sorted({r["exporter"] for r in self.resources.values()}),
            "resources": {n: _where(r) for n, r in sorted(self.resources.items())},
            "tags": self.session.places().get(self.place, {}).get("tags", {}),
            "events": [f"{t:.3f} {e}" for t, e in self.events],
        }

    def give_back(self) -> list[str]:
        """Release the place, cancel the reservation, nudge the scheduler; return what failed (idempotent)."""
        if self.given_back:
            return []
        self.given_back = True
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5.0)
        if self._on_change in self.session.listeners:
            self.session.listeners.remove(self._on_change)
        failed = []
        if not self.session.alive:
            return [f"coordinator {self.session.address} gone: nothing to give back"]
        for what, fn in (
            ("release", lambda: self.session.release(self.place, fromuser=self.session.holder)),
            ("comment", lambda: self.session.set_comment(self.place, "")),
            ("cancel", lambda: self.session.cancel(self.token)),
            ("nudge", self.session.nudge),
        ):
            try:
                fn()
            except LabError as exc:
                failed.append(f"{what}: {exc}")
        return failed


def _where(res: dict[str, Any]) -> str:
    if not res:
        return "-"
    host = res.get("host") or res.get("address")
    return f"{host}:{res.get('port')}"
