"""Answers: the citizen's one answer sheet per invitation, and the counter kiosk's ratings.

Plain Python. Both link to the dossier's (or the counter's) agency, procedure and officers, never to
the person: the sheet's id is the invitation's id.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field

from onestop_chassis import codes
from onestop_chassis.errors import Violations

KIOSK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
OFFICER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}")
KIOSK_LEVELS = {3: "Rất hài lòng", 2: "Hài lòng", 1: "Không hài lòng"}


@dataclass(frozen=True)
class AnswerSheet:
    invitation_id: str       # also the sheet's id: one sheet per invitation
    agency_code: str
    parent_agency_code: str
    dossier_code: str
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


@dataclass(frozen=True)
class Rating:
    id: str
    agency_code: str
    kiosk_id: str
    officer: str
    level: int   # 1 not satisfied, 2 satisfied, 3 very satisfied
    rated_at: dt.datetime


def new_rating(agency_code: str, kiosk_id: str, officer: str, level: int, at: dt.datetime) -> Rating:
    """A checked rating; raises InvalidArgument (INVALID_FIELDS) naming each bad field."""
    v = Violations()
    if not codes.is_unit_code(agency_code):
        v.add("agency_code", "is not a unit code, e.g. 000.00.21.H17")
    if not KIOSK_ID.fullmatch(kiosk_id):
        v.add("kiosk_id", "must be 1 to 64 letters, digits, '.', '_' or '-'")
    if not OFFICER.fullmatch(officer):
        v.add("officer", "must be the officer's account: 1 to 128 letters, digits, '.', '_', '@', ':' or '-'")
    if level not in KIOSK_LEVELS:
        v.add("level", "must be 1 (không hài lòng), 2 (hài lòng) or 3 (rất hài lòng)")
    v.raise_if_any()
    return Rating(uuid.uuid4().hex, agency_code, kiosk_id, officer, level, at)
