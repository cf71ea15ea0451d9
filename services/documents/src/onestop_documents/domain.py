"""The documents domain: what a stored file version is and the rules for accepting one.

Plain Python (the content sniffing uses the `filetype` library, which only reads bytes).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import IntEnum

import filetype

from onestop_chassis import codes
from onestop_chassis.errors import InvalidArgument, Violations


class Kind(IntEnum):
    COMPONENT = 1
    RESULT = 2
    FORM = 3


class State(IntEnum):
    ACTIVE = 1
    WITHDRAWN = 2


class RetentionMode(IntEnum):
    GOVERNANCE = 1
    COMPLIANCE = 2


ACCEPTED_TYPES = {"application/pdf", "image/jpeg", "image/png", "image/tiff"}
SNIFF_BYTES = 8192  # what filetype reads at most
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class UploadRequest:
    request_id: str
    dossier_code: str
    kind: int
    component: str
    file_name: str
    sha256: str
    agency_code: str


@dataclass(frozen=True)
class Retention:
    mode: RetentionMode
    retain_until: dt.datetime


@dataclass
class Document:
    document_id: str
    request_id: str
    dossier_code: str
    agency_code: str
    kind: Kind
    component: str
    version: int
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str
    bucket: str
    object_key: str
    object_version: str
    stored_at: dt.datetime
    uploaded_by: str
    state: State = State.ACTIVE
    retention: Retention | None = None
    legal_hold: bool = False
    withdrawn_reason: str = ""
    history: list[dict] = field(default_factory=list)


def validate_upload(req: UploadRequest) -> None:
    v = Violations()
    if len(req.request_id) > 128:
        v.add("request_id", "is longer than 128 characters")
    if not codes.is_dossier_code(req.dossier_code):
        v.add("dossier_code", "is not a dossier code like 000.00.21.H17-261123-0001")
    if req.kind not in Kind.__members__.values():
        v.add("kind", "must be 1 (component), 2 (result) or 3 (form)")
    if not req.component.strip():
        v.add("component", "is required: the dossier component or form this file is")
    elif len(req.component) > 300:
        v.add("component", "is longer than 300 characters")
    if len(req.file_name) > 255:
        v.add("file_name", "is longer than 255 characters")
    if req.sha256 and not SHA256_HEX.fullmatch(req.sha256):
        v.add("sha256", "must be 64 lowercase hexadecimal characters")
    if req.agency_code and not codes.is_unit_code(req.agency_code):
        v.add("agency_code", "is not a national unit code like 000.00.21.H17")
    v.raise_if_any()


EXTENSIONS = {"pdf": "application/pdf", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
              "tif": "image/tiff", "tiff": "image/tiff"}


def sniff(head: bytes, file_name: str = "") -> str:
    """The content type recognised from the first bytes, if it is one the platform keeps. A file
    name that claims another of these types (a JPEG renamed .pdf) is refused as a mismatch."""
    if not head:
        raise InvalidArgument("EMPTY_FILE", "the file is empty")
    kind = filetype.guess(head[:SNIFF_BYTES])
    if kind is None or kind.mime not in ACCEPTED_TYPES:
        found = kind.mime if kind else "not a recognised format"
        raise InvalidArgument("UNSUPPORTED_TYPE",
                              f"only PDF, JPEG, PNG and TIFF scans are kept; these bytes are {found}",
                              metadata={"detected": found})
    claimed = EXTENSIONS.get(file_name.rsplit(".", 1)[-1].lower()) if "." in file_name else None
    if claimed and claimed != kind.mime:
        raise InvalidArgument("CONTENT_TYPE_MISMATCH",
                              f"the file is named {file_name!r} but its bytes are {kind.mime}",
                              metadata={"detected": kind.mime, "claimed": claimed})
    return kind.mime


def bucket_for(agency_code: str) -> str:
    """One bucket per agency: 'onestop-000-00-21-h17' (S3 names are lowercase, no dots needed)."""
    return "onestop-" + agency_code.lower().replace(".", "-")


# Domain events, turned into onestop.events.v1 messages by the adapters.
@dataclass(frozen=True)
class DocumentStored:
    document: Document


@dataclass(frozen=True)
class DocumentsTransferred:
    dossier_code: str
    source_agency: str
    target_agency: str
    document_ids: list[str]


@dataclass(frozen=True)
class RetentionApplied:
    dossier_code: str
    agency_code: str
    retention: Retention
    document_ids: list[str]
