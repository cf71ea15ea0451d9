"""Clock skew between the token's issuer and the verifying server (issue 9, kind 3): the verifier
allows JWT_LEEWAY_SECONDS on iat, nbf and exp (RFC 7519 §4.1.4-4.1.6), and no more.

Each claim is tested a few seconds inside and outside the leeway. The margin (5 s) is what the
test itself may take between minting and verifying; nothing here measures speed."""

import socket
import time

import grpc
import jwt
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from onestop.routing.v1 import routing_pb2, routing_pb2_grpc
from onestop_chassis import auth
from onestop_chassis.config import ConfigError, ServiceSettings, load_settings
from onestop_chassis.errors import Unauthenticated
from onestop_chassis.grpc_server import GrpcServer

from fakes import only_get_case

SECRET = "unit-test-secret-of-at-least-32-bytes"
LEEWAY = 30
MARGIN = 5


def _verifier(leeway=LEEWAY):
    return auth.TokenVerifier(secret=SECRET, leeway=leeway)


def _token(**claims) -> str:
    now = time.time()
    body = {"sub": "officer-1", "roles": [auth.DESK_OFFICER], "aud": "onestop", "iat": int(now),
            "exp": int(now) + 3600}
    body.update({k: int(now + v) for k, v in claims.items()})  # offsets from now, in seconds
    return jwt.encode(body, SECRET, algorithm="HS256")


def _refused(verifier, token) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as info:
        verifier.verify(token)
    return info.value


def test_the_issue_example_a_token_from_a_machine_2_s_ahead_is_accepted():
    # mint_token's `now` plays the issuing machine's clock, 2 s ahead of this one.
    token = auth.mint_token(SECRET, subject="officer-1", roles=[auth.DESK_OFFICER], now=time.time() + 2)
    verifier = auth.TokenVerifier.from_settings(load_settings(ServiceSettings, jwt_secret=SECRET))
    assert verifier.verify(token).subject == "officer-1"


def test_without_leeway_the_same_token_is_refused_as_not_yet_valid():
    token = auth.mint_token(SECRET, subject="officer-1", roles=[], now=time.time() + 2)
    err = _refused(_verifier(leeway=0), token)
    assert (err.reason, err.metadata["claim"]) == ("TOKEN_NOT_YET_VALID", "iat")


def test_iat_within_the_leeway_is_accepted():
    assert _verifier().verify(_token(iat=LEEWAY - MARGIN)).subject == "officer-1"


def test_iat_beyond_the_leeway_is_refused_naming_the_claim_and_the_leeway():
    err = _refused(_verifier(), _token(iat=LEEWAY + MARGIN))
    assert err.reason == "TOKEN_NOT_YET_VALID"
    assert err.metadata == {"claim": "iat", "leeway_seconds": "30"}
    assert "iat is more than 30 s ahead" in err.message and "clock" in err.message


def test_nbf_within_the_leeway_is_accepted():
    assert _verifier().verify(_token(nbf=LEEWAY - MARGIN)).subject == "officer-1"


def test_nbf_beyond_the_leeway_is_refused():
    err = _refused(_verifier(), _token(nbf=LEEWAY + MARGIN))
    assert (err.reason, err.metadata["claim"]) == ("TOKEN_NOT_YET_VALID", "nbf")


def test_exp_passed_by_less_than_the_leeway_is_accepted():
    assert _verifier().verify(_token(iat=-600, exp=-(LEEWAY - MARGIN))).subject == "officer-1"


def test_exp_passed_by_more_than_the_leeway_is_refused_as_expired():
    err = _refused(_verifier(), _token(iat=-600, exp=-(LEEWAY + MARGIN)))
    assert err.reason == "TOKEN_EXPIRED"


def test_a_configured_leeway_is_used(monkeypatch):
    monkeypatch.setenv("JWT_LEEWAY_SECONDS", "120")
    settings = load_settings(ServiceSettings, jwt_secret=SECRET)
    assert settings.jwt_leeway_seconds == 120
    verifier = auth.TokenVerifier.from_settings(settings)
    assert verifier.verify(_token(iat=100)).subject == "officer-1"  # 30 s would refuse it
    assert _refused(verifier, _token(iat=120 + MARGIN)).reason == "TOKEN_NOT_YET_VALID"


def test_the_default_leeway_is_30_seconds():
    assert load_settings(ServiceSettings).jwt_leeway_seconds == 30 == auth.DEFAULT_LEEWAY_SECONDS


@pytest.mark.parametrize("value", ["-1", "301", "abc"])
def test_a_bad_leeway_setting_stops_the_process_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("JWT_LEEWAY_SECONDS", value)
    with pytest.raises(ConfigError) as info:
        load_settings(ServiceSettings)
    assert "JWT_LEEWAY_SECONDS" in info.value.message
    assert info.value.code == 2


def test_the_verifier_refuses_a_leeway_out_of_range():
    with pytest.raises(ValueError, match="between 0 and 300"):
        auth.TokenVerifier(secret=SECRET, leeway=301)


# -- through the chassis gRPC server: the caller sees UNAUTHENTICATED with the reason -------------

@only_get_case
class _Routing(routing_pb2_grpc.RoutingServiceServicer):
    @auth.requires(auth.DESK_OFFICER)
    def GetCase(self, request, context):
        return routing_pb2.GetCaseResponse(case=routing_pb2.Case(dossier_code=request.dossier_code))


@pytest.fixture(scope="module")
def stub():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = load_settings(ServiceSettings, service_name="routing", grpc_port=port, jwt_secret=SECRET)
    server = GrpcServer(settings)
    server.add_servicer(routing_pb2_grpc.add_RoutingServiceServicer_to_server, _Routing(),
                        routing_pb2.DESCRIPTOR.services_by_name["RoutingService"])
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            yield routing_pb2_grpc.RoutingServiceStub(channel)
    finally:
        server.stop(grace=0)


def _call(stub, token):
    return stub.GetCase(routing_pb2.GetCaseRequest(dossier_code="x"),
                        metadata=(("authorization", f"Bearer {token}"),), timeout=10)


def test_grpc_call_with_a_token_2_s_ahead_succeeds(stub):
    token = auth.mint_token(SECRET, subject="officer-1", roles=[auth.DESK_OFFICER], now=time.time() + 2)
    assert _call(stub, token).case.dossier_code == "x"


def test_grpc_call_with_a_token_from_the_future_gets_unauthenticated_not_yet_valid(stub):
    token = auth.mint_token(SECRET, subject="officer-1", roles=[auth.DESK_OFFICER],
                            now=time.time() + LEEWAY + MARGIN)
    with pytest.raises(grpc.RpcError) as info:
        _call(stub, token)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    status = rpc_status.from_call(info.value)
    infos = []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            found = error_details_pb2.ErrorInfo()
            detail.Unpack(found)
            infos.append(found)
    assert [(i.reason, i.metadata["claim"]) for i in infos] == [("TOKEN_NOT_YET_VALID", "iat")]
