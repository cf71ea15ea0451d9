"""Time as the platform stores it: timezone-aware UTC, to the millisecond (what MongoDB keeps)."""

from __future__ import annotations

import datetime as dt
from typing import overload


def to_ms(value: dt.datetime) -> dt.datetime:
    """Truncated to the millisecond, so a value read back from MongoDB equals what was written."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def utcnow() -> dt.datetime:
    """Now, to the millisecond."""
    return to_ms(dt.datetime.now(dt.UTC))


@overload
def as_utc(value: dt.datetime) -> dt.datetime: ...


@overload
def as_utc(value: dt.datetime | None) -> dt.datetime | None: ...


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A datetime read from the database as aware UTC (drivers may return naive UTC)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
