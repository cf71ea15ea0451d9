"""The reception RPCs of onestop.intake.v1.IntakeService: submitting a dossier, the desk's
actions on it, and the public lookup by code and secret (under the lookup rate limits). Mixed into
the one IntakeServicer (onestop_intake.api)."""

from __future__ import annotations

from prometheus_client import Counter

from onestop.intake.v1 import intake_pb2
from onestop_chassis import auth
from onestop_chassis.errors import FailedPrecondition
from onestop_chassis.logs import bind_dossier, get_logger
from onestop_chassis.ratelimits import Network, grpc_client

from ..forms import issued as issued_forms
from ..public.lookup_limits import LookupLimits
from ..shared import proto
from .adapters.documents_client import DocumentsClient
from .service import IntakeService

log = get_logger("onestop.intake")
DOSSIERS_RECEIVED = Counter("onestop_intake_dossiers_submitted",
                            "Dossiers registered at a desk, by channel and resulting status",
                            ["channel", "status"])
DESK_ACTIONS = Counter("onestop_intake_desk_actions", "Desk actions carried out, by action", ["action"])
SUBMISSIONS_REPLAYED = Counter("onestop_intake_submissions_replayed",
                               "SubmitDossier retries answered with the dossier of the same request_id")
DESK = (auth.DESK_OFFICER, auth.SERVICE)


class ReceptionRpcs:
    """SubmitDossier, GetDossier, the desk actions, LookupDossier and GetResultLinks."""

    _reception: IntakeService
    _lookups: LookupLimits
    _trusted_proxies: tuple[Network, ...]
    _documents: DocumentsClient | None  # None: this desk keeps no result files
    _result_link_seconds: int

    @auth.requires(auth.DESK_OFFICER, auth.CITIZEN, auth.SERVICE)
    def SubmitDossier(self, request, context):
        result = self._reception.submit(proto.submit_command(request), auth.current_principal())
        dossier = result.dossier
        bind_dossier(dossier.code)
        if result.replayed:
            SUBMISSIONS_REPLAYED.inc()
            log.info("dossier submission replayed", request_id=dossier.request_id)
        else:
            DOSSIERS_RECEIVED.labels(dossier.channel.name.lower(), dossier.status.name.lower()).inc()
            log.info("dossier registered", status=int(dossier.status), procedure_code=dossier.procedure_code,
                     channel=int(dossier.channel), appointment_at=str(dossier.appointment_at))
        return intake_pb2.SubmitDossierResponse(dossier=proto.dossier_to_proto(dossier),
                                                lookup_secret=dossier.lookup_secret)

    def _limited(self, context, code: str, find):
        """A public read by code and secret, under the lookup rate limits (lookup_limits)."""
        return self._lookups.guarded(client=grpc_client(context, self._trusted_proxies), code=code, find=find)

    @auth.public
    def LookupDossier(self, request, context):
        code = request.code.strip()
        dossier = self._limited(context, code, lambda: self._reception.lookup(code, request.secret))
        return intake_pb2.LookupDossierResponse(dossier=proto.public_dossier(dossier))

    @auth.public
    def GetResultLinks(self, request, context):
        code = request.code.strip()
        dossier = self._limited(context, code, lambda: self._reception.finished(code, request.secret))
        bind_dossier(dossier.code)
        if self._documents is None:
            raise FailedPrecondition("NO_DOCUMENTS_SERVICE", "this desk keeps no result files: collect the result "
                                     f"at {issued_forms.collect_at(dossier)}")
        links = self._documents.result_links(dossier_code=dossier.code, agency_code=dossier.receiving_unit.code,
                                             ttl_seconds=self._result_link_seconds)
        response = intake_pb2.GetResultLinksResponse()
        for link in links:
            file = response.files.add(file_name=link.file_name, component=link.component,
                                      content_type=link.content_type, size_bytes=link.size_bytes,
                                      sha256=link.sha256, url=link.url)
            file.expires_at.FromDatetime(link.expires_at)
        log.info("result links issued", files=len(links))
        return response


    @auth.requires(*DESK)
    def GetDossier(self, request, context):
        bind_dossier(request.code.strip())
        dossier = self._reception.get(request.code.strip(), auth.current_principal())
        return intake_pb2.GetDossierResponse(dossier=proto.dossier_to_proto(dossier))

    def _acted(self, action: str, dossier) -> object:
        DESK_ACTIONS.labels(action).inc()
        log.info("desk action", action=action, status=int(dossier.status), version=dossier.version)
        return proto.dossier_to_proto(dossier)

    @auth.requires(*DESK)
    def AcceptDossier(self, request, context):
        bind_dossier(request.code.strip())
        dossier = self._reception.accept(request.code.strip(), auth.current_principal())
        return intake_pb2.AcceptDossierResponse(dossier=self._acted("accept", dossier))

    @auth.requires(*DESK, auth.PROCESSING_OFFICER)
    def RequestSupplement(self, request, context):
        bind_dossier(request.code.strip())
        dossier = self._reception.request_supplement(request.code.strip(), request.reason,
                                                   list(request.documents_to_add), auth.current_principal())
        return intake_pb2.RequestSupplementResponse(dossier=self._acted("request_supplement", dossier))

    @auth.requires(*DESK)
    def ReceiveSupplement(self, request, context):
        bind_dossier(request.code.strip())
        dossier = self._reception.receive_supplement(request.code.strip(), request.note, auth.current_principal())
        return intake_pb2.ReceiveSupplementResponse(dossier=self._acted("receive_supplement", dossier))

    @auth.requires(*DESK)
    def RefuseDossier(self, request, context):
        bind_dossier(request.code.strip())
        dossier = self._reception.refuse(request.code.strip(), list(request.reasons), auth.current_principal())
        return intake_pb2.RefuseDossierResponse(dossier=self._acted("refuse", dossier))

    @auth.requires(*DESK)
    def RequestWithdrawal(self, request, context):
        bind_dossier(request.code.strip())
        dossier = self._reception.request_withdrawal(request.code.strip(), request.reason, auth.current_principal())
        return intake_pb2.RequestWithdrawalResponse(dossier=self._acted("request_withdrawal", dossier))

    @auth.requires(*DESK)
    def RecordResult(self, request, context):
        bind_dossier(request.code.strip())
        dossier = self._reception.record_result(request.code.strip(), request.summary, auth.current_principal())
        return intake_pb2.RecordResultResponse(dossier=self._acted("record_result", dossier))

    @auth.requires(*DESK)
    def ReturnResult(self, request, context):
        bind_dossier(request.code.strip())
        dossier = self._reception.return_result(
            request.code.strip(), auth.current_principal(), method=request.method, receiver_name=request.receiver_name,
            receiver_id_number=request.receiver_id_number, postal_tracking_number=request.postal_tracking_number,
            note=request.note,
            receiver_identity=proto.identity_from_proto(request, "receiver_identity_document"))
        return intake_pb2.ReturnResultResponse(dossier=self._acted("return_result", dossier))
