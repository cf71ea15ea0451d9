"""Survey's questionnaires as data (issue 12, item 2): the three built in, the nine indicators'
closed grade bands at every boundary with hand-computed totals, answers checked, an agency's own
questionnaires versioned and imported with the bad line named."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onestop_chassis import auth
from onestop_chassis.errors import InvalidArgument, NotFound, PermissionDenied
from onestop_survey.questionnaires import domain, files
from onestop_survey.questionnaires.service import QuestionnaireService

from fakes import FakeQuestionnaires

BUILTIN = files.builtin()
TT01 = BUILTIN["tt01-9"]
UNIT, OTHER_UNIT = "000.00.21.H17", "000.00.22.H17"
ADMIN = auth.Principal(subject="admin", roles=frozenset({auth.AGENCY_ADMIN}), agency=UNIT)


def sheet(*points: int) -> dict[str, int]:
    """The nine indicators answered with these points (the option values are the points)."""
    assert len(points) == 9
    return {str(i): p for i, p in enumerate(points, 1)}


def test_the_three_built_in_questionnaires():
    assert set(BUILTIN) == {"tt01-9", "kiosk-3", "sipas-5"}
    assert [q.id for q in TT01.questions] == [str(i) for i in range(1, 10)]
    assert all(sorted((o.value, o.points) for o in q.options) == [(0, 0), (1, 1), (2, 2)] for q in TT01.questions)
    assert TT01.max_total == 18 and TT01.source == "Thông tư 01/2018/TT-VPCP, Điều 13"
    (kiosk,) = BUILTIN["kiosk-3"].questions
    assert [(o.value, o.label) for o in kiosk.options] == [(3, "Rất hài lòng"), (2, "Hài lòng"), (1, "Không hài lòng")]
    sipas = [q for q in BUILTIN["sipas-5"].questions if q.kind == domain.Kind.SCALE]
    assert sorted((q.factor, q.aspect) for q in sipas) == sorted(
        (f, a.value) for f in ("access", "procedure", "officer", "result", "feedback") for a in domain.Aspect)
    assert all([o.value for o in q.options] == [1, 2, 3, 4, 5] for q in sipas)


# Hand-computed totals on both sides of every boundary (6, 9, 12, 15): closed bands, 15 is graded.
@pytest.mark.parametrize("points, total, grade", [
    ((0, 0, 0, 0, 0, 0, 0, 0, 0), 0, "yeu"),
    ((1, 1, 1, 1, 1, 0, 0, 0, 0), 5, "yeu"),
    ((1, 1, 1, 1, 1, 1, 0, 0, 0), 6, "trung_binh"),
    ((2, 2, 2, 2, 0, 0, 0, 0, 0), 8, "trung_binh"),
    ((1, 1, 1, 1, 1, 1, 1, 1, 1), 9, "kha"),
    ((2, 2, 2, 2, 2, 1, 0, 0, 0), 11, "kha"),
    ((2, 2, 2, 2, 2, 2, 0, 0, 0), 12, "tot"),
    ((2, 2, 2, 2, 2, 2, 1, 1, 0), 14, "tot"),
    ((2, 2, 2, 2, 2, 2, 1, 1, 1), 15, "xuat_sac"),
    ((2, 2, 2, 2, 2, 2, 2, 2, 2), 18, "xuat_sac"),
])
def test_nine_indicators_graded_at_every_boundary(points, total, grade):
    scored = domain.check_answers(TT01, sheet(*points))
    assert (scored.total, scored.grade) == (total, grade)


def test_the_grade_labels_are_vietnamese():
    assert [domain.grade(TT01, t).label for t in (0, 6, 9, 12, 15)] == ["Yếu", "Trung bình", "Khá", "Tốt", "Xuất sắc"]


@given(st.lists(st.sampled_from([0, 1, 2]), min_size=9, max_size=9))
def test_any_sheet_has_its_sum_and_exactly_one_grade(points):
    scored = domain.check_answers(TT01, sheet(*points))
    assert scored.total == sum(points)
    holding = [b for b in TT01.bands if b.lowest <= scored.total
               and all(not (b.lowest < o.lowest <= scored.total) for o in TT01.bands)]
    assert [b.grade for b in holding] == [scored.grade]


def test_grades_never_go_down_as_the_total_rises():
    order = [b.grade for b in sorted(TT01.bands, key=lambda b: b.lowest)]
    ranks = [order.index(domain.grade(TT01, t).grade) for t in range(19)]
    assert ranks == sorted(ranks) and len(set(ranks)) == 5
    with pytest.raises(ValueError):
        domain.grade(TT01, 19)


def test_a_skipped_required_question_or_a_value_out_of_range_is_named():
    answers = sheet(2, 2, 2, 2, 2, 2, 2, 2, 2)
    del answers["3"]
    answers["1"] = 3
    answers["10"] = 1
    with pytest.raises(InvalidArgument) as refused:
        domain.check_answers(TT01, answers)
    fields = {v.field for v in refused.value.violations}
    assert fields == {"answers[3]", "answers[1]", "answers[10]"}
    with pytest.raises(InvalidArgument) as text:
        domain.check_answers(BUILTIN["sipas-5"], {q.id: 5 for q in BUILTIN["sipas-5"].questions[:-1]}
                             | {"gop_y": "x" * 1001})
    assert [v.field for v in text.value.violations] == ["answers[gop_y]"]


AGENCY_FILE = """questionnaires:
  - code: quay-so-1
    name: "Phiếu khảo sát tại quầy số 1"
    scoring: points
    bands:
      - {from: 0, grade: chua_dat, label: "Chưa đạt"}
      - {from: 2, grade: dat, label: "Đạt"}
    questions:
      - id: "thoi_gian"
        kind: choice
        text: "Thời gian chờ tại quầy"
        options:
          - {value: 1, points: 2, label: "Dưới 15 phút"}
          - {value: 2, points: 0, label: "Từ 15 phút trở lên"}
"""


def test_an_agency_puts_its_own_and_each_change_is_the_next_version():
    store = FakeQuestionnaires()
    service = QuestionnaireService(store, BUILTIN)
    first = service.put(UNIT, AGENCY_FILE.encode(), "yaml", ADMIN)
    assert [(s.code, s.version, s.changed) for s in first] == [("quay-so-1", 1, True)]
    again = service.put(UNIT, AGENCY_FILE.encode(), "yaml", ADMIN)
    assert [(s.version, s.changed) for s in again] == [(1, False)] and len(store.items) == 1
    changed = AGENCY_FILE.replace("Dưới 15 phút", "Dưới 10 phút")
    assert [(s.version, s.changed) for s in service.put(UNIT, changed.encode(), "yaml", ADMIN)] == [(2, True)]
    assert service.get("quay-so-1", 1, UNIT).questions[0].options[0].label == "Dưới 15 phút"  # kept
    assert service.get("quay-so-1", 0, UNIT).version == 2
    with pytest.raises(NotFound):
        service.get("quay-so-1", 0, OTHER_UNIT)


@pytest.mark.parametrize("content, field", [
    (AGENCY_FILE.replace("{from: 0, grade: chua_dat", "{from: 1, grade: chua_dat"), "line 5: bands"),
    (AGENCY_FILE.replace("points: 2, label", "points: two, label"), "line 13: questions[0].options[0].points"),
    (AGENCY_FILE.replace("kind: choice", "kind: slider"), "line 10: questions[0].kind"),
    (AGENCY_FILE.replace('      - id: "thoi_gian"\n', '      - id: "Thời gian"\n'), "line 9: questions[0].id"),
    (AGENCY_FILE.replace("code: quay-so-1", "code: tt01-9"), "content"),
])
def test_a_bad_file_is_refused_naming_the_line_and_stores_nothing(content, field):
    store = FakeQuestionnaires()
    with pytest.raises(InvalidArgument) as refused:
        QuestionnaireService(store, BUILTIN).put(UNIT, content.encode(), "yaml", ADMIN)
    assert field in [v.field for v in refused.value.violations]
    assert store.items == {}


def test_only_ones_own_agency():
    store = FakeQuestionnaires()
    with pytest.raises(PermissionDenied):
        QuestionnaireService(store, BUILTIN).put(OTHER_UNIT, AGENCY_FILE.encode(), "yaml", ADMIN)
    assert store.items == {}
