"""Routing's `api` process: the RoutingService gRPC API (cases, inboxes, officers' actions, journeys)."""

from __future__ import annotations

from collections.abc import Mapping

from onestop.common.v1 import common_pb2
from onestop.routing.v1 import routing_pb2, routing_pb2_grpc
from onestop_chassis import auth
from onestop_chassis.api import run_api
from onestop_chassis.config import load_or_exit
from onestop_chassis.errors import FieldViolation, InvalidArgument
from onestop_chassis.logs import bind_dossier
from onestop_chassis.worktime import WorkingDuration

from .bootstrap import Routing, bootstrap, prepare_database
from .cases import Loaded
from .config import RoutingSettings
from .domain.actions import Act, Extend
from .domain.journey import AssigneeKind, CaseState, CaseView, Handover, StepRun
from .domain.process import Action, ProcessTemplate
from .forms.api import CaseFormRpcs
from .forms.printed import with_receiving
from .inbox import InboxItem, InboxScope
from .messages import TIMELINESS
from .service import RoutingService
from .templates.api import TemplateRpcs
from .templates.service import TemplateService
from .units import NoUnitNames, UnitNames

STATES = {CaseState.PROCESSING: routing_pb2.CASE_STATE_PROCESSING, CaseState.PAUSED: routing_pb2.CASE_STATE_PAUSED,
          CaseState.FINISHED: routing_pb2.CASE_STATE_FINISHED, CaseState.STOPPED: routing_pb2.CASE_STATE_STOPPED,
          CaseState.REFUSED: routing_pb2.CASE_STATE_REFUSED}
ACTIONS = {routing_pb2.STEP_ACTION_FORWARD: Action.FORWARD, routing_pb2.STEP_ACTION_SEND_BACK: Action.SEND_BACK,
           routing_pb2.STEP_ACTION_REQUEST_SUPPLEMENT: Action.REQUEST_SUPPLEMENT,
           routing_pb2.STEP_ACTION_REQUEST_PAYMENT: Action.REQUEST_PAYMENT,
           routing_pb2.STEP_ACTION_APPROVE: Action.APPROVE, routing_pb2.STEP_ACTION_FINISH: Action.FINISH,
           routing_pb2.STEP_ACTION_STOP: Action.STOP, routing_pb2.STEP_ACTION_REFUSE: Action.REFUSE}
ASSIGNEE_KINDS = {routing_pb2.ASSIGNEE_KIND_PRIMARY: AssigneeKind.PRIMARY,
                  routing_pb2.ASSIGNEE_KIND_CO_HANDLER: AssigneeKind.CO_HANDLER,
                  routing_pb2.ASSIGNEE_KIND_WATCHER: AssigneeKind.WATCHER}
SCOPES = {routing_pb2.ListInboxRequest.SCOPE_UNSPECIFIED: InboxScope.MINE,
          routing_pb2.ListInboxRequest.SCOPE_MINE: InboxScope.MINE,
          routing_pb2.ListInboxRequest.SCOPE_UNASSIGNED: InboxScope.UNASSIGNED,
          routing_pb2.ListInboxRequest.SCOPE_UNIT: InboxScope.UNIT,
          routing_pb2.ListInboxRequest.SCOPE_ESCALATED: InboxScope.ESCALATED}
OFFICERS = (auth.DESK_OFFICER, auth.PROCESSING_OFFICER, auth.UNIT_LEADER)


NO_NAMES: Mapping[str, str] = {}


def _unit(code: str, names: Mapping[str, str]) -> common_pb2.UnitRef:
    """A unit by code, with its Vietnamese name when `names` (units.UnitNames) has it."""
    return common_pb2.UnitRef(code=code, name=names.get(code, "") if code else "")


def run_to_proto(run: StepRun, template: ProcessTemplate, names: Mapping[str, str] = NO_NAMES) -> routing_pb2.StepRun:
    message = routing_pb2.StepRun(step_code=run.step, step_name=template.step(run.step).name,
                                  unit=_unit(run.unit_code, names),
                                  primary=run.primary, co_handlers=run.co_handlers, watchers=run.watchers,
                                  due_soon=run.due_soon, overdue=run.overdue)
    message.entered_at.FromDatetime(run.entered_at)
    message.due_at.FromDatetime(run.clock.due_at)
    return message


def case_to_proto(loaded: Loaded, names: Mapping[str, str] = NO_NAMES) -> routing_pb2.Case:
    """The case as GetCase answers it; every unit with its name from `names` (intake's units), the
    code alone where the name is not known."""
    case, view, template = loaded.case, loaded.view, loaded.template
    names = with_receiving(loaded, names)
    message = routing_pb2.Case(
        dossier_code=case.dossier_code, procedure_code=case.procedure_code,
        procedure_name=case.procedure_name, state=int(case.state), applicant_name=case.applicant_name,
        channel=case.channel, process_code=case.process_code, process_version=case.process_version,
        seq=len(loaded.log))
    message.receiving_unit.code = case.receiving_unit_code
    message.receiving_unit.name = names.get(case.receiving_unit_code, "")  # intake's, else the case's own
    message.received_at.FromDatetime(case.received_at)
    message.due_at.FromDatetime(case.due_at)
    message.opened_at.FromDatetime(case.opened_at)
    if view is not None and template is not None:
        _add_view(message, view, template, names)
    return message


def _add_view(message: routing_pb2.Case, view: CaseView, template: ProcessTemplate, names: Mapping[str, str]) -> None:
    message.state = STATES[view.state]
    message.national_status = view.national_status  # type: ignore[assignment]  # 4, 5, 6, 8, 9: enum values
    message.due_at.FromDatetime(view.clock.due_at)
    message.paused_minutes = view.clock.paused_minutes
    message.steps.extend(run_to_proto(r, template, names) for r in view.runs)
    for extension in view.extensions:
        item = message.extensions.add(reason=extension.reason, approved_by=extension.approved_by,
                                      unit_code=extension.unit_code, step_codes=extension.steps)
        item.extra.CopyFrom(common_pb2.WorkingDuration(**extension.extra.__dict__))
        item.at.FromDatetime(extension.at)
        item.new_due_at.FromDatetime(extension.new_due_at)
    if view.ended_at is not None and view.grade is not None:
        message.ended_at.FromDatetime(view.ended_at)
        message.timeliness = TIMELINESS[view.grade]


def handover_to_proto(row: Handover, names: Mapping[str, str] = NO_NAMES) -> routing_pb2.Handover:
    message = routing_pb2.Handover(from_step=row.from_step, from_unit=_unit(row.from_unit, names),
                                   from_officer=row.from_officer, to_step=row.to_step,
                                   to_unit=_unit(row.to_unit, names),
                                   timeliness=TIMELINESS[row.grade], note=row.note)
    message.at.FromDatetime(row.at)
    message.due_at.FromDatetime(row.due_at)
    return message


def journey_to_proto(loaded: Loaded, names: Mapping[str, str] = NO_NAMES) -> routing_pb2.GetJourneyResponse:
    names = with_receiving(loaded, names)
    response = routing_pb2.GetJourneyResponse()
    for logged in loaded.log:
        e = logged.entry
        item = response.entries.add(seq=e.seq, kind=str(e.kind), actor=e.actor.subject, actor_role=e.actor.role,
                                    actor_unit_code=e.actor.unit_code, step_code=e.step, to_step=e.to_step,
                                    reason=e.reason, request_id=e.request_id, assignee=e.assignee)
        item.at.FromDatetime(e.at)
        if e.assignee_kind is not None:
            item.assignee_kind = next(k for k, v in ASSIGNEE_KINDS.items() if v is e.assignee_kind)
        if e.extra is not None:
            item.extra.CopyFrom(common_pb2.WorkingDuration(**e.extra.__dict__))
    if loaded.view is not None:
        response.control_slip.extend(handover_to_proto(row, names) for row in loaded.view.handovers)
    return response


def inbox_item_to_proto(item: InboxItem, names: Mapping[str, str] = NO_NAMES) -> routing_pb2.InboxItem:
    step = routing_pb2.StepRun(step_code=item.step_code, step_name=item.step_name, unit=_unit(item.unit_code, names),
                               primary=item.primary, co_handlers=item.co_handlers, watchers=item.watchers,
                               due_soon=item.due_soon, overdue=item.overdue)
    step.entered_at.FromDatetime(item.entered_at)
    step.due_at.FromDatetime(item.due_at)
    message = routing_pb2.InboxItem(dossier_code=item.dossier_code, procedure_name=item.procedure_name,
                                    applicant_name=item.applicant_name, step=step)
    message.case_due_at.FromDatetime(item.case_due_at)
    return message


def _action(request) -> Action:
    if request.action not in ACTIONS:
        raise InvalidArgument.from_violations([FieldViolation("action", "is required: forward, send_back, ...")])
    return ACTIONS[request.action]


def _request_id(request) -> str:
    """The request's idempotency key: INVALID_ARGUMENT naming `request_id` when empty, so that a
    retried action can never act twice (every mutating case RPC needs one)."""
    request_id = request.request_id.strip()
    if not request_id:
        raise InvalidArgument.from_violations([FieldViolation(
            "request_id", "is required: a new id per action, the same id when retrying it")])
    return request_id


class RoutingServicer(TemplateRpcs, CaseFormRpcs, routing_pb2_grpc.RoutingServiceServicer):
    def __init__(self, service: RoutingService, templates: TemplateService, unit_names: UnitNames | None = None):
        self._service = service
        self._templates = templates
        self._unit_names = unit_names or NoUnitNames()

    def _names(self) -> Mapping[str, str]:
        return self._unit_names.names()  # cached; never raises (codes alone when intake is down)

    @auth.requires(auth.DESK_OFFICER, auth.PROCESSING_OFFICER, auth.UNIT_LEADER, auth.AGENCY_ADMIN, auth.SERVICE)
    def GetCase(self, request, context):
        code = request.dossier_code.strip()
        bind_dossier(code)
        loaded = self._service.get_case(code, _principal())
        return routing_pb2.GetCaseResponse(case=case_to_proto(loaded, self._names()))

    @auth.requires(auth.DESK_OFFICER, auth.PROCESSING_OFFICER, auth.UNIT_LEADER, auth.AGENCY_ADMIN, auth.SERVICE)
    def GetJourney(self, request, context):
        bind_dossier(request.dossier_code.strip())
        return journey_to_proto(self._service.get_case(request.dossier_code, _principal()), self._names())

    @auth.requires(*OFFICERS, auth.SERVICE)
    def ListInbox(self, request, context):
        items, token = self._service.inbox(
            _principal(), request.unit_code, SCOPES.get(request.scope, InboxScope.MINE),
            overdue_only=request.overdue_only, page_size=request.page.page_size, page_token=request.page.page_token)
        names = self._names()
        response = routing_pb2.ListInboxResponse(items=[inbox_item_to_proto(i, names) for i in items])
        response.page.next_page_token = token
        return response

    @auth.requires(*OFFICERS)
    def ClaimStep(self, request, context):
        bind_dossier(request.dossier_code.strip())
        loaded = self._service.claim(request.dossier_code, request.step_code.strip(), _request_id(request),
                                     _principal())
        return routing_pb2.ClaimStepResponse(case=case_to_proto(loaded, self._names()))

    @auth.requires(auth.UNIT_LEADER)
    def AssignSteps(self, request, context):
        kind = ASSIGNEE_KINDS.get(request.kind, AssigneeKind.PRIMARY)
        done = self._service.assign(list(request.dossier_codes), request.step_code.strip(), request.assignee, kind,
                                    _request_id(request), _principal())
        names = self._names()
        return routing_pb2.AssignStepsResponse(cases=[case_to_proto(loaded, names) for loaded in done])

    @auth.requires(*OFFICERS)
    def ActOnStep(self, request, context):
        bind_dossier(request.dossier_code.strip())
        command = Act(request.step_code.strip(), _action(request), request.to_step.strip(), request.reason)
        names = self._names()  # read before the action: its events name the units too
        loaded = self._service.act(request.dossier_code, command, _request_id(request), _principal())
        return routing_pb2.ActOnStepResponse(case=case_to_proto(loaded, names))

    @auth.requires(auth.UNIT_LEADER)
    def ExtendCase(self, request, context):
        bind_dossier(request.dossier_code.strip())
        extra = WorkingDuration(request.extra.days, request.extra.hours, request.extra.minutes)
        names = self._names()  # read before the action: CaseExtended names the agency at fault (form 04)
        loaded = self._service.extend(request.dossier_code, Extend(extra, request.reason), _request_id(request),
                                      _principal())
        return routing_pb2.ExtendCaseResponse(case=case_to_proto(loaded, names))

    @auth.requires(*OFFICERS)
    def ConfirmPayment(self, request, context):
        bind_dossier(request.dossier_code.strip())
        loaded = self._service.confirm_payment(request.dossier_code, request.note, _request_id(request), _principal())
        return routing_pb2.ConfirmPaymentResponse(case=case_to_proto(loaded, self._names()))


def _principal() -> auth.Principal:
    principal = auth.current_principal()
    assert principal is not None  # the interceptor authenticated every non-public call
    return principal


def register(server, routing: Routing) -> None:
    """Adds routing's servicers to the chassis gRPC server."""
    server.add_servicer(routing_pb2_grpc.add_RoutingServiceServicer_to_server,
                        RoutingServicer(routing.service, routing.templates, routing.unit_names),
                        routing_pb2.DESCRIPTOR.services_by_name["RoutingService"])


def main() -> None:
    settings = load_or_exit(RoutingSettings)

    def start(server) -> None:
        prepare_database()
        register(server, bootstrap(settings))
    run_api(settings, start)
