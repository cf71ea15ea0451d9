"""`make bench delivery`: delivery's section. Its carrier part (bench/carrier.py) measures the carrier
sandbox's own order rate next to the VNPost adapter's; the shipments' own rates join it here."""

from __future__ import annotations

from bench import carrier


def run() -> str:
    return "\n".join(["## Delivery", "", carrier.run()])
