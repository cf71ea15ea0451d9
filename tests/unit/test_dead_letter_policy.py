"""The dead-letter policy of onestop_chassis.worker.event_handler, decided per handler outcome
(the broker side is tested against the real RabbitMQ in tests/integration/test_dead_letters.py)."""

from __future__ import annotations

import ast
import subprocess
import sys
from types import SimpleNamespace

import pytest

from onestop_chassis import dead_letters, events, metrics
from onestop_chassis.errors import PermanentError
from onestop_chassis.worker import ReliableEventHandler


class FakeMessage:
    def __init__(self, attempts: int | None = None):
        self.headers = {} if attempts is None else {dead_letters.ATTEMPTS_HEADER: attempts}
        self.properties = {"message_id": "m-1"}
        self.channel = SimpleNamespace(connection=True)
        self.outcome = None

    def reject(self, requeue: bool):
        self.outcome = ("reject", requeue)


class FakeConsumer:
    def ack_message(self, message):
        message.outcome = "ack"

    def requeue_message(self, message):
        message.outcome = "requeue"


@pytest.fixture()
def handler():
    h = ReliableEventHandler("intake", "DossierReceived", requeue_on_error=True)
    h.container = SimpleNamespace(service_name="unit")
    h.method_name = "on_event"
    h.queue = SimpleNamespace(name="evt-intake-DossierReceived--unit.on_event")
    h.consumer = FakeConsumer()
    h._max_attempts, h._retry_base, h._retry_cap = 3, 1.0, 60.0
    h.retried = []
    h._retry_later = lambda message, attempts: h.retried.append(attempts)
    return h


def _dead(reason: str) -> float:
    return metrics.REGISTRY.get_sample_value("onestop_worker_dead_letters_total",
                                             {"service": "unit", "handler": "on_event", "reason": reason}) or 0.0


def _fail(exc):
    try:
        raise exc
    except Exception as caught:  # noqa: BLE001 - turns any exception into the exc_info a handler sees
        return (type(caught), caught, caught.__traceback__)


def test_success_is_acknowledged(handler):
    message = FakeMessage()
    handler.handle_message_processed(message, result=None, exc_info=None)
    assert message.outcome == "ack" and handler.retried == []


@pytest.mark.parametrize("error", [PermanentError("bad data"), events.InvalidEvent("no header")])
def test_permanent_errors_are_rejected_without_requeue_at_once(handler, error):
    before = _dead("permanent")
    message = FakeMessage()
    handler.handle_message_processed(message, exc_info=_fail(error))
    assert message.outcome == ("reject", False)  # → the queue's dead-letter exchange
    assert handler.retried == [] and _dead("permanent") == before + 1


def test_other_errors_are_retried_then_dead_lettered_after_the_last_attempt(handler):
    first, second, third = FakeMessage(), FakeMessage(attempts=1), FakeMessage(attempts=2)
    before = _dead("retries_exhausted")
    for message in (first, second, third):
        handler.handle_message_processed(message, exc_info=_fail(RuntimeError("database down")))
    assert handler.retried == [1, 2]
    assert (first.outcome, second.outcome) == ("ack", "ack")  # acknowledged once the copy is confirmed
    assert third.outcome == ("reject", False)
    assert _dead("retries_exhausted") == before + 1


def test_a_case_not_opened_yet_is_retried_not_dead_lettered(handler):
    """Routing's desk supplement request that overtook the case's opening (gaps item 5) waits."""
    from onestop_routing.cases import CaseNotOpenedYet

    before = _dead("permanent")
    message = FakeMessage()
    handler.handle_message_processed(message, exc_info=_fail(CaseNotOpenedYet("not open yet")))
    assert handler.retried == [1] and message.outcome == "ack" and _dead("permanent") == before


def test_a_retry_that_cannot_be_scheduled_requeues_the_message(handler):
    def broker_down(message, attempts):
        raise ConnectionError("broker down")
    handler._retry_later = broker_down
    message = FakeMessage()
    handler.handle_message_processed(message, exc_info=_fail(RuntimeError("x")))
    assert message.outcome == "requeue"


def test_retry_delays_double_up_to_the_cap():
    assert [dead_letters.retry_delay(n, 1.0, 60.0) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]


def test_queue_arguments_name_the_dead_letter_exchange_and_queue():
    assert dead_letters.queue_arguments("evt-a-B--c.d") == {
        "x-dead-letter-exchange": "onestop.dead-letters", "x-dead-letter-routing-key": "evt-a-B--c.d"}
    assert dead_letters.dead_queue("q") == "q.dead" and dead_letters.retry_queue("q") == "q.retry"


def test_only_service_pool_handlers_are_offered():
    with pytest.raises(ValueError):
        ReliableEventHandler("intake", "X", handler_type="broadcast", reliable_delivery=False)


CHECK_WORKERS = """
from nameko.events import EventHandler
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from onestop_chassis.worker import ReliableEventHandler
from onestop_documents.worker import DocumentsWorker
from onestop_intake.worker import IntakeWorker
from onestop_routing.worker import RoutingWorker
from onestop_delivery.worker import DeliveryWorker
from onestop_survey.worker import SurveyWorker
found = []
for cls in (IntakeWorker, RoutingWorker, DocumentsWorker, DeliveryWorker, SurveyWorker):
    for attr in dir(cls):
        for entrypoint in getattr(getattr(cls, attr), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, EventHandler):
                found.append((cls.__name__, attr, type(entrypoint) is ReliableEventHandler))
print(found)
"""


def test_every_service_worker_uses_the_chassis_handler():
    """New and existing workers inherit dead-lettering: no nameko @event_handler is left. In a
    process of its own: importing the workers (nameko's web server, eventlet) would leave this
    one's threads and sockets changed for the tests after it."""
    out = subprocess.run([sys.executable, "-c", CHECK_WORKERS], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    found = ast.literal_eval(out.strip().splitlines()[-1])
    # + routing's DossierSupplementReceived and DossierSupplementRequested; + intake following 8 routing
    # events; + routing filing forms 04 and 05 and documents filing routing's FormIssued; + intake following
    # delivery's ShipmentDelivered and ShipmentReturnedToSender, delivery booking on DossierFinished and
    # documents filing delivery's handover records (FormIssued); + survey issuing invitations on
    # DossierResultReturned; + documents granting the units of routing's CaseOpened and CaseProgressed;
    # + delivery restoring its fee lines from its own PostalFeeRecorded; + survey rebuilding an
    # answer's tallies from its own AnswerRecorded; + intake following delivery's ShipmentRebooked;
    # + survey rebuilding a kiosk rating's from OfficerRated
    assert len(found) == 6 + 2 + 8 + 3 + 2 + 1 + 1 + 1 + 2 + 1 + 1 + 1 + 1
    assert [f"{cls}.{attr}" for cls, attr, chassis in found if not chassis] == []
