"""Delivery's domain: Postal return of results and postal intake (bưu chính công ích).

Plain Python: no database, no gRPC, no chassis.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

# Ids are random (uuid4, 32 lowercase hex characters): answering "another agency's" instead of "not
# found" tells a caller nothing it could have guessed.
ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Shipment:
    """One shipment, owned by one agency."""
    id: str
    agency_code: str  # the owning unit's code (mã định danh đơn vị), e.g. "000.00.21.H17"
    title: str
    created_at: dt.datetime  # UTC


def new_shipment(agency_code: str, title: str, created_at: dt.datetime) -> Shipment:
    """A new shipment with a fresh random id."""
    return Shipment(id=uuid.uuid4().hex, agency_code=agency_code, title=title, created_at=created_at)
