"""pytest options for running the suites on a rig held through labgrid (registered by hil.fixtures.plugin).

``--rig-place NAME`` or ``--rig-place key=value,...`` (reserve by tags; default ``$HIL_RIG_PLACE``, so
``hil certify`` and other tools that run pytest take a place too), ``--rig-coordinator HOST:PORT``
(default ``$LG_COORDINATOR``, else 127.0.0.1:20408), ``--rig-place-timeout S`` (how long to wait for a
place), ``--rig-lease S`` (the heartbeat's lease; the janitor frees the place this long after the last
beat). Never an ``--lg-*`` option: labgrid's own pytest plugin owns those.

Each xdist worker (or the single process) takes its own place the first time a test needs the ``rig``
fixture: the rig file (``--rig``) is resolved against the place's resources (:mod:`hil.lab.resolve`)
and the rig runtime runs unchanged on it. Before every test the place is checked: a lost lock (the
coordinator restarted), a place taken away, an exporter gone or restarted fail the test with that
reason instead of letting it read a dead line. At the end of the session, on SIGTERM, and at exit, the
place is given back (released, reservation cancelled, the next waiter served at once). The record
(``--hil-record``) gets each worker's place: name, coordinator, exporters, resources, the boards'
serials as they report them (``GET /api``), and what happened to the place meanwhile.
"""

from __future__ import annotations

import atexit
import os
import signal
import time
from typing import Any

import pytest

from hil.rig import Rig

_LEASE = pytest.StashKey[Any]()
_IDENTITY = pytest.StashKey[dict[str, Any]]()
_PLACES = pytest.StashKey[list[dict[str, Any]]]()
_WORLD = pytest.StashKey[Any]()  # the RPyC link to a place's world controls (hil.lab.world_service)
_UNRESOLVED = pytest.StashKey[Rig]()  # the rig as given, before the place's addresses (resolved again)
_RUNTIME = pytest.StashKey[Any]()  # the running rig, re-wired after an exporter restart


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the place options to the rig's group."""
    group = parser.getgroup("hil", "bChain hardware-in-the-loop rig")
    group.addoption(
        "--rig-place",
        default=os.environ.get("HIL_RIG_PLACE") or None,
        metavar="NAME|KEY=VALUE,...",
        help="run on a labgrid place: by name, or any place with these tags (docs/lab.md)",
    )
    group.addoption(
        "--rig-coordinator",
        default=None,
        metavar="HOST:PORT",
        help="labgrid coordinator (default: $LG_COORDINATOR, else 127.0.0.1:20408)",
    )
    group.addoption(
        "--rig-place-timeout",
        type=float,
        default=900.0,
        metavar="S",
        help="seconds to wait for a free place (default 900)",
    )
    group.addoption(
        "--rig-lease",
        type=float,
        default=60.0,
        metavar="S",
        help="heartbeat lease: the janitor frees a place this long after its holder's last beat",
    )
    group.addoption(
        "--rig-reconnect",
        type=float,
        default=60.0,
        metavar="S",
        help="after an exporter restart, wait this long for the place's resources to come back (default 60)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Check ``--rig-place`` early (a typo fails the run at once, with the reason)."""
    text = config.getoption("--rig-place", None)
    if text:
        from hil.lab.spec import PlaceSpec, PlaceSpecError

        try:
            PlaceSpec.parse(text)
        except PlaceSpecError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.addinivalue_line("markers", "lab: needs labgrid (the lab extra) and a coordinator")
    config.stash[_PLACES] = []


def held_rig(config: pytest.Config, rig: Rig) -> Rig:
    """Return ``rig`` as it is reached through this process's place (taken now), or ``rig`` without one."""
    text = config.getoption("--rig-place", None)
    if not text:
        return rig
    lease = config.stash.get(_LEASE, None)
    if lease is None:
        lease = _take(config, text)
    from hil.lab.exports import WORLD
    from hil.lab.resolve import ResolveError, resolve

    world: dict[str, Any] = {}
    if WORLD in lease.resources:  # an exported emulated rig: the place says what the rig is
        rig, world = _world_rig(config, lease)
    config.stash[_UNRESOLVED] = rig
    try:
        resolved = resolve(rig, lease.resources)
    except ResolveError as exc:
        pytest.fail(f"--rig-place {text}: place {lease.place}: {exc}", pytrace=False)
    config.stash[_IDENTITY] = {
        **lease.identity(),
        "addresses": resolved.addresses,
        "unused_resources": [u for u in resolved.unused if u != WORLD],
        "worker": _worker(config),
        **({"world": world} if world else {}),
    }
    return resolved.rig


def _world_link(config: pytest.Config, lease: Any) -> Any:
    """Return the link to the place's world controls (opened once per process)."""
    conn = config.stash.get(_WORLD, None)
    if conn is None or conn.closed:
        from hil.lab.exports import WORLD
        from hil.lab.remote_rig import WorldLinkError, connect, world_address

        try:
            conn = connect(*world_address(lease.resources[WORLD]))
        except WorldLinkError as exc:
            pytest.fail(f"place {lease.place}: {exc}", pytrace=False)
        config.stash[_WORLD] = conn
    return conn


def _world_rig(config: pytest.Config, lease: Any) -> tuple[Rig, dict[str, Any]]:
    """Return the rig a place with world controls exports (its view for clients) and its identity."""
    from hil.rig.load import load_rig_text

    conn = _world_link(config, lease)
    meta = {str(k): v for k, v in conn.root.rig_meta().items() if k != "features"}
    source = f"place {lease.place}: rig-world of {meta['file']}"
    view = load_rig_text(str(conn.root.rig_view()), source=source)
    return view, {k: str(v) for k, v in meta.items()}


def held_runtime(config: pytest.Config, rig: Rig, run_dir: Any) -> Any:
    """Return the rig to run on when the place carries world controls (a RemoteRig), else None.

    ``rig``: what :func:`held_rig` returned. The caller starts and stops it like a RigRuntime.
    """
    conn = config.stash.get(_WORLD, None)
    if conn is None:
        return None
    from hil.lab.remote_rig import RemoteRig

    runtime = RemoteRig(rig, conn, run_dir)
    config.stash[_RUNTIME] = runtime
    return runtime


def place_features(config: pytest.Config) -> frozenset[str] | None:
    """Return what the held place's rig offers the ``needs_*`` markers, when it carries world controls.

    None without ``--rig-place`` or without world controls (the rig file says then). Takes the place
    when this process holds none yet.
    """
    text = config.getoption("--rig-place", None)
    if not text:
        return None
    from hil.lab.exports import WORLD

    lease = config.stash.get(_LEASE, None) or _take(config, text)
    if WORLD not in lease.resources:
        return None
    return frozenset(str(f) for f in _world_link(config, lease).root.rig_meta()["features"])


def _worker(config: pytest.Config) -> str:
    return str(getattr(config, "workerinput", {}).get("workerid", "main"))


def _take(config: pytest.Config, text: str) -> Any:
    try:
        from hil.lab.session import LabError, shared_session
    except ImportError as exc:
        raise pytest.UsageError(f"--rig-place needs labgrid (pip install -e '.[lab]'): {exc}") from None
    from hil.lab.spec import PlaceSpec

    job = os.environ.get("CI_JOB_ID") or os.environ.get("GITHUB_RUN_ID") or ""
    try:
        session = shared_session(config.getoption("--rig-coordinator"))
        lease = session.take(
            PlaceSpec.parse(text),
            timeout=config.getoption("--rig-place-timeout"),
            lease_s=config.getoption("--rig-lease"),
            job=f"{job}:{_worker(config)}".strip(":"),
        )
    except LabError as exc:
        pytest.fail(f"--rig-place {text}: {exc}", pytrace=False)
    config.stash[_LEASE] = lease
    atexit.register(lease.give_back)
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:
        lease.give_back()
        if callable(previous):
            previous(signum, frame)
        else:
            raise SystemExit(128 + signum)

    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread: atexit and the session's end still give it back
        pass
    return lease


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail the test at once when this process's place is no longer usable (and say why)."""
    lease = item.config.stash.get(_LEASE, None)
    if lease is None:
        return
    problem = lease.problem()
    if problem is not None:
        problem = _reconnect(item.config, lease)
    if problem is not None:
        pytest.fail(f"rig place lost: {problem}", pytrace=False)


def _reconnect(config: pytest.Config, lease: Any) -> str | None:
    """After an exporter restart: wait for the place's resources, resolve the rig again, re-wire it.

    Return None when the run can go on, else why not. A lost lock or a place taken away is not waited
    for (another job may hold the place by now): the test fails with that reason.
    """
    before = dict(lease.resources)
    why = lease.reconnect(config.getoption("--rig-reconnect"))
    if why is not None:
        return why
    rig = config.stash.get(_UNRESOLVED, None)
    runtime = config.stash.get(_RUNTIME, None)
    if rig is None or runtime is None:
        return None  # no rig resolved yet: the rig fixture resolves against the new resources
    from hil.lab.resolve import ResolveError, resolve

    try:
        resolved = resolve(rig, lease.resources)
    except ResolveError as exc:
        return f"place {lease.place}: after the exporter's restart: {exc}"
    identity = config.stash.get(_IDENTITY, {})
    old = identity.get("addresses", {})
    if resolved.addresses == old:
        return None
    if not hasattr(runtime, "rewire"):
        lease.resources = before  # still resolved against these: every later test fails the same way
        moved = sorted(k for k in resolved.addresses if resolved.addresses[k] != old.get(k))
        return (f"place {lease.place}: its exporter restarted and {', '.join(moved)} moved; a local rig "
                "runtime is not re-wired to new serial lines or instruments (the session fails clearly)")
    changed = runtime.rewire(resolved.rig)
    identity["addresses"] = resolved.addresses
    lease.events.append((time.time(), f"re-wired: {'; '.join(changed) or 'nothing'}"))
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """Once per place: ask each board for its serial (the record's identity of the rig)."""
    identity = item.config.stash.get(_IDENTITY, None)
    runtime = getattr(item, "funcargs", {}).get("rig")
    if identity is None or runtime is None or "serials" in identity:
        return
    serials = {}
    for name, board in getattr(runtime, "boards", {}).items():
        try:
            status, body = board.http.get_json("/api", timeout=2.0)
            serials[name] = (
                body.get("serial") if status == 200 and isinstance(body, dict) else f"HTTP {status}"
            )
        except Exception as exc:  # noqa: BLE001 - the identity must never fail a test
            serials[name] = f"unknown ({type(exc).__name__})"
    identity["serials"] = serials


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Give the place back; hand this process's place identity to the controller (xdist) or keep it."""
    config = session.config
    lease = config.stash.get(_LEASE, None)
    identity = config.stash.get(_IDENTITY, None)
    conn = config.stash.get(_WORLD, None)
    if conn is not None:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - a dead link needs no closing
            pass
    if lease is not None:
        failed = lease.give_back()
        if identity is not None:
            identity["events"] = [f"{t:.3f} {e}" for t, e in lease.events]
            identity["timings"] = {k: round(v, 3) for k, v in lease.timings.items()}
            identity["reconnects"] = lease.reconnects
            identity["given_back"] = failed or "ok"
    if identity is not None:
        if hasattr(config, "workeroutput"):
            config.workeroutput["hil_place"] = identity
        else:
            config.stash[_PLACES].append(identity)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """Collect the place each xdist worker held (on the controller)."""
    identity = getattr(node, "workeroutput", {}).get("hil_place")
    if identity is not None:
        node.config.stash[_PLACES].append(identity)


def place_records(config: pytest.Config) -> dict[str, Any]:
    """Return ``{"places": [...]}`` for the run's record when places were held, else ``{}``."""
    places = config.stash.get(_PLACES, [])
    return {"places": sorted(places, key=lambda p: p.get("worker", ""))} if places else {}
