"""Intake as delivery's api sees it (service.Intake): a dossier's postal choice and its procedure's
postal rule, read with delivery's own SERVICE token. grpcio client: api process only."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from onestop.intake.v1 import intake_pb2, intake_pb2_grpc
from onestop_chassis import codes
from onestop_chassis.clients import ServiceClient

from ..service import DossierFacts


class IntakeDossiers(ServiceClient):
    def __init__(self, address: str, token: Callable[[], str], timeout: float = 5.0):
        super().__init__(address, intake_pb2_grpc.IntakeServiceStub, token, timeout)

    def dossier(self, code: str) -> DossierFacts | None:
        """The dossier's facts; None when intake has no such dossier. Unavailable INTAKE_UNAVAILABLE."""
        try:
            d = self.stub().GetDossier(intake_pb2.GetDossierRequest(code=code), metadata=self.metadata,
                                       timeout=self.timeout).dossier
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise self.unavailable("INTAKE_UNAVAILABLE", "intake", "read the dossier", exc) from None
        allowed = self.postal_allowed(d.procedure_code)
        return DossierFacts(code=d.code, agency_code=codes.unit_of(d.code), procedure_code=d.procedure_code,
                            return_by_post=d.return_by_post, postal_return_allowed=bool(allowed),
                            channel=d.channel, status=d.status)

    def postal_allowed(self, procedure_code: str) -> bool | None:
        """The procedure's `postal_return_allowed`; None when intake has no such procedure."""
        try:
            p = self.stub().GetProcedure(intake_pb2.GetProcedureRequest(code=procedure_code), metadata=self.metadata,
                                         timeout=self.timeout).procedure
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise self.unavailable("INTAKE_UNAVAILABLE", "intake", "read the procedure", exc) from None
        return p.postal_return_allowed
