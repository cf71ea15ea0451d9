"""The printed-form RPCs of onestop.intake.v1.IntakeService (GetReceipt, GetForm), mixed into the
one IntakeServicer (onestop_intake.api)."""

from __future__ import annotations

from onestop.intake.v1 import intake_pb2
from onestop_chassis import auth
from onestop_chassis.errors import FailedPrecondition, FieldViolation, InvalidArgument
from onestop_chassis.logs import bind_dossier

from ..reception.service import IntakeService
from . import issued as issued_forms

DESK = (auth.DESK_OFFICER, auth.SERVICE)


class FormRpcs:
    """Forms 01-03 of a dossier as PDFs, rendered from the stored dossier."""

    _reception: IntakeService
    _lookup_url: str  # printed as a QR code on the receipt

    @auth.requires(*DESK)
    def GetReceipt(self, request, context):
        code = request.code.strip()
        bind_dossier(code)
        dossier = self._reception.get(code, auth.current_principal())
        if dossier.appointment_at is None:
            raise FailedPrecondition("NO_APPOINTMENT", f"dossier {code} has no appointment yet: accept it first")
        pdf = issued_forms.render(dossier, issued_forms.Form.RECEIPT, self._lookup_url)
        return intake_pb2.GetReceiptResponse(
            pdf=pdf, file_name=issued_forms.file_name(issued_forms.Form.RECEIPT, dossier.code))

    @auth.requires(*DESK)
    def GetForm(self, request, context):
        code = request.code.strip()
        bind_dossier(code)
        if request.form not in issued_forms.Form.__members__.values():
            raise InvalidArgument.from_violations([FieldViolation(
                "form", "must be 1 (receipt), 2 (supplement request) or 3 (refusal)")])
        dossier = self._reception.get(code, auth.current_principal())
        form = issued_forms.Form(request.form)
        return intake_pb2.GetFormResponse(pdf=issued_forms.render(dossier, form, self._lookup_url),
                                          file_name=issued_forms.file_name(form, dossier.code))
