"""The process template RPCs of onestop.routing.v1.RoutingService (PutProcessTemplate,
GetProcessTemplate, ListProcessTemplates, ImportProcessTemplates), mixed into routing's one
servicer (onestop_routing.api), and their proto conversion."""

from __future__ import annotations

from onestop.common.v1 import common_pb2
from onestop.routing.v1 import routing_pb2 as pb
from onestop_chassis import auth
from onestop_chassis.errors import FieldViolation, InvalidArgument
from onestop_chassis.logs import get_logger
from onestop_chassis.text import nfc
from onestop_chassis.worktime import WorkingDuration

from ..domain.process import Action, Guard, Performer, ProcessTemplate, Published, Step, StepKind, Transition
from .service import TemplateService

log = get_logger("onestop.routing")
WRITERS = (auth.AGENCY_ADMIN, auth.SERVICE)
READERS = (auth.DESK_OFFICER, auth.PROCESSING_OFFICER, auth.UNIT_LEADER, auth.AGENCY_ADMIN, auth.SERVICE)

KINDS = {pb.STEP_KIND_TASK: StepKind.TASK, pb.STEP_KIND_DESK: StepKind.DESK, pb.STEP_KIND_EXTERNAL: StepKind.EXTERNAL,
         pb.STEP_KIND_SPLIT: StepKind.SPLIT, pb.STEP_KIND_JOIN: StepKind.JOIN}
ACTIONS = {pb.STEP_ACTION_FORWARD: Action.FORWARD, pb.STEP_ACTION_SEND_BACK: Action.SEND_BACK,
           pb.STEP_ACTION_REQUEST_SUPPLEMENT: Action.REQUEST_SUPPLEMENT,
           pb.STEP_ACTION_REQUEST_PAYMENT: Action.REQUEST_PAYMENT, pb.STEP_ACTION_APPROVE: Action.APPROVE,
           pb.STEP_ACTION_FINISH: Action.FINISH, pb.STEP_ACTION_STOP: Action.STOP, pb.STEP_ACTION_REFUSE: Action.REFUSE}
GUARDS = {pb.TRANSITION_GUARD_PAID: Guard.PAID, pb.TRANSITION_GUARD_ALL_BRANCHES_DONE: Guard.ALL_BRANCHES_DONE}
FORMATS = {pb.TEMPLATE_FILE_FORMAT_YAML: "yaml", pb.TEMPLATE_FILE_FORMAT_JSON: "json"}


def _duration(d: common_pb2.WorkingDuration) -> WorkingDuration:
    return WorkingDuration(days=d.days, hours=d.hours, minutes=d.minutes)


def template_from_proto(m: pb.ProcessTemplate) -> ProcessTemplate:
    """The template a request carries (its version ignored). InvalidArgument naming each field
    whose enum value is unknown or unspecified (a step's kind defaults to task)."""
    problems: list[FieldViolation] = []
    steps = []
    for i, s in enumerate(m.steps):
        if s.kind and s.kind not in KINDS:
            problems.append(FieldViolation(f"steps[{i}].kind", f"is not a step kind: {s.kind}"))
        performer = Performer(s.performer.unit_code.strip(), s.performer.role.strip()) \
            if s.HasField("performer") else None
        steps.append(Step(code=s.code.strip(), name=nfc(s.name.strip()), kind=KINDS.get(s.kind, StepKind.TASK),
                          performer=performer, budget=_duration(s.budget),
                          national_status=s.national_status or 4))
    transitions = []
    for i, t in enumerate(m.transitions):
        if t.action not in ACTIONS:
            problems.append(FieldViolation(f"transitions[{i}].action", "is required: forward, send_back, "
                                           "request_supplement, request_payment, approve, finish, stop or refuse"))
        for j, g in enumerate(t.guards):
            if g not in GUARDS:
                problems.append(FieldViolation(f"transitions[{i}].guards[{j}]", "is not a guard: paid or "
                                                                               "all_branches_done"))
        transitions.append(Transition(t.from_step.strip(), ACTIONS.get(t.action, Action.FORWARD), t.to_step.strip(),
                                      tuple(GUARDS[g] for g in t.guards if g in GUARDS)))
    if problems:
        raise InvalidArgument.from_violations(problems)
    return ProcessTemplate(process_code=m.process_code.strip(), version=0, name=nfc(m.name.strip()),
                           legal_limit=_duration(m.legal_limit), start_step=m.start_step.strip(), steps=tuple(steps),
                           transitions=tuple(transitions), agency_code=m.agency_code.strip())


def _set_duration(target: common_pb2.WorkingDuration, d: WorkingDuration) -> None:
    target.days, target.hours, target.minutes = d.days, d.hours, d.minutes


def template_to_proto(p: Published) -> pb.ProcessTemplate:
    t = p.template
    kinds = {v: k for k, v in KINDS.items()}
    actions = {v: k for k, v in ACTIONS.items()}
    guards = {v: k for k, v in GUARDS.items()}
    m = pb.ProcessTemplate(process_code=t.process_code, version=t.version, name=t.name, agency_code=t.agency_code,
                           start_step=t.start_step)
    _set_duration(m.legal_limit, t.legal_limit)
    for s in t.steps:
        step = m.steps.add(code=s.code, name=s.name, kind=kinds[s.kind], national_status=s.national_status)
        if s.performer is not None:
            step.performer.unit_code, step.performer.role = s.performer.unit_code, s.performer.role
        _set_duration(step.budget, s.budget)
    for tr in t.transitions:
        m.transitions.add(from_step=tr.from_step, action=actions[tr.action], to_step=tr.to_step,
                          guards=[guards[g] for g in tr.guards])
    m.published_at.FromDatetime(p.published_at)
    return m


class TemplateRpcs:
    """Process templates: written by agency admins (their agency's own) and SERVICE accounts (for
    every agency), read by staff (TemplateService says who reads what)."""

    _templates: TemplateService

    @auth.requires(*WRITERS)
    def PutProcessTemplate(self, request, context):
        published, created = self._templates.put(template_from_proto(request.template), auth.current_principal(),
                                                  request.request_id.strip())
        log.info("process template stored" if created else "process template unchanged",
                 process_code=published.template.process_code, agency_code=published.template.agency_code,
                 version=published.template.version)
        return pb.PutProcessTemplateResponse(template=template_to_proto(published))

    @auth.requires(*READERS)
    def GetProcessTemplate(self, request, context):
        found = self._templates.get(request.process_code, request.agency_code, request.version,
                                    auth.current_principal())
        return pb.GetProcessTemplateResponse(template=template_to_proto(found))

    @auth.requires(*READERS)
    def ListProcessTemplates(self, request, context):
        page = self._templates.page(request.agency_code, auth.current_principal(),
                                    page_size=request.page.page_size, page_token=request.page.page_token)
        response = pb.ListProcessTemplatesResponse(templates=[template_to_proto(p) for p in page.templates])
        response.page.next_page_token = page.next_page_token
        return response

    @auth.requires(*WRITERS)
    def ImportProcessTemplates(self, request, context):
        if request.format not in FORMATS:
            raise InvalidArgument.from_violations([FieldViolation(
                "format", "must be TEMPLATE_FILE_FORMAT_YAML or TEMPLATE_FILE_FORMAT_JSON")])
        result = self._templates.import_file(request.content, FORMATS[request.format], auth.current_principal())
        log.info("process templates imported", stored=len(result.stored), unchanged=result.unchanged)
        return pb.ImportProcessTemplatesResponse(stored=[template_to_proto(p) for p in result.stored],
                                                 unchanged_count=result.unchanged)
