"""Queue tickets at the desk (xếp hàng tự động). Tickets and calls are both inserts with unique
keys, so two kiosks never print the same number and two counters never call the same ticket,
even on a store without atomic updates (FerretDB v1)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from onestop_chassis import codes
from onestop_chassis.errors import Violations

QUEUE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")


@dataclass(frozen=True)
class Ticket:
    ticket_id: str
    unit_code: str
    queue: str
    day: dt.date
    number: int
    issued_at: dt.datetime
    counter: int = 0
    called_at: dt.datetime | None = None

    @property
    def display(self) -> str:
        """'dat-dai' 12 → 'DD-012'; 'hotich' 3 → 'HO-003'."""
        parts = [p for p in self.queue.split("-") if p]
        prefix = "".join(p[0] for p in parts) if len(parts) > 1 else self.queue[:2]
        return f"{prefix.upper()}-{self.number:03d}"


class NumberTaken(Exception):
    """Another kiosk printed this number first: try the next one."""


def validate(unit_code: str, queue: str, counter: int | None = None) -> None:
    v = Violations()
    if not codes.is_unit_code(unit_code):
        v.add("unit_code", "is not a national unit code like 000.00.21.H17")
    if not QUEUE_NAME.fullmatch(queue):
        v.add("queue", "must be 1-32 lowercase letters, digits or '-', e.g. dat-dai")
    if counter is not None and not 1 <= counter <= 99:
        v.add("counter", "must be a counter number from 1 to 99")
    v.raise_if_any()
