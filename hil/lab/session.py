"""One labgrid client session per process, and leases on the places it takes.

``LabSession(coordinator)`` runs labgrid's own :class:`ClientSession` on an event loop in a background
thread (the coordinator refuses a second session from the same process, so there is exactly one:
:func:`shared_session`). Everything it learns arrives on labgrid's stream of place and resource updates,
so waiting for a reservation, noticing a lost lock or a restarted exporter costs no polling.

``lease = session.take(PlaceSpec.parse("module=smartplug"), timeout=60, lease_s=10)`` reserves by
the spec's filter, waits until the coordinator allocates a place to the reservation, acquires it and
starts the heartbeat (:mod:`hil.lab.lease`). ``lease.problem()`` says why the place cannot be used
any more (lock gone after a coordinator restart, taken away, exporter gone, resources moved), or None.
``lease.give_back()`` releases, cancels the reservation, and runs one more scheduling pass so that the
next waiter gets the place at once instead of at the coordinator's next 15 s tick (the "nudge").
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import attr

# gRPC's fork handlers restart its epoll poller in every forked child; when subprocess has closed the
# child's descriptors before exec, that poller fails (EBADF, grpc/grpc#43055) and the child can hang before
# it execs: a board spawned by a process holding a lab session (`hil rig up --export`, a test worker) then
# never starts. These processes fork only to exec, so gRPC needs no fork support: off before it loads.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import grpc  # noqa: E402
from labgrid.remote.client import ClientSession  # noqa: E402
from labgrid.remote.generated import labgrid_coordinator_pb2 as pb

from hil.lab.spec import PlaceSpec

if TYPE_CHECKING:
    from hil.lab.held import Lease

log = logging.getLogger("hil.lab")

DEFAULT_COORDINATOR = "127.0.0.1:20408"
NUDGE_FILTER = {"hilnudge": "1"}  # matches no place: a reservation that only triggers a scheduling pass
STATES = {0: "waiting", 1: "allocated", 2: "acquired", 3: "expired", 4: "invalid"}


class LabError(RuntimeError):
    """Something the coordinator refused or that did not happen in time; the message says what and where."""


def coordinator_address(given: str | None = None) -> str:
    """Return the coordinator's ``host:port``: given, else ``$LG_COORDINATOR``, else 127.0.0.1:20408."""
    address = given or os.environ.get("LG_COORDINATOR") or DEFAULT_COORDINATOR
    return address if ":" in address.rsplit("]", 1)[-1] else f"{address}:20408"


def default_user() -> str:
    """Return this process's labgrid user: ``$LG_USERNAME`` (or the login) plus ``-<pid>``.

    The pid makes every process (each xdist worker, each CI job step) a holder of its own, so the
    janitor can free one dead worker's place without touching its siblings'.
    """
    base = os.environ.get("LG_USERNAME") or getpass.getuser()
    return f"{base}-{os.getpid()}"


@attr.s(eq=False)
class _Session(ClientSession):
    """labgrid's client session, telling us about every place and resource update."""

    user = attr.ib(default=None)
    on_change = attr.ib(default=None)

    def getuser(self) -> str:
        """Return our user name (with the pid), not only ``$LG_USERNAME``."""
        return self.user or super().getuser()

    async def on_resource_changed(
        self, exporter: str, group_name: str, resource_name: str, resource: dict[str, Any]
    ) -> None:
        """Record the update (labgrid), then wake our waiters."""
        await super().on_resource_changed(exporter, group_name, resource_name, resource)
        if self.on_change is not None:
            self.on_change(("resource", exporter, group_name, resource_name))

    async def on_place_changed(self, place_pb2: Any) -> None:
        """Record the update (labgrid), then wake our waiters."""
        await super().on_place_changed(place_pb2)
        if self.on_change is not None:
            self.on_change(("place", place_pb2.name))

    async def on_place_deleted(self, name: str) -> None:
        """Record the deletion (labgrid), then wake our waiters."""
        await super().on_place_deleted(name)
        if self.on_change is not None:
            self.on_change(("place", name))


class LabSession:
    """A connection to a labgrid coordinator: places, resources, reservations, leases."""

    def __init__(self, address: str | None = None, user: str | None = None, timeout: float = 10.0) -> None:
        """Connect (LabError when the coordinator does not answer within ``timeout``)."""
        self.address = coordinator_address(address)
        self.user = user or default_user()
        self.host = os.environ.get("LG_HOSTNAME") or socket.gethostname()
        self.changed = threading.Condition()
        self._generation = 0
        self.listeners: list[Callable[[tuple[str, ...]], None]] = []
        self.lost_at: float | None = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name=f"labgrid {self.address}", daemon=True
        )
        self._thread.start()
        self.closed = False
        try:
            self.session: _Session = self._run(self._start(), timeout)
        except BaseException:
            self._stop_loop()
            raise

    @property
    def holder(self) -> str:
        """Return the name the coordinator knows us by (``host/user``): what ``acquired`` says."""
        return f"{self.host}/{self.user}"

    # ---- plumbing ------------------------------------------------------------------------------------
    async def _start(self) -> _Session:
        session = _Session(self.address, self.loop, user=self.user, on_change=self._changed)
        try:
            await session.start()
        except Exception as exc:
            await session.close()
            raise LabError(
                f"coordinator {self.address}: could not connect ({exc}); expected a labgrid "
                "coordinator there (--rig-coordinator, -c or $LG_COORDINATOR)"
            ) from None
        self.loop.create_task(self._watch(session))
        return session

    async def _watch(self, session: _Session) -> None:
        await session.stopping.wait()
        if not self.closed:
            self.lost_at = time.time()
            log.warning("coordinator %s: the stream ended (coordinator stopped or restarted)", self.address)
        self._changed(("lost", self.address))

    def _changed(self, what: tuple[str, ...]) -> None:
        with self.changed:
            self._generation += 1
            self.changed.notify_all()
        for listener in list(self.listeners):
            try:
                listener(what)
            except Exception:  # noqa: BLE001 - a listener must not stop the stream
                log.exception("lab listener failed on %s", what)

    def _run(self, coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise LabError(f"coordinator {self.address}: no answer within {timeout:g} s") from None

    def rpc(self, method: str, request: Any, timeout: float = 10.0) -> Any:
        """Call the coordinator's ``method`` (gRPC); LabError with the coordinator's reason on refusal."""

        async def call() -> Any:
            return await getattr(self.session.stub, method)(request, timeout=timeout)

        try:
            return self._run(call(), timeout + 1.0)
        except grpc.aio.AioRpcError as exc:
            raise LabError(f"coordinator {self.address}: {method}: {exc.details()}") from None

    @property
    def alive(self) -> bool:
        """Return whether the stream to the coordinator still runs (False after a coordinator restart)."""
        return not self.closed and not self.session.stopping.is_set()

    def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float,
        poll: Callable[[], None] | None = None,
        poll_s: float = 2.0,
    ) -> Any:
        """Return predicate()'s first truthy value, re-checked on every update (None on timeout).

        poll: called every ``poll_s`` while waiting (keeps a waiting reservation from expiring).
        """
        deadline = time.monotonic() + timeout
        next_poll = time.monotonic() + poll_s
        while True:
            with self.changed:
                generation = self._generation
            value = self._snapshot(predicate)
            if value:
                return value
            now = time.monotonic()
            if now >= deadline:
                return None
            if poll is not None and now >= next_poll:
                poll()
                next_poll = now + poll_s
                continue
            until = min(deadline, next_poll) if poll is not None else deadline
            with self.changed:
                if self._generation == generation:
                    self.changed.wait(until - now)

    def _snapshot(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the event loop's thread, so it sees labgrid's dicts between two updates."""
        if threading.current_thread() is self._thread:
            return fn()

        async def run() -> Any:
            return fn()

        return self._run(run(), 10.0)

    # ---- reading ------------------------------------------------------------------------------------
    def places(self) -> dict[str, dict[str, Any]]:
        """Return every place as a plain dict (name, tags, comment, acquired, reservation, resources)."""

        def read() -> dict[str, dict[str, Any]]:
            return {name: _place_dict(p) for name, p in self.session.places.items()}

        return self._snapshot(read)

    def place_resources(self, place: str) -> dict[str, dict[str, Any]]:
        """Return the acquired resources of ``place`` by resource name: cls, params, avail, exporter."""

        def read() -> dict[str, dict[str, Any]]:
            p = self.session.places.get(place)
            out: dict[str, dict[str, Any]] = {}
            for exporter, group, cls, name in p.acquired_resources if p else []:
                entry = self.session.resources.get(exporter, {}).get(group, {}).get(name)
                data = dict(entry.params) if entry is not None and entry.data else {}
                present = entry is not None and bool(entry.data)
                # usable: published by a live exporter and acquired for this place (after an exporter
                # restart the coordinator re-acquires it at its next sync, with a new ser2net port)
                out[name] = {
                    "cls": (entry.cls if present else cls),
                    **data,
                    "avail": bool(present and entry.avail and entry.acquired == place),
                    "exporter": exporter,
                    "group": group,
                }
            return out

        return self._snapshot(read)

    def reservations(self) -> list[dict[str, Any]]:
        """Return every reservation: owner, token, state, filters, allocations."""
        reply = self.rpc("GetReservations", pb.GetReservationsRequest())
        return [
            {
                "owner": r.owner,
                "token": r.token,
                "state": STATES.get(r.state, str(r.state)),
                "filters": {k: dict(v.filter) for k, v in r.filters.items()},
                "allocations": dict(r.allocations),
            }
            for r in reply.reservations
        ]

    # ---- changing -----------------------------------------------------------------------------------
    def sync_places(self, places: dict[str, dict[str, Any]]) -> list[str]:
        """Create the places of a ``places.yaml`` (matches, tags) where missing; return what changed."""
        done = []
        have = self.places()
        for name, spec in places.items():
            current = have.get(name)
            if current is None:
                self.rpc("AddPlace", pb.AddPlaceRequest(name=name))
                done.append(f"{name}: created")
                current = {"matches": [], "tags": {}}
            for pattern in spec.get("matches", []):
                if pattern not in current["matches"]:
                    self.rpc("AddPlaceMatch", pb.AddPlaceMatchRequest(placename=name, pattern=pattern))
                    done.append(f"{name}: match {pattern}")
            tags = {str(k): str(v) for k, v in (spec.get("tags") or {}).items()}
            if tags and any(current["tags"].get(k) != v for k, v in tags.items()):
                self.rpc(
                    "SetPlaceTags", pb.SetPlaceTagsRequest(placename=name, tags={**current["tags"], **tags})
                )
                done.append(f"{name}: tags {', '.join(f'{k}={v}' for k, v in tags.items())}")
        if done:  # wait until our own view shows what we changed
            self.wait_for(lambda: all(n in self.session.places for n in places), 10.0)
        return done

    def reserve(self, filters: dict[str, str], prio: float = 0.0) -> str:
        """Create a reservation for ``filters``; return its token."""
        request = pb.CreateReservationRequest(
            filters={"main": pb.Reservation.Filter(filter=filters)}, prio=prio
        )
        return str(self.rpc("CreateReservation", request).reservation.token)

    def cancel(self, token: str) -> None:
        """Cancel a reservation (LabError when it does not exist)."""
        self.rpc("CancelReservation", pb.CancelReservationRequest(token=token))

    def poll(self, token: str) -> str:
        """Refresh a reservation (a waiting one expires after 60 s unpolled); return its state."""
        reply = self.rpc("PollReservation", pb.PollReservationRequest(token=token))
        return STATES.get(reply.reservation.state, str(reply.reservation.state))

    def nudge(self) -> None:
        """Run one more scheduling pass on the coordinator, so a place freed just now goes to its waiter.

        The pass a cancel triggers still sees the freed place as reserved by the cancelled token
        (``Coordinator.schedule_reservations`` computes free places before refreshing that field), so
        the waiter would get it at the 15 s tick; a reservation matching no place, made and cancelled,
        runs the pass again with the field cleared.
        """
        self.cancel(self.reserve(NUDGE_FILTER))

    def release(self, place: str, fromuser: str | None = None) -> None:
        """Release ``place`` (only if ``fromuser`` still holds it, when given)."""
        request = (
            pb.ReleasePlaceRequest(placename=place)
            if fromuser is None
            else pb.ReleasePlaceRequest(placename=place, fromuser=fromuser)
        )
        self.rpc("ReleasePlace", request)

    def set_comment(self, place: str, comment: str) -> None:
        """Set a place's comment (our heartbeat lives there)."""
        self.rpc("SetPlaceComment", pb.SetPlaceCommentRequest(placename=place, comment=comment))

    def take(self, spec: PlaceSpec, timeout: float, lease_s: float = 30.0, job: str = "") -> Lease:
        """Reserve a place matching ``spec``, wait for it (``timeout`` s), acquire it, start the heartbeat."""
        t0 = time.monotonic()
        token = self.reserve(spec.filters)
        try:

            def allocated() -> str | None:
                for name, p in self.session.places.items():
                    if p.reservation == token:
                        return name
                return None

            def check() -> None:
                state = self.poll(token)
                if state in ("expired", "invalid"):
                    raise LabError(f"reservation {token} for {spec.text()} became {state}")

            place = self.wait_for(allocated, timeout, poll=check)
            if place is None:
                raise LabError(
                    f"no place for {spec.text()} within {timeout:g} s "
                    f"(reservation {token} still {self.poll(token)}); places: {self.who_text()}"
                )
            allocated_s, allocated_at = time.monotonic() - t0, time.time()
            self.rpc("AcquirePlace", pb.AcquirePlaceRequest(placename=place), timeout=30.0)
            held = self.wait_for(
                lambda: (
                    self.session.places[place].acquired == self.holder
                    and self.session.places[place].acquired_resources
                ),
                10.0,
            )
            if not held:
                raise LabError(f"place {place}: acquired, but the coordinator's update did not arrive")
        except BaseException:
            try:
                self.cancel(token)
            except LabError:
                pass
            raise
        from hil.lab.held import Lease

        lease = Lease(self, place, token, lease_s, job)
        lease.timings.update(
            {
                "allocated_s": allocated_s,
                "acquired_s": time.monotonic() - t0,
                "allocated_at": allocated_at,
                "acquired_at": time.time(),
            }
        )
        lease.start()
        return lease

    def who_text(self) -> str:
        """Return one line per place: name, tags, holder, reservation, heartbeat."""
        out = []
        for name, p in sorted(self.places().items()):
            tags = ",".join(f"{k}={v}" for k, v in sorted(p["tags"].items()))
            out.append(
                f"{name} [{tags}] acquired={p['acquired'] or '-'} reservation={p['reservation'] or '-'}"
                + (f" comment={p['comment']!r}" if p["comment"] else "")
            )
        return "; ".join(out) or "(no places)"

    def close(self) -> None:
        """Stop the session and its thread (idempotent)."""
        if self.closed:
            return
        self.closed = True

        async def stop() -> None:
            await self.session.stop()
            await self.session.close()

        try:
            self._run(stop(), 5.0)
        except Exception as exc:  # noqa: BLE001 - closing a dead session must not raise
            log.debug("closing the lab session: %s", exc)
        self._stop_loop()

    def _stop_loop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5.0)


def _place_dict(p: Any) -> dict[str, Any]:
    return {
        "name": p.name,
        "tags": dict(p.tags),
        "comment": p.comment,
        "acquired": p.acquired,
        "reservation": p.reservation,
        "changed": p.changed,
        "matches": [_match_text(m) for m in p.matches],
        "acquired_resources": ["/".join(r) for r in p.acquired_resources],
    }


def _match_text(m: Any) -> str:
    parts = [m.exporter, m.group, m.cls] + ([m.name] if m.name else [])
    return "/".join(parts)


_SHARED: dict[str, LabSession] = {}
_SHARED_LOCK = threading.Lock()


def shared_session(address: str | None = None) -> LabSession:
    """Return this process's session to ``address`` (the coordinator refuses a second one per process)."""
    key = coordinator_address(address)
    with _SHARED_LOCK:
        s = _SHARED.get(key)
        if s is None or s.closed:
            s = _SHARED[key] = LabSession(key)
        return s
