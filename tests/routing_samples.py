"""Process templates shared by routing's tests: a cross-agency land registration and two parallel
opinions with a join. Units are H17's demo codes; budgets in working days and hours."""

from onestop_chassis.worktime import WorkingDuration
from onestop_routing.domain.process import Action, Guard, Performer, ProcessTemplate, Step, StepKind, Transition

UNITS = {"000.00.21.H17", "000.01.21.H17", "000.00.30.H17"}
ROLES = {"desk_officer", "processing_officer", "unit_leader"}


def days(n=0, hours=0):
    return WorkingDuration(days=n, hours=hours)


ONE_DAY = WorkingDuration(days=1)


def task(code, unit="000.01.21.H17", budget=ONE_DAY, role="processing_officer", kind=StepKind.TASK, status=4):
    return Step(code=code, name=f"Bước {code}", kind=kind, performer=Performer(unit, role), budget=budget,
                national_status=status)


def land_registration() -> ProcessTemplate:
    """Desk → land office → tax authority (another agency, for the financial obligation) → land
    office signs → desk returns: 10 working days in all."""
    return ProcessTemplate(
        process_code="QT-1.000948", version=1, name="Đăng ký biến động đất đai", legal_limit=days(10),
        start_step="tiep_nhan",
        steps=(task("tiep_nhan", "000.00.21.H17", days(0, 4), "desk_officer", StepKind.DESK),
               task("tham_dinh", budget=days(4)),
               task("thue", "000.00.30.H17", days(3), kind=StepKind.EXTERNAL),
               task("ky_duyet", budget=days(1), role="unit_leader"),
               task("tra_ket_qua", "000.00.21.H17", days(0, 4), "desk_officer", StepKind.DESK)),
        transitions=(Transition("tiep_nhan", Action.FORWARD, "tham_dinh"),
                     Transition("tham_dinh", Action.REQUEST_SUPPLEMENT),
                     Transition("tham_dinh", Action.FORWARD, "thue"),
                     Transition("thue", Action.REQUEST_PAYMENT),
                     Transition("thue", Action.FORWARD, "ky_duyet", (Guard.PAID,)),
                     Transition("ky_duyet", Action.SEND_BACK, "tham_dinh"),
                     Transition("ky_duyet", Action.APPROVE, "tra_ket_qua"),
                     Transition("tham_dinh", Action.STOP),
                     Transition("tra_ket_qua", Action.FINISH)))


def parallel() -> ProcessTemplate:
    """Two departments give their opinion at once (3 and 5 days), then the leader decides."""
    split = Step("tach", "Lấy ý kiến", StepKind.SPLIT)
    join = Step("gop", "Tổng hợp ý kiến", StepKind.JOIN)
    return ProcessTemplate(
        process_code="QT-2", version=1, name="Cấp phép", legal_limit=days(8), start_step="tach",
        steps=(split, task("a", budget=days(3)), task("b", "000.00.30.H17", days(5)), join,
               task("quyet_dinh", budget=days(2), role="unit_leader")),
        transitions=(Transition("tach", Action.FORWARD, "a"), Transition("tach", Action.FORWARD, "b"),
                     Transition("a", Action.FORWARD, "gop"), Transition("b", Action.FORWARD, "gop"),
                     Transition("gop", Action.FORWARD, "quyet_dinh", (Guard.ALL_BRANCHES_DONE,)),
                     Transition("quyet_dinh", Action.FINISH)))
