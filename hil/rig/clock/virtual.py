"""Virtual time for a fully emulated rig: time moves only when every part is idle up to its next deadline.

:class:`VirtualClock` is a conservative discrete-event coordinator (as Renode synchronises emulated nodes).
Its participants:

- *board processes* (``hil.board.rigloop``): each tells the coordinator, over a Unix socket, when its
  event loop has nothing to do before a deadline and how many bytes its UARTs received;
- *actors* in the rig process (the world, the metering chips, the P1 emulator, the analyzer): each says
  when it must act next (:meth:`Actor.deadline_us`) and acts when asked (:meth:`Actor.emit`);
- *quiet checks*: bytes in flight between parts (a pty bridge, a LAN link) hold time back until they
  arrived, so nothing is ever "late" because the host was slow;
- *waiters*: threads that wait in rig time (:meth:`sleep`, :meth:`wait_for`). Time runs only while some
  thread waits for it; between two waits a test acts on a rig whose time stands still.

One round: settle (every board idle, nothing in flight, confirmed by a probe round when something outside
the clock's view happened), pick the next instant (the earliest deadline, board deadlines rounded up to
the ``quantum`` grid), let the *step* actors integrate up to it (the world, with the relays as the boards
left them; the analyzers), publish the new time in the time page, wake the boards whose deadline came and
settle (their timers run: a plug's poll reads the telegram of the instant before), then let the *io*
actors write the bytes of this instant (chips, the meter's telegram) and settle (the boards read them, no
timer of theirs being due any more), and wake the waiters that are due. Every board does one kind of thing
at a time, in an order fixed by the round, so host load changes how long a round takes, never what
happens in it.

:meth:`jump` moves through a stretch of time in strides of at most ``JUMP_STRIDE_S``: every part runs
once per stride (a board's timers fire once, the meter sends one telegram covering the stride, the world
and the chips integrate it exactly), so energy stays consistent and the plugs never miss their meter for
30 s.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import os
import selectors
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import attrs

from hil.rig.clock.shared import (
    ENV_DIR,
    ENV_ID,
    ENV_TICKS,
    HELLO,
    IDLE,
    MSG,
    PROBE,
    PROBED,
    US,
    VIRTUAL,
    WAKE,
    TimePage,
)

log = logging.getLogger("hil.rig.clock")
T = TypeVar("T")
JUMP_STRIDE_S = 25.0      # below the plugs' 30 s Disconnected: a jump never disconnects them
STALL_S = 60.0            # host seconds a round may take before the clock gives up and says who is busy
FLIGHT_POLL_S = 0.001     # how often to look at a part in flight that cannot call back (add_quiet)
FLIGHT_WAIT_S = 0.05      # the longest wait for a part in flight that calls back (a safety net only)
_NUDGE = object()         # the selector key data of the clock's own wake-up socket


class ClockError(RuntimeError):
    """The rig's clock cannot go on (a part never went idle, an actor failed); the message says which."""


class Actor(Protocol):
    """A part of the rig process that acts at instants of rig time.

    ``phase``: "step" (integrates up to the instant before the boards act: the world) or "io" (writes
    bytes to the boards after their timers ran: chips, the meter).
    """

    name: str
    phase: str

    def deadline_us(self) -> int | None:
        """Return the next rig time (UTC us) at which it must act (None: no wish)."""

    def emit(self, until_us: int) -> None:
        """Act for everything due up to ``until_us`` (called just before time moves there)."""


@attrs.define
class LineTap:
    """A serial line into a board: what the rig delivered to the board's end, and the UART that reads it."""

    uart: str                              # 'p1' or 'metering'
    delivered: Callable[[], int]           # bytes delivered to the board's end so far
    discard: Callable[[], None]            # throw away what nobody reads (the board is off)
    state: Callable[[], str] | None = None  # for a stall's message: what the line holds (unread, dropped)


@attrs.define(eq=False)
class Remote:
    """One board process taking part."""

    ident: int
    name: str
    lines: list[LineTap]
    alive: Callable[[], bool]
    sock: socket.socket | None = None
    state: str = "connecting"              # connecting | busy | idle
    deadline: int = -1
    rx: tuple[int, int] = (-1, -1)
    baseline: dict[str, int] = attrs.field(factory=dict)
    probed: tuple[int, ...] | None = None
    buf: bytes = b""
    pid: int = 0


def _idx(uart: str) -> int:
    return 0 if uart == "p1" else 1


class VirtualClock:
    """The rig's virtual clock and its coordinator thread."""

    mode = "virtual"
    scale = math.inf

    def __init__(self, start_utc: float, folder: Path, quantum_s: float = 0.1,
                 stall_s: float = STALL_S) -> None:
        """Start a clock at ``start_utc``; its time page and socket live in ``folder``."""
        if not quantum_s > 0:
            raise ValueError(f"virtual clock: quantum: expected seconds > 0, got {quantum_s!r}")
        self.folder = Path(folder)
        self.quantum_us = round(quantum_s * US)
        self.stall_s = stall_s
        self.now_us = round(start_utc * US)
        self.page = TimePage(self.folder, VIRTUAL, self.now_us)
        self.rounds = 0
        self.probes = 0
        self.errors: list[str] = []
        self.actors: list[Actor] = []
        self.quiet: list[tuple[str, Callable[[], bool]]] = []
        self.traffic: list[tuple[Callable[[], int], tuple[str, ...]]] = []
        self._traffic_seen: dict[int, int] = {}
        self._remotes: dict[int, Remote] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self._waiters: list[tuple[int, int, threading.Event]] = []
        self._seq = itertools.count()
        self._jump_to: int | None = None
        self._dirty = True            # something may have happened that the clock did not see
        self._failure: ClockError | None = None
        self._closed = False
        self._sel = selectors.DefaultSelector()
        path = self.folder / "sock"
        path.unlink(missing_ok=True)
        # a Unix socket path holds at most 107 bytes: deep run folders get an abstract (Linux) name
        address = str(path) if len(str(path)) < 100 else f"\0hil-rig-clock-{os.getpid()}-{uuid.uuid4().hex}"
        (self.folder / "address").write_text(address.replace("\0", "@", 1), encoding="utf-8")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(address)
        self._listener.listen(64)
        self._listener.setblocking(False)
        self._sel.register(self._listener, selectors.EVENT_READ, None)
        self._flight_wait_s = FLIGHT_WAIT_S
        self._nudge_r, self._nudge_w = socket.socketpair()
        for end in (self._nudge_r, self._nudge_w):
            end.setblocking(False)
        self._sel.register(self._nudge_r, selectors.EVENT_READ, _NUDGE)
        self._thread = threading.Thread(target=self._run, name="rig-clock", daemon=True)
        self._thread.start()

    # ---- reading it -------------------------------------------------------------------------------------
    def now(self) -> float:
        """Return rig time (UTC epoch seconds)."""
        return self.now_us / US

    __call__ = now

    def host_seconds(self, rig_seconds: float) -> float:
        """Virtual time has no fixed rate: 0 (a wait lasts what its events cost)."""
        return 0.0

    # ---- the parts ----------------------------------------------------------------------------------------
    def add_actor(self, actor: Actor) -> None:
        """Let ``actor`` act at its deadlines (actors act in the order they were added)."""
        self.actors.append(actor)

    def add_quiet(self, name: str, fn: Callable[[], bool], traffic: Callable[[], int] | None = None,
                  boards: tuple[str, ...] = (),
                  on_quiet: Callable[[Callable[[], None]], None] | None = None) -> None:
        """Hold time back while ``fn()`` says something is in flight.

        traffic: a count that changes whenever bytes went between two boards through this part (a LAN
        link): those ``boards`` (all when none are named) are then probed before time moves.
        on_quiet: how to have the part call back (from any thread) when what made ``fn()`` False ended;
        the clock then sleeps until that call instead of looking again every millisecond.
        """
        self.quiet.append((name, fn))
        if on_quiet is None:
            self._flight_wait_s = FLIGHT_POLL_S
        else:
            on_quiet(self.nudge)
        if traffic is not None:
            self.traffic.append((traffic, boards))

    def nudge(self) -> None:
        """Wake the coordinator (any thread): something it waits for may have ended."""
        try:
            self._nudge_w.send(b"\0")
        except OSError:   # full (a wake-up is pending anyway) or closed (the clock is gone)
            pass

    def expect(self, name: str, lines: list[LineTap], alive: Callable[[], bool],
               ticks_start_ms: int = 0) -> dict[str, str]:
        """Announce a board process about to start; return the environment it needs to join.

        Until it says hello (or ``alive()`` turns false) time stands still: booting costs no rig time.
        """
        ident = next(self._ids)
        with self._lock:
            self._remotes[ident] = Remote(ident, name, lines, alive)
        return {ENV_DIR: str(self.folder), ENV_ID: str(ident), ENV_TICKS: str(int(ticks_start_ms))}

    def forget(self, env: dict[str, str]) -> None:
        """Withdraw an announcement (:meth:`expect`'s environment) whose process will not start after all."""
        ident = int(env.get(ENV_ID, "0"))
        with self._lock:
            r = self._remotes.get(ident)
            if r is not None and r.sock is None:
                self._remotes.pop(ident, None)

    def remote_status(self) -> dict[str, Any]:
        """Return the board processes taking part and their state (for reports)."""
        with self._lock:
            return {f"{r.name}#{r.ident}": {"state": r.state, "deadline": r.deadline / US if r.deadline >= 0
                                             else None, "rx": r.rx} for r in self._remotes.values()}

    # ---- waiting in rig time -----------------------------------------------------------------------------
    def sleep_until_us(self, t_us: int) -> None:
        """Return once rig time reached ``t_us`` (time runs while someone waits); ClockError if it cannot."""
        ev = threading.Event()
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if t_us <= self.now_us:
                return
            heapq.heappush(self._waiters, (t_us, next(self._seq), ev))
            self._dirty = True   # the waiter may have acted on the rig since the last round
            self._lock.notify_all()
        while not ev.wait(1.0):
            if self._closed:
                raise ClockError("rig clock closed while waiting")
        if self._failure is not None:
            raise self._failure

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of rig time."""
        if seconds < 0:
            raise ValueError(f"rig clock: sleep: expected seconds >= 0, got {seconds!r}")
        self.sleep_until_us(self.now_us + round(seconds * US))

    def sleep_until(self, t: float) -> None:
        """Wait until rig time ``t`` (UTC seconds)."""
        self.sleep_until_us(round(t * US))

    def wait_for(self, fn: Callable[[], T], ok: Callable[[T], bool] = bool, timeout: float = 60.0,
                 poll_s: float = 1.0, what: str = "condition",
                 next_look: Callable[[float], float] | None = None) -> T:
        """Poll ``fn()`` every ``poll_s`` rig seconds until ``ok(value)`` (AssertionError at ``timeout``).

        next_look: when to look next given rig time now (instead of every ``poll_s``), see :func:`wait_for`.
        """
        return wait_for(self, fn, ok, timeout, poll_s, what, next_look)

    def jump(self, seconds: float) -> float:
        """Run through ``seconds`` of rig time in strides (see the module); return the new rig time."""
        if seconds < 0:
            raise ValueError(f"rig clock: jump: expected seconds >= 0 (never back), got {seconds!r}")
        target = self.now_us + round(seconds * US)
        with self._lock:
            self._jump_to = target
        try:
            self.sleep_until_us(target)
        finally:
            with self._lock:
                self._jump_to = None
        return self.now()

    def close(self) -> None:
        """Stop the coordinator (boards see their socket close and exit)."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self._thread.join(5)
        for r in self._all():
            if r.sock is not None:
                r.sock.close()
        self._listener.close()
        self._sel.close()
        self._nudge_r.close()
        self._nudge_w.close()
        self.page.close()

    # ---- the coordinator thread --------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._waiters and not self._closed:
                    self._lock.wait(0.5)
                    if not self._waiters:
                        self._service(0)
                if self._closed:
                    return
                target = self._waiters[0][0]
                jump_to = self._jump_to
            try:
                self._round(target, jump_to)
            except Exception as exc:  # noqa: BLE001 - any failure ends rig time with a reason
                if not isinstance(exc, ClockError):
                    log.exception("rig clock: round failed")
                    at = self.now_us / US
                    exc = ClockError(f"rig clock failed at {at:.3f}: {type(exc).__name__}: {exc}")
                log.error("rig clock: %s", exc)
                with self._lock:
                    self._failure = exc  # type: ignore[assignment]
                    waiters, self._waiters = self._waiters, []
                for _, _, ev in waiters:
                    ev.set()
                return
            with self._lock:
                while self._waiters and self._waiters[0][0] <= self.now_us:
                    heapq.heappop(self._waiters)[2].set()

    def _round(self, target: int, jump_to: int | None) -> None:
        self._settle()
        now = self.now_us
        if jump_to is not None and jump_to > now:
            nxt = min(now + round(JUMP_STRIDE_S * US), jump_to, target)
        else:
            q = self.quantum_us
            cands = [target]
            cands += [-(-r.deadline // q) * q for r in self._all() if r.deadline >= 0]
            for a in self.actors:
                d = a.deadline_us()
                if d is not None:
                    cands.append(d)
            nxt = max(min(cands), now)
        if nxt > now:
            self._emit("step", nxt)     # the world over [now, nxt), with the relays as the boards left them
            self.now_us = nxt
            self.page.now_us = nxt
            self.page.write()
            self.rounds += 1
        woken = False
        for r in self._all():
            if r.state == "idle" and 0 <= r.deadline <= nxt and r.sock is not None:
                self._send(r, WAKE)
                r.state = "busy"
                woken = True
        if woken:
            self._settle()              # the boards' timers first (a plug's poll reads the last telegram)
        if self._emit("io", nxt):
            self._settle()              # then the bytes of this instant (no board timer is due any more)

    def _emit(self, phase: str, until_us: int) -> bool:
        """Let the actors of ``phase`` act up to ``until_us``; return whether any did."""
        acted = False
        for a in self.actors:
            if getattr(a, "phase", "io") != phase:
                continue
            try:
                a.emit(until_us)
                acted = True
            except Exception as exc:  # noqa: BLE001 - a broken part fails the test that runs
                self.errors.append(f"{a.name} at {until_us / US:.3f}: {type(exc).__name__}: {exc}")
                log.exception("rig clock: actor %s failed", a.name)
        return acted

    def _send(self, r: Remote, kind: int, a: int = 0) -> None:
        assert r.sock is not None
        try:
            r.sock.sendall(MSG.pack(kind, a, 0, 0, 0, 0))
        except OSError:
            self._drop(r)

    def _drop(self, r: Remote) -> None:
        with self._lock:
            self._remotes.pop(r.ident, None)
        if r.sock is not None:
            try:
                self._sel.unregister(r.sock)
            except (KeyError, ValueError):
                pass
            r.sock.close()
            r.sock = None

    def _rejoin(self, r: Remote) -> None:
        """Wait for a board whose process re-executes itself to say hello again, as for a new start.

        Time stands still meanwhile (a boot costs no rig time); if the process ends instead,
        ``alive()`` turns false and :meth:`_busy` drops it.
        """
        if r.sock is not None:
            try:
                self._sel.unregister(r.sock)
            except (KeyError, ValueError):
                pass
            r.sock.close()
        with self._lock:
            r.sock, r.state, r.buf, r.rx, r.probed = None, "connecting", b"", (-1, -1), None

    def _service(self, timeout: float) -> None:
        """Take connections and messages for up to ``timeout`` host seconds."""
        try:
            events = self._sel.select(timeout)
        except (OSError, ValueError):
            return
        for key, _ in events:
            if key.data is None:
                self._accept()
            elif key.data is _NUDGE:
                try:
                    self._nudge_r.recv(4096)
                except OSError:
                    pass
            else:
                self._read(key.data)

    def _accept(self) -> None:
        while True:
            try:
                s, _ = self._listener.accept()
            except (BlockingIOError, OSError):
                return
            s.setblocking(True)
            s.settimeout(5.0)
            try:
                hello = s.recv(MSG.size, socket.MSG_WAITALL)
            except OSError:
                s.close()
                continue
            if len(hello) != MSG.size or MSG.unpack(hello)[0] != HELLO:
                s.close()
                continue
            _, ident, pid, *_ = MSG.unpack(hello)
            r = self._remotes.get(ident)
            if r is None or r.sock is not None:
                s.close()   # a board nobody expected (or a second hello): not part of this rig's time
                continue
            s.settimeout(None)
            s.setblocking(False)
            r.sock, r.pid, r.state = s, pid, "busy"
            for line in r.lines:
                r.baseline[line.uart] = line.delivered()
            self._sel.register(s, selectors.EVENT_READ, r)

    def _read(self, r: Remote) -> None:
        assert r.sock is not None
        try:
            data = r.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            if r.alive() and pid_running(r.pid):
                self._rejoin(r)   # the same process re-executes itself (hal.reset(): an OTA reboot)
            else:
                # the process ended (a power cut; a new process of the same board announces itself
                # anew): this one takes no more part
                self._drop(r)
            return
        r.buf += data
        n = len(r.buf) // MSG.size
        for i in range(n):
            kind, a, b, c, d, e = MSG.unpack_from(r.buf, i * MSG.size)
            if kind == IDLE:
                r.state, r.deadline, r.rx = "idle", b, (c, d)
            elif kind == PROBED:
                r.probed = (a, b, c, d, e)
                r.rx = (d, e)
                if c != 1:
                    r.state = "busy"   # it will say IDLE again (that message comes after this one)
        r.buf = r.buf[n * MSG.size:]

    def _balanced(self, r: Remote) -> bool:
        for line in r.lines:
            got = r.rx[_idx(line.uart)]
            if got < 0:
                line.discard()   # the UART is not open: nobody reads that line
                continue
            if got < line.delivered() - r.baseline.get(line.uart, 0):
                return False
        return True

    def _all(self) -> list[Remote]:
        """Return the board processes taking part (a copy: other threads announce new ones)."""
        with self._lock:
            return list(self._remotes.values())

    def _busy(self) -> str | None:
        """Return what keeps time from moving as last reported (None: every board idle, nothing in flight)."""
        for r in self._all():
            if r.state == "connecting":
                if not r.alive() or (r.pid and not pid_running(r.pid)):  # a rejoin whose process ended
                    self._drop(r)
                    continue
                return f"board {r.name} starting"
            if r.state != "idle":
                return f"board {r.name} busy"
        for name, fn in self.quiet:
            if not fn():
                return f"{name} has bytes in flight"
        return None

    def _unbalanced(self) -> Remote | None:
        for r in self._all():
            if not self._balanced(r):
                return r
        return None

    def _imbalance(self, r: Remote) -> str:
        """Say what board ``r``'s serial lines hold (for a stall's message only: it asks the ptys)."""
        lines = "; ".join(
            f"{ln.uart}: {ln.delivered() - r.baseline.get(ln.uart, 0)} delivered since it joined"
            + (f", {ln.state()}" if ln.state is not None else "") for ln in r.lines)
        return f"board {r.name}: bytes on its serial line not read yet (rx {r.rx}; {lines})"

    def _traffic(self) -> set[str] | None:
        """Return the boards at the ends of LAN links that carried bytes since the last look (None: all)."""
        names: set[str] = set()
        for i, (fn, boards) in enumerate(self.traffic):
            n = fn()
            if self._traffic_seen.get(i) != n:
                self._traffic_seen[i] = n
                if not boards:
                    return None
                names.update(boards)
        return names

    def _settle(self) -> None:
        """Return once every board is idle and nothing is in flight.

        A probe round (every board asked whether anything became readable since it said idle) is made when
        something outside the clock's view may have happened: a new waiter (the test acted on the rig),
        bytes through a LAN link, or a serial line whose count does not add up.
        """
        t0 = time.monotonic()
        unbalanced_since: float | None = None
        seen: Remote | None = None   # the last board with a serial imbalance, for a stall's message
        while True:
            if self._closed:
                raise ClockError("rig clock closed")
            self._service(0)
            why = self._busy()
            if why is not None:
                self._stalled(t0, why)
                self._service(self._flight_wait_s if "flight" in why else 0.2)
                continue
            remotes = [r for r in self._all() if r.sock is not None]
            changed = self._traffic() if not self._dirty else None
            need = self._dirty or changed is None or bool(changed)
            if not self._dirty and changed:
                remotes = [r for r in remotes if r.name in changed]   # only the ends of busy links
            late = self._unbalanced()
            seen = late or seen
            if late is not None and not need:
                now = time.monotonic()
                unbalanced_since = unbalanced_since or now
                self._stalled(t0, "", late)
                if now - unbalanced_since < 0.01:
                    self._service(0.002)   # a board that reads its UART says IDLE again once it has
                    continue
                # its count may be stale (bytes arrived while its app was not reading): ask it alone
                remotes = [r for r in remotes if not self._balanced(r)]
                unbalanced_since = None
            elif not need:
                return
            else:
                self._dirty = False
            self.probes += 1
            n = self.probes
            for r in remotes:
                r.probed = None
                self._send(r, PROBE, n)
            while any(r.probed is None and r.sock is not None for r in remotes):
                self._service(0.2)
                self._stalled(t0, "waiting for probe answers", seen)
            if not all(r.probed is None or (r.probed[0] == n and r.probed[2] == 1) for r in remotes):
                self._dirty = True   # someone was busy: look again once it is idle

    def _stalled(self, t0: float, why: str, late: Remote | None = None) -> None:
        """Raise when this settle has taken ``stall_s``: why, and the serial imbalance of ``late`` if any."""
        if time.monotonic() - t0 > self.stall_s:
            if late is not None:
                why = f"{why} (after {self._imbalance(late)})" if why else self._imbalance(late)
            raise ClockError(f"rig time stands still at {self.now_us / US:.3f}: {why} for {self.stall_s:.0f} "
                             f"host seconds; boards {self.remote_status()}")


def wait_for(clock: Any, fn: Callable[[], T], ok: Callable[[T], bool], timeout: float, poll_s: float,
             what: str, next_look: Callable[[float], float] | None = None) -> T:
    """Evaluate ``fn()`` every ``poll_s`` rig seconds until ``ok(value)``; AssertionError after ``timeout``.

    ``fn`` may raise OSError or ValueError (a board restarting): that counts as not yet. ``next_look(now)``
    (rig seconds), when given, says when to look next instead: a waiter that knows when its event can
    come (a plug decides only just after an interval boundary) looks then, and lets the rig run between.
    Every look costs a request to a board and a probe round of the clock.
    """
    end = clock.now() + timeout
    last: Any = None
    err: Exception | None = None
    while True:
        try:
            last = fn()
            err = None
            if ok(last):
                return last
        except (OSError, ValueError) as exc:
            err = exc
        if clock.now() >= end:
            got = f"last error {err!r}" if err is not None else f"last value {last!r}"
            raise AssertionError(f"{what}: not reached within {timeout:g} rig seconds; {got}")
        if next_look is not None:
            now = clock.now()
            target = next_look(now)
            clock.sleep_until(min(target if target > now else now + poll_s, end))   # end > now: checked
            continue
        clock.sleep(min(poll_s, max(end - clock.now(), 0.0)) or poll_s)


def pid_running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie waiting to be reaped has ended)."""
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return pid_alive(pid)   # no /proc: whether it exists at all
    return state not in ("Z", "X")


def pid_alive(pid: int) -> bool:
    """Whether a process exists."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
