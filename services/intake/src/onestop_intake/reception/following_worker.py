"""Mixed into the intake worker: routing's events move the dossier's national status (see
`routed` for the rules, `following` for the use case).

Each handler returns False for a redelivery (the chassis counts it), logs and ignores an event that
arrived out of order or after processing ended, and raises PermanentError (dead letter, with the
reason) for what can never apply: an unknown dossier, a status change the national statuses do not
allow. A dossier changed meanwhile by the desk (ABORTED) is retried.
"""

from __future__ import annotations

from onestop.events.v1 import routing_events_pb2 as rev
from onestop_chassis.errors import FailedPrecondition, InvalidArgument, NotFound, PermanentError
from onestop_chassis.logs import get_logger
from onestop_chassis.worker import Bootstrapped, event_handler

from ..bootstrap import bootstrap
from .adapters.routing_events import from_message
from .routed import Verdict

log = get_logger("onestop.intake")
ROUTING = "routing"


class RoutingFollowing:
    routed = Bootstrapped(bootstrap, "routed")  # following.RoutedDossiers, from intake's composition root

    @event_handler(ROUTING, "CaseOpened", message=rev.CaseOpened)
    def on_case_opened(self, event):
        return self._follow(event)

    @event_handler(ROUTING, "CaseProgressed", message=rev.CaseProgressed)
    def on_case_progressed(self, event):
        return self._follow(event)

    @event_handler(ROUTING, "CaseSupplementRequested", message=rev.CaseSupplementRequested)
    def on_case_supplement_requested(self, event):
        return self._follow(event)

    @event_handler(ROUTING, "CasePaymentRequested", message=rev.CasePaymentRequested)
    def on_case_payment_requested(self, event):
        return self._follow(event)

    @event_handler(ROUTING, "CaseResumed", message=rev.CaseResumed)
    def on_case_resumed(self, event):
        return self._follow(event)

    @event_handler(ROUTING, "CaseExtended", message=rev.CaseExtended)
    def on_case_extended(self, event):
        return self._follow(event)

    @event_handler(ROUTING, "CaseStopped", message=rev.CaseStopped)
    def on_case_stopped(self, event):
        return self._follow(event)

    @event_handler(ROUTING, "CaseFinished", message=rev.CaseFinished)
    def on_case_finished(self, event):
        return self._follow(event)

    def _follow(self, message) -> bool:
        event = from_message(message)
        try:
            verdict = self.routed.apply(event)
        except (NotFound, FailedPrecondition, InvalidArgument) as exc:
            raise PermanentError(f"{exc.reason}: {exc.message}") from exc
        if verdict is Verdict.DUPLICATE:
            return False
        if verdict is not Verdict.APPLY:
            log.warning("routing event ignored", event_id=event.event_id, kind=event.kind, why=verdict.value)
        return True
