"""Answers: the citizen's one answer sheet per invitation, and the counter kiosk's ratings.

Plain Python. Both link to the dossier's (or the counter's) agency, procedure and officers, never to
the person nor to the dossier: the sheet's id is the invitation's id, and it keeps no dossier code
(issue 12: a sheet or its event must not lead back to the citizen).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field

from onestop_chassis import codes
from onestop_chassis.errors import Violations

KIOSK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
OFFICER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}")
KIOSK_LEVELS = {3: "Rất hài lòng", 2: "Hài lòng", 1: "Không hài lòng"}


@dataclass(frozen=True)
class AnswerSheet:
    invitation_id: str       # also the sheet's id: one sheet per invitation
    agency_code: str
    parent_agency_code: str
    procedure_code: str
    field_code: str
    officers: tuple[str, ...]
    return_method: int
    questionnaire_code: str
    questionnaire_version: int
    answered_at: dt.datetime
    values: dict[str, int] = field(default_factory=dict)   # question id → option value
    texts: dict[str, str] = field(default_factory=dict)    # question id → free text
    total: int = 0
    grade: str = ""
    questionnaire_owner: str = ""  # the invitation's (invitations.domain.Invitation.questionnaire_owner)


@dataclass(frozen=True)
class Rating:
    id: str      # from the kiosk and the request_id (rating_id): a replay has the same id
    agency_code: str   # the kiosk's unit (RateOfficerRequest.agency_code)
    kiosk_id: str
    officer: str
    level: int   # 1 not satisfied, 2 satisfied, 3 very satisfied
    rated_at: dt.datetime
    parent_agency_code: str = ""  # the unit's agency (the registered kiosk's): the rating counts there too
    request_id: str = ""

    def same_request(self, other: Rating) -> bool:
        """Whether `other` (a rating sent with the same request_id) asks for the same thing."""
        return (self.officer, self.level) == (other.officer, other.level)


def rating_id(agency_code: str, kiosk_id: str, request_id: str) -> str:
    """32 hex characters from the kiosk and its request_id (RateOfficer's idempotency key)."""
    return hashlib.sha256(f"{agency_code}|{kiosk_id}|{request_id}".encode()).hexdigest()[:32]


def new_rating(agency_code: str, kiosk_id: str, officer: str, level: int, at: dt.datetime,
               request_id: str) -> Rating:
    """A checked rating; raises InvalidArgument (INVALID_FIELDS) naming each bad field."""
    v = Violations()
    if not REQUEST_ID.fullmatch(request_id):
        v.add("request_id", "must be 1 to 100 letters, digits, '.', '_', ':' or '-': a new one per rating")
    if not codes.is_unit_code(agency_code):
        v.add("agency_code", "is not a unit code, e.g. 000.00.21.H17")
    if not KIOSK_ID.fullmatch(kiosk_id):
        v.add("kiosk_id", "must be 1 to 64 letters, digits, '.', '_' or '-'")
    if not OFFICER.fullmatch(officer):
        v.add("officer", "must be the officer's account: 1 to 128 letters, digits, '.', '_', '@', ':' or '-'")
    if level not in KIOSK_LEVELS:
        v.add("level", "must be 1 (không hài lòng), 2 (hài lòng) or 3 (rất hài lòng)")
    v.raise_if_any()
    return Rating(rating_id(agency_code, kiosk_id, request_id), agency_code, kiosk_id, officer, level, at,
                  request_id=request_id)
