"""Seeded, order-independent randomness for the world models.

Every model draws its randomness from ``rng(seed, *keys)``: a fresh ``random.Random`` whose state is a
hash of the seed and the keys (a day number, a salt naming the quantity). A model can therefore be
asked about any day in any order and always gives the same answer for the same seed, which keeps the
world free of any notion of who calls it or in which order.
"""

from __future__ import annotations

import random

_MASK = (1 << 64) - 1


def splitmix64(x: int) -> int:
    """One round of the SplitMix64 mixer: a well-spread 64-bit hash of a 64-bit integer."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def mix(seed: int, *keys: int) -> int:
    """Hash of a seed and integer keys (negative keys are fine)."""
    h = splitmix64(seed & _MASK)
    for k in keys:
        h = splitmix64(h ^ (k & _MASK))
    return h


def rng(seed: int, *keys: int) -> random.Random:
    """Return a ``random.Random`` determined only by ``seed`` and ``keys``."""
    return random.Random(mix(seed, *keys))


def unit(seed: int, *keys: int) -> float:
    """Return a uniform number in [0, 1) determined only by ``seed`` and ``keys``."""
    return mix(seed, *keys) / 18446744073709551616.0


def salt(name: str) -> int:
    """Return a stable integer key for a quantity's name (``hash(str)`` is randomised per process)."""
    h = 1469598103934665603
    for b in name.encode():
        h = ((h ^ b) * 1099511628211) & _MASK
    return h
