"""The printed-form RPC of onestop.routing.v1.RoutingService (GetCaseForm), mixed into the one
RoutingServicer (onestop_routing.api)."""

from __future__ import annotations

from onestop.routing.v1 import routing_pb2
from onestop_chassis import auth
from onestop_chassis.errors import FieldViolation, InvalidArgument
from onestop_chassis.logs import bind_dossier

from ..service import RoutingService
from . import printed

READERS = (auth.DESK_OFFICER, auth.PROCESSING_OFFICER, auth.UNIT_LEADER, auth.AGENCY_ADMIN, auth.SERVICE)


class CaseFormRpcs:
    """Forms 04-06 of a case as PDFs, rendered from its journey as read now."""

    _service: RoutingService

    @auth.requires(*READERS)
    def GetCaseForm(self, request, context):
        code = request.dossier_code.strip()
        bind_dossier(code)
        if request.form not in printed.Form.__members__.values():
            raise InvalidArgument.from_violations([FieldViolation(
                "form", "must be 4 (apology), 5 (stop notice) or 6 (control slip)")])
        if request.number < 0:
            raise InvalidArgument.from_violations([FieldViolation("number", "must be 0 (the last) or more")])
        principal = auth.current_principal()
        assert principal is not None  # the interceptor authenticated every non-public call
        loaded = self._service.get_case(code, principal)  # the caller's agency checks of GetJourney
        form = printed.Form(request.form)
        return routing_pb2.GetCaseFormResponse(pdf=printed.render(loaded, form, request.number),
                                               file_name=printed.file_name(form, code, request.number))
