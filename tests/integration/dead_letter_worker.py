"""A nameko worker for tests/integration/test_dead_letters.py, run as its own process (nameko needs
eventlet's monkey patching, which the pytest process must not get). Its handlers listen to the
events of service DLT_SOURCE; settings come from the environment like any worker's."""

import eventlet

eventlet.monkey_patch()

import os  # noqa: E402 - every import after eventlet.monkey_patch(), which must come first

from onestop.events.v1 import intake_events_pb2 as ev  # noqa: E402 - after monkey_patch()
from onestop_chassis import events  # noqa: E402 - after monkey_patch()
from onestop_chassis.config import ServiceSettings, load_settings  # noqa: E402 - after monkey_patch()
from onestop_chassis.errors import PermanentError  # noqa: E402 - after monkey_patch()
from onestop_chassis.logs import get_logger  # noqa: E402 - after monkey_patch()
from onestop_chassis.worker import Observability, event_handler, run_worker  # noqa: E402 - after monkey_patch()

SOURCE = os.environ["DLT_SOURCE"]
log = get_logger("dlt")
CALLS: dict[str, int] = {}


class DeadLetterProbe:
    name = "dlprobe"
    observability = Observability()

    @event_handler(SOURCE, "Ok")
    def ok(self, payload):
        log.info("handled", id=payload["id"])

    @event_handler(SOURCE, "Permanent")
    def permanent(self, payload):
        raise PermanentError(f"message {payload['id']} breaks a rule")

    @event_handler(SOURCE, "Parse")
    def parse(self, payload):
        events.from_payload(payload, ev.DossierReceived)  # InvalidEvent for anything else
        log.info("handled", id="parsed")

    @event_handler(SOURCE, "Transient")
    def transient(self, payload):
        CALLS[payload["id"]] = CALLS.get(payload["id"], 0) + 1
        log.info("attempt", id=payload["id"], n=CALLS[payload["id"]])
        if CALLS[payload["id"]] <= payload["failures"]:
            raise RuntimeError("the database is down")
        log.info("handled", id=payload["id"])


if __name__ == "__main__":
    run_worker(DeadLetterProbe, load_settings(ServiceSettings, service_name="dlprobe"))
