"""Survey's use cases over the InvitationRepository port."""

from __future__ import annotations

from typing import Protocol

from onestop_chassis import auth
from onestop_chassis.errors import FieldViolation, InvalidArgument, NotFound

from . import domain


class InvitationRepository(Protocol):
    def add(self, item: domain.Invitation) -> None: ...
    def get(self, item_id: str) -> domain.Invitation | None: ...


class SurveyService:
    def __init__(self, invitations: InvitationRepository):
        self._invitations = invitations

    def get_invitation(self, item_id: str, actor: auth.Principal) -> domain.Invitation:
        """The invitation `item_id` (32 hex characters). Raises InvalidArgument (INVALID_FIELDS) for a
        malformed id, NotFound (INVITATION_NOT_FOUND), PermissionDenied (OTHER_AGENCY) when it
        belongs to another agency than the actor's (platform accounts, role SERVICE, read every agency's)."""
        item_id = item_id.strip().lower()
        if not domain.ID.fullmatch(item_id):
            raise InvalidArgument.from_violations([FieldViolation("id", "is not an id (32 hexadecimal characters)")])
        item = self._invitations.get(item_id)
        if item is None:
            raise NotFound("INVITATION_NOT_FOUND", f"no invitation has the id {item_id}",
                           metadata={"id": item_id})
        actor.require_agency(item.agency_code, action="read this invitation")  # SERVICE reads all
        return item
