"""Invitations: issued once per returned dossier (intake's DossierResultReturned), read by the desk
(GetInvitation: link, QR code, SMS text) and opened by the citizen's token (no login)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from onestop_chassis import auth
from onestop_chassis.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound

from ..questionnaires.service import QuestionnaireService
from . import domain, qr


class InvitationStore(Protocol):
    def claim(self, dossier_code: str, invitation_id: str) -> str:
        """Inserts the dossier's claim (unique by dossier code) and returns the id that holds it:
        `invitation_id`, or the id of the invitation issued before for this dossier."""
        ...
    def add(self, item: domain.Invitation) -> None:
        """Stores the invitation; an invitation with its id stored already is left as it is."""
        ...
    def get(self, invitation_id: str) -> domain.Invitation | None: ...
    def by_token_hash(self, token_hash: str) -> domain.Invitation | None: ...
    def by_dossier(self, dossier_code: str) -> domain.Invitation | None: ...


@dataclass(frozen=True)
class DeskView:
    """What the desk prints or sends: the link with the token, its QR code (PNG) and the SMS."""
    invitation: domain.Invitation
    link: str
    qr_png: bytes
    sms_text: str


class InvitationService:
    def __init__(self, store: InvitationStore, questionnaires: QuestionnaireService, *, key: bytes,
                 base_url: str, expiry_days: int,
                 clock: Callable[[], dt.datetime] | None = None):
        self._store = store
        self._questionnaires = questionnaires
        self._key = key
        self._base_url = base_url
        self._expiry_days = expiry_days
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))

    def now(self) -> dt.datetime:
        return self._clock()

    def issue(self, event: domain.ResultReturned) -> tuple[domain.Invitation, bool]:
        """The dossier's one invitation: (it, True) when issued now, (the earlier one, False) on a
        redelivery or a second return event. The claim by dossier code is a unique insert, so two
        workers handling the same event at once issue one invitation."""
        candidate = domain.new_id()
        invitation_id = self._store.claim(event.dossier_code, candidate)
        earlier = self._store.get(invitation_id)
        if earlier is not None:
            return earlier, False
        # Only the claim's winner says "issued"; a loser that finds no invitation yet (the winner
        # is writing it, or died before) writes the same one: same id, same token, same content.
        # The unit's or its agency's choice (SetInvitationQuestionnaire), else INVITATION_QUESTIONNAIRE.
        questionnaire = self._questionnaires.for_invitations(event.agency_code, event.parent_agency_code)
        now = self._clock()
        token = domain.token_for(self._key, invitation_id)
        invitation = domain.Invitation(
            id=invitation_id, agency_code=event.agency_code, title=event.procedure_name, created_at=now,
            dossier_code=event.dossier_code, procedure_code=event.procedure_code,
            officers=tuple(dict.fromkeys(o for o in (event.received_by, event.returned_by) if o)),
            return_method=event.return_method, questionnaire_code=questionnaire.code,
            questionnaire_version=questionnaire.version, questionnaire_owner=questionnaire.agency_code,
            expires_at=domain.expiry(event.returned_at, now, self._expiry_days),
            token_hash=domain.token_hash(token), parent_agency_code=event.parent_agency_code,
            field_code=event.field_code)
        self._store.add(invitation)  # a crash before this: the redelivery finds the claim and writes it
        return invitation, invitation_id == candidate

    def get(self, invitation_id: str, actor: auth.Principal, dossier_code: str = "") -> DeskView:
        """The invitation `invitation_id` (32 hex characters), or else the one of `dossier_code`, with
        its link, QR code and SMS text. Raises InvalidArgument (INVALID_FIELDS) for a malformed id or
        neither or both given, NotFound (INVITATION_NOT_FOUND), PermissionDenied (OTHER_AGENCY) when
        it belongs to another agency than the actor's (platform accounts, role SERVICE, read every
        agency's)."""
        invitation_id, dossier_code = invitation_id.strip().lower(), dossier_code.strip()
        if bool(invitation_id) == bool(dossier_code):
            raise InvalidArgument.from_violations([FieldViolation("id", "give the id or the dossier_code, not both")])
        if invitation_id and not domain.ID.fullmatch(invitation_id):
            raise InvalidArgument.from_violations([FieldViolation("id", "is not an id (32 hexadecimal characters)")])
        item = self._store.get(invitation_id) if invitation_id else self._store.by_dossier(dossier_code)
        if item is None:
            raise NotFound("INVITATION_NOT_FOUND", f"no invitation for {invitation_id or dossier_code}",
                           metadata={"id": invitation_id, "dossier_code": dossier_code})
        actor.require_agency(item.agency_code, action="read this invitation")  # SERVICE reads all
        return self.desk_view(item)

    def desk_view(self, item: domain.Invitation) -> DeskView:
        url = domain.link(self._base_url, domain.token_for(self._key, item.id))
        return DeskView(item, url, qr.png(url), domain.sms_text(item, url))

    def open(self, token: str) -> domain.Invitation:
        """The invitation of `token`, not expired. Raises NotFound INVITATION_NOT_FOUND for a
        token that is malformed, forged or unknown (one answer for all: no oracle), and
        FailedPrecondition INVITATION_EXPIRED."""
        token = token.strip().lower()
        item = self._store.by_token_hash(domain.token_hash(token)) if domain.TOKEN.fullmatch(token) else None
        if item is None:
            raise NotFound("INVITATION_NOT_FOUND", "no invitation has this link; check the link in the SMS "
                           "or scan the QR code again")
        if item.expired(self._clock()):
            raise FailedPrecondition("INVITATION_EXPIRED", "this invitation has expired; it could be answered "
                                     f"until {item.expires_at:%Y-%m-%d %H:%M} UTC",
                                     metadata={"expires_at": item.expires_at.isoformat() if item.expires_at else ""})
        return item
