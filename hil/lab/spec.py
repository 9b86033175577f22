"""What ``--rig-place`` asks for: one place by name, or any place whose tags match (pure).

``PlaceSpec.parse("bench-a1")`` asks for the place named ``bench-a1``; ``PlaceSpec.parse("module=smartplug,
lab=gent")`` for any place carrying both tags. Either way the request becomes a labgrid reservation filter
(labgrid matches the pseudo-tag ``name`` against the place name), so a named place is queued for like any
other instead of being grabbed past the waiters.
"""

from __future__ import annotations

import re

import attrs

# labgrid's own rules (labgrid.remote.common.TAG_KEY); a one-letter key is refused by the coordinator
TAG_KEY = re.compile(r"[a-z][a-z0-9_]+\Z")
TAG_VALUE = re.compile(r"[A-Za-z0-9_.:-]+\Z")
PLACE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*\Z")


class PlaceSpecError(ValueError):
    """A ``--rig-place`` value that is neither a place name nor ``key=value,...`` tags."""


@attrs.frozen
class PlaceSpec:
    """A place by name or by tags; ``filters`` is the labgrid reservation filter for either."""

    name: str | None = None
    tags: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str) -> PlaceSpec:
        """Parse ``NAME`` or ``key=value[,key=value...]``; PlaceSpecError says what is wrong and where."""
        raw = text.strip()
        if not raw:
            raise PlaceSpecError("--rig-place: expected a place name or key=value,... tags; got ''")
        if "=" not in raw:
            if not PLACE_NAME.match(raw):
                raise PlaceSpecError(f"--rig-place: expected a place name [A-Za-z0-9_.+-]; got {raw!r}")
            return cls(name=raw)
        tags: dict[str, str] = {}
        for i, part in enumerate(raw.split(",")):
            key, sep, value = part.strip().partition("=")
            where = f"--rig-place {raw!r}, item {i + 1} ({part.strip()!r})"
            if not sep:
                raise PlaceSpecError(f"{where}: expected key=value; got no '='")
            if not TAG_KEY.match(key):
                raise PlaceSpecError(f"{where}: expected a tag key [a-z][a-z0-9_]+ (2+ chars); got {key!r}")
            if not TAG_VALUE.match(value):
                raise PlaceSpecError(f"{where}: expected a tag value [A-Za-z0-9_.:-]+; got {value!r}")
            if key in tags:
                raise PlaceSpecError(f"{where}: tag {key!r} given twice")
            tags[key] = value
        if "name" in tags:
            return cls(name=tags.pop("name"), tags=tuple(sorted(tags.items())))
        return cls(tags=tuple(sorted(tags.items())))

    @property
    def filters(self) -> dict[str, str]:
        """Return the reservation filter: the tags, plus ``name`` for a named place."""
        out = dict(self.tags)
        if self.name is not None:
            out["name"] = self.name
        return out

    def text(self) -> str:
        """Return the spec as the user would write it."""
        if self.name is not None and not self.tags:
            return self.name
        return ",".join(f"{k}={v}" for k, v in sorted(self.filters.items()))
