"""The catalogue RPCs of onestop.intake.v1.IntakeService (procedures: create, update, deactivate,
get, list, import, export), mixed into the one IntakeServicer (onestop_intake.api)."""

from __future__ import annotations

from prometheus_client import Counter

from onestop.intake.v1 import intake_pb2
from onestop_chassis import auth, codes
from onestop_chassis.logs import get_logger

from ..shared import proto
from ..units.service import UnitDirectory
from .service import CatalogueService

log = get_logger("onestop.intake")
ADMIN = (auth.AGENCY_ADMIN, auth.SERVICE)
CATALOGUE_CHANGES = Counter("onestop_intake_catalogue_changes", "Procedure catalogue changes, by action", ["action"])


class CatalogueRpcs:
    """The procedure catalogue: written by the competent agency's admins, read by anyone."""

    _catalogue: CatalogueService
    _unit_directory: UnitDirectory  # the competent units' names

    def _procedure(self, procedure, unit_names: dict[str, str] | None = None):
        if unit_names is None:
            unit = self._unit_directory.unit(procedure.competent_unit_code)
            unit_names = {unit.code: unit.name} if unit else {}
        return proto.procedure_to_proto(procedure, unit_names=unit_names, today=self._catalogue.today())

    def _changed(self, action: str, procedure):
        CATALOGUE_CHANGES.labels(action).inc()
        log.info("procedure changed", action=action, procedure_code=procedure.code, version=procedure.version)
        return self._procedure(procedure)

    @auth.requires(*ADMIN)
    def CreateProcedure(self, request, context):
        procedure = self._catalogue.create(proto.procedure_from_proto(request.procedure), auth.current_principal())
        return intake_pb2.CreateProcedureResponse(procedure=self._changed("create", procedure))

    @auth.requires(*ADMIN)
    def UpdateProcedure(self, request, context):
        procedure = self._catalogue.update(proto.procedure_from_proto(request.procedure), auth.current_principal())
        return intake_pb2.UpdateProcedureResponse(procedure=self._changed("update", procedure))

    @auth.requires(*ADMIN)
    def DeactivateProcedure(self, request, context):
        procedure = self._catalogue.deactivate(request.code.strip(), request.version, auth.current_principal())
        return intake_pb2.DeactivateProcedureResponse(procedure=self._changed("deactivate", procedure))

    @auth.public
    def GetProcedure(self, request, context):
        return intake_pb2.GetProcedureResponse(procedure=self._procedure(self._catalogue.get(request.code)))

    @auth.public
    def ListProcedures(self, request, context):
        page = self._catalogue.page(
            page_size=request.page_size, page_token=request.page_token,
            field_code=request.field_code.strip().lower(),  # field codes are lower case: ho_tich
            agency=codes.normalise_code(request.competent_agency_code),
            text=request.text,
            include_inactive=request.include_inactive)
        names = {u.code: u.name for u in self._unit_directory.all_units()}
        return intake_pb2.ListProceduresResponse(
            procedures=[self._procedure(p, names) for p in page.procedures],
            next_page_token=page.next_page_token, total_size=page.total_size)

    @auth.requires(*ADMIN)
    def ImportProcedures(self, request, context):
        fmt = proto.catalogue_format(request.format)
        result = self._catalogue.import_file(request.content, fmt, auth.current_principal())
        log.info("procedures imported", created=result.created, updated=result.updated, unchanged=result.unchanged)
        for action, count in (("import_create", result.created), ("import_update", result.updated)):
            CATALOGUE_CHANGES.labels(action).inc(count)
        return intake_pb2.ImportProceduresResponse(created_count=result.created, updated_count=result.updated,
                                                   unchanged_count=result.unchanged)

    @auth.public
    def ExportProcedures(self, request, context):
        fmt = proto.catalogue_format(request.format)
        content, count = self._catalogue.export(
            fmt, field_code=request.field_code.strip(), agency=request.competent_agency_code.strip(),
            include_inactive=request.include_inactive)
        return intake_pb2.ExportProceduresResponse(content=content, content_type=proto.CONTENT_TYPES[fmt],
                                                   procedure_count=count)
