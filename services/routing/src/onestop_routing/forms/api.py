"""The printed-form RPCs of onestop.routing.v1.RoutingService (GetCaseForm, GetTrackingBook),
mixed into the one RoutingServicer (onestop_routing.api)."""

from __future__ import annotations

from collections.abc import Mapping

from onestop.routing.v1 import routing_pb2
from onestop_chassis import auth
from onestop_chassis.errors import FailedPrecondition, FieldViolation, InvalidArgument
from onestop_chassis.logs import bind_dossier

from ..service import RoutingService
from . import printed, tracking

READERS = (auth.DESK_OFFICER, auth.PROCESSING_OFFICER, auth.UNIT_LEADER, auth.AGENCY_ADMIN, auth.SERVICE)
BOOK_READERS = (auth.DESK_OFFICER, auth.UNIT_LEADER, auth.AGENCY_ADMIN, auth.SERVICE)
MAX_BOOK_CASES = 2000  # a busy desk's month; past it the book is refused rather than cut short
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class CaseFormRpcs:
    """Forms 04-06 of a case as PDFs, rendered from its journey as read now."""

    _service: RoutingService

    def _names(self) -> Mapping[str, str]:  # the servicer's: intake's unit names, cached
        raise NotImplementedError

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
        return routing_pb2.GetCaseFormResponse(pdf=printed.render(loaded, form, request.number, self._names()),
                                               file_name=printed.file_name(form, code, request.number))

    @auth.requires(*BOOK_READERS)
    def GetTrackingBook(self, request, context):
        period = tracking.Period.parse(request.period)
        if request.format not in (routing_pb2.BOOK_FORMAT_PDF, routing_pb2.BOOK_FORMAT_XLSX):
            raise InvalidArgument.from_violations([FieldViolation("format", "must be PDF or XLSX")])
        unit = request.unit_code.strip()
        principal = auth.current_principal()
        assert principal is not None
        cases = self._service.tracking_book(unit, period.year, period.month, MAX_BOOK_CASES + 1, principal)
        if len(cases) > MAX_BOOK_CASES:
            raise FailedPrecondition("BOOK_TOO_LARGE", f"unit {unit} had more than {MAX_BOOK_CASES} cases in "
                                                       f"{period}", metadata={"unit_code": unit})
        names = self._names()
        name = names.get(unit) or next((c.case.receiving_unit_name for c in cases), "")
        rows = tracking.rows(unit, period, cases, names)
        stem = f"so-theo-doi-{unit}-{period.year}-{period.month:02d}"
        if request.format == routing_pb2.BOOK_FORMAT_XLSX:
            return routing_pb2.GetTrackingBookResponse(content=tracking.render_xlsx(unit, name, period, rows),
                                                       file_name=f"{stem}.xlsx", media_type=XLSX, rows=len(rows))
        return routing_pb2.GetTrackingBookResponse(content=tracking.render_pdf(unit, name, period, rows),
                                                   file_name=f"{stem}.pdf", media_type="application/pdf",
                                                   rows=len(rows))
