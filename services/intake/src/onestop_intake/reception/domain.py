"""The reception desk's domain: applicants, dossiers, their events and the rules for receiving them
(the desk's later actions are in `desk_actions`; procedures in `catalogue.domain`, units in
`units.domain`).

Plain Python: no grpc, nameko, mongoengine or minio here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from enum import IntEnum

from onestop_chassis import codes, identity
from onestop_chassis.errors import InvalidArgument, Violations
from onestop_chassis.text import name_key
from onestop_chassis.worktime import WorkingDuration

from ..catalogue.domain import Fee, Procedure
from ..units.domain import Unit
from . import postal_choice
from .masking import mask_name  # noqa: F401 (re-exported: the lookup's pages and answers read domain.mask_name)


class Channel(IntEnum):
    IN_PERSON = 1
    ONLINE = 2
    POSTAL = 3


class DossierStatus(IntEnum):
    NEW = 1
    RECEIVED = 2
    REFUSED = 3
    PROCESSING = 4
    SUPPLEMENT_REQUESTED = 5
    PAYMENT_REQUESTED = 6
    WITHDRAWAL_REQUESTED = 7
    STOPPED = 8
    FINISHED = 9
    RESULT_RETURNED = 10


STATUS_LABELS_VI = {
    DossierStatus.NEW: "Mới đăng ký",
    DossierStatus.RECEIVED: "Được tiếp nhận",
    DossierStatus.REFUSED: "Không được tiếp nhận",
    DossierStatus.PROCESSING: "Đang xử lý",
    DossierStatus.SUPPLEMENT_REQUESTED: "Yêu cầu bổ sung giấy tờ",
    DossierStatus.PAYMENT_REQUESTED: "Yêu cầu thực hiện nghĩa vụ tài chính",
    DossierStatus.WITHDRAWAL_REQUESTED: "Công dân yêu cầu rút hồ sơ",
    DossierStatus.STOPPED: "Dừng xử lý",
    DossierStatus.FINISHED: "Đã xử lý xong",
    DossierStatus.RESULT_RETURNED: "Đã trả kết quả",
}


class ApplicantKind(IntEnum):
    PERSON = 1
    ORGANISATION = 2


@dataclass(frozen=True)
class Address:
    line: str = ""
    commune: str = ""
    province: str = ""
    commune_code: str = ""  # the national administrative unit codes: a postal return needs them
    province_code: str = ""


@dataclass(frozen=True)
class Applicant:
    kind: int
    full_name: str
    # Deprecated input (onestop.common.v1.Applicant.citizen_id): read as the identity
    # PERSONAL_ID_NUMBER when `identity` is not given. A received dossier keeps only `identity`.
    citizen_id: str = ""
    organisation_name: str = ""
    tax_code: str = ""
    phone: str = ""
    email: str = ""
    address: Address = Address()
    # The identity paper shown: a person's own; an organisation's representative's (optional).
    identity: identity.IdentityDocument | None = None



@dataclass(frozen=True)
class SubmittedDocument:
    """A component handed in with a dossier, named as in the procedure's required documents."""
    name: str
    copy_kind: int = 1
    count: int = 1


@dataclass(frozen=True)
class Transition:
    """One line of the dossier's history: who moved it to which status, when and why."""
    at: dt.datetime
    status: DossierStatus
    actor: str
    note: str = ""
    event_id: str = ""  # the routing event this line records: a redelivery finds it here


@dataclass(frozen=True)
class CurrentStep:
    """A step of the process the dossier is at (routing's CaseStep): shown in short to the citizen."""
    step_code: str
    step_name: str  # Vietnamese
    unit_code: str
    unit_name: str
    due_at: dt.datetime | None = None


@dataclass(frozen=True)
class SupplementRequest:
    """What form 02 prints."""
    requested_at: dt.datetime
    reason: str
    documents_to_add: tuple[str, ...]
    requested_by: str


class Timeliness(IntEnum):
    """Trước hạn, đúng hạn, quá hạn: processing's end against the appointment."""
    EARLY = 1
    ON_TIME = 2
    LATE = 3


TIMELINESS_LABELS_VI = {Timeliness.EARLY: "Trước hạn", Timeliness.ON_TIME: "Đúng hạn", Timeliness.LATE: "Quá hạn"}


@dataclass(frozen=True)
class ProcessingResult:
    finished_at: dt.datetime
    summary: str
    timeliness: Timeliness
    recorded_by: str


class ReturnMethod(IntEnum):
    AT_DESK = 1
    BY_POST = 2
    ONLINE = 3


@dataclass(frozen=True)
class ResultReturn:
    returned_at: dt.datetime
    method: ReturnMethod
    returned_by: str
    receiver_name: str = ""
    # The identity paper the collector showed at the desk (normalised).
    receiver_identity: identity.IdentityDocument | None = None
    postal_tracking_number: str = ""
    note: str = ""


@dataclass
class Dossier:
    code: str
    request_id: str
    fingerprint: str
    procedure_code: str
    procedure_name: str
    applicant: Applicant
    channel: Channel
    status: DossierStatus
    receiving_unit: Unit
    received_at: dt.datetime
    appointment_at: dt.datetime | None
    legal_duration: WorkingDuration
    request_content: str = ""
    history: list[Transition] = field(default_factory=list)
    version: int = 1
    supplement_requested: bool = False
    # While waiting for a supplement: since when, and the status to return to.
    paused_at: dt.datetime | None = None
    status_before_pause: DossierStatus | None = None
    # Printed on the receipt; with the code it opens the public lookup (mã tra cứu).
    lookup_secret: str = ""
    documents: list[SubmittedDocument] = field(default_factory=list)
    fees: list[Fee] = field(default_factory=list)
    # Whether the procedure lets the result go back by post (copied at reception).
    postal_return_allowed: bool = False
    supplement_request: SupplementRequest | None = None
    refusal_reasons: tuple[str, ...] = ()
    result: ProcessingResult | None = None
    result_return: ResultReturn | None = None
    process_version: int = 0  # routing's case (see `routed`): 0 = no template, the desk records the result
    current_steps: tuple[CurrentStep, ...] = ()
    routing_at: dt.datetime | None = None  # when routing's last status or appointment change happened
    steps_at: dt.datetime | None = None  # when routing's last change of the steps happened
    process_code: str = ""  # the catalogue's quy trình code, for routing (DossierReceived); "" if none
    return_by_post: bool = False  # the applicant's choice (Decision 45/2016/QĐ-TTg art. 5): postal_choice
    postal_notice: str = ""  # what the lookup tells of the result's parcel (reception.postal); "" before
    field_code: str = ""  # the procedure's field (lĩnh vực) in the catalogue, copied at reception; "" before


@dataclass(frozen=True)
class SubmitDossier:
    """The command a desk officer, citizen portal or postal clerk sends."""
    request_id: str
    procedure_code: str
    applicant: Applicant
    channel: int
    receiving_unit_code: str = ""
    request_content: str = ""
    documents: tuple[SubmittedDocument, ...] = ()
    return_by_post: bool = False


# Domain events, turned into onestop.events.v1 messages by the adapters.
@dataclass(frozen=True)
class DossierReceived:
    dossier: Dossier


@dataclass(frozen=True)
class DossierSubmitted:
    dossier: Dossier


@dataclass(frozen=True)
class DossierSupplementRequested:
    dossier: Dossier
    reason: str
    documents_to_add: tuple[str, ...]
    routing_event_id: str = ""  # routing asked (CaseSupplementRequested); empty: the desk did


@dataclass(frozen=True)
class DossierSupplementReceived:
    dossier: Dossier


@dataclass(frozen=True)
class DossierRefused:
    dossier: Dossier
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class DossierWithdrawalRequested:
    dossier: Dossier
    reason: str


@dataclass(frozen=True)
class DossierFinished:
    dossier: Dossier


@dataclass(frozen=True)
class DossierResultReturned:
    dossier: Dossier


# Matched with fullmatch (a trailing newline is not accepted) and ASCII digits only.
TAX_CODE = re.compile(r"[0-9]{10}(-[0-9]{3})?")
PHONE = re.compile(r"(\+84|0)[0-9]{9,10}")
# A foreigner's own number: E.164 (ITU-T), "+", a country code other than 84, 15 digits at most.
INTERNATIONAL_PHONE = re.compile(r"\+(?!84)[1-9][0-9]{7,14}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+", re.ASCII)
PROCEDURE_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]*")
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

LIMITS = {"request_id": 128, "procedure_code": 64, "request_content": 2000, "full_name": 200,
          "organisation_name": 300, "email": 254, "line": 300, "commune": 120, "province": 120}


def normalise_phone(phone: str) -> str:
    return re.sub(r"[\s.()-]", "", phone)


def check_text(v: Violations, name: str, value: str, limit_key: str, required: bool = False) -> None:
    """Adds to `v` what is wrong with a text field: missing (when required), longer than
    LIMITS[limit_key] characters, or holding control characters."""
    if required and not value.strip():
        v.add(name, "is required")
    elif len(value) > LIMITS[limit_key]:
        v.add(name, f"is longer than {LIMITS[limit_key]} characters")
    elif CONTROL_CHARS.search(value):
        v.add(name, "contains control characters")


def validate_submission(cmd: SubmitDossier) -> None:
    """Raises InvalidArgument listing every problem of the command at once."""
    v = Violations()
    check_text(v, "request_id", cmd.request_id, "request_id")
    check_text(v, "procedure_code", cmd.procedure_code, "procedure_code", required=True)
    if cmd.procedure_code.strip() and not PROCEDURE_CODE.fullmatch(cmd.procedure_code) \
            and len(cmd.procedure_code) <= LIMITS["procedure_code"]:
        v.add("procedure_code", "may hold only letters, digits, '.', '_' and '-' (e.g. 1.000948)")
    if cmd.channel not in Channel.__members__.values():
        v.add("channel", f"must be 1 (in person), 2 (online) or 3 (postal), not {cmd.channel}")
    if cmd.receiving_unit_code and not codes.is_unit_code(cmd.receiving_unit_code):
        v.add("receiving_unit_code", "is not a national unit code like 000.00.21.H17")
    check_text(v, "request_content", cmd.request_content, "request_content")
    _validate_applicant(v, cmd.applicant, cmd.channel)
    v.raise_if_any()


def applicant_identity(a: Applicant, v: Violations | None = None) -> identity.IdentityDocument | None:
    """The applicant's identity paper, normalised: `identity`, or the deprecated `citizen_id`.
    Required for a person; violations name the field the caller used."""
    return identity.resolve(
        a.identity, a.citizen_id, field="applicant.identity_document", legacy_field="applicant.citizen_id",
        violations=v if v is not None else Violations(),
        required="is required for a person: the identity paper shown, e.g. {type: PERSONAL_ID_NUMBER, "
                 "number: 001203004567} or {type: PASSPORT, number: ..., issuing_country: FRA}"
        if a.kind == ApplicantKind.PERSON else "")


def _validate_applicant(v: Violations, a: Applicant, channel: int) -> None:
    if a.kind not in ApplicantKind.__members__.values():
        v.add("applicant.kind", "must be 1 (person) or 2 (organisation)")
    check_text(v, "applicant.full_name", a.full_name, "full_name", required=True)
    applicant_identity(a, v)
    if a.kind == ApplicantKind.ORGANISATION:
        check_text(v, "applicant.organisation_name", a.organisation_name, "organisation_name", required=True)
        if not TAX_CODE.fullmatch(a.tax_code):
            v.add("applicant.tax_code", "must be 10 digits, or 10 digits-3 digits for a branch")
    if a.phone and not (PHONE.fullmatch(normalise_phone(a.phone))
                        or INTERNATIONAL_PHONE.fullmatch(normalise_phone(a.phone))):
        v.add("applicant.phone", "must be a Vietnamese number such as 0912345678 or +84912345678, or another "
                                 "country's in international form such as +33612345678")
    if a.email and (len(a.email) > LIMITS["email"] or not EMAIL.fullmatch(a.email)):
        v.add("applicant.email", "is not an e-mail address")
    for part in ("line", "commune", "province"):
        check_text(v, f"applicant.address.{part}", getattr(a.address, part), part)
    if channel == Channel.POSTAL and not a.address.line.strip():
        v.add("applicant.address.line", "is required for postal dossiers (results go back by post)")
    postal_choice.check_address_codes(v, a.address)


def receive(cmd: SubmitDossier, *, request_id: str, code: str, lookup_secret: str, fingerprint: str,
            procedure: Procedure, unit: Unit, received_at: dt.datetime, appointment_at: dt.datetime, actor: str):
    """Creates the dossier. Desk and postal dossiers are received at once (status 2) with their
    appointment; online ones are registered (status 1) until the desk accepts them."""
    channel = Channel(cmd.channel)
    online = channel == Channel.ONLINE
    status = DossierStatus.NEW if online else DossierStatus.RECEIVED
    applicant = replace(cmd.applicant, citizen_id="", identity=applicant_identity(cmd.applicant))
    if applicant.phone:
        applicant = Applicant(**{**applicant.__dict__, "phone": normalise_phone(applicant.phone)})
    dossier = Dossier(
        code=code, request_id=request_id, fingerprint=fingerprint,
        procedure_code=procedure.code, procedure_name=procedure.name, applicant=applicant,
        # The dossier keeps the unit as it was at reception: code, name and parent only.
        channel=channel, status=status, receiving_unit=Unit(unit.code, unit.name, unit.parent_code),
        received_at=received_at,
        appointment_at=None if online else appointment_at, legal_duration=procedure.legal_duration,
        request_content=cmd.request_content, lookup_secret=lookup_secret,
        documents=list(cmd.documents), fees=list(procedure.fees),
        postal_return_allowed=procedure.postal_return_allowed, process_code=procedure.process_code,
        return_by_post=cmd.return_by_post, field_code=procedure.field_code,
        history=[Transition(at=received_at, status=status, actor=actor,
                            note=f"{'Đăng ký trực tuyến' if online else 'Tiếp nhận hồ sơ'} "
                                 f"({STATUS_LABELS_VI[status]})")],
    )
    event = DossierSubmitted(dossier) if online else DossierReceived(dossier)
    return dossier, [event]


def check_documents(cmd: SubmitDossier, procedure: Procedure) -> tuple[SubmittedDocument, ...]:
    """Every required component of the procedure must be handed in, each once, and nothing it does
    not list. Names are matched by `text.name_key` (however a keyboard, a phone or a PDF copy spelt
    them). Returns the documents named in the catalogue's own wording, to store and print.

    Raises InvalidArgument MISSING_DOCUMENTS (only required components are missing) or
    INVALID_FIELDS (a violation per unknown, repeated or miscounted document)."""
    listed = {name_key(r.name): r for r in procedure.required_documents}
    keys = [name_key(d.name) for d in cmd.documents]
    v = Violations()
    first: dict[str, int] = {}
    for i, (d, key) in enumerate(zip(cmd.documents, keys, strict=True)):
        if key not in listed:
            v.add(f"documents[{i}].name", f"{d.name!r} is not a component of procedure {procedure.code}")
        elif key in first:
            v.add(f"documents[{i}].name", f"{d.name!r} is documents[{first[key]}] again: "
                  "list each component once, with its count")
        first.setdefault(key, i)
        if d.count < 0 or d.count > 100:
            v.add(f"documents[{i}].count", "must be between 1 and 100")
    missing = [r.name for r in procedure.required_documents if r.required and name_key(r.name) not in first]
    if missing:
        v.add("documents", "missing: " + "; ".join(missing))
    if v.items:
        if missing and len(v.items) == 1:
            raise InvalidArgument("MISSING_DOCUMENTS", "the dossier lacks required components: " + "; ".join(missing),
                                  violations=v.items, metadata={"missing": "; ".join(missing)})
        v.raise_if_any()
    return tuple(replace(d, name=listed[key].name) for d, key in zip(cmd.documents, keys, strict=True))
