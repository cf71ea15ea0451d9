"""The in-memory fakes of every service's ports, shared by the unit tier (and only by it: the
integration and e2e tiers use the real servers). Each keeps the unique keys of the adapter it
stands for, and records what tests look at (writes, calls). Import with `from fakes import ...`
(tests/conftest.py puts tests/ on the path)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping

from onestop_chassis.versions import ConcurrentChange
from onestop_documents import domain as documents_domain
from onestop_documents.service import DuplicateRequest as DocumentReplayed
from onestop_documents.service import VersionTaken
from onestop_intake.catalogue import domain as catalogue_domain
from onestop_intake.catalogue import service as catalogue_service
from onestop_intake.queue import domain as queue_domain
from onestop_intake.reception import domain as reception_domain
from onestop_intake.reception import service as reception_service
from onestop_intake.units import domain as units_domain
from onestop_routing import domain as routing_domain
from onestop_routing.cases import Stored as RoutingStored
from onestop_routing.domain import process as routing_process


class Clock:
    """A clock tests move by hand: `clock.now = ...`; calling it answers `now`."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


# --- intake ----------------------------------------------------------------------------------------

class FakeDossiers:
    """intake's DossierRepository with the Mongo adapter's unique keys: (unit, request_id), then code.

    `taken_codes` are codes already used by dossiers this fake does not hold (other desks' work).
    `race = True` makes every update lose to a concurrent one (ConcurrentChange), as a stale
    version does.
    """

    def __init__(self, taken_codes: Iterable[str] = ()):
        self.items: dict[str, reception_domain.Dossier] = {}  # code → the stored dossier
        self.stored: dict[tuple[str, str], tuple[reception_domain.Dossier, list]] = {}  # (unit, request_id) →
        self.codes: set[str] = set(taken_codes)
        self.events: list = []  # every event written, in order
        self.attempts: list[str] = []  # every code add() was asked to store, in order
        self.lookups: list[str] = []  # every request_id by_request_id() was asked for
        self.race = False

    def by_request_id(self, unit_code, request_id):
        self.lookups.append(request_id)
        found = self.stored.get((unit_code, request_id))
        return found[0] if found else None

    def add(self, dossier, events):
        self.attempts.append(dossier.code)
        key = (dossier.receiving_unit.code, dossier.request_id)
        if key in self.stored:
            raise reception_service.DuplicateRequest(self.stored[key][0])
        if dossier.code in self.codes:
            raise reception_service.CodeTaken(dossier.code)
        self.codes.add(dossier.code)
        self.stored[key] = (dossier, list(events))
        self.items[dossier.code] = dossier
        self.events += events

    def by_code(self, code):
        return self.items.get(code)

    def update(self, dossier, events, *, actor, action):
        if self.race or self.items[dossier.code].version != dossier.version - 1:
            raise ConcurrentChange(dossier.code)
        self.items[dossier.code] = dossier
        self.events += events


class FakeCatalogue:
    """intake's catalogue store: procedures (ProcedureStore) and units (UnitStore). `units` is a
    mapping code → Unit or an iterable of units. `writes` records (code, version) of every
    procedure written, `puts` every unit written."""

    def __init__(self, procedures: Iterable[catalogue_domain.Procedure] = (),
                 units: Iterable[units_domain.Unit] | Mapping[str, units_domain.Unit] = ()):
        self.procedures = {p.code: p for p in procedures}
        self.units = dict(units) if isinstance(units, Mapping) else {u.code: u for u in units}
        self.writes: list[tuple[str, int]] = []
        self.puts: list[units_domain.Unit] = []

    def procedure(self, code):
        return self.procedures.get(code)

    def all_procedures(self):
        return list(self.procedures.values())

    def add_procedure(self, p):
        if p.code in self.procedures:
            raise catalogue_service.ProcedureExists(p.code)
        self.procedures[p.code] = p
        self.writes.append((p.code, p.version))

    def replace_procedure(self, p, *, actor, action):
        assert self.procedures[p.code].version == p.version - 1
        self.procedures[p.code] = p
        self.writes.append((p.code, p.version))

    def unit(self, code):
        return self.units.get(code)

    def all_units(self):
        return list(self.units.values())

    def put_unit(self, unit):
        self.puts.append(unit)
        self.units[unit.code] = unit


class FakeSequence:
    """intake's CodeSequence hint: the highest number known to be taken per (unit, day).
    `candidates` records (unit, day, after, answer), `taken_calls` (unit, day, sequence)."""

    def __init__(self, highest: Mapping[tuple[str, dt.date], int] | None = None):
        self.highest: dict[tuple[str, dt.date], int] = dict(highest or {})
        self.candidates: list[tuple[str, dt.date, int, int]] = []
        self.taken_calls: list[tuple[str, dt.date, int]] = []
        self.abandoned: list[tuple[str, dt.date]] = []

    def candidate(self, unit_code, day, after=0):
        answer = max(self.highest.get((unit_code, day), 0), after) + 1
        self.candidates.append((unit_code, day, after, answer))
        return answer

    def taken(self, unit_code, day, sequence):
        self.taken_calls.append((unit_code, day, sequence))
        self.highest[unit_code, day] = max(self.highest.get((unit_code, day), 0), sequence)

    def abandon(self, unit_code, day):
        self.abandoned.append((unit_code, day))


# --- routing ---------------------------------------------------------------------------------------

class FakeCases:
    """routing's CaseStore (onestop_routing.service): cases by dossier code (`cases`: their headers),
    their journeys (`logs`, each entry with the events it wrote in `events`), projections and inbox
    keys. `appends` counts stored entries; `lose_next_append` makes the next append lose a race
    (as when another officer's insert of the same seq came first)."""

    def __init__(self, *cases: routing_domain.Case):
        self.cases: dict[str, routing_domain.Case] = {c.dossier_code: c for c in cases}
        self.logs: dict[str, list] = {}
        self.events: list = []
        self.projected: dict[str, int] = {}
        self.inbox_items: dict[str, object] = {}
        self.keys_of: dict[str, list[str]] = {}
        self.appends = 0
        self.lose_next_append = False

    @property
    def writes(self) -> int:
        return len(self.cases)

    def open(self, case, first, events):
        if case.dossier_code in self.cases:
            return False
        self.cases[case.dossier_code] = case
        self.logs[case.dossier_code] = [first]
        self.events.extend(events)
        return True

    def load(self, dossier_code):
        case = self.cases.get(dossier_code)
        if case is None:
            return None
        return RoutingStored(case, tuple(self.logs.get(dossier_code, ())), self.projected.get(dossier_code, 0))

    def append(self, dossier_code, logged, events):
        log = self.logs[dossier_code]
        if self.lose_next_append or logged.entry.seq != len(log) + 1:
            self.lose_next_append = False
            return False
        log.append(logged)
        self.events.extend(events)
        self.appends += 1
        return True

    def case_codes(self, after, before, limit):
        return sorted(code for code in self.cases if after < code < before)[:limit]

    def drop_keys(self, keys):
        for key in keys:
            self.inbox_items.pop(key, None)

    def project(self, case, view, items, previous=None):
        if self.projected.get(case.dossier_code, 0) >= view.seq:
            return
        for key in self.keys_of.get(case.dossier_code, []):
            self.inbox_items.pop(key, None)
        self.inbox_items.update({item.key: item for item in items})
        self.keys_of[case.dossier_code] = [item.key for item in items]
        self.projected[case.dossier_code] = view.seq

    def inbox(self, after, before, limit):
        return [self.inbox_items[k] for k in sorted(self.inbox_items) if after < k < before][:limit]


# --- documents -------------------------------------------------------------------------------------

class FakeDocuments:
    """documents' DocumentRepository with the Mongo adapter's unique keys: (agency, request_id) and
    (agency, dossier, kind, component_key, version). `saves` and `records_written` (kind, fields)
    record the other writes."""

    def __init__(self, *documents: documents_domain.Document):
        self.records: list[documents_domain.Document] = list(documents)
        self.contents: set[tuple] = set()
        self.saves: list[documents_domain.Document] = []
        self.records_written: list[tuple[str, dict]] = []

    def get(self, document_id):
        return next((d for d in self.records if d.document_id == document_id), None)

    def by_request_id(self, agency_code, request_id):
        return next((d for d in self.records if (d.agency_code, d.request_id) == (agency_code, request_id)), None)

    def for_dossier(self, agency_code, dossier_code):
        return [d for d in self.records if (d.agency_code, d.dossier_code) == (agency_code, dossier_code)]

    def claim_content(self, agency_code, dossier_code, sha256):
        key = (agency_code, dossier_code, sha256)
        fresh = key not in self.contents
        self.contents.add(key)
        return fresh

    def add(self, document, events):
        earlier = self.by_request_id(document.agency_code, document.request_id)
        if earlier:
            raise DocumentReplayed(earlier)
        slot = (document.agency_code, document.dossier_code, document.kind, document.component_key, document.version)
        if any((d.agency_code, d.dossier_code, d.kind, d.component_key, d.version) == slot for d in self.records):
            raise VersionTaken(self.for_dossier(document.agency_code, document.dossier_code))
        self.records.append(document)

    def save(self, document):
        self.saves.append(document)
        self.records = [document if d.document_id == document.document_id else d for d in self.records]

    def record(self, kind, fields, events):
        self.records_written.append((kind, fields))

    def object_keys(self, bucket):
        return {d.object_key for d in self.records if d.bucket == bucket}


class FakeObjectStore:
    """documents' ObjectStore (MinIO). `objects` maps (bucket, key, version) → (bytes, modified);
    every put is a new version `v1`, `v2`, ... `locked` versions refuse removal, as MinIO's
    object lock does; `retained` records (bucket, key, version, retention)."""

    def __init__(self, content: bytes = b""):
        self._content = content  # what open() answers for an object put by a test directly
        self.objects: dict[tuple[str, str, str], tuple[bytes, dt.datetime | None]] = {}
        self.locked: set[tuple[str, str, str]] = set()
        self.retained: list[tuple] = []
        self._versions = 0

    def ensure_bucket(self, bucket):
        pass

    def put(self, bucket, key, stream):
        data = b"".join(stream.chunks())
        self._versions += 1
        version = f"v{self._versions}"
        self.objects[(bucket, key, version)] = (data, dt.datetime.now(dt.UTC))
        return version

    def remove(self, bucket, key, version):
        if (bucket, key, version) in self.locked:
            return False
        self.objects.pop((bucket, key, version), None)
        return True

    def open(self, bucket, key, version) -> Iterator[bytes]:
        data, _ = self.objects.get((bucket, key, version), (self._content, None))
        return iter([data])

    def presign(self, bucket, key, version, ttl):
        return f"https://objects.example/{bucket}/{key}"

    def retain(self, bucket, key, version, retention):
        self.retained.append((bucket, key, version, retention))

    def legal_hold(self, bucket, key, version, on):
        pass

    def buckets(self):
        return sorted({bucket for bucket, _, _ in self.objects})

    def versions(self, bucket):
        return [(key, version, modified) for (b, key, version), (_, modified) in self.objects.items() if b == bucket]


class FakeTickets:
    """intake's queue TicketStore: (unit, queue, day, number) is unique (NumberTaken), and a ticket
    is called at most once (`call` answers False the second time)."""

    def __init__(self):
        self.issued: dict[tuple, queue_domain.Ticket] = {}
        self.calls: dict[tuple, queue_domain.Ticket] = {}

    @staticmethod
    def _key(t):
        return (t.unit_code, t.queue, t.day, t.number)

    def highest_number(self, unit_code, queue, day):
        return max((n for (u, q, d, n) in self.issued if (u, q, d) == (unit_code, queue, day)), default=0)

    def issue(self, ticket):
        if self._key(ticket) in self.issued:
            raise queue_domain.NumberTaken(ticket.number)
        self.issued[self._key(ticket)] = ticket

    def of_day(self, unit_code, day):
        return [self.calls.get(k, t) for k, t in self.issued.items() if (k[0], k[2]) == (unit_code, day)]

    def call(self, ticket):
        if self._key(ticket) in self.calls:
            return False
        self.calls[self._key(ticket)] = ticket
        return True


class FakeTemplates:
    """Routing's TemplateStore (onestop_routing.templates.service) over a list of templates, with the
    Mongo adapter's semantics (tests/integration/test_routing_templates.py proves they agree)."""

    def __init__(self, *templates):
        self.templates = list(templates)
        self.published_at: dict = {}   # (process, agency, version) -> (at, by)
        self.requests: dict = {}       # (process, agency, request_id) -> version
        self.writes = 0

    def add(self, template) -> None:
        self.templates.append(template)

    def for_case(self, process_code, agency_code):
        for agency in (agency_code, ""):
            found = [t for t in self.templates if (t.process_code, t.agency_code) == (process_code, agency)]
            if found:
                return max(found, key=lambda t: t.version)
        return None

    def version(self, process_code, agency_code, version):
        return next((t for t in self.templates
                     if (t.process_code, t.agency_code, t.version) == (process_code, agency_code, version)), None)

    def _published(self, template):
        at, by = self.published_at.get((template.process_code, template.agency_code, template.version),
                                       (dt.datetime(2026, 1, 1, tzinfo=dt.UTC), "fixture"))
        return routing_process.Published(template, at, by)

    def published(self, process_code, agency_code, version=0):
        found = [t for t in self.templates if (t.process_code, t.agency_code) == (process_code, agency_code)
                 and (not version or t.version == version)]
        return self._published(max(found, key=lambda t: t.version)) if found else None

    def latest_all(self, agency_codes):
        latest = {}
        for t in self.templates:
            k = (t.process_code, t.agency_code)
            if t.agency_code in agency_codes and (k not in latest or t.version > latest[k].version):
                latest[k] = t
        return [self._published(t) for _, t in sorted(latest.items())]

    def for_request(self, process_code, agency_code, request_id):
        version = self.requests.get((process_code, agency_code, request_id))
        return self.published(process_code, agency_code, version) if version else None

    def put(self, template, *, published_by, published_at, request_id=""):
        latest = self.published(template.process_code, template.agency_code)
        if latest is not None and routing_process.same_content(latest.template, template):
            return latest, False
        stored = dataclasses.replace(template, version=latest.template.version + 1 if latest else 1)
        self.templates.append(stored)
        self.writes += 1
        self.published_at[(stored.process_code, stored.agency_code, stored.version)] = (published_at, published_by)
        if request_id:
            self.requests[(stored.process_code, stored.agency_code, request_id)] = stored.version
        return self._published(stored), True

def only_get_case(cls):
    """A test servicer of RoutingService that answers GetCase alone (tests of the chassis' gRPC
    server use routing's contract as a sample): the other RPCs are filled with methods that abort
    with UNIMPLEMENTED, as the chassis refuses to serve the generated stubs."""
    from onestop.routing.v1 import routing_pb2

    def unimplemented(name):
        def method(self, request, context):
            import grpc
            context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{name} is not part of this test servicer")
        return method
    for m in routing_pb2.DESCRIPTOR.services_by_name["RoutingService"].methods:
        if m.name != "GetCase" and m.name not in cls.__dict__:
            setattr(cls, m.name, unimplemented(m.name))
    return cls


class FakeBook:
    """routing's tracking-book keys (onestop_routing.book.BookIndex): `keys` as stored, `adds` every
    key written (a key written again is counted, as the store ignores it)."""

    def __init__(self):
        self.keys: set[str] = set()
        self.adds: list[str] = []

    def add(self, keys):
        keys = sorted(keys)
        self.adds.extend(keys)
        self.keys.update(keys)

    def codes(self, unit_code, period, limit):
        prefix = f"{unit_code}|{period}|"
        return sorted(k[len(prefix):] for k in self.keys if k.startswith(prefix))[:limit]
# --- survey: questionnaires, invitations, answers, tallies (issue 12, items 2-5) ------------------
class FakeQuestionnaires:
    """survey's QuestionnaireStore: versions by (agency, code, version), unique as the `_id`."""

    def __init__(self):
        self.items: dict[tuple[str, str, int], object] = {}
        self.choices: dict[str, str] = {}  # agency → the code its invitations ask

    def latest(self, agency_code, code):
        found = [v for (a, c, _), v in sorted(self.items.items()) if (a, c) == (agency_code, code)]
        return found[-1] if found else None

    def get(self, agency_code, code, version):
        return self.items.get((agency_code, code, version))

    def add(self, item):
        key = (item.agency_code, item.code, item.version)
        if key in self.items:
            return False
        self.items[key] = item
        return True

    def chosen(self, agency_code):
        return self.choices.get(agency_code, "")

    def choose(self, agency_code, code):
        if code:
            self.choices[agency_code] = code
        else:
            self.choices.pop(agency_code, None)


class FakeInvitationStore:
    """survey's InvitationStore: the claim by dossier code, invitations by id and by token hash."""

    def __init__(self):
        self.claims: dict[str, str] = {}
        self.items: dict[str, object] = {}

    def claim(self, dossier_code, invitation_id):
        return self.claims.setdefault(dossier_code, invitation_id)

    def add(self, item):
        self.items.setdefault(item.id, item)

    def get(self, invitation_id):
        return self.items.get(invitation_id)

    def by_token_hash(self, token_hash):
        return next((i for i in self.items.values() if i.token_hash == token_hash), None)

    def by_dossier(self, dossier_code):
        return self.items.get(self.claims.get(dossier_code, ""))


class FakeAnswers:
    """survey's AnswerStore: one sheet per invitation id; `events` as the outbox would hold them."""

    def __init__(self):
        self.items: dict[str, object] = {}
        self.events: list = []

    def add(self, sheet):
        if sheet.invitation_id in self.items:
            return False
        self.items[sheet.invitation_id] = sheet
        self.events.append(("AnswerRecorded", sheet))
        return True

    def get(self, invitation_id):
        return self.items.get(invitation_id)


class FakeRatings:
    def __init__(self):
        self.items: list = []

    def add(self, rating):
        if any(r.id == rating.id for r in self.items):
            return False  # the unique insert of the rating's id
        self.items.append(rating)
        return True

    def get(self, rating_id):
        return next((r for r in self.items if r.id == rating_id), None)


class FakeKiosks:
    """survey's KioskStore in memory, by `<unit>|<kiosk id>`."""

    def __init__(self):
        self.items: dict = {}

    def put(self, kiosk):
        self.items[kiosk.id] = kiosk

    def get(self, kiosk_id):
        return self.items.get(kiosk_id)


class FakeTallies:
    """survey's tallies: unique by `_id`, read by `_id` range."""

    def __init__(self):
        self.items: dict[str, object] = {}

    def add_all(self, tallies):
        for t in tallies:
            self.items.setdefault(t.id, t)

    def add_missing(self, tallies):
        written = [t for t in tallies if t.id not in self.items]
        self.add_all(written)
        return written

    def drop_day_summaries(self, keys):
        for key in keys:
            getattr(self, "days", {}).pop(key, None)  # FakeTallyDays keeps the roll-ups

    def range(self, start, end):
        return [t for key, t in sorted(self.items.items()) if start <= key < end]


class FakeTallyDays(FakeTallies):
    """FakeTallies with the closed days' roll-ups (unique by `_id`), and what was read and rolled up."""

    def __init__(self):
        super().__init__()
        self.days: dict[str, object] = {}
        self.range_reads = 0

    def range(self, start, end):
        self.range_reads += 1
        return super().range(start, end)

    def day_summaries(self, start, end):
        return {key: s for key, s in sorted(self.days.items()) if start <= key < end}

    def put_day_summary(self, key, summary):
        self.days.setdefault(key, summary)
class FakeFeedback:
    """survey's FeedbackStore in memory: entries by `<code>|<seq>` (a taken seq refuses the
    append, as the unique insert does), the key documents, and the events each append carried."""

    def __init__(self):
        self.filings = {}
        self.entries = {}  # code -> {seq: entry}
        self.key_docs = {}  # key -> code
        self.events = []
        self.appends = 0

    def append(self, code, entry, filing, events):
        log = self.entries.setdefault(code, {})
        if entry.seq in log:
            return False
        if filing is not None:
            self.filings[code] = filing
        log[entry.seq] = entry
        self.events.extend(events)
        self.appends += 1
        return True

    def load(self, code):
        if code not in self.filings:
            return None
        log = self.entries[code]
        return self.filings[code], [log[seq] for seq in sorted(log)]

    def put_key(self, key, code):
        self.key_docs[key] = code

    def delete_key(self, key):
        self.key_docs.pop(key, None)

    def keys(self, after, before, limit):
        return [(k, self.key_docs[k]) for k in sorted(self.key_docs) if after < k < before][:limit]
class FakeUnitTree:
    """survey's UnitTree (intake's units) in memory: {code: parent code}; `reads` counts the reads,
    `down` makes every read raise UNITS_UNAVAILABLE as the client does before any answer."""

    def __init__(self, parents=None):
        self.tree = dict(parents or {})
        self.reads = 0
        self.down = False

    def parents(self, fresh=False):
        from onestop_chassis.errors import Unavailable
        self.reads += 1
        if self.down:
            raise Unavailable("UNITS_UNAVAILABLE", "intake (fake) could not list its units")
        return self.tree


# --- delivery --------------------------------------------------------------------------------------

class FakeShipmentStore:
    """delivery's ShipmentStore with the Mongo adapter's unique keys: `<shipment>|<seq>` log entries,
    `<next try>|<shipment>` due keys. `events` records every event written; `lose_next` makes that
    many appends lose a race; `crash_after_log` makes that many creates fail (RuntimeError) after the
    log entry, before the views and the due key (a process killed in between)."""

    def __init__(self):
        self.logs: dict[str, list] = {}      # shipment id → [header, entries...]
        self.views: dict[str, object] = {}
        self.waybills: dict[str, str] = {}
        self.due_keys: dict[str, tuple[str, int]] = {}  # due key → (shipment id, failures)
        self.crash_after_log = 0
        self.fees: dict[str, dict] = {}      # `<agency>|<day>|<id>|<kind>` → the PostalFeeRecorded line
        self.events: list = []
        self.lose_next = 0
        self.claims: dict[str, str] = {}     # `<agency>|<request_id>` → what it did

    def claim(self, key, value):
        return self.claims.setdefault(key, value)

    def create(self, shipment, first, events):
        if shipment.id in self.logs:
            return False
        self.logs[shipment.id] = [shipment.header, first]
        self.events = self.events + list(events)
        if self.crash_after_log:
            self.crash_after_log -= 1
            raise RuntimeError("process killed after the log entry")
        self.repair(self.load(shipment.id))
        return True

    @property
    def due(self):
        """The shipment ids with a due key."""
        return {shipment_id for shipment_id, _ in self.due_keys.values()}

    def repair(self, loaded):
        from onestop_delivery.ports import due_key, still_to_order
        s = loaded.shipment
        if s.id not in self.views or self.views[s.id].seq < s.seq:
            self.views[s.id] = s
        if s.waybill:
            self.waybills.setdefault(s.waybill, s.id)
        if still_to_order(loaded):
            self.due_keys.setdefault(due_key(s.header.created_at, s.id), (s.id, 0))

    def append(self, shipment, entry, events):
        log = self.logs[shipment.id]
        if self.lose_next or len(log) != entry.seq:  # seq taken
            self.lose_next = max(0, self.lose_next - 1)
            return False
        log.append(entry)
        self.views[shipment.id], self.events = shipment, self.events + list(events)
        if entry.waybill:
            self.waybills.setdefault(entry.waybill, shipment.id)
        if shipment.state.value == "cancelled":
            self.due_keys = {k: v for k, v in self.due_keys.items() if v[0] != shipment.id}
        self.record_fees(events)
        return True

    def record_fees(self, events):
        added = 0
        for e in events:  # the adapter's unique insert: a line once per fee_id
            if type(e).__name__ == "PostalFeeRecorded" and e.fee_id not in self.fees:
                self.fees[e.fee_id], added = {"kind": e.kind, "amount_vnd": e.amount_vnd}, added + 1
        return added

    def load(self, shipment_id):
        from onestop_delivery import domain as delivery_domain
        from onestop_delivery.service import Loaded
        if shipment_id not in self.logs:
            return None
        header, *entries = self.logs[shipment_id]
        return Loaded(delivery_domain.fold(header, entries), tuple(entries))

    def latest(self, ref):  # by the log, as the adapter: a booking whose view was lost is found (and repaired)
        found = [self.load(i) for i in self.logs if i.startswith(f"{ref}-R")]
        if not found:
            return None
        loaded = max(found, key=lambda d: d.shipment.header.booking)
        self.repair(loaded)
        return loaded.shipment

    def page(self, agency_code, after, limit):
        keys = sorted(f"{s.agency_code}|{99_999_999_999 - int(s.header.created_at.timestamp()):011d}|{s.id}"
                      for s in self.views.values() if s.agency_code == agency_code)
        return [(k, self.views[k.rsplit("|", 1)[1]]) for k in keys if k > after][:limit]

    def by_waybill(self, waybill):
        return self.waybills.get(waybill)

    def orders_due(self, now, limit):
        from onestop_delivery.ports import Due, due_key
        keys = sorted(k for k in self.due_keys if k < f"{due_key(now, '')}~")[:limit]
        return [Due(k, *self.due_keys[k]) for k in keys]

    def order_done(self, key):
        self.due_keys.pop(key, None)

    def order_later(self, due, at):
        from onestop_delivery.ports import due_key
        self.order_done(due.key)
        self.due_keys[due_key(at, due.shipment_id)] = (due.shipment_id, due.failures + 1)

    def fee_amounts(self, agency_code, first, last):
        return [(v["kind"], v["amount_vnd"]) for k, v in sorted(self.fees.items())
                if f"{agency_code}|{first}" < k < f"{agency_code}|{last}"]


class FakeIntakeFacts:
    """delivery's Intake port: `dossiers` by code (DossierFacts), `procedures` code → postal allowed."""

    def __init__(self, dossiers=(), procedures: Mapping[str, bool] | None = None):
        self.dossiers = {d.code: d for d in dossiers}
        self.procedures = dict(procedures or {})

    def dossier(self, code):
        return self.dossiers.get(code)

    def postal_allowed(self, procedure_code):
        return self.procedures.get(procedure_code)


class FakeCarrier:
    """The carrier port in memory, keyed by order number as a real carrier is (create twice: one
    order). `down = True` answers CarrierUnavailable; `lost_answer = True` creates the order and
    then raises CarrierUnavailable (a timeout after the carrier acted). `secret` signs webhooks:
    the body is JSON [{event_id, waybill, status, at, note}], header X-Signature = secret; a signed
    body of another shape raises CarrierRefused. `cancelled` lists the waybills cancelled; a waybill
    in `picked_up` refuses its cancellation (CarrierRefused), one in `forgotten` is unknown
    (UnknownParcel), `cancel_down` answers CarrierUnavailable."""
    name = "fake"

    def __init__(self, secret: str = "s3cret"):
        self.orders: dict[str, object] = {}  # order number → CarrierReceipt
        self.calls: list[str] = []           # every create_order's order number, in order
        self.down = False
        self.lost_answer = False
        self.refuse = ""
        self.secret = secret
        self.cancelled: list[str] = []
        self.picked_up: set[str] = set()
        self.forgotten: set[str] = set()     # waybills the carrier no longer knows (UnknownParcel)
        self.cancel_down = False

    def create_order(self, order):
        from onestop_delivery.carrier import CarrierReceipt, CarrierRefused, CarrierUnavailable
        self.calls.append(order.order_number)
        if self.down:
            raise CarrierUnavailable("503 from the carrier")
        if self.refuse:
            raise CarrierRefused(self.refuse)
        if order.order_number not in self.orders:
            self.orders[order.order_number] = CarrierReceipt(order.order_number, f"EB{len(self.orders) + 1:09d}VN",
                                                             23100)
        if self.lost_answer:
            self.lost_answer = False
            raise CarrierUnavailable("timed out")
        return self.orders[order.order_number]

    def cancel_order(self, waybill):
        from onestop_delivery.carrier import CarrierRefused, CarrierUnavailable, UnknownParcel
        if self.cancel_down:
            raise CarrierUnavailable("503 from the carrier")
        if waybill in self.picked_up:
            raise CarrierRefused(f"Bưu gửi {waybill} đã được thu gom, không thể hủy")
        if waybill in self.forgotten:
            raise UnknownParcel(f"Không tìm thấy bưu gửi {waybill}")
        if waybill not in self.cancelled:  # idempotent, as the port says
            self.cancelled.append(waybill)

    def track(self, waybill):
        return []

    def read_webhook(self, body, headers):
        import json

        from onestop_delivery.carrier import BadSignature, CarrierRefused, CarrierStatus, TrackingEvent
        if headers.get("X-Signature") != self.secret:
            raise BadSignature("signature does not match")
        try:
            return [TrackingEvent(r["event_id"], r["waybill"], r.get("order_number", ""), CarrierStatus(r["status"]),
                                  dt.datetime.fromisoformat(r["at"]), r.get("note", "")) for r in json.loads(body)]
        except (ValueError, KeyError, TypeError) as exc:
            raise CarrierRefused(f"the webhook's body is not a list of reports: {exc}") from None


class FakeGrants:
    """documents' Grants (who a dossier was handed to) with the Mongo adapter's unique `_id`
    `<dossier>|<agency>`: `grants` maps it to the fields stored."""

    def __init__(self):
        self.grants: dict[str, dict] = {}

    def add(self, dossier_code, agency_code, fields):
        key = f"{dossier_code}|{agency_code}"
        if key in self.grants:
            return False
        self.grants[key] = dict(fields)
        return True

    def has(self, dossier_code, agency_code):
        return f"{dossier_code}|{agency_code}" in self.grants
