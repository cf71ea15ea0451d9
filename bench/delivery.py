"""`make bench delivery`: delivery's section. Its carrier part (bench/carrier.py) measures the carrier
sandbox's own order rate next to the VNPost adapter's; the shipments' own rates (bench/shipments.py:
CreateShipment, carrier reports applied through the worker's webhook) follow it in the same run."""

from __future__ import annotations

from bench import carrier, shipments


def run() -> str:
    return "\n".join(["## Delivery", "", carrier.run(), shipments.run()])
