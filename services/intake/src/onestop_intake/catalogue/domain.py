"""The published procedure catalogue (danh mục thủ tục hành chính): procedures, rules and search.

Plain Python (no grpc, nameko or mongoengine):
- `Procedure` and its parts (required documents, fees, online level);
- `validate` checks a procedure and returns every problem with its field path;
- `fold` and `matches_text` give case- and diacritic-insensitive search.
Files (import and export, with line numbers) are in `files` (chassis `datafiles` reads them).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from onestop_chassis import codes, datafiles
from onestop_chassis.datafiles import Path, label
from onestop_chassis.errors import FieldViolation, InvalidArgument, ServiceError
from onestop_chassis.text import name_key, search_key
from onestop_chassis.worktime import WorkingDuration


class OnlineLevel(IntEnum):
    """Nghị định 42/2022: toàn trình (full) or một phần (partial); NONE: at the desk or by post."""
    NONE = 1
    PARTIAL = 2
    FULL = 3


class CopyKind(IntEnum):
    ORIGINAL = 1                     # bản chính
    CERTIFIED_COPY = 2               # bản sao có chứng thực / bản sao từ sổ gốc
    COPY = 3                         # bản sao (bản chụp) kèm bản chính để đối chiếu
    ORIGINAL_OR_CERTIFIED_COPY = 4   # bản chính hoặc bản sao có chứng thực


@dataclass(frozen=True)
class RequiredDocument:
    """One component of the dossier (thành phần hồ sơ)."""
    name: str
    copy_kind: int = CopyKind.ORIGINAL
    count: int = 1
    form_template: str = ""
    required: bool = True



@dataclass(frozen=True)
class Fee:
    """A fee or charge (phí, lệ phí) in whole đồng, with who is exempt."""
    name: str
    amount: int = 0
    currency: str = "VND"
    note: str = ""
    exemptions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Procedure:
    """A published procedure. The first five fields are what receiving a dossier needs; the rest
    are the catalogue's (the rules are below)."""
    code: str
    name: str
    legal_duration: WorkingDuration
    competent_unit_code: str
    active: bool = True
    is_local_code: bool = False
    field_code: str = ""
    level: str = ""
    required_documents: tuple[RequiredDocument, ...] = ()
    fees: tuple[Fee, ...] = ()
    result: str = ""
    online_level: int = OnlineLevel.NONE
    postal_return_allowed: bool = False
    process_code: str = ""
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None
    legal_basis: tuple[str, ...] = ()
    version: int = 1

    def in_force(self, day: dt.date) -> bool:
        """Active, and `day` (Vietnam date) within the effective dates: dossiers are accepted."""
        return self.active and (self.effective_from is None or self.effective_from <= day) \
            and (self.effective_to is None or day <= self.effective_to)


# -- the fixed list of fields (lĩnh vực) -----------------------------------------------------------
FIELDS: dict[str, str] = {
    "dat_dai": "Đất đai",
    "dang_ky_kinh_doanh": "Thành lập và hoạt động của doanh nghiệp",
    "ho_kinh_doanh": "Thành lập và hoạt động của hộ kinh doanh",
    "xay_dung": "Hoạt động xây dựng",
    "ho_tich": "Hộ tịch",
    "ly_lich_tu_phap": "Lý lịch tư pháp",
    "chung_thuc": "Chứng thực",
    "giao_thong": "Đường bộ",
    "dang_ky_xe": "Đăng ký, quản lý phương tiện giao thông cơ giới đường bộ",
    "lao_dong": "Lao động",
    "viec_lam": "Việc làm",
    "bao_tro_xa_hoi": "Bảo trợ xã hội",
}

# Codes are matched with re.fullmatch: a trailing newline is not part of a code.
NATIONAL_CODE = re.compile(r"[0-9]\.[0-9]{6}(\.[0-9A-Z]+)?")  # 1.001193, 1.001193.H38
LOCAL_CODE = re.compile(r"DP\.[A-Z0-9.]+")                     # DP.HT.0001: national code not recorded
PROCESS_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_NAME = 500
MAX_TEXT = 1000
MAX_ENTRIES = 5000
MAX_DOCUMENT_COUNT = 20
# A file is at most MAX_FILE_BYTES (as ImportProceduresRequest.content declares) and nests at most
# MAX_DEPTH collections: a catalogue needs 6 (procedures → entry → fees → fee → exemptions), and
# deeper files are refused before the (recursive) parsers could run out of stack.
MAX_FILE_BYTES = 6 * 1024 * 1024
MAX_DEPTH = 10

ONLINE_LEVELS = {"none": OnlineLevel.NONE, "partial": OnlineLevel.PARTIAL, "full": OnlineLevel.FULL}
COPY_KINDS = {"original": CopyKind.ORIGINAL, "certified_copy": CopyKind.CERTIFIED_COPY, "copy": CopyKind.COPY,
              "original_or_certified_copy": CopyKind.ORIGINAL_OR_CERTIFIED_COPY}
FORMATS = datafiles.FORMATS


class VersionMismatch(ServiceError):
    code = "ABORTED"

    def __init__(self, code: str, sent: int, current: int):
        super().__init__("VERSION_MISMATCH",
                         f"procedure {code} is at version {current}, not {sent}: reload it and apply the change again",
                         metadata={"code": code, "version": str(current)})


def field_name(field_code: str) -> str:
    return FIELDS.get(field_code, "")


def is_local(code: str) -> bool:
    return bool(LOCAL_CODE.fullmatch(code))


# -- rules ---------------------------------------------------------------------------------------
class _Problems(list):
    """(field path, problem) pairs, with the text check every text field gets."""

    def text(self, path: Path, value: str, limit: int, required: bool = False) -> None:
        if required and not value.strip():
            self.append((path, "is required"))
        elif len(value) > limit:
            self.append((path, f"is longer than {limit} characters"))
        elif CONTROL_CHARS.search(value):
            self.append((path, "contains control characters"))


def validate(p: Procedure, unit_exists: Callable[[str], bool] | None = None) -> list[tuple[Path, str]]:
    """Every problem of the procedure, as (field path, problem)."""
    problems = _Problems()
    _check_code(p, problems)
    problems.text(("name",), p.name, MAX_NAME, required=True)
    if p.field_code not in FIELDS:
        problems.append((("field_code",), f"must be one of {', '.join(sorted(FIELDS))}"))
    if not codes.is_unit_code(p.competent_unit_code):
        problems.append((("competent_agency_code",), "is not a national unit code like 000.00.21.H17"))
    elif unit_exists is not None and not unit_exists(p.competent_unit_code):
        problems.append((("competent_agency_code",), f"no unit {p.competent_unit_code} is registered"))
    problems.text(("level",), p.level, 100, required=True)
    _check_duration(p.legal_duration, problems)
    problems.text(("result",), p.result, MAX_NAME, required=True)
    if p.online_level not in OnlineLevel.__members__.values():
        problems.append((("online_level",), "must be none, partial (một phần) or full (toàn trình)"))
    if p.process_code and not PROCESS_CODE.fullmatch(p.process_code):
        problems.append((("process_code",), "may hold only letters, digits, '.', '_' and '-' (at most 64)"))
    if p.effective_from and p.effective_to and p.effective_from > p.effective_to:
        problems.append((("effective_to",), f"is before effective_from ({p.effective_from.isoformat()})"))
    _check_documents(p.required_documents, problems)
    _check_fees(p.fees, problems)
    for i, basis in enumerate(p.legal_basis):
        problems.text(("legal_basis", i), basis, MAX_NAME, required=True)
    return list(problems)


def _check_code(p: Procedure, problems: _Problems) -> None:
    if not p.code.strip():
        problems.append((("code",), "is required"))
    elif NATIONAL_CODE.fullmatch(p.code):
        if p.is_local_code:
            problems.append((("is_local_code",), f"must be false: {p.code} is a national code"))
    elif LOCAL_CODE.fullmatch(p.code):
        if not p.is_local_code:
            problems.append((("is_local_code",), f"must be true for the local code {p.code}"))
    else:
        problems.append((("code",), "must be a national code like 1.001193 (optionally with a local suffix, "
                                    "1.001193.H38) or a local code like DP.HT.0001"))


def _check_duration(d: WorkingDuration, problems: _Problems) -> None:
    if min(d.days, d.hours, d.minutes) < 0:
        problems.append((("legal_duration",), "must not be negative"))
    elif d.days + d.hours + d.minutes == 0:
        problems.append((("legal_duration",), "is required: working days or working hours"))
    elif d.days > 365 or d.hours > 2000 or d.minutes > 60 * 2000:
        problems.append((("legal_duration",), "is longer than a year of working time"))


def _check_documents(documents: tuple[RequiredDocument, ...], problems: _Problems) -> None:
    if not documents:
        problems.append((("required_documents",), "list at least one document"))
    named: dict[str, int] = {}  # dossiers match documents by name_key, so two must not share one
    for i, doc in enumerate(documents):
        problems.text(("required_documents", i, "name"), doc.name, MAX_NAME, required=True)
        if doc.name.strip() and named.setdefault(name_key(doc.name), i) != i:
            problems.append((("required_documents", i, "name"),
                             f"names the same document as required_documents[{named[name_key(doc.name)]}]"))
        if doc.copy_kind not in CopyKind.__members__.values():
            problems.append((("required_documents", i, "copy_kind"), f"must be one of {', '.join(COPY_KINDS)}"))
        if not 1 <= doc.count <= MAX_DOCUMENT_COUNT:
            problems.append((("required_documents", i, "count"), f"must be between 1 and {MAX_DOCUMENT_COUNT}"))
        problems.text(("required_documents", i, "form_template"), doc.form_template, MAX_NAME)


def _check_fees(fees: tuple[Fee, ...], problems: _Problems) -> None:
    for i, fee in enumerate(fees):
        problems.text(("fees", i, "name"), fee.name, MAX_NAME, required=True)
        if fee.amount < 0:
            problems.append((("fees", i, "amount"), "must be 0 or more đồng"))
        if fee.currency != "VND":
            problems.append((("fees", i, "currency"), "must be VND"))
        problems.text(("fees", i, "note"), fee.note, MAX_TEXT)
        for j, exemption in enumerate(fee.exemptions):
            problems.text(("fees", i, "exemptions", j), exemption, MAX_TEXT, required=True)


def check(p: Procedure, unit_exists: Callable[[str], bool] | None = None, prefix: str = "procedure") -> None:
    """Raises InvalidArgument naming every problem (fields as in the API: procedure.fees[0].amount)."""
    problems = validate(p, unit_exists)
    if problems:
        raise InvalidArgument.from_violations([FieldViolation(label((prefix, *path)), problem)
                                               for path, problem in problems])


# -- search --------------------------------------------------------------------------------------
def fold(value: str) -> str:
    """Lower case without diacritics: "Đăng ký khai sinh" → "dang ky khai sinh" (`text.search_key`:
    look-alikes of Đ, tone-mark placement, NFD input and PDF ligatures fold too)."""
    return search_key(value)


def matches_text(p: Procedure, query: str) -> bool:
    """Every word of the query appears in the name or code, ignoring case and diacritics."""
    haystack = f"{fold(p.name)} {p.code.casefold()}"
    return all(word in haystack for word in fold(query).split())
