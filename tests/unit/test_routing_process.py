"""Process templates (onestop_routing.domain.process): what can run, and every reason one cannot."""

import dataclasses

import pytest

from onestop_chassis.worktime import WorkingDuration
from onestop_routing.domain.process import (
    Action,
    Guard,
    Performer,
    ProcessTemplate,
    Step,
    StepKind,
    Transition,
    critical_path_minutes,
    template_for_case,
    validate,
)

from fakes import FakeTemplates
from routing_samples import ROLES, UNITS, days, land_registration, parallel, task


def problems(template):
    return {(v.field, v.description) for v in validate(template, unit_exists=UNITS.__contains__, roles=ROLES)}


def fields(template):
    return {field for field, _ in problems(template)}


def test_a_cross_agency_template_that_can_run_has_no_problems():
    assert problems(land_registration()) == set()


def test_parallel_branches_count_once_on_the_critical_path():
    assert problems(parallel()) == set()
    assert critical_path_minutes(parallel()) == (5 + 2) * 450  # the longer branch, then the decision


def test_the_critical_path_ignores_send_back_and_supplement_loops():
    assert critical_path_minutes(land_registration()) == 8 * 450 + 2 * 240  # 4 + 3 + 1 days, two half days


def test_budgets_past_the_legal_limit_are_refused_with_both_figures():
    template = dataclasses.replace(parallel(), legal_limit=days(6, 4))
    [(field, reason)] = problems(template)
    assert field == "steps"
    assert "7 working day(s)" in reason and "6 working day(s) 4 h" in reason


def test_duplicate_step_code_names_the_second():
    template = land_registration()
    template = dataclasses.replace(template, steps=(*template.steps, task("thue")))
    assert ("steps[5].code", "repeats step code 'thue'") in problems(template)


def test_step_without_performer_unknown_unit_and_unknown_role():
    template = land_registration()
    steps = list(template.steps)
    steps[1] = dataclasses.replace(steps[1], performer=None)
    steps[2] = dataclasses.replace(steps[2], performer=Performer("999.99.99.H99", "processing_officer"))
    steps[3] = dataclasses.replace(steps[3], performer=Performer("000.01.21.H17", "chief"))
    assert fields(dataclasses.replace(template, steps=tuple(steps))) == {
        "steps[1].performer", "steps[2].performer.unit_code", "steps[3].performer.role"}


def test_unreachable_end_is_refused():
    template = land_registration()
    no_finish = tuple(t for t in template.transitions if t.action is not Action.FINISH)
    assert ("transitions", "no transition finishes the case (action finish)") in problems(
        dataclasses.replace(template, transitions=no_finish))


def test_a_step_from_which_the_case_cannot_finish_is_refused():
    template = land_registration()
    # The tax step can only loop on itself: nothing after it.
    cut = tuple(t for t in template.transitions if not (t.from_step == "thue" and t.action is Action.FORWARD))
    found = problems(dataclasses.replace(template, transitions=cut))
    assert ("steps[2]", "from step 'thue' the case can never finish") in found


def test_a_step_nobody_can_reach_is_refused():
    template = land_registration()
    template = dataclasses.replace(template, steps=(*template.steps, task("mo_coi")),
                                   transitions=(*template.transitions, Transition("mo_coi", Action.FINISH)))
    assert ("steps[5]", "step 'mo_coi' cannot be reached from the start step") in problems(template)


def test_transitions_to_unknown_steps_and_terminal_actions_with_a_target():
    template = land_registration()
    template = dataclasses.replace(template, transitions=(
        *template.transitions, Transition("ky_duyet", Action.FORWARD, "khong_co"),
        Transition("ghost", Action.FORWARD, "thue"), Transition("thue", Action.FINISH, "ky_duyet"),
        Transition("thue", Action.REQUEST_PAYMENT, "ky_duyet")))
    assert fields(template) == {"transitions[9].to_step", "transitions[10].from_step", "transitions[11].to_step",
                                "transitions[12].to_step"}


def test_forward_loops_are_refused():
    template = land_registration()
    template = dataclasses.replace(template, transitions=(
        *template.transitions, Transition("ky_duyet", Action.FORWARD, "tham_dinh")))
    [(field, reason)] = problems(template)
    assert field == "transitions" and "loop" in reason and "send_back" in reason


def test_a_split_needs_two_branches_and_a_gateway_has_no_performer():
    template = parallel()
    one_branch = tuple(t for t in template.transitions if (t.from_step, t.to_step) != ("tach", "b"))
    found = fields(dataclasses.replace(template, transitions=one_branch))
    assert {"steps[0]", "steps[3]"} <= found  # the split opens one branch; the join waits for one
    steps = list(template.steps)
    steps[0] = dataclasses.replace(steps[0], performer=Performer("000.01.21.H17", "unit_leader"))
    assert ("steps[0]", "a split step has no performer and no budget") in problems(
        dataclasses.replace(template, steps=tuple(steps)))


@pytest.mark.parametrize("status", [0, 11])
def test_national_status_outside_one_to_ten(status):
    template = land_registration()
    steps = list(template.steps)
    steps[1] = dataclasses.replace(steps[1], national_status=status)
    assert fields(dataclasses.replace(template, steps=tuple(steps))) == {"steps[1].national_status"}


def test_unknown_start_step_and_step_without_budget():
    template = dataclasses.replace(land_registration(), start_step="khong_co")
    assert "start_step" in fields(template)
    steps = list(land_registration().steps)
    steps[1] = dataclasses.replace(steps[1], budget=WorkingDuration())
    assert fields(dataclasses.replace(land_registration(), steps=tuple(steps))) == {"steps[1].budget"}


def test_a_case_runs_its_desks_own_template_else_its_agencys_else_every_agencys():
    """A desk receives for the agency it belongs to: the district's desk 000.40.21.H17 runs the
    People's Committee 000.00.40.H17's own template, a desk without one the generic template."""
    generic = land_registration()
    district = dataclasses.replace(generic, agency_code="000.00.40.H17", name="Của huyện")
    desk_own = dataclasses.replace(generic, agency_code="000.40.21.H17", name="Của bộ phận một cửa")
    code = generic.process_code
    templates = FakeTemplates(generic, district)
    assert template_for_case(templates, code, "000.40.21.H17", "000.00.40.H17") == district
    assert template_for_case(templates, code, "000.00.21.H17", "000.00.00.H17") == generic
    assert template_for_case(templates, code, "000.40.21.H17", "") == generic
    assert template_for_case(templates, "", "000.40.21.H17", "000.00.40.H17") is None
    assert template_for_case(templates, "QT-KHONG-CO", "000.40.21.H17", "000.00.40.H17") is None
    assert template_for_case(FakeTemplates(generic, district, desk_own), code, "000.40.21.H17",
                             "000.00.40.H17") == desk_own


def test_a_send_back_out_of_a_parallel_branch_is_refused_naming_the_transition():
    within = Transition("a", Action.SEND_BACK, "a")
    inside = dataclasses.replace(parallel(), transitions=(*parallel().transitions, within))
    assert problems(inside) == set()  # within its own branch
    template = parallel()
    out = dataclasses.replace(template, steps=(*template.steps, task("truoc", budget=days(1))),
                              start_step="truoc",
                              transitions=(Transition("truoc", Action.FORWARD, "tach"), *template.transitions,
                                           Transition("b", Action.SEND_BACK, "truoc"),
                                           Transition("a", Action.SEND_BACK, "b")))
    found = problems(out)
    assert {field for field, _ in found} == {"transitions[7].to_step", "transitions[8].to_step"}
    assert any("'b' → 'truoc'" in text and "split 'tach'" in text for _, text in found)


def _nested(*extra: Transition) -> ProcessTemplate:
    """Two branches (a1 … a2, c1); in the first, a nested split gives two opinions (b1, b2) whose
    join passes the case on to a2, still in the first branch."""
    T = Transition
    return ProcessTemplate(
        process_code="QT-3", version=1, name="Ý kiến lồng nhau", legal_limit=days(20), start_step="tach",
        steps=(Step("tach", "Lấy ý kiến", StepKind.SPLIT), task("a1"), Step("tach2", "Hai ý kiến", StepKind.SPLIT),
               task("b1"), task("b2", "000.00.30.H17"), Step("gop2", "Tổng hợp hai ý kiến", StepKind.JOIN),
               task("a2"), task("c1", "000.00.30.H17"), Step("gop", "Tổng hợp ý kiến", StepKind.JOIN),
               task("quyet_dinh", role="unit_leader")),
        transitions=(T("tach", Action.FORWARD, "a1"), T("tach", Action.FORWARD, "c1"),
                     T("a1", Action.FORWARD, "tach2"), T("tach2", Action.FORWARD, "b1"),
                     T("tach2", Action.FORWARD, "b2"), T("b1", Action.FORWARD, "gop2"), T("b2", Action.FORWARD, "gop2"),
                     T("gop2", Action.FORWARD, "a2", (Guard.ALL_BRANCHES_DONE,)), T("a2", Action.FORWARD, "gop"),
                     T("c1", Action.FORWARD, "gop"), T("gop", Action.FORWARD, "quyet_dinh", (Guard.ALL_BRANCHES_DONE,)),
                     T("quyet_dinh", Action.FINISH), *extra))


def test_a_branch_runs_on_past_a_nested_join_for_the_send_back_check():
    """The branch of a split is every step up to its own join: a nested split's join does not end
    it, so a send_back after the nested join is checked against the whole branch."""
    assert problems(_nested()) == set()
    # Within the first branch, across the nested split and join: valid.
    assert problems(_nested(Transition("a2", Action.SEND_BACK, "a1"), Transition("b1", Action.SEND_BACK, "b1"))) \
        == set()
    # From after the nested join into the other branch: refused, naming the outer split.
    [(field, text)] = problems(_nested(Transition("a2", Action.SEND_BACK, "c1")))
    assert field == "transitions[12].to_step" and "'a2' → 'c1'" in text and "split 'tach'" in text
    # Out of a nested branch (before its split): refused, naming the nested split.
    [(field, text)] = problems(_nested(Transition("b1", Action.SEND_BACK, "a1")))
    assert "split 'tach2'" in text
