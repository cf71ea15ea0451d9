"""End-to-end: production authentication (issue 14 item 5). The real intake processes check tokens
against the keys an identity provider publishes (JWT_JWKS_URL), served here by a local JWKS HTTP
server on 127.0.0.1 (tests/identity_provider.py), with its issuer and audience required."""

from __future__ import annotations

import grpc
import pytest
from conftest import ISSUED_SECRETS, UNIT, Platform, running
from identity_provider import LocalIdentityProvider

from onestop.intake.v1 import intake_pb2 as pb
from onestop.intake.v1 import intake_pb2_grpc
from onestop_chassis.auth import mint_token
from onestop_chassis.config import LOCAL_JWT_SECRET

from stack import AMQP_RELAY_TEST_URI
from support import error_info, submit_request


@pytest.fixture(scope="module")
def idp():
    with LocalIdentityProvider() as provider:
        provider.add_key("2026-11")
        yield provider


@pytest.fixture(scope="module")
def intake(local_stack, idp, tmp_path_factory):
    # intake alone, on the vhost of the intake-only platforms (no routing there to take its events)
    env = {"JWT_SECRET": "", "JWT_JWKS_URL": idp.jwks_url, "JWT_ISSUER": idp.issuer, "JWT_AUDIENCE": "onestop",
           "JWT_JWKS_COOLDOWN_SECONDS": "0", "OUTBOX_POLL_SECONDS": "0.1"}
    platform = Platform(log_dir=tmp_path_factory.mktemp("e2e-jwks"), services=("intake",), prefix="e2ejwks",
                        amqp_uri=AMQP_RELAY_TEST_URI, extra_env=env)
    with running(platform) as p, p.channel("intake") as channel:
        yield intake_pb2_grpc.IntakeServiceStub(channel)


def bearer(token: str) -> tuple:
    ISSUED_SECRETS.add(token)  # no log line may hold it (conftest)
    return (("authorization", f"Bearer {token}"),)


def refused(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code(), error_info(err.value)[0]


def test_a_token_from_the_identity_provider_is_accepted(intake, idp):
    officer = bearer(idp.token("2026-11", subject="idp-officer", roles=["desk_officer"], agency=UNIT))
    code = intake.SubmitDossier(submit_request(), metadata=officer).dossier.code
    assert intake.GetDossier(pb.GetDossierRequest(code=code), metadata=officer).dossier.code == code


def test_a_token_for_another_audience_is_refused(intake, idp):
    token = idp.token("2026-11", audience="another-platform")
    assert refused(lambda: intake.GetDossier(pb.GetDossierRequest(code=f"{UNIT}-991231-9999"),
                                             metadata=bearer(token))) == \
        (grpc.StatusCode.UNAUTHENTICATED, "WRONG_AUDIENCE")


def test_a_token_signed_by_an_unknown_key_is_refused(intake, idp):
    idp.add_key("stolen-laptop", publish=False)
    token = idp.token("stolen-laptop")
    assert refused(lambda: intake.SubmitDossier(submit_request(), metadata=bearer(token))) == \
        (grpc.StatusCode.UNAUTHENTICATED, "UNKNOWN_KEY")


def test_a_token_from_another_issuer_or_too_long_lived_is_refused(intake, idp):
    lookup = pb.GetDossierRequest(code=f"{UNIT}-991231-9999")
    other = idp.token("2026-11", issuer="https://idp.other-agency.example/")
    assert refused(lambda: intake.GetDossier(lookup, metadata=bearer(other))) == \
        (grpc.StatusCode.UNAUTHENTICATED, "WRONG_ISSUER")
    century = idp.token("2026-11", ttl=100 * 365 * 24 * 3600)
    assert refused(lambda: intake.GetDossier(lookup, metadata=bearer(century))) == \
        (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_TOO_LONG_LIVED")


def test_the_local_shared_secret_is_no_key_here(intake):
    local = mint_token(LOCAL_JWT_SECRET, subject="forger", roles=["agency_admin"], agency=UNIT)
    assert refused(lambda: intake.GetDossier(pb.GetDossierRequest(code=f"{UNIT}-991231-9999"),
                                             metadata=bearer(local))) == \
        (grpc.StatusCode.UNAUTHENTICATED, "TOKEN_INVALID")


def test_a_rotated_key_is_picked_up_without_a_restart(intake, idp):
    idp.add_key("2026-12")
    officer = bearer(idp.token("2026-12", subject="after-rotation", roles=["desk_officer"], agency=UNIT))
    code = intake.SubmitDossier(submit_request(), metadata=officer).dossier.code
    assert code.startswith(UNIT)
