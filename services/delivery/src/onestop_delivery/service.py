"""Delivery's use cases: booking, reading, cancelling and rebooking shipments, and applying what the
carrier reports. Ports: ShipmentStore (the log, its views and the outbox), Intake (the dossier's
postal choice and the procedure's postal rule), the agencies' charge tables (fees.py) and the
Carrier (carrier.py: cancelling and rebooking close the order at the carrier before the log says so).

Mutating RPCs carry a `request_id`: the store's claim `<agency>|<request_id>` → "<action> <shipment>
<subject>" (a unique insert) makes a retry answer as the first try did and refuses the same id for
anything else (ALREADY_EXISTS `REQUEST_ID_REUSED`, chassis `request_ids.reused`); claimed only once the
request passed the checks that refuse it: a refused request leaves its id free for the corrected one."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping

from onestop_chassis import auth, codes, paging
from onestop_chassis.errors import (
    Aborted,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    Violations,
)
from onestop_chassis.request_ids import reused

from . import cancelling, domain, outgoing, receipts, totals
from .carrier import Carrier, Direction, Party, TrackingEvent
from .domain import Entry, Shipment, Source, State
from .fees import ChargeTable
from .ports import (  # noqa: F401  (re-exported: the values and the intake port live in ports.py)
    DossierFacts,
    Intake,
    Loaded,
    NewShipment,
    ShipmentStore,
    UnknownWaybill,
    check_party,
    pickup_ref,
)

MAX_RETRIES = 5  # appends lost to a concurrent writer before ABORTED
CHANNEL_POSTAL = 3  # common.v1.Channel: a dossier that reached the desk by post (Decision 45/2016/QĐ-TTg)


class DeliveryService:
    def __init__(self, store: ShipmentStore, intake: Intake, tables: Mapping[str, ChargeTable], *,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC), max_attempts: int = 3,
                 carrier: Carrier | None = None):
        self._store, self._intake, self._tables = store, intake, tables
        self._clock, self._max_attempts, self._carrier = clock, max_attempts, carrier

    def _claim(self, actor: auth.Principal, request_id: str, action: str) -> None:
        """Ties `request_id` to this action of this caller; raises AlreadyExists REQUEST_ID_REUSED
        when it was used for another (or by another caller)."""
        value = f"{action} {actor.subject}"
        if self._store.claim(f"{actor.agency}|{request_id}", value) != value:
            raise reused(request_id, "shipment action")

    # --- booking -----------------------------------------------------------------------------------
    def create_shipment(self, cmd: NewShipment, actor: auth.Principal, request_id: str = "") -> Shipment:
        """Books a shipment (see the proto's CreateShipment for the rules). The same `request_id`
        and content again returns the shipment it booked. Raises InvalidArgument (INVALID_FIELDS;
        `request_id` is required for INBOUND), NotFound (DOSSIER_NOT_FOUND), PermissionDenied
        (OTHER_AGENCY), FailedPrecondition (POSTAL_RETURN_NOT_CHOSEN, POSTAL_NOT_ALLOWED,
        POSTAL_NOT_CONFIGURED, SHIPMENT_EXISTS, RETURNED_TO_SENDER: rebook it), AlreadyExists
        (REQUEST_ID_REUSED). Nothing is stored on refusal."""
        request_id = request_id.strip()
        v = Violations()
        if cmd.direction is Direction.INBOUND and not request_id:
            v.add("request_id", "is required for a postal intake: the same id on a retry books the same pickup")
        for violation in check_party(cmd.applicant, "applicant"):
            v.add(violation.field, violation.description)
        if cmd.direction is Direction.OUTBOUND and not codes.DOSSIER_CODE.fullmatch(cmd.dossier_code.strip()):
            v.add("dossier_code", "is required for an outbound shipment: a dossier code as intake issues them")
        if cmd.direction is Direction.INBOUND and not cmd.procedure_code.strip():
            v.add("procedure_code", "is required for a postal intake (inbound) shipment")
        if cmd.direction is Direction.INBOUND and cmd.cod_vnd:
            v.add("cod_vnd", "is collected on delivery of a result; the fees of a postal intake are pickup_fees_vnd")
        if cmd.direction is Direction.OUTBOUND and cmd.pickup_fees_vnd:
            v.add("pickup_fees_vnd", "is collected at a postal intake's pickup; a result's fees are cod_vnd")
        if cmd.weight_grams < 0 or cmd.weight_grams > 30000:
            v.add("weight_grams", "must be 0 (the default parcel) to 30000 grams")
        v.raise_if_any()
        agency, ref, procedure = self._eligible(cmd, actor, request_id)
        header = self._header(cmd, agency, ref, procedure)
        existing = self._store.load(header.id)
        if existing is None:  # the request is valid and allowed: only now is its id claimed
            if request_id:
                self._claim(actor, request_id, f"create {header.id}")
            shipment, first = domain.start(header, actor.subject, Source.DESK)
            first = dataclasses.replace(first, request_id=request_id)
            if self._store.create(shipment, first, outgoing.created(shipment)):
                return shipment
            existing = self._store.load(header.id)  # booked meanwhile by another writer
        return self._booked_before(existing, header, actor, request_id)

    def _booked_before(self, existing: Loaded | None, header: domain.ShipmentHeader, actor: auth.Principal,
                       request_id: str) -> Shipment:
        """This request's own booking (a retry: what follows its log entry repaired), or refused."""
        assert existing is not None  # the log is never deleted
        if request_id and existing.log[0].request_id == request_id:
            self._claim(actor, request_id, f"create {header.id}")  # the same caller's retry
            before = existing.shipment.header
            if dataclasses.replace(header, created_at=before.created_at, max_attempts=before.max_attempts) != before:
                raise reused(request_id, "shipment")
            self._store.repair(existing)  # a retry: what a crash after the log entry may have lost
            return existing.shipment  # the booking it made
        raise self._exists(header.direction, header.id, header.ref)

    def _exists(self, direction: Direction, shipment_id: str, ref: str) -> FailedPrecondition:
        """SHIPMENT_EXISTS, or RETURNED_TO_SENDER when the latest booking came back to the desk."""
        latest = self._store.latest(ref) if direction is Direction.OUTBOUND else None
        if latest and latest.state is State.RETURNED_TO_SENDER and not latest.rebooked_as:
            return FailedPrecondition("RETURNED_TO_SENDER", f"shipment {latest.id} came back to the desk: send "
                                      "it again with RebookShipment", metadata={"shipment_id": latest.id})
        return FailedPrecondition("SHIPMENT_EXISTS", f"shipment {shipment_id} exists: read it, or rebook it",
                                  metadata={"shipment_id": shipment_id})

    def book_result(self, dossier_code: str, procedure_code: str, applicant: Party, event_id: str) -> bool:
        """Books the outbound shipment of a dossier whose result is ready and whose applicant chose
        postal return (intake's `DossierFinished`; intake checked the procedure at submission).
        False when it was booked before (by the desk, or this event again). Raises InvalidArgument
        for an address a carrier cannot take, FailedPrecondition POSTAL_NOT_CONFIGURED."""
        problems = check_party(applicant, "applicant")
        if problems or not codes.DOSSIER_CODE.fullmatch(dossier_code):
            raise InvalidArgument.from_violations(problems or [FieldViolation("dossier_code", "is not a dossier code")])
        cmd = NewShipment(Direction.OUTBOUND, dossier_code=dossier_code, procedure_code=procedure_code,
                          applicant=applicant)
        header = self._header(cmd, codes.unit_of(dossier_code), dossier_code, procedure_code)
        shipment, first = domain.start(header, f"intake:{event_id}", Source.SYSTEM)
        if self._store.create(shipment, first, outgoing.created(shipment)):
            return True
        existing = self._store.load(header.id)
        if existing is not None:  # booked before (this event again, or the desk): repaired if a write was lost
            self._store.repair(existing)
        return False

    def _header(self, cmd: NewShipment, agency: str, ref: str, procedure: str) -> domain.ShipmentHeader:
        """The header of a first booking, its postal charge from the agency's table."""
        assert cmd.applicant is not None
        table = self._tables.get(agency)
        if table is None:
            raise FailedPrecondition("POSTAL_NOT_CONFIGURED", f"agency {agency} has no postal charge table",
                                     metadata={"agency_code": agency})
        charge = table.charge(table.sender.province_code, cmd.applicant.province_code.strip(), cmd.weight_grams)
        outbound = cmd.direction is Direction.OUTBOUND
        return domain.ShipmentHeader(
            id=domain.shipment_id(ref, cmd.direction, 1), agency_code=agency, ref=ref, direction=cmd.direction,
            booking=1, sender=table.sender if outbound else cmd.applicant,
            receiver=cmd.applicant if outbound else table.sender,
            weight_grams=cmd.weight_grams or table.default_weight_grams,
            content=(f"Kết quả giải quyết TTHC hồ sơ {ref}" if outbound
                     else f"Hồ sơ TTHC {procedure} (tiếp nhận qua bưu chính)"),
            fees=domain.Fees(postal_charge=charge, cod=cmd.cod_vnd, payer="agency" if cmd.agency_pays else "receiver",
                             pickup_fees=cmd.pickup_fees_vnd),
            procedure_code=procedure, created_at=self._clock(), max_attempts=self._max_attempts)

    def _eligible(self, cmd: NewShipment, actor: auth.Principal, request_id: str) -> tuple[str, str, str]:
        """(agency, ref, procedure) of an allowed booking; raises as create_shipment says."""
        if cmd.direction is Direction.INBOUND:
            allowed = self._intake.postal_allowed(cmd.procedure_code.strip())
            if allowed is None:
                raise NotFound("PROCEDURE_NOT_FOUND", f"no procedure has the code {cmd.procedure_code.strip()}")
            if not allowed:
                raise FailedPrecondition("POSTAL_NOT_ALLOWED", f"procedure {cmd.procedure_code.strip()} is "
                                         "excluded from postal handling (Decision 45/2016/QĐ-TTg)")
            if not actor.agency:
                raise InvalidArgument.from_violations([FieldViolation("agency", "the caller acts for no agency")])
            return actor.agency, pickup_ref(actor.agency, request_id), cmd.procedure_code.strip()
        code = cmd.dossier_code.strip()
        facts = self._intake.dossier(code)
        if facts is None:
            raise NotFound("DOSSIER_NOT_FOUND", f"no dossier has the code {code}", metadata={"dossier_code": code})
        actor.require_agency(facts.agency_code, action="send this dossier's result by post")
        if not facts.postal_return_allowed:
            raise FailedPrecondition("POSTAL_NOT_ALLOWED", f"procedure {facts.procedure_code} excludes postal "
                                     "return of results (Decision 45/2016/QĐ-TTg art. 5)")
        if not facts.return_by_post:
            raise FailedPrecondition("POSTAL_RETURN_NOT_CHOSEN", f"the applicant of {code} did not choose to "
                                     "receive the result by post: return it at the desk")
        return facts.agency_code, code, facts.procedure_code

    # --- reading -----------------------------------------------------------------------------------
    def get(self, shipment_id: str, dossier_code: str, actor: auth.Principal) -> Loaded:
        """A shipment and its log, by id or (the latest outbound booking) by dossier code. Raises
        InvalidArgument (INVALID_FIELDS), NotFound (SHIPMENT_NOT_FOUND), PermissionDenied (OTHER_AGENCY)."""
        shipment_id, dossier_code = shipment_id.strip(), dossier_code.strip()
        if bool(shipment_id) == bool(dossier_code):
            raise InvalidArgument.from_violations([FieldViolation("id", "give the shipment's id or a dossier_code")])
        if dossier_code:
            latest = self._store.latest(dossier_code) if codes.DOSSIER_CODE.fullmatch(dossier_code) else None
            shipment_id = latest.id if latest else ""
        elif not domain.SHIPMENT_ID.fullmatch(shipment_id):
            raise InvalidArgument.from_violations([FieldViolation("id", "is not a shipment id (<dossier>-R1)")])
        loaded = self._store.load(shipment_id) if shipment_id else None
        if loaded is None:
            wanted = shipment_id or dossier_code
            raise NotFound("SHIPMENT_NOT_FOUND", f"no shipment for {wanted}", metadata={"id": wanted})
        actor.require_agency(loaded.shipment.agency_code, action="read this shipment")
        return loaded

    def list(self, agency_code: str, page_size: int, page_token: str,
             actor: auth.Principal) -> tuple[list[Shipment], str]:
        """One page of an agency's shipments, newest first; the next page's token ("" at the end)."""
        agency = agency_code.strip() or actor.agency
        if not codes.UNIT_CODE.fullmatch(agency):
            raise InvalidArgument.from_violations([FieldViolation("agency_code", "is not a unit code")])
        actor.require_agency(agency, action="list its shipments")
        if page_size > 200:
            raise InvalidArgument.from_violations([FieldViolation("page_size", "must be 1 to 200 (0: 50)")])
        limit = page_size or 50
        after = paging.decode_page_token(page_token, agency) if page_token else ""
        rows = self._store.page(agency, after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return [s for _, s in rows], (paging.encode_page_token(rows[-1][0], agency) if more else "")

    def fee_totals(self, agency_code: str, period: str, actor: auth.Principal | None = None,
                   field: str = "period") -> dict[str, int]:
        """An agency's (empty: the actor's) postal totals of a period ("2026-11", "2026-Q4", "2026";
        Vietnam's days), each amount once (totals.py): {"shipments" (parcels the post accepted),
        "postal_charge_vnd", "delivered", "cod_vnd", "pickup_fees_vnd"}, VND. Raises InvalidArgument
        (agency_code, `field`), PermissionDenied (OTHER_AGENCY)."""
        agency = agency_code.strip() or (actor.agency if actor else "")
        if not codes.UNIT_CODE.fullmatch(agency):
            raise InvalidArgument.from_violations([FieldViolation("agency_code", "is not a unit code like "
                                                                  "000.00.21.H17")])
        first, last = totals.period_range(period, field)
        if actor is not None:
            actor.require_agency(agency, action="read its postal totals")
        return totals.summed(self._store.fee_amounts(agency, first, last))

    # --- changes -----------------------------------------------------------------------------------
    def cancel(self, shipment_id: str, reason: str, by_citizen: bool, actor: auth.Principal,
               request_id: str = "") -> Shipment:
        """Cancels before pickup: at the carrier first (once ordered), then in the log. Cancelling a
        cancelled shipment changes nothing. Raises as `get`, FailedPrecondition (ALREADY_PICKED_UP:
        by the log, or the carrier refused because it has the parcel; SHIPMENT_FINAL), Unavailable
        (CARRIER_UNAVAILABLE: nothing stored, send again), Aborted (CONCURRENT_CHANGE), AlreadyExists
        (REQUEST_ID_REUSED)."""
        source, request_id = Source.CITIZEN if by_citizen else Source.DESK, request_id.strip()

        def change(s: Shipment) -> Entry | None:
            entry = None if s.state is State.CANCELLED else \
                domain.cancel_entry(s, source, actor.subject, self._clock(), reason.strip())
            if request_id:  # found and cancellable (or cancelled): the id is claimed before the carrier is asked
                self._claim(actor, request_id, f"cancel {s.id}")
            if entry is None:
                return None
            if s.waybill:
                cancelling.cancel_at_carrier(self._carrier, s, refusal="ALREADY_PICKED_UP")
            return dataclasses.replace(entry, request_id=request_id)
        return self._change(shipment_id, actor, change)[0]

    def rebook(self, shipment_id: str, receiver: Party | None, actor: auth.Principal, request_id: str = "") -> Shipment:
        """The next booking of a failed, cancelled or returned shipment (domain.check_rebooking's
        rule, `cancelling.check_parcel_free`: never two live orders for one result). Again with the same
        `request_id`: the booking it made.
        Raises as `get`, InvalidArgument (receiver.*), FailedPrecondition (ALREADY_PICKED_UP: the
        carrier keeps the parcel; ALREADY_HANDED_OVER: the result was collected at the desk;
        ALREADY_DELIVERED, ALREADY_REBOOKED, NOT_REBOOKABLE), Unavailable (CARRIER_UNAVAILABLE: nothing
        stored), Aborted (CONCURRENT_CHANGE), AlreadyExists (REQUEST_ID_REUSED)."""
        if receiver is not None:
            problems = check_party(receiver, "receiver")
            if problems:
                raise InvalidArgument.from_violations(problems)
        old, request_id = self.get(shipment_id, "", actor), request_id.strip()
        done = next((e for e in old.log if e.kind is domain.Kind.REBOOKED and e.request_id == request_id), None) \
            if request_id else None
        again = self._store.load(done.note) if done else None
        if again:  # the same request again: the booking it made
            self._claim(actor, request_id, f"rebook {old.shipment.id}")
            if receiver not in (None, again.shipment.header.receiver):
                raise reused(request_id, "rebooking")
            return again.shipment
        try:
            domain.check_rebooking(old.shipment)
        except domain.Refused as refused:
            raise FailedPrecondition(refused.reason, str(refused), metadata={"shipment_id": old.shipment.id}) \
                from None
        if request_id:  # found and rebookable: the id is claimed before the carrier is asked
            self._claim(actor, request_id, f"rebook {old.shipment.id}")
        cancelling.check_parcel_free(self._carrier, self._intake, old.shipment)
        return self._next_booking(old.shipment, receiver, actor, request_id)

    def _next_booking(self, old: Shipment, receiver: Party | None, actor: auth.Principal, request_id: str) -> Shipment:
        """Stores the next booking (or finds the one an interrupted try stored), then marks `old`."""
        shipment, first = domain.start(domain.rebooked(old, receiver, self._clock()), actor.subject, Source.DESK)
        if not self._store.create(shipment, first, outgoing.created(shipment)):
            stored = self._store.load(shipment.id)
            assert stored is not None  # the booking ids are never deleted
            shipment = stored.shipment

        def mark(s: Shipment) -> Entry | None:
            if s.rebooked_as == shipment.id:
                return None
            return Entry(s.seq + 1, domain.Kind.REBOOKED, Source.DESK, self._clock(), self._clock(),
                         note=shipment.id, actor=actor.subject, request_id=request_id)
        self._change(old.id, actor, mark)
        return shipment

    def hand_over_pickup(self, shipment_id: str, dossier_code: str, actor: auth.Principal) -> Shipment:
        """Postal intake reaches the desk: links the delivered INBOUND shipment to the dossier the desk
        received from it on channel 3, and files the record post → agency (outgoing, handover.py).
        The same dossier again changes nothing. Raises as `get`, InvalidArgument (dossier_code),
        NotFound (DOSSIER_NOT_FOUND), FailedPrecondition (NOT_INBOUND, ALREADY_HANDED_OVER,
        NOT_DELIVERED, NOT_POSTAL_CHANNEL, PROCEDURE_MISMATCH), Aborted (CONCURRENT_CHANGE)."""
        code = dossier_code.strip()
        if not codes.DOSSIER_CODE.fullmatch(code):
            raise InvalidArgument.from_violations([FieldViolation("dossier_code", "is required: a dossier code "
                                                                  "as intake issues them")])
        s = self.get(shipment_id, "", actor).shipment
        meta = {"shipment_id": s.id, "dossier_code": code}
        if s.header.direction is not Direction.INBOUND:
            raise FailedPrecondition("NOT_INBOUND", f"{s.id} carries a result, not a dossier", metadata=meta)
        if s.dossier_code == code:
            return s
        if s.dossier_code:
            raise FailedPrecondition("ALREADY_HANDED_OVER", f"{s.id} was received as {s.dossier_code}", metadata=meta)
        if s.state is not domain.State.DELIVERED:
            raise FailedPrecondition("NOT_DELIVERED", f"{s.id} has not reached the desk ({s.state.value})",
                                     metadata=meta)
        facts = self._intake.dossier(code)
        if facts is None:
            raise NotFound("DOSSIER_NOT_FOUND", f"no dossier has the code {code}", metadata=meta)
        actor.require_agency(facts.agency_code, action="receive this parcel")
        if facts.channel != CHANNEL_POSTAL:
            raise FailedPrecondition("NOT_POSTAL_CHANNEL", f"{code} was not received on channel 3 (by post): "
                                     "submit it with channel CHANNEL_POSTAL", metadata=meta)
        if facts.procedure_code != s.header.procedure_code:
            raise FailedPrecondition("PROCEDURE_MISMATCH", f"{code} is of procedure {facts.procedure_code}; the "
                                     f"parcel was picked up for {s.header.procedure_code}", metadata=meta)

        def hand_over(current: Shipment) -> Entry | None:
            if current.dossier_code == code:
                return None
            if current.dossier_code:
                raise domain.Refused("ALREADY_HANDED_OVER", f"{s.id} was received as {current.dossier_code}")
            return Entry(current.seq + 1, domain.Kind.HANDED_OVER, Source.DESK, self._clock(), self._clock(),
                         note=code, actor=actor.subject)
        return self._change(s.id, actor, hand_over)[0]

    def record_report(self, waybill: str, event: TrackingEvent, source: Source,
                      actor: auth.Principal) -> tuple[Shipment, bool]:
        """Applies one carrier report to the shipment of `waybill` (or, empty, of the report's order
        number). Returns the shipment and whether the report moved it (False: a repeat or out of
        order, see domain). Raises UnknownWaybill (WAYBILL_NOT_FOUND), Aborted (CONCURRENT_CHANGE)."""
        shipment_id = self._store.by_waybill(waybill.strip()) if waybill.strip() else None
        if shipment_id is None and event.order_number:  # by order number (= the shipment id)
            known = domain.SHIPMENT_ID.fullmatch(event.order_number) and self._store.load(event.order_number)
            shipment_id = event.order_number if known else None
        if shipment_id is None:
            raise UnknownWaybill(waybill.strip() or event.order_number)

        def report(s: Shipment) -> Entry | None:
            entry = domain.report_entry(s, event.status, event.event_id, event.at, source, self._clock(),
                                        event.note, waybill.strip())
            return receipts.stamped(s, entry)  # the receipt of a collection (COD, or at a pickup)
        shipment, entry = self._change(shipment_id, actor, report)
        return shipment, bool(entry and entry.applied)

    def _change(self, shipment_id: str, actor: auth.Principal,
                make: Callable[[Shipment], Entry | None]) -> tuple[Shipment, Entry | None]:
        """Appends make(current)'s entry with its events; on a lost race (the seq taken by another
        writer) reloads and asks again. None from `make`: nothing to write."""
        for _ in range(MAX_RETRIES):
            loaded = self.get(shipment_id, "", actor)
            try:
                entry = make(loaded.shipment)
            except domain.Refused as refused:
                raise FailedPrecondition(refused.reason, str(refused), metadata={"shipment_id": shipment_id}) \
                    from None
            if entry is None:
                return loaded.shipment, None
            after = domain.apply(loaded.shipment, entry)
            if self._store.append(after, entry, outgoing.after(loaded.shipment, after, entry)):
                return after, entry
        raise Aborted("CONCURRENT_CHANGE", f"shipment {shipment_id} kept changing: try again")
