"""Routing use cases: a case's journey through steps, units and agencies, over the CaseStore and
TemplateRepository ports (docs/routing.md).

Every action loads the case's whole log (one `_id` range read), folds it into the view, lets
`domain.actions.decide` check the command and appends the one entry it returns with the events it
causes. The append is a unique insert of `<dossier>|<seq>`: two officers acting at once on one
case both try seq n+1, one wins, the other gets ABORTED `CONCURRENT_CHANGE`. Idempotency: the log
itself holds every request_id with a digest of its command, and it is read before each action, so
the same request again answers as the first did and other content under the same request_id is
ALREADY_EXISTS `REQUEST_ID_REUSED`. After the append, the case's projection (the `cases` view and
the inbox keys) is written forward only; a projection behind its log is re-folded on the next read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace

from google.protobuf.message import Message

from onestop_chassis import auth, codes
from onestop_chassis.clock import utcnow
from onestop_chassis.errors import (
    Aborted,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ServiceError,
)
from onestop_chassis.logs import get_logger
from onestop_chassis.request_ids import reused
from onestop_chassis.worktime import WorkingCalendar

from . import domain, messages
from .book import BookIndex, NoBook, book_keys
from .case_due import case_due_items
from .cases import CaseStore, Loaded, Logged, Stored
from .desk_events import INTAKE, DeskEvents
from .domain import journey
from .domain.actions import UNIT_LEADER, Act, Assign, Claim, Command, Extend, Resume, decide
from .domain.journey import PAYMENT_STATUS, Actor, CaseState, Entry, EntryKind
from .domain.process import TemplateRepository, template_for_case
from .inbox import (
    INBOX_PAGE_DEFAULT,
    INBOX_PAGE_MAX,
    InboxItem,
    InboxScope,
    inbox_items,
    inbox_prefix,
    iso_key,
)

log = get_logger("onestop.routing")

def _digest(command: Command, subject: str) -> str:
    body = json.dumps({"type": type(command).__name__, "fields": asdict(command), "subject": subject},
                      sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()[:32]


class RoutingService(DeskEvents):
    def __init__(self, cases: CaseStore, templates: TemplateRepository, *,
                 calendar: WorkingCalendar | None = None, clock: Callable[[], dt.datetime] = utcnow,
                 due_soon_share: float = 0.8,  # of a step's budget: due soon
                 unit_name: Callable[[str], str] | None = None, book: BookIndex | None = None):
        self._cases = cases
        self._book = book or NoBook()  # form 07's keys: who had the case in which month
        # A unit's name for the events, as last read (units.UnitNames.name: never calls intake).
        self._unit_name = unit_name or (lambda code: "")
        self._templates = templates
        self._calendar = calendar or WorkingCalendar()
        self._clock = clock
        self._due_soon_share = due_soon_share

    # --- events ------------------------------------------------------------------------------
    def open_case(self, cmd: domain.OpenCase) -> bool:
        """Opens the dossier's case once, with the latest template for its receiving unit or its
        agency (template_for_case; kept for life; version 0 without). False when the
        dossier had a case already (a redelivered event): nothing changes, except that a case whose
        first projection failed (its inbox keys missing: nobody would see it) is projected now."""
        now = self._clock()
        template = template_for_case(self._templates, cmd.process_code, cmd.receiving_unit_code,
                                     cmd.receiving_agency_code)
        case = domain.open_case(cmd, now)
        if template is not None:
            case = replace(case, process_version=template.version, process_agency=template.agency_code)
        first = Entry(seq=1, kind=EntryKind.OPENED, at=now, actor=INTAKE, request_id=cmd.event_id, due_at=cmd.due_at)
        view = journey.opened(cmd.dossier_code, template, self._calendar, first) if template else None
        if not self._cases.open(case, Logged(first), [messages.case_opened(case, template, view, self._unit_name)]):
            self.loaded(cmd.dossier_code)  # repairs a projection behind its log
            return False
        if template is not None and view is not None:  # open() stored the view at seq 0, without keys
            self._project(Loaded(case, (Logged(first),), template, view, (0, ())))
        return True

    # --- reads -------------------------------------------------------------------------------
    def get_case(self, dossier_code: str, actor: auth.Principal) -> Loaded:
        """The case as its journey says now. INVALID_ARGUMENT for a malformed code; NOT_FOUND
        `CASE_NOT_FOUND`; PERMISSION_DENIED `OTHER_AGENCY` for a case none of the caller's unit's
        steps touched (and for an unknown code of another agency, so codes cannot be probed)."""
        return self._load(dossier_code, actor, "read this case")

    def tracking_book(self, unit_code: str, year: int, month: int, limit: int,
                      actor: auth.Principal) -> list[Loaded]:
        """The cases in `unit_code`'s tracking book (form 07) for a month: those it received that
        month (their codes) and those its steps received or handed over that month (book.py's
        keys), by code, at most `limit` of each. PERMISSION_DENIED `OTHER_AGENCY` for a caller of
        another unit."""
        actor.require_agency(unit_code, action="read the tracking book")
        day = f"{year % 100:02d}{month:02d}"
        received = self._cases.case_codes(f"{unit_code}-{day}01-", f"{unit_code}-{day}31-~", limit)
        handled = self._book.codes(unit_code, f"{year:04d}-{month:02d}", limit)
        found = (self._cases.load(code) for code in sorted({*received, *handled}))
        return [self._fold(stored) for stored in found if stored is not None]

    def received_by(self, unit_code: str, first_day: str, last_day: str, limit: int,
                    actor: auth.Principal) -> list[Loaded]:
        """The cases `unit_code` received from day `first_day` to `last_day` (codes' 'yymmdd'), by
        code, at most `limit`; PERMISSION_DENIED `OTHER_AGENCY` for a caller of another unit."""
        actor.require_agency(unit_code, action="read the tracking book")
        codes = self._cases.case_codes(f"{unit_code}-{first_day}-", f"{unit_code}-{last_day}-~", limit)
        found = (self._cases.load(code) for code in codes)
        return [self._fold(stored) for stored in found if stored is not None]

    def inbox(self, actor: auth.Principal, unit_code: str, scope: InboxScope, *, overdue_only: bool = False,
              page_size: int = 0, page_token: str = "") -> tuple[list[InboxItem], str]:
        """One page of a unit's inbox, soonest step due first, and the next page's token ("" on
        the last). `unit_code` empty: the caller's. PERMISSION_DENIED `OTHER_AGENCY` for another
        unit, `LEADER_REQUIRED` for the whole unit's list or its escalated one (the steps the
        overdue scan found late, `<unit>|escalated|` keys); INVALID_ARGUMENT for a foreign token."""
        unit = unit_code.strip() or actor.agency
        if not unit:
            raise InvalidArgument.from_violations([FieldViolation("unit_code", "is required (no agency in the token)")])
        actor.require_agency(unit, action="read this unit's inbox")
        if scope in (InboxScope.UNIT, InboxScope.ESCALATED) and not actor.has_any({UNIT_LEADER, auth.SERVICE}):
            what = "all of its steps" if scope is InboxScope.UNIT else "the steps escalated to it"
            raise PermissionDenied("LEADER_REQUIRED", f"only the leader of unit {unit} lists {what}")
        prefix = inbox_prefix(unit, f"mine:{actor.subject}" if scope is InboxScope.MINE else str(scope))
        if page_token and not page_token.startswith(prefix):
            raise InvalidArgument.from_violations([FieldViolation("page.page_token", "is not a token of this inbox")])
        size = min(page_size, INBOX_PAGE_MAX) if page_size > 0 else INBOX_PAGE_DEFAULT
        before = prefix + iso_key(self._clock()) if overdue_only else prefix + "~"
        items = self._cases.inbox(page_token or prefix, before, size + 1)
        token = items[size - 1].key if len(items) > size else ""
        items = items[:size]
        if overdue_only:
            items = [i for i in items if not i.paused]  # a paused clock is never overdue
        return items, token

    # --- actions -----------------------------------------------------------------------------
    def claim(self, dossier_code: str, step: str, request_id: str, actor: auth.Principal) -> Loaded:
        loaded = self._load(dossier_code, actor, "act on this case")
        performer = self._performer_role(loaded, step)
        return self._run(loaded, _actor(actor, performer, UNIT_LEADER), Claim(step), request_id)

    def act(self, dossier_code: str, command: Act, request_id: str, actor: auth.Principal) -> Loaded:
        loaded = self._load(dossier_code, actor, "act on this case")
        performer = self._performer_role(loaded, command.step)
        return self._run(loaded, _actor(actor, performer, auth.PROCESSING_OFFICER, auth.DESK_OFFICER, UNIT_LEADER),
                         command, request_id)

    def extend(self, dossier_code: str, command: Extend, request_id: str, actor: auth.Principal) -> Loaded:
        loaded = self._load(dossier_code, actor, "extend this case")
        return self._run(loaded, _actor(actor, UNIT_LEADER), command, request_id)

    def confirm_payment(self, dossier_code: str, note: str, request_id: str, actor: auth.Principal) -> Loaded:
        """The financial obligation was met: the case runs again. FAILED_PRECONDITION
        `NOT_WAITING_FOR_PAYMENT` when it does not wait for one."""
        loaded = self._load(dossier_code, actor, "act on this case")
        command = Resume(note.strip() or "Đã hoàn thành nghĩa vụ tài chính")
        if not self._replay(loaded, request_id, command, actor.subject):
            view = loaded.view
            if view is None or view.state is not CaseState.PAUSED or view.national_status != PAYMENT_STATUS:
                raise FailedPrecondition("NOT_WAITING_FOR_PAYMENT",
                                         f"case {loaded.case.dossier_code} does not wait for a financial obligation")
        return self._run(loaded, _actor(actor, auth.PROCESSING_OFFICER, auth.DESK_OFFICER, UNIT_LEADER),
                         command, request_id)

    def assign(self, dossier_codes: Sequence[str], step: str, assignee: str, kind: journey.AssigneeKind,
               request_id: str, actor: auth.Principal) -> list[Loaded]:
        """The unit's leader assigns one step of each dossier. Every dossier is checked before any
        is written: one that cannot be assigned fails the whole call, its error naming it
        (`dossier_codes[i]`), and nothing is stored. A write that then fails (a concurrent action
        on one case, the database) leaves the dossiers before it assigned; the same request again
        (same request_id: those answer as before) assigns the rest."""
        if not dossier_codes:
            raise InvalidArgument.from_violations([FieldViolation("dossier_codes", "names at least one dossier")])
        seen: set[str] = set()
        command = Assign(step, assignee.strip(), kind)
        leader = _actor(actor, UNIT_LEADER)
        checked = []
        for i, code in enumerate(dossier_codes):
            try:
                loaded = self._load(code, actor, "assign this case")
                if loaded.case.dossier_code in seen:
                    raise InvalidArgument.from_violations([FieldViolation(f"dossier_codes[{i}]", "repeats a dossier")])
                seen.add(loaded.case.dossier_code)
                if not self._replay(loaded, request_id, command, actor.subject):
                    self._decide(loaded, leader, command, request_id)
            except ServiceError as exc:
                raise _naming(exc, f"dossier_codes[{i}]", code) from None
            checked.append(loaded)
        return [self._run(loaded, leader, command, request_id) for loaded in checked]

    # --- the overdue scan's (overdue.py) --------------------------------------------------------
    def loaded(self, dossier_code: str) -> Loaded | None:
        """The case folded from its log (projection repaired when behind); None without a case."""
        stored = self._cases.load(dossier_code)
        if stored is None:
            return None
        loaded = self._fold(stored)
        if loaded.view is not None and stored.projected_seq < loaded.view.seq:
            self._project(loaded, repair=True)
        return loaded

    def drop_if_stale(self, loaded: Loaded | None, key: str) -> bool:
        """Deletes the scan key `key` when the case (`loaded`, None when there is none) does not
        hold it any more: a projection that lost a race or whose delete failed left it behind, and
        no later projection knows it. True when deleted; the scans then mark nothing for it."""
        held: set[str] = set()
        if loaded is not None and loaded.view is not None and loaded.template is not None:
            items = self._scan_keys(loaded)
            held = {item.key for item in items}
        if key in held:
            return False
        self._cases.drop_keys([key])
        log.info("stale scan key deleted", key=key)
        return True

    def _scan_keys(self, loaded: Loaded) -> list:
        """The case's inbox and scan keys (inbox.py, case_due.py) as its projection holds them."""
        return (inbox_items(loaded, self._calendar, self._due_soon_share)
                + case_due_items(loaded, self._calendar, self._due_soon_share))

    def record(self, loaded: Loaded, entry: Entry, events: Sequence[Message], digest: str) -> bool:
        """Appends the scan's entry with its events and projects it; False when its seq was taken."""
        assert loaded.view is not None and loaded.template is not None
        after = journey.apply(loaded.view, loaded.template, self._calendar, entry)
        logged = Logged(entry, digest)
        if not self._cases.append(loaded.case.dossier_code, logged, events):
            return False
        self._project(Loaded(loaded.case, (*loaded.log, logged), loaded.template, after, loaded.projected))
        return True

    # --- internals ---------------------------------------------------------------------------
    def _load(self, dossier_code: str, actor: auth.Principal, action: str) -> Loaded:
        code = codes.dossier_code_argument(dossier_code)
        stored = self._cases.load(code)
        loaded = self._fold(stored) if stored is not None else None
        if not actor.has_any({auth.SERVICE}) and (loaded is None or actor.agency not in loaded.units):
            # The code names its receiving unit: another agency is refused whether or not the case
            # exists, so sequential codes cannot be probed; liên thông opens the case to the units
            # its steps went through.
            actor.require_agency(codes.unit_of(code), action=action)
            if loaded is not None:
                raise PermissionDenied("OTHER_AGENCY", f"{actor.subject} acts for {actor.agency or '(none)'}, "
                                                       f"a unit case {code} never went to",
                                       metadata={"caller_agency": actor.agency})
        if loaded is None:
            raise NotFound("CASE_NOT_FOUND", f"no case is open for dossier {code} (yet)",
                           metadata={"dossier_code": code})
        if stored is not None and loaded.view is not None and stored.projected_seq < loaded.view.seq:
            self._project(loaded, repair=True)  # the projection was left behind (a crash after the append)
        return loaded

    def _fold(self, stored: Stored) -> Loaded:
        case = stored.case
        projected = (stored.projected_seq, stored.projected_keys)
        if not case.process_version:
            return Loaded(case, stored.log, None, None, projected)
        template = self._templates.version(case.process_code, case.process_agency, case.process_version)
        if template is None:
            raise FailedPrecondition("TEMPLATE_MISSING", f"case {case.dossier_code} runs {case.process_code} "
                                                         f"version {case.process_version}, which is not stored")
        view = journey.fold(case.dossier_code, template, self._calendar, [item.entry for item in stored.log])
        return Loaded(case, stored.log, template, view, projected)

    def _performer_role(self, loaded: Loaded, step: str) -> str:
        if loaded.template is None or step not in loaded.template.step_codes:
            return ""
        performer = loaded.template.step(step).performer
        return performer.role if performer else ""

    def _replay(self, loaded: Loaded, request_id: str, command: Command, subject: str) -> Logged | None:
        """The entry this request_id wrote before, when it is the same command of the same caller;
        ALREADY_EXISTS `REQUEST_ID_REUSED` when it wrote something else."""
        if not request_id:
            return None
        prior = next((item for item in loaded.log if item.entry.request_id == request_id), None)
        if prior is not None and prior.digest != _digest(command, subject):
            raise reused(request_id, "action")
        return prior

    def _at(self, loaded: Loaded, occurred_at: dt.datetime | None = None) -> dt.datetime:
        """An entry's time: `occurred_at` (an event's) or now, never before the case's last entry
        (api processes' clocks may differ by a little; an event may predate a later entry)."""
        return max(occurred_at or self._clock(), loaded.log[-1].entry.at)

    def _decide(self, loaded: Loaded, actor: Actor, command: Command, request_id: str,
                at: dt.datetime | None = None) -> Entry:
        if loaded.view is None or loaded.template is None:
            raise FailedPrecondition("NO_PROCESS", f"case {loaded.case.dossier_code} has no process template: "
                                                   "the desk records its result (intake's RecordResult)")
        return decide(loaded.view, loaded.template, actor, command, at=self._at(loaded, at),
                      request_id=request_id)

    def _run(self, loaded: Loaded, actor: Actor, command: Command, request_id: str, *,
             at: dt.datetime | None = None) -> Loaded:
        prior = self._replay(loaded, request_id, command, actor.subject)
        if prior is not None:
            return loaded.as_of(prior.entry.seq, self._calendar)
        entry = self._decide(loaded, actor, command, request_id, at)
        assert loaded.view is not None and loaded.template is not None  # _decide checked
        after = journey.apply(loaded.view, loaded.template, self._calendar, entry)
        logged = Logged(entry, _digest(command, actor.subject))
        events = messages.for_entry(loaded.case, loaded.template, loaded.view, after, entry, self._unit_name)
        if not self._cases.append(loaded.case.dossier_code, logged, events):
            again = self._cases.load(loaded.case.dossier_code)
            if request_id and again is not None:
                won = next((item for item in again.log if item.entry.request_id == request_id), None)
                if won is not None and won.digest == logged.digest:  # our own retry won the race
                    return self._fold(again).as_of(won.entry.seq, self._calendar)
            raise Aborted("CONCURRENT_CHANGE", f"case {loaded.case.dossier_code} changed at the same moment "
                                               "(another officer acted): reload it and retry",
                          metadata={"dossier_code": loaded.case.dossier_code})
        done = Loaded(loaded.case, (*loaded.log, logged), loaded.template, after, loaded.projected)
        self._project(done)
        return done

    def _project(self, loaded: Loaded, *, repair: bool = False) -> None:
        """Writes the case's projection after its last entry: the view, the inbox keys and the
        tracking book's keys of that entry (all of them when `repair`ing a projection left behind)."""
        assert loaded.view is not None and loaded.template is not None
        try:
            # The book's keys first: if they fail, the view stays behind its log and the next read
            # repairs both (the view written, a lost key would never be written again).
            self._book.add(book_keys(loaded.view, None if repair else loaded.log[-1].entry.at))
            items = self._scan_keys(loaded)
            self._cases.project(loaded.case, loaded.view, items, loaded.projected)
        except Exception:  # the entry is stored: the next read of the case repairs the projection
            log.exception("case projection not written; the next read repairs it")


def _actor(principal: auth.Principal, *preferred: str) -> Actor:
    """The journey's actor: the token's subject and agency (the officer's unit), and of its roles
    the first the action needs (a leader's token acts as unit_leader where leading is needed)."""
    role = next((r for r in preferred if r and r in principal.roles), "") or min(principal.roles, default="")
    return Actor(principal.subject, role, principal.agency)


def _naming(exc: ServiceError, field: str, code: str) -> ServiceError:
    """The same error, its message naming the dossier of a bulk request it is about."""
    named = type(exc).__new__(type(exc))
    named.__dict__.update(exc.__dict__)
    named.message = f"{field} ({code}): {exc.message}"
    Exception.__init__(named, named.message)
    named.metadata = {**exc.metadata, "field": field}
    named.violations = [replace(v, field=f"{field}.{v.field}") for v in exc.violations]
    return named
