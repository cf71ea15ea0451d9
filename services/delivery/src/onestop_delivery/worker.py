"""Delivery's `worker` process: the nameko service for its events and timers.

It has none yet. An event consumer is a method decorated with
`onestop_chassis.worker.event_handler("<producer>", "<EventName>")` that calls `self.delivery`
(CONTRIBUTING.md, "Add an event and its consumer"); each gets a test with nameko's own
`worker_factory` / `entrypoint_hook`.
"""

from __future__ import annotations

from onestop_chassis.worker import Bootstrapped, MongoConnection, Observability

from .bootstrap import bootstrap


class DeliveryWorker:
    name = "delivery"
    observability = Observability()
    mongo = MongoConnection()
    delivery = Bootstrapped(bootstrap, "service")
