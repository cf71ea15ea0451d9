"""Counter kiosks: the tablets of /quay that rate officers (RateOfficer) must be registered by
their unit, as intake's queue knows its ticket kiosks, so a rating cannot be sent in a unit's name
by anyone who picks a kiosk id (issue 12's review).

A unit leader or agency admin registers a kiosk (RegisterKiosk) and gets its key once: 32
random URL-safe characters, stored only as its SHA-256. The tablet's start link carries it, and
every rating sends it (RateOfficer.kiosk_key, the page's hidden field). Registering again issues a
new key (the old one stops working) and lifts a revocation; RevokeKiosk stops the kiosk at once.
The kiosk's agency (its unit's parent in intake's tree, read at registration) is kept with it, so
its ratings count under the agency too (issue 12 item 4).

Stored by `_id` `<unit>|<kiosk id>`: one read per rating.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets
import urllib.parse
from collections.abc import Callable
from typing import Protocol

from onestop_chassis import auth, codes
from onestop_chassis.clock import utcnow
from onestop_chassis.errors import NotFound, PermissionDenied, Unauthenticated, Violations

from ..feedback.service import UnitTree
from .domain import KIOSK_ID

KIOSK_PAGE = "/quay"


@dataclasses.dataclass(frozen=True)
class Kiosk:
    unit_code: str
    kiosk_id: str
    agency_code: str          # the unit's parent in intake's tree at registration ("" for a root unit)
    key_hash: str             # SHA-256 hex of the key; the key itself is never stored
    registered_at: dt.datetime
    registered_by: str        # the account that registered it
    revoked_at: dt.datetime | None = None

    @property
    def id(self) -> str:
        return kiosk_key_id(self.unit_code, self.kiosk_id)


def kiosk_key_id(unit_code: str, kiosk_id: str) -> str:
    return f"{unit_code}|{kiosk_id}"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def page_path(kiosk: Kiosk, key: str) -> str:
    """The kiosk page the tablet opens: /quay/<kiosk>?co_quan=<unit>&khoa=<key> (the desk adds
    &can_bo=<officer> for the officer at the counter)."""
    return (f"{KIOSK_PAGE}/{urllib.parse.quote(kiosk.kiosk_id)}?"
            + urllib.parse.urlencode({"co_quan": kiosk.unit_code, "khoa": key}))


class KioskStore(Protocol):
    def put(self, kiosk: Kiosk) -> None:
        """Stores `kiosk` by its id, replacing one stored before."""
        ...
    def get(self, kiosk_id: str) -> Kiosk | None:
        """The kiosk of id `<unit>|<kiosk id>`, or None."""
        ...


def _checked(unit_code: str, kiosk_id: str) -> tuple[str, str]:
    unit_code, kiosk_id = unit_code.strip(), kiosk_id.strip()
    v = Violations()
    if not codes.is_unit_code(unit_code):
        v.add("unit_code", "is not a unit code, e.g. 000.00.21.H17")
    if not KIOSK_ID.fullmatch(kiosk_id):
        v.add("kiosk_id", "must be 1 to 64 letters, digits, '.', '_' or '-'")
    v.raise_if_any()
    return unit_code, kiosk_id


class KioskRegistry:
    def __init__(self, store: KioskStore, units: UnitTree, *, clock: Callable[[], dt.datetime] = utcnow):
        self._store, self._units, self._clock = store, units, clock

    def register(self, unit_code: str, kiosk_id: str, actor: auth.Principal) -> tuple[Kiosk, str]:
        """Registers the kiosk (again: a new key, any revocation lifted); returns it and its key,
        given only now. Raises InvalidArgument (INVALID_FIELDS), PermissionDenied (OTHER_AGENCY:
        another unit's officer), NotFound UNIT_NOT_FOUND (intake knows no such unit), Unavailable
        UNITS_UNAVAILABLE."""
        unit_code, kiosk_id = _checked(unit_code, kiosk_id)
        actor.require_agency(unit_code, action="register a kiosk")
        parents = self._units.parents()
        if unit_code not in parents:
            parents = self._units.parents(fresh=True)
        if unit_code not in parents:
            raise NotFound("UNIT_NOT_FOUND", f"intake knows no unit {unit_code}: check the unit code",
                           metadata={"unit_code": unit_code})
        key = secrets.token_urlsafe(24)
        kiosk = Kiosk(unit_code, kiosk_id, parents[unit_code], key_hash(key), self._clock(), actor.subject)
        self._store.put(kiosk)
        return kiosk, key

    def revoke(self, unit_code: str, kiosk_id: str, actor: auth.Principal) -> Kiosk:
        """Revokes the kiosk: its ratings are refused (KIOSK_REVOKED) until it is registered again.
        Repeated: the kiosk as it is. Raises InvalidArgument, PermissionDenied (OTHER_AGENCY),
        NotFound KIOSK_NOT_FOUND."""
        unit_code, kiosk_id = _checked(unit_code, kiosk_id)
        actor.require_agency(unit_code, action="revoke a kiosk")
        kiosk = self._store.get(kiosk_key_id(unit_code, kiosk_id))
        if kiosk is None:
            raise NotFound("KIOSK_NOT_FOUND", f"unit {unit_code} has no kiosk {kiosk_id}",
                           metadata={"unit_code": unit_code, "kiosk_id": kiosk_id})
        if kiosk.revoked_at is None:
            kiosk = dataclasses.replace(kiosk, revoked_at=self._clock())
            self._store.put(kiosk)
        return kiosk

    def check(self, unit_code: str, kiosk_id: str, key: str) -> Kiosk:
        """The registered kiosk whose key is `key`. Raises Unauthenticated KIOSK_NOT_REGISTERED (no
        such kiosk of that unit, or another key: one answer for both) and PermissionDenied
        KIOSK_REVOKED."""
        kiosk = self._store.get(kiosk_key_id(unit_code, kiosk_id))
        if kiosk is None or not key or not hmac.compare_digest(kiosk.key_hash, key_hash(key)):
            raise Unauthenticated("KIOSK_NOT_REGISTERED", f"kiosk {kiosk_id} is not registered for unit {unit_code}, "
                                  "or its key is wrong: the unit's leader registers it (RegisterKiosk) and opens "
                                  "the page link it gives on the tablet",
                                  metadata={"unit_code": unit_code, "kiosk_id": kiosk_id})
        if kiosk.revoked_at is not None:
            raise PermissionDenied("KIOSK_REVOKED", f"kiosk {kiosk_id} of unit {unit_code} was revoked on "
                                   f"{kiosk.revoked_at:%Y-%m-%d %H:%M} UTC; the unit's leader may register it again",
                                   metadata={"unit_code": unit_code, "kiosk_id": kiosk_id})
        return kiosk
