"""The unit RPCs of onestop.intake.v1.IntakeService (PutUnit, GetUnit, ListUnits), mixed into the
one IntakeServicer (onestop_intake.api)."""

from __future__ import annotations

from onestop.intake.v1 import intake_pb2
from onestop_chassis import auth
from onestop_chassis.logs import get_logger

from ..shared import proto
from .service import UnitService

log = get_logger("onestop.intake")
ADMIN = (auth.AGENCY_ADMIN, auth.SERVICE)


class UnitRpcs:
    """Agencies and units: written by admins, read by anyone."""

    _units: UnitService

    @auth.requires(*ADMIN)
    def PutUnit(self, request, context):
        unit, created = self._units.put(proto.unit_from_proto(request.unit), auth.current_principal())
        log.info("unit stored", unit_code=unit.code, created=created)
        return intake_pb2.PutUnitResponse(unit=proto.unit_to_proto(unit), created=created)

    @auth.public
    def GetUnit(self, request, context):
        view = self._units.get(request.code)
        return intake_pb2.GetUnitResponse(unit=proto.unit_to_proto(view.unit),
                                          ancestors=[proto.unit_ref(u) for u in view.ancestors],
                                          children=[proto.unit_ref(u) for u in view.children],
                                          serves=[proto.unit_ref(u) for u in view.serves])

    @auth.public
    def ListUnits(self, request, context):
        found = self._units.list(request.parent_code.strip(), request.descendants, request.kind)
        return intake_pb2.ListUnitsResponse(units=[proto.unit_to_proto(u) for u in found])
