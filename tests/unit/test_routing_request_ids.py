"""Every mutating case RPC of routing needs a request_id (issue 11, review): without one a retry
could act twice, so an empty one is INVALID_ARGUMENT naming the field, and nothing is stored."""

from __future__ import annotations

import pytest
from test_routing_forms import CALENDAR, CODE, LAND, Clock, _at_land

from onestop.common.v1 import common_pb2
from onestop.routing.v1 import routing_pb2 as pb
from onestop_chassis import auth
from onestop_chassis.auth import Principal
from onestop_chassis.errors import InvalidArgument
from onestop_routing.api import RoutingServicer
from onestop_routing.service import RoutingService
from onestop_routing.templates.service import TemplateService

from fakes import FakeCases, FakeTemplates
from routing_samples import land_registration

LEADER = Principal("ld-tuan", frozenset({auth.PROCESSING_OFFICER, auth.UNIT_LEADER}), LAND.agency)

REQUESTS = {
    "ClaimStep": (LAND, pb.ClaimStepRequest(dossier_code=CODE, step_code="tham_dinh", request_id=" ")),
    "AssignSteps": (LEADER, pb.AssignStepsRequest(dossier_codes=[CODE], step_code="tham_dinh", assignee="cv-hoa")),
    "ActOnStep": (LAND, pb.ActOnStepRequest(dossier_code=CODE, step_code="tham_dinh",
                                            action=pb.STEP_ACTION_FORWARD)),
    "ExtendCase": (LEADER, pb.ExtendCaseRequest(dossier_code=CODE, extra=common_pb2.WorkingDuration(days=2),
                                                reason="Chờ xác minh")),
    "ConfirmPayment": (LAND, pb.ConfirmPaymentRequest(dossier_code=CODE, note="Biên lai 001")),
}


@pytest.mark.parametrize("rpc", sorted(REQUESTS))
def test_a_mutating_rpc_without_request_id_is_refused_naming_the_field(rpc):
    cases, clock = FakeCases(), Clock()
    routing = RoutingService(cases, FakeTemplates(land_registration()), calendar=CALENDAR, clock=clock)
    _at_land(routing, clock)
    servicer = RoutingServicer(routing, TemplateService(FakeTemplates(), None))
    appends, events = cases.appends, list(cases.events)
    principal, request = REQUESTS[rpc]
    token = auth.set_current_principal(principal)
    try:
        with pytest.raises(InvalidArgument) as info:
            getattr(servicer, rpc)(request, None)
    finally:
        auth._current.reset(token)
    assert [v.field for v in info.value.violations] == ["request_id"]
    assert (cases.appends, cases.events) == (appends, events)
