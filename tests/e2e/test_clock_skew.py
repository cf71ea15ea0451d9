"""End-to-end: tokens from a machine whose clock is ahead (issue 9, kind 3), against the real intake
api process with its default JWT_LEEWAY_SECONDS (30 s)."""

from __future__ import annotations

import time

import grpc
import pytest
from conftest import UNIT

from onestop.intake.v1 import intake_pb2 as pb
from onestop_chassis.auth import mint_token
from onestop_chassis.config import LOCAL_JWT_SECRET

from support import error_info


def _ahead(seconds: float) -> tuple:
    token = mint_token(LOCAL_JWT_SECRET, subject="e2e-officer", roles=["desk_officer"], agency=UNIT,
                       now=time.time() + seconds)
    return (("authorization", f"Bearer {token}"),)


def test_a_token_issued_2_s_ahead_is_accepted(intake):
    units = intake.ListUnits(pb.ListUnitsRequest(), metadata=_ahead(2))  # public, but the token is still checked
    assert units.units
    with pytest.raises(grpc.RpcError) as err:  # a desk call gets past authentication to the lookup
        intake.GetDossier(pb.GetDossierRequest(code=f"{UNIT}-991231-9999"), metadata=_ahead(2))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_token_issued_beyond_the_leeway_is_refused_as_not_yet_valid(intake):
    with pytest.raises(grpc.RpcError) as err:
        intake.GetDossier(pb.GetDossierRequest(code=f"{UNIT}-991231-9999"), metadata=_ahead(60))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    reason, metadata, _ = error_info(err.value)
    assert (reason, metadata["claim"], metadata["leeway_seconds"]) == ("TOKEN_NOT_YET_VALID", "iat", "30")
