import pytest

from onestop_chassis import auth
from onestop_chassis.errors import PermissionDenied, Unauthenticated

SECRET = "unit-test-secret-of-at-least-32-bytes"
UNIT = "000.00.21.H17"
OTHER_UNIT = "000.00.22.H17"


@pytest.fixture
def verifier():
    return auth.TokenVerifier(secret=SECRET)


def _reason(exc_info):
    return exc_info.value.reason


def test_minted_token_round_trips(verifier):
    token = auth.mint_token(SECRET, subject="officer-1", roles=[auth.DESK_OFFICER, auth.AGENCY_ADMIN], agency=UNIT)
    principal = verifier.verify(token)
    assert principal == auth.Principal("officer-1", frozenset({auth.DESK_OFFICER, auth.AGENCY_ADMIN}), UNIT)


def test_bearer_header_is_parsed(verifier):
    token = auth.mint_token(SECRET, subject="citizen-7", roles=[auth.CITIZEN])
    principal = verifier.principal_from_header(f"Bearer {token}")
    assert principal.subject == "citizen-7"
    assert principal.roles == {auth.CITIZEN}
    assert principal.agency == ""


def test_expired_token(verifier):
    # Expired 10 s beyond the clock-skew leeway (expired within it is accepted: test_chassis_jwt_leeway).
    token = auth.mint_token(SECRET, subject="s", roles=[], ttl_seconds=-(auth.DEFAULT_LEEWAY_SECONDS + 10))
    with pytest.raises(Unauthenticated) as info:
        verifier.verify(token)
    assert _reason(info) == "TOKEN_EXPIRED"


def test_token_signed_with_another_secret(verifier):
    token = auth.mint_token("some-other-secret-of-at-least-32-bytes", subject="s", roles=[])
    with pytest.raises(Unauthenticated) as info:
        verifier.verify(token)
    assert _reason(info) == "TOKEN_INVALID"


def test_token_for_another_audience(verifier):
    token = auth.mint_token(SECRET, subject="s", roles=[], audience="another-platform")
    with pytest.raises(Unauthenticated) as info:
        verifier.verify(token)
    assert _reason(info) == "WRONG_AUDIENCE"


@pytest.mark.parametrize("header", ["Token abc.def.ghi", "abc.def.ghi", "Bearer ", "Basic dXNlcjpwdw=="])
def test_header_that_is_not_a_bearer_token(verifier, header):
    with pytest.raises(Unauthenticated) as info:
        verifier.principal_from_header(header)
    assert _reason(info) == "TOKEN_MALFORMED"


@pytest.mark.parametrize("header", [None, ""])
def test_missing_header_means_anonymous(verifier, header):
    assert verifier.principal_from_header(header) is None


def test_public_policy_admits_anonymous_callers():
    auth.PUBLIC.check(None, "/x/Y")  # no exception


def test_authenticated_policy_refuses_anonymous_callers():
    with pytest.raises(Unauthenticated) as info:
        auth.AUTHENTICATED.check(None, "/x/Y")
    assert _reason(info) == "TOKEN_MISSING"


def test_role_policy():
    policy = auth.Policy(roles=frozenset({auth.DESK_OFFICER}))
    policy.check(auth.Principal("o", frozenset({auth.DESK_OFFICER})), "/x/Y")
    with pytest.raises(PermissionDenied) as info:
        policy.check(auth.Principal("c", frozenset({auth.CITIZEN})), "/x/Y")
    assert _reason(info) == "ROLE_REQUIRED"
    with pytest.raises(Unauthenticated):
        policy.check(None, "/x/Y")


def test_decorators_attach_policies():
    @auth.requires(auth.DESK_OFFICER, auth.SERVICE)
    def guarded(self, request, context): ...

    @auth.public
    def open_method(self, request, context): ...

    def plain(self, request, context): ...

    assert auth.policy_of(guarded).roles == {auth.DESK_OFFICER, auth.SERVICE}
    assert auth.policy_of(open_method).public
    assert auth.policy_of(plain) == auth.AUTHENTICATED


def test_requires_rejects_unknown_roles():
    with pytest.raises(ValueError, match="superuser"):
        auth.requires(auth.DESK_OFFICER, "superuser")


def test_require_agency_same_agency():
    auth.Principal("o", frozenset({auth.DESK_OFFICER}), UNIT).require_agency(UNIT, action="read")


def test_require_agency_other_agency():
    officer = auth.Principal("o", frozenset({auth.DESK_OFFICER}), UNIT)
    with pytest.raises(PermissionDenied) as info:
        officer.require_agency(OTHER_UNIT, action="read")
    assert _reason(info) == "OTHER_AGENCY"
    assert info.value.metadata == {"caller_agency": UNIT, "unit_code": OTHER_UNIT}


def test_service_role_acts_for_any_agency():
    auth.Principal("routing", frozenset({auth.SERVICE})).require_agency(OTHER_UNIT, action="read")
