"""MongoDB store of queue tickets: `tickets` (unique per unit, queue, day and number) and
`ticket_calls` (unique per ticket)."""

from __future__ import annotations

import datetime as dt

import mongoengine as me
from pymongo.errors import DuplicateKeyError

from onestop_chassis.clock import as_utc

from ..domain import NumberTaken, Ticket


class TicketDoc(me.Document):
    meta = {"collection": "tickets"}
    key = me.StringField(primary_key=True)  # "<unit>|<queue>|<YYYY-MM-DD>|<number>": the claim
    ticket_id = me.StringField(required=True)
    unit_code = me.StringField(required=True)
    queue = me.StringField(required=True)
    day = me.StringField(required=True)
    number = me.IntField(required=True)
    issued_at = me.DateTimeField(required=True)


class TicketCallDoc(me.Document):
    meta = {"collection": "ticket_calls"}
    ticket_key = me.StringField(primary_key=True)  # a ticket is called once
    unit_code = me.StringField(required=True)
    day = me.StringField(required=True)
    counter = me.IntField(required=True)
    called_at = me.DateTimeField(required=True)


def _key(t: Ticket) -> str:
    return f"{t.unit_code}|{t.queue}|{t.day.isoformat()}|{t.number}"


class MongoTickets:
    def highest_number(self, unit_code: str, queue: str, day: dt.date) -> int:
        docs = TicketDoc.objects(unit_code=unit_code, queue=queue, day=day.isoformat()).only("number")
        return max((d.number for d in docs), default=0)

    def issue(self, ticket: Ticket) -> None:
        try:
            TicketDoc(key=_key(ticket), ticket_id=ticket.ticket_id, unit_code=ticket.unit_code, queue=ticket.queue,
                      day=ticket.day.isoformat(), number=ticket.number,
                      issued_at=ticket.issued_at).save(force_insert=True)
        except (me.NotUniqueError, DuplicateKeyError) as exc:
            raise NumberTaken(ticket.number) from exc

    def of_day(self, unit_code: str, day: dt.date) -> list[Ticket]:
        calls = {c.ticket_key: c for c in TicketCallDoc.objects(unit_code=unit_code, day=day.isoformat())}
        tickets = []
        for d in TicketDoc.objects(unit_code=unit_code, day=day.isoformat()):
            call = calls.get(d.key)
            tickets.append(Ticket(d.ticket_id, d.unit_code, d.queue, dt.date.fromisoformat(d.day), d.number,
                                  as_utc(d.issued_at), counter=call.counter if call else 0,
                                  called_at=as_utc(call.called_at) if call else None))
        return tickets

    def call(self, ticket: Ticket) -> bool:
        try:
            TicketCallDoc(ticket_key=_key(ticket), unit_code=ticket.unit_code, day=ticket.day.isoformat(),
                          counter=ticket.counter, called_at=ticket.called_at).save(force_insert=True)
        except (me.NotUniqueError, DuplicateKeyError):
            return False
        return True
