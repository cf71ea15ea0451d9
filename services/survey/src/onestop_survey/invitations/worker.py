"""Mixed into the survey worker: intake's DossierResultReturned issues the dossier's invitation
(exactly one per dossier, whatever the redeliveries: InvitationService.issue)."""

from __future__ import annotations

import datetime as dt

from onestop.events.v1 import intake_events_pb2 as iev
from onestop_chassis import events
from onestop_chassis.errors import NotFound, PermanentError
from onestop_chassis.logs import get_logger
from onestop_chassis.worker import Bootstrapped, event_handler

from ..bootstrap import bootstrap
from . import domain

log = get_logger("onestop.survey")


def from_message(m: iev.DossierResultReturned) -> domain.ResultReturned:
    return domain.ResultReturned(
        event_id=events.header_of(m).event_id, dossier_code=m.dossier_code, agency_code=m.receiving_unit.code,
        parent_agency_code=m.receiving_agency_code, procedure_code=m.procedure_code,
        procedure_name=m.procedure_name, received_by=m.received_by, returned_by=m.returned_by,
        return_method=m.method, returned_at=m.returned_at.ToDatetime(tzinfo=dt.UTC), field_code=m.field_code)


class ReturnedDossiers:
    invitations = Bootstrapped(bootstrap, "invitations")  # InvitationService, from survey's composition root

    @event_handler("intake", "DossierResultReturned", message=iev.DossierResultReturned)
    def on_result_returned(self, message):
        """Issues the invitation; False (a redelivery) when the dossier has one already."""
        if not message.dossier_code or not message.receiving_unit.code:
            raise PermanentError("DossierResultReturned without a dossier code or receiving unit")
        try:
            invitation, issued = self.invitations.issue(from_message(message))
        except NotFound as exc:  # the configured questionnaire does not exist: never succeeds
            raise PermanentError(f"{exc.reason}: {exc.message}") from exc
        if issued:
            log.info("invitation issued", invitation_id=invitation.id, agency_code=invitation.agency_code)
        return issued
