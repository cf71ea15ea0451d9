"""Queue tickets at the desk: taking a ticket, calling the next one, what each counter serves.
Tickets and calls are both inserts with unique keys (see `domain`)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from onestop_chassis import auth, codes
from onestop_chassis.clock import utcnow
from onestop_chassis.errors import FieldViolation, InvalidArgument, NotFound, Unavailable
from onestop_chassis.worktime import VIETNAM

from .domain import NumberTaken, Ticket, validate


class TicketStore(Protocol):
    def highest_number(self, unit_code: str, queue: str, day: dt.date) -> int: ...
    def issue(self, ticket: Ticket) -> None: ...  # raises NumberTaken
    def of_day(self, unit_code: str, day: dt.date) -> list[Ticket]: ...  # with their calls
    def call(self, ticket: Ticket) -> bool: ...  # False when another counter called it first


class QueueDesk:
    def __init__(self, tickets: TicketStore, unit_exists: Callable[[str], bool],
                 clock: Callable[[], dt.datetime] = utcnow):
        self._tickets = tickets
        self._unit_exists = unit_exists
        self._clock = clock

    def _today(self, now: dt.datetime) -> dt.date:
        return now.astimezone(VIETNAM).date()

    def take(self, unit_code: str, queue: str) -> tuple[Ticket, int]:
        validate(unit_code, queue)
        if not self._unit_exists(unit_code):
            raise NotFound("UNIT_NOT_FOUND", f"no desk is registered for unit code {unit_code}")
        now = self._clock()
        day = self._today(now)
        number = self._tickets.highest_number(unit_code, queue, day) + 1
        for _ in range(200):
            ticket = Ticket(str(uuid.uuid4()), unit_code, queue, day, number, now)
            try:
                self._tickets.issue(ticket)
            except NumberTaken:
                number += 1
                continue
            waiting = [t for t in self._tickets.of_day(unit_code, day)
                       if t.queue == queue and t.called_at is None and t.number < number]
            return ticket, len(waiting)
        raise Unavailable("TICKETS_BUSY", "too many tickets issued at once; press again")

    def call_next(self, unit_code: str, queue: str, counter: int, actor: auth.Principal) -> Ticket:
        validate(unit_code, queue, counter)
        actor.require_agency(unit_code, action="call tickets")
        now = self._clock()
        waiting = sorted((t for t in self._tickets.of_day(unit_code, self._today(now))
                          if t.queue == queue and t.called_at is None), key=lambda t: t.number)
        for ticket in waiting:
            called = replace(ticket, counter=counter, called_at=now)
            if self._tickets.call(called):
                return called
        raise NotFound("QUEUE_EMPTY", f"nobody is waiting in queue {queue!r}")

    def serving(self, unit_code: str) -> list[tuple[str, list[Ticket], int]]:
        if not codes.is_unit_code(unit_code):
            raise InvalidArgument.from_violations([FieldViolation("unit_code", "is not a national unit code")])
        tickets = self._tickets.of_day(unit_code, self._today(self._clock()))
        result = []
        for queue in sorted({t.queue for t in tickets}):
            mine = [t for t in tickets if t.queue == queue]
            latest: dict[int, Ticket] = {}
            for t in sorted((t for t in mine if t.called_at), key=lambda t: (t.called_at, t.number)):
                latest[t.counter] = t
            serving = sorted(latest.values(), key=lambda t: (t.called_at, t.number), reverse=True)
            result.append((queue, serving, sum(t.called_at is None for t in mine)))
        return result
