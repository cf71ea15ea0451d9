"""Nested parallel splits (onestop_routing.domain.journey `_enter`): a join waits only for the
branches of its own split, so every task of every branch runs exactly once before the case
passes the outer join (issue 11's review: a step of the other outer branch held the inner join,
and the case later passed the outer join without the steps after the inner one)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_routing_journey import Case, vn
from test_routing_process import _nested, problems

from onestop_chassis.errors import FailedPrecondition
from onestop_chassis.worktime import WorkingDuration
from onestop_routing.domain.actions import Act, Claim
from onestop_routing.domain.journey import Actor, EntryKind
from onestop_routing.domain.process import Action, Guard, ProcessTemplate, Step, StepKind, Transition

from routing_samples import days, task

UNIT_CYCLE = ("000.01.21.H17", "000.00.30.H17")


def _officer(case: Case, step: str) -> Actor:
    return Actor(f"cv-{step}", "processing_officer", case.view.run(step).unit_code)


def _forward(case: Case, step: str, at):
    case.do(_officer(case, step), Claim(step), at)
    return case.do(_officer(case, step), Act(step, Action.FORWARD), at)


def _forwarded(case: Case) -> list[str]:
    """The steps handed on, in the log's order (a step handing to a split has a slip row per branch)."""
    return [e.step for e in case.log if e.kind is EntryKind.FORWARDED]


def _running(case: Case) -> list[str]:
    return sorted(r.step for r in case.view.runs)


def test_the_inner_join_passes_on_while_a_step_of_the_other_outer_branch_runs():
    """The reviewer's order: b1 and b2 reach the inner join while c1 (the other outer branch) runs."""
    case = Case(_nested(), limit=WorkingDuration(days=20))
    assert _running(case) == ["a1", "c1"]
    assert _running_after(case, "a1", 9) == ["b1", "b2", "c1"]
    assert _running_after(case, "b1", 10) == ["b2", "c1"]       # the inner join waits for b2
    assert _running_after(case, "b2", 11) == ["a2", "c1"]       # ... and not for c1
    assert _running_after(case, "c1", 14) == ["a2"]             # the outer join waits for a2
    assert _running_after(case, "a2", 15) == ["quyet_dinh"]
    assert _forwarded(case) == ["a1", "b1", "b2", "c1", "a2"]


def test_the_outer_join_waits_while_a_nested_branch_still_runs():
    """c1 first: the outer join is reachable from a1, then from b1 and b2, then from a2."""
    case = Case(_nested(), limit=WorkingDuration(days=20))
    assert _running_after(case, "c1", 9) == ["a1"]
    assert _running_after(case, "a1", 10) == ["b1", "b2"]
    assert _running_after(case, "b2", 11) == ["b1"]
    assert _running_after(case, "b1", 14) == ["a2"]
    assert _running_after(case, "a2", 15) == ["quyet_dinh"]


def _running_after(case: Case, step: str, hour: int) -> list[str]:
    _forward(case, step, vn(16, hour))
    return _running(case)


def test_a_finish_from_a_branch_is_still_refused_while_another_branch_runs():
    """The FINISH/BRANCH_OPEN rule holds with nested splits: c1 may finish only once it runs alone."""
    case = Case(_nested(Transition("c1", Action.FINISH)), limit=WorkingDuration(days=20))
    _forward(case, "a1", vn(16, 9))
    case.do(_officer(case, "c1"), Claim("c1"), vn(16, 10))
    with pytest.raises(FailedPrecondition) as refused:
        case.do(_officer(case, "c1"), Act("c1", Action.FINISH), vn(16, 10))
    assert refused.value.reason == "BRANCH_OPEN" and refused.value.metadata["open_steps"] == "b1, b2"
    assert _running(case) == ["b1", "b2", "c1"] and len(case.log) == 4  # nothing written by the refusal


# --- property: random nested series-parallel templates, random orders -------------------------

# A block is a non-empty sequence of items; an item is a task (None) or a split of 2-3 blocks.
_BLOCKS = st.recursive(st.none(), lambda inner: st.lists(st.lists(inner, min_size=1, max_size=2),
                                                         min_size=2, max_size=3), max_leaves=9)


class _Builder:
    def __init__(self):
        self.steps: list[Step] = []
        self.transitions: list[Transition] = []
        self.tasks: list[str] = []

    def block(self, items, after: str) -> str:
        """Emit the items in order, the last forwarding to `after`; the code of the first."""
        for item in reversed(items):
            after = self.item(item, after)
        return after

    def item(self, item, after: str) -> str:
        n = len(self.steps)
        if item is None:
            code = f"t{n}"
            self.steps.append(task(code, UNIT_CYCLE[n % 2], days(0, 1)))
            self.tasks.append(code)
            self.transitions.append(Transition(code, Action.FORWARD, after))
            return code
        split, join = f"s{n}", f"j{n}"
        self.steps += [Step(split, "Lấy ý kiến", StepKind.SPLIT), Step(join, "Tổng hợp ý kiến", StepKind.JOIN)]
        self.transitions.append(Transition(join, Action.FORWARD, after, (Guard.ALL_BRANCHES_DONE,)))
        for branch in item:
            self.transitions.append(Transition(split, Action.FORWARD, self.block(branch, join)))
        return split


def _template(branches) -> tuple[ProcessTemplate, list[str]]:
    """A template opening with a split of `branches` (a list of blocks), its join leading to the
    leader's decision; the task codes of the branches."""
    build = _Builder()
    build.steps.append(task("quyet_dinh", role="unit_leader", budget=days(0, 1)))
    build.transitions.append(Transition("quyet_dinh", Action.FINISH))
    start = build.item(branches, "quyet_dinh")
    template = ProcessTemplate(process_code="QT-9", version=1, name="Ý kiến lồng nhau", legal_limit=days(20),
                               start_step=start, steps=tuple(build.steps), transitions=tuple(build.transitions))
    return template, build.tasks


@settings(max_examples=80, deadline=None)
@given(branches=st.lists(st.lists(_BLOCKS, min_size=1, max_size=2), min_size=2, max_size=3), data=st.data())
def test_every_task_of_every_branch_runs_once_before_the_outer_join_passes(branches, data):
    template, tasks = _template(branches)
    assert problems(template) == set()
    case = Case(template, limit=WorkingDuration(days=20))
    hour = 0
    while "quyet_dinh" not in _running(case):
        running = _running(case)
        assert running and len(running) == len(set(running)), f"stuck or doubled: {running}"
        step = data.draw(st.sampled_from(running))
        hour += 1
        _forward(case, step, vn(16 + hour // 8, 8 + hour % 8))
    assert _running(case) == ["quyet_dinh"]
    assert sorted(_forwarded(case)) == sorted(tasks)  # each task ran, and was handed on, exactly once
