"""Questionnaires as data (phiếu khảo sát): question types, required answers, order, Vietnamese
texts, versions; the grading of the nine indicators of Circular 01/2018/TT-VPCP art. 13.

Plain Python. A questionnaire is identified by (agency, code, version): the three built in
(`builtin.yaml`: tt01-9, kiosk-3, sipas-5) belong to no agency; an agency's own ones are stored
with its code. Versions only grow, and an invitation keeps the version it was issued with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from onestop_chassis.errors import Violations

CODE = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
QUESTION_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
MAX_QUESTIONS = 60
MAX_OPTIONS = 11
MAX_TEXT = 500          # characters of a question's or an option's text
MAX_FREE_TEXT = 2000    # characters of a free-text answer, at most


class Kind(StrEnum):
    CHOICE = "choice"   # one option; each option may carry points (tt01-9: 0/1/2)
    RATING = "rating"   # one of a few levels (the counter kiosk's three)
    SCALE = "scale"     # a 1..n scale of one aspect of one SIPAS factor
    TEXT = "text"       # free text, up to max_length characters


class Scoring(StrEnum):
    NONE = "none"       # answers are kept and counted per option, nothing more
    POINTS = "points"   # the options' points add up to a total, graded by the bands
    KIOSK = "kiosk"     # one rating question: shares per level
    SIPAS = "sipas"     # scale questions per factor and aspect: the SIPAS index


class Aspect(StrEnum):
    PERCEPTION = "perception"      # đánh giá (cảm nhận)
    SATISFACTION = "satisfaction"  # mức độ hài lòng
    EXPECTATION = "expectation"    # mong đợi


# SIPAS's five factors (Decision 2640/QĐ-BNV's Đề án đo lường sự hài lòng, Ministry of Home Affairs).
FACTORS = {
    "access": "Tiếp cận dịch vụ hành chính công",
    "procedure": "Thủ tục hành chính",
    "officer": "Công chức trực tiếp giải quyết công việc",
    "result": "Kết quả cung ứng dịch vụ hành chính công",
    "feedback": "Tiếp nhận, xử lý ý kiến góp ý, phản ánh, kiến nghị",
}


@dataclass(frozen=True)
class Option:
    value: int
    label: str
    points: int = 0


@dataclass(frozen=True)
class Question:
    id: str
    kind: Kind
    text: str
    required: bool = True
    options: tuple[Option, ...] = ()
    factor: str = ""       # SIPAS factor (a key of FACTORS), scale questions only
    aspect: str = ""       # an Aspect value, scale questions only
    max_length: int = 0    # text questions: characters, at most MAX_FREE_TEXT

    def option(self, value: int) -> Option | None:
        return next((o for o in self.options if o.value == value), None)


@dataclass(frozen=True)
class Band:
    """Totals from `lowest` up to the next band's lowest (exclusive) get this grade."""
    lowest: int
    grade: str     # e.g. "xuat_sac"
    label: str     # e.g. "Xuất sắc"


@dataclass(frozen=True)
class Questionnaire:
    code: str
    version: int
    name: str
    scoring: Scoring
    questions: tuple[Question, ...]
    bands: tuple[Band, ...] = ()
    source: str = ""        # the legal source, e.g. "Thông tư 01/2018/TT-VPCP, Điều 13"
    agency_code: str = ""   # "" = built in, for every agency

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    @property
    def max_total(self) -> int:
        return sum(max((o.points for o in q.options), default=0) for q in self.questions)

    def content(self) -> tuple:
        """What a new version must change (everything but the version)."""
        return (self.name, self.scoring, self.questions, self.bands, self.source)


def problems(q: Questionnaire) -> list[tuple[str, str]]:
    """(field, problem) for every rule the questionnaire breaks; [] when it can be used."""
    out: list[tuple[str, str]] = []
    if not CODE.fullmatch(q.code):
        out.append(("code", "must be 1 to 40 lowercase letters, digits, '.', '_' or '-'"))
    if not q.name or len(q.name) > MAX_TEXT:
        out.append(("name", f"is required, at most {MAX_TEXT} characters"))
    if not 1 <= len(q.questions) <= MAX_QUESTIONS:
        out.append(("questions", f"must hold 1 to {MAX_QUESTIONS} questions"))
    seen: set[str] = set()
    for i, question in enumerate(q.questions):
        out += [(f"questions[{i}].{f}", p) for f, p in _question_problems(question)]
        if question.id in seen:
            out.append((f"questions[{i}].id", f"repeats the id {question.id}"))
        seen.add(question.id)
    if q.scoring == Scoring.POINTS:
        out += _band_problems(q.bands, q.max_total)
    elif q.bands:
        out.append(("bands", "are only for scoring 'points'"))
    if q.scoring == Scoring.KIOSK and [x.kind for x in q.questions] != [Kind.RATING]:
        out.append(("questions", "a kiosk questionnaire holds exactly one rating question"))
    return out


def _question_problems(question: Question) -> list[tuple[str, str]]:
    out = []
    if not QUESTION_ID.fullmatch(question.id):
        out.append(("id", "must be 1 to 32 lowercase letters, digits, '.', '_' or '-'"))
    if not question.text or len(question.text) > MAX_TEXT:
        out.append(("text", f"is required, at most {MAX_TEXT} characters"))
    if question.kind == Kind.TEXT:
        if question.options:
            out.append(("options", "a text question has no options"))
        if not 1 <= question.max_length <= MAX_FREE_TEXT:
            out.append(("max_length", f"must be 1 to {MAX_FREE_TEXT} characters"))
    else:
        out += _option_problems(question.options)
    if question.kind == Kind.SCALE:
        if question.factor not in FACTORS:
            out.append(("factor", f"must be one of {', '.join(FACTORS)}"))
        if question.aspect not in Aspect.__members__.values():
            out.append(("aspect", "must be perception, satisfaction or expectation"))
    return out


def _option_problems(options: tuple[Option, ...]) -> list[tuple[str, str]]:
    out = []
    if not 2 <= len(options) <= MAX_OPTIONS:
        out.append(("options", f"must hold 2 to {MAX_OPTIONS} options"))
    values = [o.value for o in options]
    if len(set(values)) != len(values):
        out.append(("options", "repeat a value"))
    if any(not o.label or len(o.label) > MAX_TEXT for o in options):
        out.append(("options", f"each needs a label of at most {MAX_TEXT} characters"))
    if any(not 0 <= o.points <= 100 for o in options):
        out.append(("options", "points must be 0 to 100"))
    return out


def _band_problems(bands: tuple[Band, ...], max_total: int) -> list[tuple[str, str]]:
    """Closed bands: the lowest starts at 0 and each starts above the previous one, so every total
    from 0 to the maximum has exactly one grade (a provincial system's open intervals left a
    total of exactly 15 ungraded: PEERS.md §3.4)."""
    if not bands:
        return [("bands", "are required for scoring 'points'")]
    lows = [b.lowest for b in bands]
    out = []
    if sorted(lows) != lows or len(set(lows)) != len(lows):
        out.append(("bands", "must start at strictly increasing totals"))
    if min(lows) != 0:
        out.append(("bands", "the lowest band must start at 0 so that every total has a grade"))
    if max(lows) > max_total:
        out.append(("bands", f"a band starts above the highest possible total ({max_total})"))
    if any(not b.grade or not b.label for b in bands):
        out.append(("bands", "each needs a grade and a label"))
    return out


def grade(q: Questionnaire, total: int) -> Band:
    """The band of `total` (0..max_total): the one with the highest `lowest` not above it.
    tt01-9 (Circular 01/2018/TT-VPCP art. 13, 0/1/2 points per indicator): 15-18 xuất sắc,
    12-14 tốt, 9-11 khá, 6-8 trung bình, 0-5 yếu. Raises ValueError outside 0..max_total."""
    if not 0 <= total <= q.max_total:
        raise ValueError(f"total {total} is outside 0..{q.max_total}")
    return max((b for b in q.bands if b.lowest <= total), key=lambda b: b.lowest)


Answers = Mapping[str, int | str]  # question id → option value, or text for a text question


@dataclass(frozen=True)
class Scored:
    """What one complete answer sheet contributes: points total and grade (points), level (kiosk),
    the chosen values of the scale questions (sipas)."""
    total: int = 0
    grade: str = ""
    values: dict[str, int] = field(default_factory=dict)  # question id → value (every non-text answer)


def check_answers(q: Questionnaire, answers: Answers) -> Scored:
    """The sheet scored; raises InvalidArgument naming every question that is unknown, required
    but skipped, answered with a value outside its options, or with text too long (a field
    `answers[<question id>]` per problem)."""
    v = Violations()
    for question_id in answers:
        if q.question(question_id) is None:
            v.add(f"answers[{question_id[:40]}]", "is not a question of this questionnaire")
    values: dict[str, int] = {}
    total = 0
    for question in q.questions:
        where = f"answers[{question.id}]"
        if question.id not in answers or answers[question.id] in ("", None):
            if question.required:
                v.add(where, f"is required: {question.text}")
            continue
        given = answers[question.id]
        if question.kind == Kind.TEXT:
            if not isinstance(given, str) or len(given) > question.max_length:
                v.add(where, f"must be text of at most {question.max_length} characters")
            continue
        option = question.option(given) if isinstance(given, int) and not isinstance(given, bool) else None
        if option is None:
            allowed = ", ".join(str(o.value) for o in question.options)
            v.add(where, f"must be one of {allowed}")
            continue
        values[question.id] = option.value
        total += option.points
    v.raise_if_any()
    band = grade(q, total).grade if q.scoring == Scoring.POINTS else ""
    return Scored(total=total, grade=band, values=values)
