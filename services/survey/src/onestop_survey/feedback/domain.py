"""Feedback and complaints (phản ánh, kiến nghị): the item, its append-only log and its rules.

Plain Python: no database, no gRPC. An item is the fold of its log (`fold`): entry 1 (FILED)
carries what the citizen or business wrote; every later change (assigned, answered, escalated,
published, reopened, rated) is one more entry naming who (subject, role, unit), when and why.

States (after DIGIT/CCRS's PGR workflow, docs/design.md "Survey: feedback and complaints"):
FILED → ASSIGNED (to the responsible unit) → ANSWERED → REOPENED (by the citizen, within the
reopen window, if not satisfied) → ANSWERED → CLOSED (rated, or the window ended unrated).
Publishing is a flag on an answered item, not a state. An unanswered item past its answer
deadline is overdue and escalated once per deadline to its unit's leader (auth.UNIT_LEADER).

Deadlines are in working days of the shared calendar (onestop_chassis.worktime), per type (data:
feedback/types.yaml). Indicators 7 and 8 of Circular 01/2018/TT-VPCP art. 13 take their inputs
from here (`indicators`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from onestop_chassis import codes
from onestop_chassis.datafiles import Reader, label, line_of, parse_file
from onestop_chassis.errors import FailedPrecondition, FieldViolation, InvalidArgument
from onestop_chassis.text import nfc
from onestop_chassis.worktime import VIETNAM, WorkingCalendar, WorkingDuration

MAX_CONTENT_CHARS = 5000   # the content of one item (Unicode code points)
MAX_ANSWER_CHARS = 10000
MAX_REASON_CHARS = 1000
CODE = re.compile(r"PA-\d{6}-[A-Z2-9]{6}")  # tracking code: PA-<YYMMDD filed, Vietnam>-<6 random>
TYPE_CODE = re.compile(r"[a-z0-9][a-z0-9-]{1,39}")


class State(enum.IntEnum):
    FILED = 1
    ASSIGNED = 2
    ANSWERED = 3
    REOPENED = 4
    CLOSED = 5


OPEN = frozenset({State.FILED, State.ASSIGNED, State.REOPENED})  # waiting for an answer


class Kind(enum.StrEnum):
    """What one log entry records."""
    FILED = "FILED"
    ASSIGNED = "ASSIGNED"
    ANSWERED = "ANSWERED"
    ESCALATED = "ESCALATED"
    PUBLISHED = "PUBLISHED"
    REOPENED = "REOPENED"
    RATED = "RATED"


class FiledBy(enum.IntEnum):
    PERSON = 1     # công dân
    BUSINESS = 2   # tổ chức, doanh nghiệp


@dataclass(frozen=True)
class FeedbackType:
    """A kind of feedback and its answer deadline, as data (types.yaml). `about_officer`: a
    complaint about an officer's attitude or conduct (indicator 7 counts the founded ones)."""
    code: str
    name: str
    answer_days: int   # working days from filing (or reopening) to the answer; 0: due at once
    about_officer: bool = False


@dataclass(frozen=True)
class Complainant:
    """Personal data: shown only to officers of the unit handling the item (`for_viewer`)."""
    kind: FiledBy
    name: str
    phone: str = ""
    email: str = ""
    address: str = ""


@dataclass(frozen=True)
class Actor:
    subject: str
    role: str
    unit_code: str = ""


@dataclass(frozen=True)
class Entry:
    """One entry of an item's append-only log. Fields beyond the common ones are those of its kind."""
    seq: int
    kind: Kind
    at: dt.datetime  # UTC
    actor: Actor
    reason: str = ""
    request_id: str = ""
    unit_code: str = ""          # ASSIGNED: the unit now handling; ESCALATED: the unit whose leader
    type_code: str = ""          # ASSIGNED: the type it was classified as (its deadline follows)
    due_at: dt.datetime | None = None  # FILED, ASSIGNED, REOPENED: the answer deadline from then
    answer: str = ""             # ANSWERED
    founded: bool = False        # ANSWERED: the complaint was found valid (có cơ sở)
    public_content: str = ""     # PUBLISHED: the content as published (personal data removed)
    public_answer: str = ""      # PUBLISHED: the answer as published (personal data removed)
    rating: int = 0              # RATED: 1 (not satisfied) .. 3 (very satisfied)


@dataclass(frozen=True)
class Filing:
    """What entry 1 holds besides the entry itself: the item's header."""
    code: str
    secret_hash: str             # sha-256 hex of the tracking secret (the secret is never stored)
    agency_code: str             # the agency the feedback concerns (indicators count it there)
    type_code: str
    content: str
    complainant: Complainant
    dossier_code: str = ""
    officer_id: str = ""         # the officer it is about, if any


@dataclass(frozen=True)
class Feedback:
    """An item as its log folds up (`fold`)."""
    filing: Filing
    state: State
    unit_code: str               # the unit handling it now
    type_code: str
    filed_at: dt.datetime
    due_at: dt.datetime          # the current answer deadline
    seq: int
    first_answered_at: dt.datetime | None = None
    first_due_at: dt.datetime | None = None  # the deadline in force when it was first answered
    answered_at: dt.datetime | None = None
    answer: str = ""
    founded: bool = False
    published: bool = False
    public_content: str = ""
    public_answer: str = ""
    reopens: int = 0
    rating: int = 0
    escalations: int = 0
    escalated_due_at: dt.datetime | None = None  # the deadline whose passing was escalated last
    request_ids: frozenset[str] = frozenset()
    log: tuple[Entry, ...] = ()

    @property
    def code(self) -> str:
        return self.filing.code

    def overdue(self, now: dt.datetime) -> bool:
        """Unanswered (FILED, ASSIGNED, REOPENED) past its deadline."""
        return self.state in OPEN and now > self.due_at

    @property
    def escalated_open(self) -> bool:
        """Escalated to its unit's leader for its current deadline and still unanswered."""
        return self.state in OPEN and self.escalated_due_at == self.due_at

    def answered_on_time(self) -> bool:
        """Its first answer came by the deadline then in force (after any reclassification;
        indicator 8)."""
        return (self.first_answered_at is not None and self.first_due_at is not None
                and self.first_answered_at <= self.first_due_at)


# -- deadlines ------------------------------------------------------------------------------------
def answer_due(calendar: WorkingCalendar, start: dt.datetime, days: int) -> dt.datetime:
    """The answer deadline of an item filed (or reopened) at `start`: `days` working days later
    (the shared calendar: weekends, holidays, the agency's closures skipped; from the next
    opening when filed outside working hours). A 0-day type is due at `start` itself."""
    if days <= 0:
        return start
    return calendar.add(start, WorkingDuration(days=days)).astimezone(dt.UTC)


def reopen_window_end(calendar: WorkingCalendar, answered_at: dt.datetime, days: int) -> dt.datetime:
    """The last moment the citizen may reopen an item answered at `answered_at`: `days` working
    days later (REOPEN window, configurable: FEEDBACK_REOPEN_DAYS)."""
    return calendar.add(answered_at, WorkingDuration(days=days)).astimezone(dt.UTC)


# -- validation -----------------------------------------------------------------------------------
def text_from_bytes(raw: bytes, field: str, max_chars: int) -> str:
    """Text sent as bytes (a page's form): UTF-8 only, NFC, at most `max_chars` code points.
    Raises InvalidArgument (NOT_UTF8 naming the byte offset, or TEXT_TOO_LONG)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgument("NOT_UTF8", f"{field} is not UTF-8 text (byte {exc.start}): save it as UTF-8",
                              metadata={"field": field, "offset": str(exc.start)}) from None
    text = nfc(text)
    if len(text) > max_chars:
        raise InvalidArgument("TEXT_TOO_LONG", f"{field} has {len(text)} characters; at most {max_chars}",
                              metadata={"field": field, "max_chars": str(max_chars)})
    return text


def check_filing(filing: Filing, types: dict[str, FeedbackType]) -> None:
    """Raises InvalidArgument (INVALID_FIELDS, every problem named) for feedback without content
    or name, over MAX_CONTENT_CHARS, of an unknown type, for an agency or dossier code that is not
    one, or a business without a contact."""
    bad: list[FieldViolation] = []
    if not filing.content.strip():
        bad.append(FieldViolation("content", "is empty: write what the feedback is about"))
    elif len(filing.content) > MAX_CONTENT_CHARS:
        bad.append(FieldViolation("content", f"has {len(filing.content)} characters; at most {MAX_CONTENT_CHARS}"))
    if filing.type_code not in types:
        bad.append(FieldViolation("type_code", f"is not a feedback type (known: {', '.join(sorted(types))})"))
    if not codes.is_unit_code(filing.agency_code):
        bad.append(FieldViolation("agency_code", "is not a unit code such as 000.00.21.H17"))
    if filing.dossier_code and not codes.is_dossier_code(filing.dossier_code):
        bad.append(FieldViolation("dossier_code", "is not a dossier code such as 000.00.21.H17-250301-0001"))
    if not filing.complainant.name.strip():
        bad.append(FieldViolation("complainant.name", "is empty: the unit answers a named person or business"))
    if not (filing.complainant.phone or filing.complainant.email or filing.complainant.address):
        bad.append(FieldViolation("complainant", "has no phone, email or address: the unit could not answer"))
    if bad:
        raise InvalidArgument.from_violations(bad)


# -- the log ---------------------------------------------------------------------------------------
def fold(filing: Filing, entries: Sequence[Entry]) -> Feedback:
    """The item after its log, in seq order; entries[0] is FILED (its due_at the first deadline)."""
    first = entries[0]
    if first.kind is not Kind.FILED or first.due_at is None:
        raise ValueError(f"the log of {filing.code} does not start with its FILED entry")
    item = Feedback(filing=filing, state=State.FILED, unit_code=filing.agency_code, type_code=filing.type_code,
                    filed_at=first.at, due_at=first.due_at, seq=first.seq, log=(first,),
                    request_ids=frozenset({first.request_id} - {""}))
    for entry in entries[1:]:
        item = apply(item, entry)
    return item


def apply(item: Feedback, e: Entry) -> Feedback:
    """`item` after one more entry `e`."""
    changes: dict = {"seq": e.seq, "log": (*item.log, e), "request_ids": item.request_ids | ({e.request_id} - {""})}
    if e.kind is Kind.ASSIGNED:
        changes.update(unit_code=e.unit_code, type_code=e.type_code or item.type_code,
                       due_at=e.due_at or item.due_at,
                       state=State.ASSIGNED if item.state is State.FILED else item.state)
    elif e.kind is Kind.ANSWERED:
        # A founded verdict stays: an answer after a reopening (proto `founded` false is also "not
        # said") may find the complaint founded, never clear it, so indicator 7 keeps counting it.
        changes.update(state=State.ANSWERED, answer=e.answer, founded=item.founded or e.founded, answered_at=e.at,
                       first_answered_at=item.first_answered_at or e.at,
                       first_due_at=item.first_due_at or item.due_at)
    elif e.kind is Kind.ESCALATED:
        changes.update(escalations=item.escalations + 1, escalated_due_at=item.due_at)
    elif e.kind is Kind.PUBLISHED:
        changes.update(published=True, public_content=e.public_content, public_answer=e.public_answer)
    elif e.kind is Kind.REOPENED:
        changes.update(state=State.REOPENED, reopens=item.reopens + 1, due_at=e.due_at or item.due_at)
    elif e.kind is Kind.RATED:
        changes.update(state=State.CLOSED, rating=e.rating)
    return dataclasses.replace(item, **changes)


def check_reopen(item: Feedback, now: dt.datetime, window_end: dt.datetime | None, max_reopens: int) -> None:
    """Raises FailedPrecondition: NOT_ANSWERED (nothing to reopen), ALREADY_RATED (rated items are
    closed), REOPEN_LIMIT (reopened `max_reopens` times already), REOPEN_WINDOW_ENDED (metadata
    window_end, ISO 8601 UTC; the message names it in Vietnam time)."""
    if item.state is State.CLOSED:
        raise FailedPrecondition("ALREADY_RATED", "this feedback was rated and is closed; file a new one")
    if item.state is not State.ANSWERED:
        raise FailedPrecondition("NOT_ANSWERED", "this feedback has no answer yet to reopen",
                                 metadata={"due_at": iso_z(item.due_at)})
    if item.reopens >= max_reopens:
        raise FailedPrecondition("REOPEN_LIMIT", f"this feedback was reopened {item.reopens} time(s), the most "
                                 "allowed; file a new one", metadata={"max_reopens": str(max_reopens)})
    if window_end is None or now > window_end:
        window_end = window_end or now
        local = window_end.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y")
        raise FailedPrecondition("REOPEN_WINDOW_ENDED", f"the window to reopen this feedback ended at {local} "
                                 "(Vietnam time); file a new one", metadata={"window_end": iso_z(window_end)})


def check_rating(item: Feedback, rating: int) -> None:
    """Raises InvalidArgument (rating not 1..3) or FailedPrecondition: ALREADY_RATED, NOT_ANSWERED
    (a reopened item waits for its new answer)."""
    if rating not in (1, 2, 3):
        raise InvalidArgument.from_violations([FieldViolation(
            "rating", "must be 1 (không hài lòng), 2 (hài lòng) or 3 (rất hài lòng)")])
    if item.rating:
        raise FailedPrecondition("ALREADY_RATED", "this answer was rated already; a rating is given once",
                                 metadata={"rating": str(item.rating)})
    if item.state is not State.ANSWERED:
        raise FailedPrecondition("NOT_ANSWERED", "this feedback has no answer to rate yet")


# -- indicators (Circular 01/2018/TT-VPCP art. 13, indicators 7 and 8) ------------------------------
@dataclass(frozen=True)
class FeedbackIndicators:
    """Counts over an agency's items filed in a period, as of `now`.
    - filed; answered (now ANSWERED or CLOSED at least once); answered_on_time (first answer by
      the first deadline); due (answered, or unanswered past deadline: what on-time shares divide);
      protracted (unanswered past deadline: kéo dài); reopened; founded_officer_complaints (a
      complaint about an officer found valid).
    - indicator_7_complaint: a founded officer complaint exists: indicator 7 is 0 points.
    - indicator_8_points: 2 when nothing was due, or all on time and none protracted; 1 when at
      least 90 % on time; 0 otherwise (art. 13 cl. 8)."""
    agency_code: str
    filed: int = 0
    answered: int = 0
    answered_on_time: int = 0
    due: int = 0
    protracted: int = 0
    reopened: int = 0
    founded_officer_complaints: int = 0

    @property
    def on_time_share(self) -> float:
        return 1.0 if self.due == 0 else self.answered_on_time / self.due

    @property
    def indicator_7_complaint(self) -> bool:
        return self.founded_officer_complaints > 0

    @property
    def indicator_8_points(self) -> int:
        if self.due == 0 or (self.answered_on_time == self.due and self.protracted == 0):
            return 2
        return 1 if self.answered_on_time * 10 >= self.due * 9 else 0


def indicators(agency_code: str, items: Sequence[Feedback], types: dict[str, FeedbackType],
               now: dt.datetime) -> FeedbackIndicators:
    """FeedbackIndicators over `items` (the agency's, filed in the period), as of `now`."""
    answered = [i for i in items if i.first_answered_at is not None]
    protracted = [i for i in items if i.overdue(now)]
    founded = [i for i in answered if i.founded and types.get(i.type_code, NO_TYPE).about_officer]
    return FeedbackIndicators(
        agency_code=agency_code, filed=len(items), answered=len(answered),
        answered_on_time=sum(1 for i in answered if i.answered_on_time()),
        due=len(answered) + sum(1 for i in protracted if i.first_answered_at is None), protracted=len(protracted),
        reopened=sum(1 for i in items if i.reopens), founded_officer_complaints=len(founded))


NO_TYPE = FeedbackType("", "", 0)


# -- types as data -------------------------------------------------------------------------------
def load_types(content: bytes) -> dict[str, FeedbackType]:
    """Feedback types from YAML: a list of {code, name, answer_days, about_officer}. Raises
    InvalidArgument naming each bad line (onestop_chassis.datafiles)."""
    data, lines = parse_file(content, "yaml", max_bytes=64 * 1024)
    reader, out = Reader(), {}
    for i, raw in enumerate(data if isinstance(data, list) else []):
        path = (i,)
        m = reader.mapping(raw, path, ("code", "name", "answer_days", "about_officer"))
        code, name = reader.text(m, path, "code"), reader.text(m, path, "name")
        days = reader.whole(m, path, "answer_days", -1)
        if not TYPE_CODE.fullmatch(code):
            reader.bad((*path, "code"), "must be 2-40 lowercase letters, digits or '-'")
        elif code in out:
            reader.bad((*path, "code"), f"repeats the type {code}")
        if not name:
            reader.bad((*path, "name"), "is empty")
        if not 0 <= days <= 60:
            reader.bad((*path, "answer_days"), "must be 0 to 60 working days")
        out[code] = FeedbackType(code, name, days, reader.flag(m, path, "about_officer", False))
    if not isinstance(data, list) or not out:
        reader.bad((), "must be a non-empty list of feedback types")
    if reader.problems:
        raise InvalidArgument.from_violations([FieldViolation(f"line {line_of(lines, p)}: {label(p)}", problem)
                                               for p, problem in reader.problems])
    return out


# -- keys ------------------------------------------------------------------------------------------
def iso_z(moment: dt.datetime) -> str:
    """A UTC moment as a sortable key part: 2026-11-30T08:00:00.000Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

