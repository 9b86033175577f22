"""Measure a place's acquire, open and release times, and a dead holder's handover (README's figures).

``.venv/bin/python -m hil.lab.measure [--rounds 5] [--lease 3]`` starts a loopback lab
(:mod:`hil.lab.loopback`) and prints medians (and ranges) of:

- acquire: reserve by tags -> place allocated -> acquired (ser2net started for the P1 line);
- open: ``rfc2217://`` through that ser2net opened with pyserial, first byte across;
- release: give back (release, cancel the reservation, the scheduler nudge);
- handover: a waiting client gets the place after the holder gives it back (allocated, then acquired);
- death: a holder SIGKILLed -> the janitor (sweeping every 0.5 s) frees it -> the waiter has it.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _fmt(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return f"median {statistics.median(ms):.0f} ms (min {ms[0]:.0f}, max {ms[-1]:.0f}, n={len(ms)})"


def main(argv: list[str] | None = None) -> int:
    """Run the measurements and print them."""
    import serial

    from hil.lab.janitor import Janitor
    from hil.lab.loopback import Lab
    from hil.lab.resolve import serial_url
    from hil.lab.session import LabSession
    from hil.lab.spec import PlaceSpec

    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--rounds", type=int, default=5)
    args.add_argument("--lease", type=float, default=3.0, help="the dying holder's lease (s)")
    opts = args.parse_args(argv)
    times: dict[str, list[float]] = {
        k: []
        for k in (
            "acquire",
            "open",
            "release",
            "handover allocated",
            "handover acquired",
            "death->freed",
            "freed->allocated",
            "death->waiter acquired",
        )
    }
    with tempfile.TemporaryDirectory(prefix="hil-lab-measure-") as folder:
        lab = Lab(Path(folder))
        try:
            lab.sync()
            me = LabSession(lab.address, user="measure")
            try:
                for _ in range(opts.rounds):
                    t0 = time.monotonic()
                    lease = me.take(PlaceSpec.parse("lab=a"), timeout=30, lease_s=30)
                    times["acquire"].append(time.monotonic() - t0)
                    t0 = time.monotonic()
                    with (
                        serial.serial_for_url(serial_url("p1", lease.resources["p1"]), timeout=5) as line,
                        lab.lines["rig-a"].open(1, timeout=5) as meter,
                    ):
                        line.write(b"/")
                        assert meter.read(1) == b"/"
                        times["open"].append(time.monotonic() - t0)
                    waiter = lab.holder("lab=a")
                    waiter.wait("connected", 30)
                    t0, released_at = time.monotonic(), time.time()
                    lease.give_back()
                    times["release"].append(time.monotonic() - t0)
                    took = waiter.wait("took", 30)
                    times["handover allocated"].append(took["allocated_at"] - released_at)
                    times["handover acquired"].append(took["acquired_at"] - released_at)
                    waiter.send("release")
                    waiter.wait("released", 30)
                    waiter.proc.stdin.close()  # type: ignore[union-attr]
                    waiter.proc.wait(30)
                for _ in range(max(1, opts.rounds // 2)):
                    dead = lab.holder("lab=b", lease_s=opts.lease)
                    dead.wait("took", 30)
                    waiter = lab.holder("lab=b")
                    waiter.wait("connected", 30)
                    janitor = Janitor(me, every_s=0.5).start()
                    try:
                        dead.proc.send_signal(signal.SIGKILL)
                        killed = time.time()
                        took = waiter.wait("took", opts.lease + 30)
                    finally:
                        janitor.stop()
                    freed = janitor.released[0][0]
                    times["death->freed"].append(freed - killed)
                    times["freed->allocated"].append(took["allocated_at"] - freed)
                    times["death->waiter acquired"].append(took["acquired_at"] - killed)
                    waiter.send("release")
                    waiter.wait("released", 30)
                    waiter.proc.stdin.close()  # type: ignore[union-attr]
                    waiter.proc.wait(30)
            finally:
                me.close()
        finally:
            lab.stop()
    print(
        f"a labgrid place on loopback, one ser2net P1 line; the dying holder's lease: {opts.lease:g} s; "
        "janitor: every 0.5 s"
    )
    for name, values in times.items():
        print(f"  {name:24s} {_fmt(values)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
