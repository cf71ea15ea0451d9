"""Documents use cases over three ports: the metadata repository, the object store and the peer
agencies' documents services."""

from __future__ import annotations

import builtins
import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol

from onestop_chassis import auth, codes, request_ids
from onestop_chassis.clock import utcnow
from onestop_chassis.errors import (
    Cancelled,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from onestop_chassis.text import name_key

from . import domain
from .domain import Document, Kind, State, UploadRequest
from .handover import Access, Grants, NoGrants, holds
from .incoming import IncomingFile


class VersionTaken(Exception):
    """Another upload got this version number first: try the next one. `documents`: the dossier's
    documents, as read to find that out."""

    def __init__(self, documents: list[Document]):
        super().__init__(len(documents))
        self.documents = documents


class DuplicateRequest(Exception):
    """A document with this request_id is already stored (a concurrent retry): `document`."""

    def __init__(self, document: Document):
        super().__init__(document.request_id)
        self.document = document


class DocumentRepository(Protocol):
    def get(self, document_id: str) -> Document | None: ...
    def by_request_id(self, agency_code: str, request_id: str) -> Document | None: ...
    def for_dossier(self, agency_code: str, dossier_code: str) -> list[Document]: ...
    # One unique insert: True when no record of this dossier has ever had these bytes (then there is
    # nothing to deduplicate). False when they may be there: read the dossier to know.
    def claim_content(self, agency_code: str, dossier_code: str, sha256: str) -> bool: ...
    # One write: the new version and its events. Raises DuplicateRequest with the document that has
    # this request_id, or VersionTaken with the dossier's documents.
    def add(self, document: Document, events: list) -> None: ...
    def save(self, document: Document) -> None: ...
    # A transfer or retention record with its events, in one write.
    def record(self, kind: str, fields: dict, events: list) -> None: ...


class ObjectStore(Protocol):
    def ensure_bucket(self, bucket: str) -> None: ...
    def put(self, bucket: str, key: str, stream: IncomingFile) -> str: ...  # returns the object version
    def remove(self, bucket: str, key: str, version: str) -> bool: ...
    def open(self, bucket: str, key: str, version: str) -> Iterator[bytes]: ...
    def presign(self, bucket: str, key: str, version: str, ttl: dt.timedelta) -> str: ...
    def retain(self, bucket: str, key: str, version: str, retention: domain.Retention) -> None: ...
    def legal_hold(self, bucket: str, key: str, version: str, on: bool) -> None: ...


@dataclass(frozen=True)
class PeerReceipt:
    document_id: str
    sha256: str
    replayed: bool


class Peers(Protocol):
    def knows(self, agency_code: str) -> bool: ...
    def upload(self, agency_code: str, request: UploadRequest, chunks: Iterator[bytes]) -> PeerReceipt: ...


@dataclass(frozen=True)
class Uploaded:
    document: Document
    deduplicated: bool = False
    replayed: bool = False


@dataclass(frozen=True)
class Policy:
    max_upload_bytes: int = 50 * 1024 * 1024
    retention_mode: domain.RetentionMode = domain.RetentionMode.GOVERNANCE
    retention_days: int = 3650
    max_link_seconds: int = 900
    bucket_prefix: str = "onestop"  # the instance's (ServiceSettings.resource_prefix)


MAX_VERSION_ATTEMPTS = 50


def _agency_code(requested: str, actor: auth.Principal) -> str:
    """The agency that keeps the files: as requested, else the caller's (token `agency`)."""
    agency = codes.normalise_code(requested) or actor.agency
    if not agency:
        raise InvalidArgument.from_violations([FieldViolation(
            "agency_code", "is required when the caller's token names no agency")])
    if not codes.is_unit_code(agency):
        raise InvalidArgument.from_violations([FieldViolation("agency_code", "is not a national unit code")])
    return agency


def _agency(requested: str, actor: auth.Principal, action: str) -> str:
    agency = _agency_code(requested, actor)
    actor.require_agency(agency, action=action)
    return agency


def _dossier(code: str) -> str:
    return codes.dossier_code_argument(code)  # as typed: any case, spaces around the dashes


def _next_version(stored: list[Document], new: Document) -> int:
    return 1 + max((d.version for d in stored if _same_component(d, new)), default=0)


def _same_component(a: Document, b: Document) -> bool:
    """A component is identified by its kind and its name's key: "Giấy đề nghị" sent precomposed,
    decomposed or with the other tone-mark placement is one component."""
    return a.kind == b.kind and a.component_key == b.component_key


class DocumentsService:
    def __init__(self, documents: DocumentRepository, store: ObjectStore, peers: Peers,
                 policy: Policy = Policy(), clock: Callable[[], dt.datetime] = utcnow,
                 grants: Grants | None = None):
        self._documents = documents
        self._access = Access(grants if grants is not None else NoGrants())
        self._store = store
        self._peers = peers
        self._policy = policy
        self._clock = clock

    # -- upload -------------------------------------------------------------------------------
    def upload(self, req: UploadRequest, chunks: Iterable[bytes], actor: auth.Principal,
               connected: Callable[[], bool] = lambda: True) -> Uploaded:
        """`connected` tells whether the client is still there: a cancelled stream can look like a
        normal end of file, and its partial bytes must never be registered as the document."""
        req = domain.normalised(req)
        domain.validate_upload(req)
        agency = _agency_code(req.agency_code, actor)
        self._access.require(agency, req.dossier_code, actor, "store documents", handed=True)
        if req.kind != Kind.RESULT and not holds(agency, actor):
            raise PermissionDenied("OTHER_AGENCY", f"{actor.subject} acts for agency {actor.agency}, which dossier "
                                   f"{req.dossier_code} was handed to: it files the results of its step (kind 2) "
                                   f"only; components and forms are kept by agency {agency}",
                                   metadata={"caller_agency": actor.agency, "unit_code": agency})
        incoming = IncomingFile(chunks, self._policy.max_upload_bytes)
        if req.request_id and req.sha256:
            # A retry that vouches for its bytes (a resumed transfer) is answered without reading them.
            # Other retries are caught by the unique request_id at insert, after the bytes are hashed.
            earlier = self._documents.by_request_id(agency, req.request_id)
            if earlier is not None:
                return self._replay(earlier, req, incoming, actor)
        content_type = domain.sniff(incoming.head(), req.file_name)
        bucket = domain.bucket_for(agency, self._policy.bucket_prefix)
        self._store.ensure_bucket(bucket)
        key = f"{req.dossier_code}/{uuid.uuid4()}"
        version = self._store.put(bucket, key, incoming)  # nothing is registered until this succeeded
        keep = False
        try:
            if not connected():
                raise Cancelled("CLIENT_CANCELLED", "the client went away before the upload finished; nothing kept")
            if req.sha256 and req.sha256 != incoming.sha256:
                raise InvalidArgument("CHECKSUM_MISMATCH",
                                      f"the bytes received have SHA-256 {incoming.sha256}, not {req.sha256}",
                                      metadata={"received_sha256": incoming.sha256})
            stored = Document(
                document_id=str(uuid.uuid4()), request_id=req.request_id or f"auto-{uuid.uuid4()}",
                dossier_code=req.dossier_code, agency_code=agency, kind=Kind(req.kind),
                component=req.component, version=0, file_name=req.file_name,
                content_type=content_type, size_bytes=incoming.size, sha256=incoming.sha256,
                bucket=bucket, object_key=key, object_version=version, stored_at=self._clock(),
                uploaded_by=actor.subject)
            result = self._register(stored, req, incoming, actor)
            keep = result.document.object_key == key and not result.replayed
            return result
        finally:
            if not keep:
                self._store.remove(bucket, key, version)  # the sweep removes what a crash leaves

    def _register(self, new: Document, req: UploadRequest, incoming: IncomingFile,
                  actor: auth.Principal) -> Uploaded:
        """Deduplicates, numbers the version and writes the record. The dossier is read only when it
        can matter: when these bytes may already be in it (their content claim exists), or when the
        component already has versions (the insert of version 1 fails, and the repository reads the
        dossier to tell why). A first upload of new bytes costs no read at all, which counts on
        FerretDB, where every query other than by `_id` scans the whole collection."""
        same_bytes: list[Document] = []
        stored: list[Document] | None = None
        if not self._documents.claim_content(new.agency_code, new.dossier_code, new.sha256):
            stored = self._documents.for_dossier(new.agency_code, new.dossier_code)
            same_bytes = [d for d in stored if d.state == State.ACTIVE and d.sha256 == new.sha256]
            for d in same_bytes:
                if _same_component(d, new):  # the same file again: nothing new to keep
                    if d.request_id == new.request_id:
                        request_ids.check_replay_owner(d.uploaded_by, actor.subject, d.request_id, "file")
                        return Uploaded(d, replayed=True)
                    return Uploaded(d, deduplicated=True)
            if same_bytes:  # the same bytes answer another component: point at the stored object
                first = same_bytes[0]
                new = replace(new, bucket=first.bucket, object_key=first.object_key,
                              object_version=first.object_version)
        version = 1 if stored is None else _next_version(stored, new)
        for _ in range(MAX_VERSION_ATTEMPTS):
            # A component already stored keeps the name it was first stored under.
            new = replace(new, component=next((d.component for d in sorted(stored or [], key=lambda d: d.version)
                                               if _same_component(d, new)), new.component))
            candidate = replace(new, version=version)
            try:
                self._documents.add(candidate, [domain.DocumentStored(candidate)])
            except VersionTaken as taken:  # the component has versions already, or a concurrent one came first
                stored = taken.documents
                version = max(version + 1, _next_version(stored, new))
                continue
            except DuplicateRequest as taken:
                return self._replay(taken.document, req, incoming, actor)
            return Uploaded(candidate, deduplicated=bool(same_bytes))
        raise Unavailable("VERSION_ALLOCATION_BUSY", "too many simultaneous uploads of this component; retry")

    def _replay(self, earlier: Document, req: UploadRequest, incoming: IncomingFile,
                actor: auth.Principal) -> Uploaded:
        """The earlier document, for the same uploader (token `sub`) with the same target and bytes
        only; anything else is REQUEST_ID_REUSED."""
        same_target = (earlier.dossier_code, earlier.kind, earlier.component_key) == \
            (req.dossier_code, req.kind, name_key(req.component))
        if same_target and req.sha256 and req.sha256 == earlier.sha256:
            request_ids.check_replay_owner(earlier.uploaded_by, actor.subject, req.request_id, "file")
            return Uploaded(earlier, replayed=True)  # the caller vouches for the bytes: no need to read them
        incoming.drain()  # nothing left to read when the bytes were already stored
        if same_target and incoming.sha256 == earlier.sha256:
            request_ids.check_replay_owner(earlier.uploaded_by, actor.subject, req.request_id, "file")
            return Uploaded(earlier, replayed=True)
        raise request_ids.reused(req.request_id, "file")

    # -- liên thông -------------------------------------------------------------------------------
    def hand_over(self, dossier_code: str, agency_codes: Iterable[str], fields: dict) -> builtins.list[str]:
        """`handover.Access.hand_over`: routing handed the dossier's case to these agencies."""
        return self._access.hand_over(dossier_code, agency_codes, fields)

    # -- reading --------------------------------------------------------------------------------
    def _readable(self, document_id: str, actor: auth.Principal, action: str, handed: bool = False) -> Document:
        """The document, if the caller may `action` on it (`handed`: a grant is enough)."""
        document = self._documents.get(document_id)
        if document is None:
            raise NotFound("DOCUMENT_NOT_FOUND", f"no document has id {document_id!r}",
                           metadata={"document_id": document_id})
        self._access.require(document.agency_code, document.dossier_code, actor, action, handed)
        return document

    def download(self, document_id: str, actor: auth.Principal) -> tuple[Document, Iterator[bytes]]:
        document = self._readable(document_id, actor, "read this document", handed=True)
        return document, self._store.open(document.bucket, document.object_key, document.object_version)

    def download_link(self, document_id: str, ttl_seconds: int, actor: auth.Principal) -> tuple[str, dt.datetime]:
        ttl = ttl_seconds or 300
        if not 1 <= ttl <= self._policy.max_link_seconds:
            raise InvalidArgument.from_violations([FieldViolation(
                "ttl_seconds", f"must be between 1 and {self._policy.max_link_seconds} seconds")])
        document = self._readable(document_id, actor, "read this document", handed=True)
        url = self._store.presign(document.bucket, document.object_key, document.object_version,
                                  dt.timedelta(seconds=ttl))
        return url, self._clock() + dt.timedelta(seconds=ttl)

    def list(self, dossier_code: str, agency_code: str, actor: auth.Principal,
             include_withdrawn: bool = False) -> list[Document]:
        agency, dossier = _agency_code(agency_code, actor), _dossier(dossier_code)
        self._access.require(agency, dossier, actor, "read documents", handed=True)
        documents = self._documents.for_dossier(agency, dossier)
        documents = [d for d in documents if include_withdrawn or d.state == State.ACTIVE]
        return sorted(documents, key=lambda d: (d.kind, d.component, -d.version))

    def digitisation(self, dossier_code: str, agency_code: str, actor: auth.Principal) -> dict[str, int]:
        documents = self.list(dossier_code, agency_code, actor)
        return {"components": sum(d.kind == Kind.COMPONENT for d in documents),
                "results": sum(d.kind == Kind.RESULT for d in documents)}

    # -- changes ----------------------------------------------------------------------------------
    def withdraw(self, document_id: str, reason: str, actor: auth.Principal) -> Document:
        if not reason.strip():
            raise InvalidArgument.from_violations([FieldViolation("reason", "is required")])
        document = self._readable(document_id, actor, "withdraw this document")
        if document.retention is not None or document.legal_hold:
            raise FailedPrecondition("DOCUMENT_RETAINED",
                                     "the document is under retention or legal hold and cannot be withdrawn")
        if document.state == State.WITHDRAWN:
            return document
        document.state, document.withdrawn_reason = State.WITHDRAWN, reason.strip()
        document.history.append({"at": self._clock(), "action": "withdrawn", "by": actor.subject, "reason": reason})
        self._documents.save(document)
        return document

    # `builtins.list` below: in this class `list` is the method above.
    def apply_retention(self, dossier_code: str, agency_code: str, actor: auth.Principal) -> builtins.list[Document]:
        agency = _agency(agency_code, actor, "apply retention")
        documents = self._documents.for_dossier(agency, _dossier(dossier_code))
        retention = domain.Retention(self._policy.retention_mode,
                                     self._clock() + dt.timedelta(days=self._policy.retention_days))
        done: set[tuple[str, str, str]] = set()
        changed = []
        for document in documents:
            if document.retention is not None:
                continue
            obj = (document.bucket, document.object_key, document.object_version)
            if obj not in done:
                self._store.retain(*obj, retention)
                done.add(obj)
            document.retention = retention
            document.history.append({"at": self._clock(), "action": "retained", "by": actor.subject})
            self._documents.save(document)
            changed.append(document)
        if changed:
            self._documents.record("retentions", {"dossier_code": dossier_code, "agency_code": agency,
                                                  "at": self._clock()},
                                   [domain.RetentionApplied(dossier_code, agency, retention,
                                                            [d.document_id for d in changed])])
        return documents

    def legal_hold(self, document_id: str, on: bool, actor: auth.Principal) -> Document:
        document = self._readable(document_id, actor, "set a legal hold")
        self._store.legal_hold(document.bucket, document.object_key, document.object_version, on)
        document.legal_hold = on
        document.history.append({"at": self._clock(), "action": "legal hold " + ("on" if on else "off"),
                                 "by": actor.subject})
        self._documents.save(document)
        return document

    def transfer(self, dossier_code: str, source_agency: str, target_agency: str,
                 actor: auth.Principal) -> tuple[builtins.list[PeerReceipt], int]:
        source = _agency(source_agency, actor, "transfer documents")
        target_agency = codes.normalise_code(target_agency)
        if not codes.is_unit_code(target_agency) or target_agency == source:
            raise InvalidArgument.from_violations([FieldViolation(
                "target_agency_code", "must be the national unit code of another agency")])
        if not self._peers.knows(target_agency):
            raise NotFound("PEER_NOT_CONFIGURED", f"no documents service is configured for agency {target_agency}",
                           metadata={"target_agency_code": target_agency})
        documents = [d for d in self._documents.for_dossier(source, _dossier(dossier_code)) if d.state == State.ACTIVE]
        receipts = []
        for d in documents:
            request = UploadRequest(request_id=f"transfer-{d.document_id}", dossier_code=d.dossier_code,
                                    kind=int(d.kind), component=d.component, file_name=d.file_name,
                                    sha256=d.sha256, agency_code=target_agency)
            receipt = self._peers.upload(target_agency, request,
                                         self._store.open(d.bucket, d.object_key, d.object_version))
            if receipt.sha256 != d.sha256:  # the target verified it too; this guards the reply
                raise Unavailable("TRANSFER_CHECKSUM_MISMATCH",
                                  f"agency {target_agency} holds different bytes for document {d.document_id}")
            receipts.append(receipt)
        sent_now = sum(not r.replayed for r in receipts)
        if sent_now:
            self._documents.record("transfers", {"dossier_code": dossier_code, "source": source,
                                                 "target": target_agency, "at": self._clock(),
                                                 "document_ids": [r.document_id for r in receipts]},
                                   [domain.DocumentsTransferred(dossier_code, source, target_agency,
                                                                [d.document_id for d in documents])])
        return receipts, sent_now
