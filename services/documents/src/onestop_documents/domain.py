"""The documents domain: what a stored file version is and the rules for accepting one.

Plain Python (the content sniffing uses the `filetype` library, which only reads bytes).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from enum import IntEnum

import filetype

from onestop_chassis import codes
from onestop_chassis.errors import InvalidArgument, Violations
from onestop_chassis.text import name_key, nfc


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

    @property
    def component_key(self) -> str:
        """What identifies the component: its name as a reader compares it (`text.name_key`)."""
        return name_key(self.component)


def component_name(name: str) -> str:
    """How a component's name is stored and shown: NFC, whitespace runs as one space, trimmed."""
    return " ".join(nfc(name).split())


def normalised(req: UploadRequest) -> UploadRequest:
    """The request in the one form the service works with: codes as `codes.normalise_code` makes
    them, the component name as `component_name`, text in NFC (events reach the service too, not
    only gRPC requests, which the server already brought to NFC)."""
    return replace(req, dossier_code=codes.normalise_code(req.dossier_code),
                   agency_code=codes.normalise_code(req.agency_code), component=component_name(req.component),
                   file_name=nfc(req.file_name), request_id=nfc(req.request_id))


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


# ISO 32000-2 §7.5.2 (and Adobe's PDF reference, implementation note 13): readers look for the
# header "%PDF-x.y" anywhere in the first 1024 bytes, so a PDF may start with a BOM, a line break
# or other bytes a mail gateway or scanner put before it; they belong to the file and are kept.
PDF_HEADER_WINDOW = 1024
_PDF_HEADER = re.compile(rb"%PDF-[0-9]\.[0-9][\r\n\s%]")
_PDF_OBJECT = re.compile(rb"[0-9]+[\x00\t\n\f\r ]+[0-9]+[\x00\t\n\f\r ]+obj\b")
# What readers accept as the same format under another name: an animated PNG is a PNG (readers
# without APNG support show its first frame).
_SAME_FORMAT = {"image/apng": "image/png"}
# BigTIFF (version 43 instead of 42: 64-bit offsets, what scanners write past 4 GiB) is TIFF to
# libtiff and every TIFF reader built on it; filetype knows only version 42.
_BIGTIFF = (b"II\x2b\x00\x08\x00\x00\x00", b"MM\x00\x2b\x00\x08\x00\x00")


def _recognise(head: bytes) -> str | None:
    """The accepted content type of these first bytes, or what else they are (None: unknown)."""
    kind = filetype.guess(head[:SNIFF_BYTES])
    mime = _SAME_FORMAT.get(kind.mime, kind.mime) if kind else None
    if mime is None and head.startswith(_BIGTIFF):
        return "image/tiff"
    if mime is None:
        header = _PDF_HEADER.search(head, 0, PDF_HEADER_WINDOW + 9)
        if header is not None and header.start() < PDF_HEADER_WINDOW \
                and not head[:header.start()].lstrip(b"\xef\xbb\xbf \t\r\n\f\x00").startswith(b"<") \
                and _PDF_OBJECT.search(head, header.end()):
            # Bytes before the header that are themselves no known format (filetype found none)
            # nor markup (HTML, XML), and a PDF object right after it: a PDF as readers open it.
            return "application/pdf"
    return mime


def sniff(head: bytes, file_name: str = "") -> str:
    """The content type recognised from the first bytes (`head`: at least the first SNIFF_BYTES of
    the file, or all of it), if it is one the platform keeps: PDF, JPEG, PNG, TIFF. A PDF may have
    leading bytes before its header, as readers allow (see PDF_HEADER_WINDOW); the bytes are never
    changed. A file name that claims another of these types (a JPEG renamed .pdf) is refused.

    Raises InvalidArgument EMPTY_FILE, UNSUPPORTED_TYPE (metadata `detected`: what the bytes are)
    or CONTENT_TYPE_MISMATCH (metadata `detected`, `claimed`)."""
    if not head:
        raise InvalidArgument("EMPTY_FILE", "the file is empty")
    mime = _recognise(head)
    if mime not in ACCEPTED_TYPES:
        found = mime or "not a recognised format"
        raise InvalidArgument("UNSUPPORTED_TYPE",
                              f"only PDF, JPEG, PNG and TIFF scans are kept; these bytes are {found}",
                              metadata={"detected": found})
    claimed = EXTENSIONS.get(file_name.rsplit(".", 1)[-1].lower()) if "." in file_name else None
    if claimed and claimed != mime:
        raise InvalidArgument("CONTENT_TYPE_MISMATCH",
                              f"the file is named {file_name!r} but its bytes are {mime}",
                              metadata={"detected": mime, "claimed": claimed})
    return mime


def bucket_for(agency_code: str, prefix: str = "onestop") -> str:
    """One bucket per agency: 'onestop-000-00-21-h17' (S3 names are lowercase, no dots needed).
    `prefix` is the instance's (ServiceSettings.resource_prefix), e.g. 'onestop-hue' gives
    'onestop-hue-000-00-21-h17', so two agencies' instances on one MinIO never share a bucket."""
    return f"{prefix}-" + agency_code.lower().replace(".", "-")


def is_own_bucket(bucket: str, prefix: str = "onestop") -> bool:
    """Whether `bucket` is one of this instance's agency buckets (bucket_for). An agency code starts
    with a digit and an instance name with a letter, so 'onestop-hue-000-...' is not the default
    instance's 'onestop-' bucket: the orphan sweep never touches another instance's objects."""
    return re.fullmatch(rf"{re.escape(prefix)}-\d[0-9a-z-]*", bucket) is not None


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
