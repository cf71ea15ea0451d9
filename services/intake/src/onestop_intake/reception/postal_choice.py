"""The applicant's choice of postal return (Decision 45/2016/QĐ-TTg art. 5: send the dossier,
receive the result, or both by the public postal service), checked at submission: the procedure must
allow it and the address must be one a carrier can take (its line and the national administrative
unit codes of its commune and province). Delivery books the parcel when the result is ready."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from onestop_chassis.errors import FailedPrecondition, Violations

if TYPE_CHECKING:
    from ..catalogue.domain import Procedure
    from .domain import Address, SubmitDossier

UNIT_NUMBER = re.compile(r"[0-9]{2,6}")  # a national administrative unit code (mã tỉnh, mã xã), ASCII digits


def check_address_codes(v: Violations, address: Address) -> None:
    """Unit codes, when given, are 2 to 6 digits."""
    for part in ("commune_code", "province_code"):
        value = getattr(address, part)
        if value and not UNIT_NUMBER.fullmatch(value):
            v.add(f"applicant.address.{part}", "must be the administrative unit's code: 2 to 6 digits")


def check_postal_return(cmd: SubmitDossier, procedure: Procedure) -> None:
    """Raises FailedPrecondition POSTAL_RETURN_NOT_ALLOWED for a procedure that excludes postal return,
    InvalidArgument naming each missing part of the address (line, commune_code, province_code)."""
    if not cmd.return_by_post:
        return
    if not procedure.postal_return_allowed:
        raise FailedPrecondition("POSTAL_RETURN_NOT_ALLOWED", f"procedure {procedure.code} excludes returning the "
                                 "result by post: the applicant collects it at the desk",
                                 metadata={"procedure_code": procedure.code})
    v = Violations()
    for part in ("line", "commune_code", "province_code"):
        if not getattr(cmd.applicant.address, part).strip():
            v.add(f"applicant.address.{part}", "is required to return the result by post")
    v.raise_if_any()
