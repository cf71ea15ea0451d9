"""Key documents of feedback items: `_id` ranges FerretDB answers from its index (docs/design.md,
"The local database is FerretDB v1"), each `_id` ending with the item's code.

- `unit|<unit code>|<filed ISO Z>|<code>`: ListFeedback of the handling unit, oldest filed first;
- `agency|<agency code>|<filed ISO Z>|<code>`: the agency's items by filing time (indicators);
- `due|<due ISO Z>|<code>`: open items not yet escalated for their deadline (the overdue scan
  reads `due|` up to now);
- `pub|<agency code>|<filed ISO Z>|<code>`: published items (ListPublishedFeedback);
- `esc|<unit code>|<filed ISO Z>|<code>`: open items escalated to the unit's leader (ListFeedback
  with escalated_only).
"""

from __future__ import annotations

from .domain import OPEN, Feedback, iso_z

DUE_PREFIX = "due|"


def unit_prefix(unit_code: str) -> str:
    return f"unit|{unit_code}|"


def agency_prefix(agency_code: str) -> str:
    return f"agency|{agency_code}|"


def published_prefix(agency_code: str) -> str:
    return f"pub|{agency_code}|"


def escalated_prefix(unit_code: str) -> str:
    return f"esc|{unit_code}|"


def due(item: Feedback) -> str | None:
    """The item's due key while it waits for an answer and was not escalated for this deadline."""
    if item.state not in OPEN or item.escalated_open:
        return None
    return f"{DUE_PREFIX}{iso_z(item.due_at)}|{item.code}"


def of(item: Feedback) -> list[str]:
    """Every key the item has in its current state."""
    filed = iso_z(item.filed_at)
    out = [f"{unit_prefix(item.unit_code)}{filed}|{item.code}",
           f"{agency_prefix(item.filing.agency_code)}{filed}|{item.code}"]
    if (due_key := due(item)) is not None:
        out.append(due_key)
    if item.escalated_open:
        out.append(f"{escalated_prefix(item.unit_code)}{filed}|{item.code}")
    if item.published:
        out.append(f"{published_prefix(item.filing.agency_code)}{filed}|{item.code}")
    return out
