"""Figures the benchmark sections share."""

from __future__ import annotations


def at_quantile(ordered: list[float], q: float) -> float:
    """The value at quantile `q` (0..1) of an ascending, non-empty list: the nearest rank at or below."""
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
