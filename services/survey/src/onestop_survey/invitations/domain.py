"""Invitations: one per returned dossier, to rate how it was handled.

Plain Python. The invitation records what the survey needs of the dossier (procedure, agency,
officers, how the result went back) and never the person. Its token opens the survey page with no
login: it is derived from the invitation's random id with the service's secret key
(HMAC-SHA256), so it tells nothing about the citizen or the dossier, the desk can print it again
(GetInvitation) and the database keeps only its SHA-256 (a copy of the database answers nothing).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import urllib.parse
import uuid
from dataclasses import dataclass

ID = re.compile(r"[0-9a-f]{32}")
TOKEN = re.compile(r"[a-z2-7]{26}")  # 130 bits of base32, lowercase (easy to type from an SMS)


@dataclass(frozen=True)
class Invitation:
    id: str                  # 32 lowercase hex, random
    agency_code: str         # the unit that received and returned the dossier, e.g. "000.00.21.H17"
    title: str               # the procedure's name
    created_at: dt.datetime  # UTC
    dossier_code: str = ""
    procedure_code: str = ""
    officers: tuple[str, ...] = ()   # who received, who returned (accounts)
    return_method: int = 0           # 1 at the desk, 2 by post, 3 online
    questionnaire_code: str = ""
    questionnaire_version: int = 0
    expires_at: dt.datetime | None = None
    token_hash: str = ""             # SHA-256 hex of the token
    parent_agency_code: str = ""     # the receiving unit's agency (its parent unit); "" for a root unit
    field_code: str = ""             # the procedure's field (lĩnh vực), when the event names it
    questionnaire_owner: str = ""    # whose questionnaire (agency or unit); "" built in, or issued before it was kept

    def expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


@dataclass(frozen=True)
class ResultReturned:
    """What intake's DossierResultReturned tells the survey."""
    event_id: str
    dossier_code: str
    agency_code: str
    parent_agency_code: str
    procedure_code: str
    procedure_name: str
    received_by: str
    returned_by: str
    return_method: int
    returned_at: dt.datetime
    field_code: str = ""     # the procedure's field (lĩnh vực), "" from an older intake


def new_id() -> str:
    return uuid.uuid4().hex


def token_for(key: bytes, invitation_id: str) -> str:
    """The invitation's token: HMAC-SHA256(key, id), 130 bits as 26 lowercase base32 letters."""
    digest = hmac.new(key, invitation_id.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:26]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link(base_url: str, token: str) -> str:
    """The survey page of the token, e.g. https://dichvucong.example.vn/khao-sat/<token>."""
    return f"{base_url.rstrip('/')}/{urllib.parse.quote(token)}"


def sms_text(invitation: Invitation, url: str) -> str:
    """The SMS inviting the citizen (Vietnamese, with diacritics: a UCS-2 SMS of two or three
    segments; the link carries no personal data)."""
    return (f"Hồ sơ {invitation.dossier_code} đã trả kết quả. Mời Ông/Bà đánh giá mức độ hài lòng "
            f"(không cần đăng nhập): {url}")


def expiry(returned_at: dt.datetime, issued_at: dt.datetime, days: int) -> dt.datetime:
    """`days` (calendar days, INVITATION_EXPIRY_DAYS) after the result's return, whenever the
    invitation is issued (a worker catching up on old events does not lengthen the window); from
    `issued_at` when the event carries no return time (the epoch) or one after the issue."""
    start = returned_at if dt.datetime(2000, 1, 1, tzinfo=dt.UTC) < returned_at <= issued_at else issued_at
    return start + dt.timedelta(days=days)
