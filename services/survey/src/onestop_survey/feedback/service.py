"""Feedback use cases over the FeedbackStore port: filing, the public reads by code and secret,
the officers' actions, the citizen's reopening and rating, the indicators.

Every change is one entry appended to the item's log by a unique insert (`<code>|<seq>`): of two
writers of the same seq one wins and the other gets ABORTED (CONCURRENT_CHANGE), so no change is
ever lost. Officers' actions carry a request_id: repeated, it changes nothing. Key documents (the
store's `keys`) are written before the entry and removed after it, so a listing never misses an
item; a reader checks each key against the item and skips stale ones.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from google.protobuf.message import Message

from onestop_chassis import auth, codes
from onestop_chassis.clock import utcnow
from onestop_chassis.errors import Aborted, AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from onestop_chassis.paging import decode_page_token, encode_page_token
from onestop_chassis.worktime import VIETNAM, WorkingCalendar

from . import domain, keys, messages
from .domain import Actor, Entry, Feedback, Filing, Kind, State

SECRET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed from paper
OFFICERS = frozenset({auth.DESK_OFFICER, auth.PROCESSING_OFFICER, auth.UNIT_LEADER, auth.AGENCY_ADMIN})
MAX_PAGE = 200


class FeedbackStore(Protocol):
    def append(self, code: str, entry: Entry, filing: Filing | None, events: Sequence[Message]) -> bool:
        """Inserts entry `<code>|<seq>` (with the item's header when `filing`) and its events
        (outbox); False when that seq exists (another writer won)."""
    def load(self, code: str) -> tuple[Filing, list[Entry]] | None: ...
    def put_key(self, key: str, code: str) -> None: ...
    def delete_key(self, key: str) -> None: ...
    def keys(self, after: str, before: str, limit: int) -> list[tuple[str, str]]:
        """(key, code) with after < key < before, in key order, at most `limit`."""


class UnitTree(Protocol):
    def parents(self, fresh: bool = False) -> Mapping[str, str]:
        """Every unit's parent code by its code ("" for a root), as intake lists them (`fresh`: not
        from a cache). Raises Unavailable UNITS_UNAVAILABLE when they cannot be read."""


MAX_TREE_DEPTH = 16  # province → district → department → ...: deeper is a loop in the data


@dataclasses.dataclass(frozen=True)
class Policy:
    """The settings feedback follows: its types, the calendar, the reopen window (working days)
    and how many times an item may be reopened."""
    types: dict[str, domain.FeedbackType]
    calendar: WorkingCalendar
    reopen_days: int = 5
    max_reopens: int = 2


def secret_hash(secret: str) -> str:
    return hashlib.sha256(codes.normalise_code(secret).encode()).hexdigest()


class FeedbackService:
    def __init__(self, store: FeedbackStore, policy: Policy, units: UnitTree, *,
                 clock: Callable[[], dt.datetime] = utcnow):
        self._store, self.policy, self._clock, self._units = store, policy, clock, units
        self.clock = clock  # the servicer's `overdue` flag reads the same clock

    # -- filing and public reads ---------------------------------------------------------------------
    def file(self, draft: Filing) -> tuple[Feedback, str]:
        """Files `draft` (its code and secret_hash are made here); returns the item and its secret
        (8 characters, returned once). Raises InvalidArgument (domain.check_filing), as known_units
        for an agency intake does not know (no officer could ever reach it); refused, nothing is stored."""
        domain.check_filing(draft, self.policy.types)
        self.known_units(draft.agency_code)
        now = self._clock()
        due = domain.answer_due(self.policy.calendar, now, self.policy.types[draft.type_code].answer_days)
        secret = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(8))
        for _ in range(5):  # 32^6 codes a day: a collision is rare, and the unique insert finds it
            code = f"PA-{now.astimezone(VIETNAM):%y%m%d}-" + "".join(secrets.choice(SECRET_ALPHABET) for _ in range(6))
            filing = dataclasses.replace(draft, code=code, secret_hash=secret_hash(secret))
            entry = Entry(seq=1, kind=Kind.FILED, at=now, actor=Actor("", auth.CITIZEN), due_at=due)
            item = domain.fold(filing, [entry])
            for key in keys.of(item):
                self._store.put_key(key, code)
            if self._store.append(code, entry, filing, [messages.filed(item)]):
                return item, secret
            taken = self._store.load(code)  # the code is another item's: drop the keys put for this one
            for key in set(keys.of(item)) - set(keys.of(domain.fold(*taken)) if taken else ()):
                self._store.delete_key(key)
        raise Aborted("CONCURRENT_CHANGE", "no free tracking code was found; file again")

    def lookup(self, code: str, secret: str) -> Feedback:
        """The item whose code and secret match; the same NOT_FOUND (NO_MATCH) for any mismatch."""
        item = self._load(_code(code), missing="NO_MATCH")
        if not hmac.compare_digest(item.filing.secret_hash, secret_hash(secret)):
            raise NotFound("NO_MATCH", "no feedback matches this code and secret; check both")
        return item

    def get(self, code: str, actor: auth.Principal) -> Feedback:
        """An officer's read: officers of its agency or of the unit handling it, and SERVICE.
        Raises NotFound (FEEDBACK_NOT_FOUND), PermissionDenied (OTHER_AGENCY)."""
        item = self._load(_code(code))
        if actor.agency != item.filing.agency_code:
            actor.require_agency(item.unit_code, action="read this feedback")
        return item

    def published(self, agency_code: str, page_size: int, page_token: str) -> tuple[list[Feedback], str]:
        """An agency's published items, oldest filed first (keys.published_prefix)."""
        agency_code = _unit(agency_code, "agency_code")
        prefix = keys.published_prefix(agency_code)
        return self._page(prefix, page_size, page_token)

    # -- officers ------------------------------------------------------------------------------------
    def list_unit(self, unit_code: str, actor: auth.Principal, page_size: int, page_token: str,
                  escalated_only: bool = False) -> tuple[list[Feedback], str]:
        """The items `unit_code` handles, oldest filed first (`escalated_only`: those escalated to
        its leader and still unanswered); PermissionDenied (OTHER_AGENCY) for another unit's officer."""
        unit_code = _unit(unit_code, "unit_code")
        actor.require_agency(unit_code, action="list feedback")
        if escalated_only:
            return self._page(keys.escalated_prefix(unit_code), page_size, page_token)
        return self._page(keys.unit_prefix(unit_code), page_size, page_token)

    def assign(self, code: str, unit_code: str, type_code: str, reason: str, request_id: str,
               actor: auth.Principal) -> Feedback:
        """Assigns to `unit_code` (empty: keeps the unit) and classifies as `type_code` (empty:
        keeps it; the deadline then counts from filing with the new type's days). Only the handling
        unit's officers (PermissionDenied OTHER_AGENCY); FailedPrecondition ALREADY_ANSWERED, CLOSED;
        and only to a unit of the filing agency's tree (`check_in_tree`: its officers will read the
        complainant's contact details). Raises as check_in_tree."""
        item, replayed = self._acting(code, request_id, actor, Kind.ASSIGNED, "assign this feedback")
        if replayed:
            return item
        unit_code = _unit(unit_code, "unit_code") if unit_code.strip() else item.unit_code
        type_code = type_code.strip() or item.type_code
        if type_code not in self.policy.types:
            raise InvalidArgument.from_violations([FieldViolation("type_code", "is not a feedback type")])
        _require_open(item)
        if unit_code != item.unit_code:
            self.check_in_tree(unit_code, item.filing.agency_code)
        due = item.due_at
        if type_code != item.type_code and item.state is not State.REOPENED:
            due = domain.answer_due(self.policy.calendar, item.filed_at, self.policy.types[type_code].answer_days)
        entry = self._entry(item, Kind.ASSIGNED, actor, request_id, reason, unit_code=unit_code,
                            type_code=type_code, due_at=due)
        return self._record(item, entry, [])

    def answer(self, code: str, answer: str, founded: bool, request_id: str, actor: auth.Principal) -> Feedback:
        """Answers an open item of the actor's unit (PermissionDenied OTHER_AGENCY otherwise)."""
        item, replayed = self._acting(code, request_id, actor, Kind.ANSWERED, "answer this feedback")
        if replayed:
            return item
        if not answer.strip() or len(answer) > domain.MAX_ANSWER_CHARS:
            raise InvalidArgument.from_violations([FieldViolation(
                "answer", f"must have 1 to {domain.MAX_ANSWER_CHARS} characters")])
        _require_open(item)
        entry = self._entry(item, Kind.ANSWERED, actor, request_id, "", answer=answer.strip(), founded=founded)
        after = domain.apply(item, entry)
        return self._record(item, entry, [messages.answered(after, self.policy.types)])

    def publish(self, code: str, public_content: str, public_answer: str, request_id: str,
                actor: auth.Principal) -> Feedback:
        """Publishes an answered item with its content and answer as written for the public (the
        filed texts may name people: they are never published). InvalidArgument for an empty or
        over-long public text; FailedPrecondition NOT_ANSWERED before its first answer."""
        item, replayed = self._acting(code, request_id, actor, Kind.PUBLISHED, "publish this feedback")
        if replayed:
            return item
        if item.first_answered_at is None:
            raise FailedPrecondition("NOT_ANSWERED", "feedback is published with its answer: answer it first")
        bad = [FieldViolation(name, f"must have 1 to {most} characters, personal data removed")
               for name, text, most in (("public_content", public_content, domain.MAX_CONTENT_CHARS),
                                        ("public_answer", public_answer, domain.MAX_ANSWER_CHARS))
               if not text.strip() or len(text) > most]
        if bad:
            raise InvalidArgument.from_violations(bad)
        entry = self._entry(item, Kind.PUBLISHED, actor, request_id, "", public_content=public_content.strip(),
                            public_answer=public_answer.strip())
        return self._record(item, entry, [])

    def check_in_tree(self, unit_code: str, agency_code: str) -> None:
        """`unit_code` is in the unit tree of `agency_code`: intake's units under the same root
        (the province's People's Committee, a ministry), parent by parent, so an item may move to
        the competent department of the same province but never to another province's or
        ministry's unit. Raises NotFound UNIT_NOT_FOUND (intake knows no such unit),
        FailedPrecondition UNIT_OUTSIDE_AGENCY (another tree's unit: its officers may not read this
        complainant's contact details, issue 12 item 7), Unavailable UNITS_UNAVAILABLE (intake's
        units could not be read)."""
        if unit_code == agency_code:
            return
        parents = self.known_units(unit_code)
        root = _root(agency_code, parents)
        if _root(unit_code, parents) != root:
            raise FailedPrecondition("UNIT_OUTSIDE_AGENCY", f"unit {unit_code} is not in the unit tree of agency "
                                     f"{agency_code} (under {root}), which this feedback was filed with: assign it "
                                     "to a unit of that tree", metadata={"unit_code": unit_code,
                                                                         "agency_code": agency_code})

    def known_units(self, unit_code: str) -> Mapping[str, str]:
        """intake's {unit: parent}, which knows `unit_code` (read again if the cache does not).
        Raises NotFound UNIT_NOT_FOUND, Unavailable UNITS_UNAVAILABLE (intake's units unreadable)."""
        parents = self._units.parents()
        if unit_code not in parents:  # a unit created since the tree was read
            parents = self._units.parents(fresh=True)
        if unit_code not in parents:
            raise NotFound("UNIT_NOT_FOUND", f"intake knows no unit {unit_code}: check the unit code",
                           metadata={"unit_code": unit_code})
        return parents

    # -- the citizen ----------------------------------------------------------------------------------
    def reopen(self, code: str, secret: str, reason: str) -> Feedback:
        """Reopens an answered item within the window (domain.check_reopen); a new deadline of the
        type's days runs from now. InvalidArgument for an empty or over-long reason."""
        item = self.lookup(code, secret)
        if not reason.strip() or len(reason) > domain.MAX_REASON_CHARS:
            raise InvalidArgument.from_violations([FieldViolation(
                "reason", f"must say why, in 1 to {domain.MAX_REASON_CHARS} characters")])
        now = self._now(item)
        domain.check_reopen(item, now, self.reopen_until(item), self.policy.max_reopens)
        due = domain.answer_due(self.policy.calendar, now, self.policy.types[item.type_code].answer_days)
        entry = Entry(seq=item.seq + 1, kind=Kind.REOPENED, at=now, actor=Actor("", auth.CITIZEN),
                      reason=reason.strip(), due_at=due)
        return self._record(item, entry, [messages.reopened(domain.apply(item, entry))])

    def rate(self, code: str, secret: str, rating: int) -> Feedback:
        """Rates the answer once (domain.check_rating); the item closes."""
        item = self.lookup(code, secret)
        domain.check_rating(item, rating)
        entry = Entry(seq=item.seq + 1, kind=Kind.RATED, at=self._now(item), actor=Actor("", auth.CITIZEN),
                      rating=rating)
        return self._record(item, entry, [messages.rated(domain.apply(item, entry))])

    def reopen_until(self, item: Feedback) -> dt.datetime | None:
        """The end of the item's reopen window (None before an answer)."""
        if item.answered_at is None:
            return None
        return domain.reopen_window_end(self.policy.calendar, item.answered_at, self.policy.reopen_days)

    # -- indicators ---------------------------------------------------------------------------------
    def indicators(self, agency_code: str, start: dt.datetime, end: dt.datetime,
                   actor: auth.Principal) -> domain.FeedbackIndicators:
        """Indicators 7 and 8's inputs over the items of `agency_code` filed in [start, end)
        (domain.indicators), as of now. InvalidArgument when end is not after start."""
        agency_code = _unit(agency_code, "agency_code")
        actor.require_agency(agency_code, action="read feedback indicators")
        if end <= start:
            raise InvalidArgument.from_violations([FieldViolation("end", "must be after start")])
        return domain.indicators(agency_code, self.agency_items(agency_code, start, end), self.policy.types,
                                 self._clock())

    def agency_items(self, agency_code: str, start: dt.datetime, end: dt.datetime) -> list[Feedback]:
        """The items of `agency_code` filed in [start, end): one key range, then each item by code."""
        prefix = keys.agency_prefix(agency_code)
        items, after = [], prefix + domain.iso_z(start)
        while True:
            page = self._store.keys(after, prefix + domain.iso_z(end), 500)
            items.extend(self._items(page))
            if len(page) < 500:
                return items
            after = page[-1][0]

    # -- the overdue scan (overdue.py) ---------------------------------------------------------------
    def due_keys(self, now: dt.datetime, after: str, limit: int) -> list[tuple[str, str]]:
        """Keys of open items due up to `now`, soonest first, after `after`."""
        return self._store.keys(after or keys.DUE_PREFIX, keys.DUE_PREFIX + domain.iso_z(now) + "~", limit)

    def escalate(self, code: str, key: str, scanner: str) -> bool:
        """Marks the item `code` overdue once per deadline and escalates it to its unit's leader
        (an ESCALATED entry, FeedbackEscalated); drops the due key `key` once it leads nowhere.
        False when there was nothing to do: answered, not yet due, escalated for this deadline."""
        loaded = self._store.load(code)
        if loaded is None:
            self._store.delete_key(key)
            return False
        item = domain.fold(*loaded)
        now = self._now(item)
        if key != keys.due(item):
            self._store.delete_key(key)  # answered, escalated for this deadline, or a stale key
            return False
        if not item.overdue(now):
            return False
        entry = Entry(seq=item.seq + 1, kind=Kind.ESCALATED, at=now,
                      actor=Actor(scanner, auth.SERVICE, item.unit_code), unit_code=item.unit_code,
                      reason="Quá hạn trả lời phản ánh, kiến nghị: chuyển lãnh đạo đơn vị")
        try:
            self._record(item, entry, [messages.escalated(item)])
        except Aborted:
            return False  # another writer appended meanwhile: the next pass sees it again
        return True  # _record dropped the due key

    # -- helpers -------------------------------------------------------------------------------------
    def _load(self, code: str, missing: str = "FEEDBACK_NOT_FOUND") -> Feedback:
        loaded = self._store.load(code)
        if loaded is None:
            if missing == "NO_MATCH":
                raise NotFound("NO_MATCH", "no feedback matches this code and secret; check both")
            raise NotFound("FEEDBACK_NOT_FOUND", f"no feedback has the code {code}", metadata={"code": code})
        return domain.fold(*loaded)

    def _acting(self, code: str, request_id: str, actor: auth.Principal, kind: Kind,
                action: str) -> tuple[Feedback, bool]:
        """The item an officer acts on, and whether this caller's `request_id` was applied before
        (AlreadyExists REQUEST_ID_REUSED when it was for another kind of action). Only the handling
        unit's officers act on it (SERVICE acts for any)."""
        if not request_id.strip():
            raise InvalidArgument.from_violations([FieldViolation("request_id", "is empty: send an id per action")])
        item = self._load(_code(code))
        done = next((e for e in item.log if e.request_id == request_id and e.actor.subject == actor.subject), None)
        if done is not None and done.kind is not kind:
            raise AlreadyExists("REQUEST_ID_REUSED", f"request_id {request_id} was used for {done.kind} on this "
                                "feedback: send a new id per action", metadata={"request_id": request_id})
        if done is not None:
            return item, True  # the same caller's retry: answered as it is, even if it moved on since
        actor.require_agency(item.unit_code, action=action)
        return item, False

    def _now(self, item: Feedback) -> dt.datetime:
        return max(self._clock(), item.log[-1].at)  # a log never goes back in time

    def _entry(self, item: Feedback, kind: Kind, actor: auth.Principal, request_id: str, reason: str,
               **fields) -> Entry:
        if len(reason) > domain.MAX_REASON_CHARS:
            raise InvalidArgument.from_violations([FieldViolation("reason", "is over 1,000 characters")])
        role = next((r for r in sorted(actor.roles) if r in OFFICERS), auth.SERVICE)
        return Entry(seq=item.seq + 1, kind=kind, at=self._now(item),
                     actor=Actor(actor.subject, role, actor.agency), reason=reason.strip(), request_id=request_id,
                     **fields)

    def _record(self, item: Feedback, entry: Entry, events: list[Message]) -> Feedback:
        after = domain.apply(item, entry)
        old, new = set(keys.of(item)), set(keys.of(after))
        for key in new - old:
            self._store.put_key(key, item.code)
        if not self._store.append(item.code, entry, None, events):
            raise Aborted("CONCURRENT_CHANGE", "the feedback changed meanwhile; read it again and retry")
        for key in old - new:
            self._store.delete_key(key)
        return after

    def _items(self, page: list[tuple[str, str]]) -> list[Feedback]:
        """The items the keys name, each read by code; a stale key (a moved, answered or
        unpublished item's, or a write that lost) is not among its item's keys and is skipped."""
        items = []
        for key, code in page:
            loaded = self._store.load(code)
            if loaded is not None and key in keys.of(item := domain.fold(*loaded)):
                items.append(item)
        return items

    def _page(self, prefix: str, page_size: int, page_token: str) -> tuple[list[Feedback], str]:
        size = page_size or 50
        if not 0 < size <= MAX_PAGE:
            raise InvalidArgument.from_violations([FieldViolation("page_size", f"must be 1 to {MAX_PAGE}")])
        after = decode_page_token(page_token, prefix) if page_token else prefix
        page = self._store.keys(after, prefix + "~", size)
        items = self._items(page)
        token = encode_page_token(page[-1][0], prefix) if len(page) == size else ""
        return items, token


def _require_open(item: Feedback) -> None:
    if item.state is State.CLOSED:
        raise FailedPrecondition("CLOSED", "this feedback was rated and is closed")
    if item.state is State.ANSWERED:
        raise FailedPrecondition("ALREADY_ANSWERED", "this feedback is answered; it reopens only at the "
                                 "complainant's request")


def _root(code: str, parents: Mapping[str, str]) -> str:
    """The top of `code`'s tree: its last known ancestor (itself for a root or an unknown unit)."""
    for _ in range(MAX_TREE_DEPTH):
        parent = parents.get(code, "")
        if not parent:
            return code
        code = parent
    return code  # a loop in the data: no common root is found for it


def _code(code: str) -> str:
    code = code.strip().upper()
    if not domain.CODE.fullmatch(code):
        raise InvalidArgument.from_violations([FieldViolation("code", "is not a feedback code such as "
                                                                      "PA-261130-ABCDEF")])
    return code


def _unit(code: str, field: str) -> str:
    code = code.strip()
    if not codes.is_unit_code(code):
        raise InvalidArgument.from_violations([FieldViolation(field, "is not a unit code such as 000.00.21.H17")])
    return code
