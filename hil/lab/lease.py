"""Leases where labgrid has none: the heartbeat a holder writes into its place's comment (pure).

labgrid keeps a place locked for as long as its holder says nothing: a crashed or SIGKILLed client
keeps it forever. A holder of ours therefore rewrites the place's comment every ``lease_s / 3``
seconds with :meth:`Beat.comment` (``hil-lease holder=host/user-123 pid=123 beat=1733540000.25
lease=10 token=ABCD job=ci-42``); the janitor (:mod:`hil.lab.janitor`) releases a place whose beat
is older than its lease. The holder declares its own lease, so a CI job and an engineer's afternoon
can use different ones; ``beat`` is the holder's wall clock, so holder and janitor need synchronised
clocks (NTP), which the lease's margin (seconds to minutes) absorbs.

The comment is writable by anyone (labgrid has no per-field rights): it is a cooperative signal that
only our tools read, never a lock. A place acquired by a plain ``labgrid-client`` has no beat and the
janitor leaves it alone.
"""

from __future__ import annotations

import attrs

PREFIX = "hil-lease"
FIELDS = ("holder", "pid", "beat", "lease", "token", "job")


def _one_word(text: str) -> str:
    """Return ``text`` without whitespace (a comment field is one word; an empty one is ``key=``)."""
    return "_".join(str(text).split())


@attrs.frozen
class Beat:
    """One heartbeat: who holds the place, when it last beat (epoch s), its lease (s) and reservation."""

    holder: str
    pid: int
    beat: float
    lease: float
    token: str = attrs.field(default="", converter=_one_word)
    job: str = attrs.field(default="", converter=_one_word)

    def comment(self) -> str:
        """Return the place comment carrying this beat."""
        return (
            f"{PREFIX} holder={self.holder} pid={self.pid} beat={self.beat:.3f} lease={self.lease:g} "
            f"token={self.token} job={self.job}"
        )

    @classmethod
    def parse(cls, comment: str) -> Beat | None:
        """Return the beat in a place comment, or None when the comment is not one of ours (or garbled)."""
        words = comment.split()
        if not words or words[0] != PREFIX:
            return None
        fields: dict[str, str] = {}
        for word in words[1:]:
            key, sep, value = word.partition("=")
            if not sep or key not in FIELDS or key in fields:
                return None
            fields[key] = value
        if set(fields) != set(FIELDS):
            return None
        try:
            pid, beat, lease = int(fields["pid"]), float(fields["beat"]), float(fields["lease"])
        except ValueError:
            return None
        if lease <= 0 or pid <= 0 or beat != beat:  # beat != beat: NaN
            return None
        return cls(
            holder=fields["holder"],
            pid=pid,
            beat=beat,
            lease=lease,
            token=fields["token"],
            job=fields["job"],
        )

    def age(self, now: float) -> float:
        """Return seconds since the last beat (negative when the holder's clock runs ahead)."""
        return now - self.beat


@attrs.frozen
class Verdict:
    """What the janitor decided about one place."""

    place: str
    action: str  # "release" (stale lease), "keep" (fresh lease), "skip" (not ours / not acquired)
    reason: str
    holder: str | None = None
    token: str | None = None
    at: float | None = None  # when the janitor released it (epoch s)


def judge(
    place: str,
    acquired: str | None,
    comment: str,
    reservation: str | None,
    now: float,
    stale_s: float | None = None,
) -> Verdict:
    """Decide whether ``place`` must be released: held by the beat's holder, beat older than its lease.

    stale_s overrides the holder's declared lease (e.g. a janitor that wants to be more patient).
    The reservation to cancel is the place's current one, else the one the beat names.
    """
    if not acquired:
        return Verdict(place, "skip", "not acquired")
    beat = Beat.parse(comment)
    if beat is None:
        return Verdict(
            place,
            "skip",
            f"acquired by {acquired} without a hil-lease heartbeat (left alone)",
            holder=acquired,
        )
    if beat.holder != acquired:
        return Verdict(
            place,
            "skip",
            f"acquired by {acquired}, but the heartbeat is {beat.holder}'s (an older lease; left alone)",
            holder=acquired,
        )
    limit = stale_s if stale_s is not None else beat.lease
    age = beat.age(now)
    token = reservation or beat.token or None
    if age <= limit:
        return Verdict(
            place,
            "keep",
            f"{acquired} beat {age:.1f} s ago (lease {limit:g} s)",
            holder=acquired,
            token=token,
        )
    return Verdict(
        place,
        "release",
        f"{acquired} (pid {beat.pid}, job {beat.job or '-'}) last beat {age:.1f} s ago, lease {limit:g} s",
        holder=acquired,
        token=token,
    )
