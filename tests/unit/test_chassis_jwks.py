"""Production authentication (issue 14 item 5): tokens checked against the identity provider's
published keys (JWKS) with a required issuer and audience and a maximum lifetime; production
refuses a shared signing secret and needs a SERVICE_TOKEN with the role "service" alone."""

import time

import pytest
from identity_provider import LocalIdentityProvider

from onestop_chassis import auth
from onestop_chassis.config import ConfigError, ServiceSettings, load_settings
from onestop_chassis.errors import Unauthenticated, Unavailable


@pytest.fixture
def idp():
    with LocalIdentityProvider() as provider:
        provider.add_key("k1")
        yield provider


def verifier_for(idp, **kwargs) -> auth.TokenVerifier:
    return auth.TokenVerifier(jwks_url=idp.jwks_url, issuer=idp.issuer, audience="onestop",
                              **{"jwks_cooldown": 0, **kwargs})


def refused(verifier, token) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as info:
        verifier.verify(token)
    return info.value


def test_a_token_signed_by_a_published_key_is_accepted(idp):
    principal = verifier_for(idp).verify(idp.token("k1", subject="officer-9", roles=["unit_leader"]))
    assert principal == auth.Principal("officer-9", frozenset({"unit_leader"}), "000.00.21.H17")


def test_es256_keys_are_accepted_too(idp):
    idp.add_key("ec-1", "ES256")
    assert verifier_for(idp).verify(idp.token("ec-1")).subject == "officer-1"


def test_wrong_audience(idp):
    error = refused(verifier_for(idp), idp.token("k1", audience="another-platform"))
    assert error.reason == "WRONG_AUDIENCE" and "'onestop'" in error.message


def test_wrong_issuer(idp):
    error = refused(verifier_for(idp), idp.token("k1", issuer="https://evil.example/"))
    assert error.reason == "WRONG_ISSUER" and idp.issuer in error.message


def test_unknown_kid(idp):
    idp.add_key("never-published", publish=False)
    error = refused(verifier_for(idp), idp.token("never-published"))
    assert error.reason == "UNKNOWN_KEY" and error.metadata == {"kid": "never-published"}


def test_a_token_without_a_kid_is_an_unknown_key(idp):
    import jwt
    _, key = idp._keys["k1"]
    now = int(time.time())
    token = jwt.encode({"sub": "s", "aud": "onestop", "iss": idp.issuer, "iat": now, "exp": now + 60}, key,
                       algorithm="RS256")
    assert refused(verifier_for(idp), token).reason == "UNKNOWN_KEY"


def test_a_published_kid_with_a_forged_signature_is_invalid(idp):
    idp.add_key("forger", publish=False)
    forged = idp.token("forger").split(".")
    genuine = idp.token("k1").split(".")
    # k1's header, the forger's claims and signature: a kid the JWKS holds, a signature it does not make
    token = ".".join([genuine[0], forged[1], forged[2]])
    assert refused(verifier_for(idp), token).reason == "TOKEN_INVALID"


def test_hs256_with_a_jwks_is_refused(idp):
    import jwt
    now = int(time.time())
    token = jwt.encode({"sub": "s", "aud": "onestop", "iss": idp.issuer, "iat": now, "exp": now + 60},
                       "a-shared-secret-that-nobody-should-accept", algorithm="HS256", headers={"kid": "k1"})
    error = refused(verifier_for(idp), token)
    assert error.reason == "TOKEN_INVALID" and "HS256" in error.message


def test_expired(idp):
    token = idp.token("k1", iat=time.time() - 3600, ttl=3600 - auth.DEFAULT_LEEWAY_SECONDS - 10)
    assert refused(verifier_for(idp), token).reason == "TOKEN_EXPIRED"


def test_too_long_lived(idp):
    verifier = verifier_for(idp)
    assert verifier.verify(idp.token("k1", ttl=auth.DEFAULT_MAX_LIFETIME_SECONDS)).subject == "officer-1"
    error = refused(verifier, idp.token("k1", ttl=auth.DEFAULT_MAX_LIFETIME_SECONDS + 1))
    assert error.reason == "TOKEN_TOO_LONG_LIVED"
    assert error.metadata["max_lifetime_seconds"] == str(auth.DEFAULT_MAX_LIFETIME_SECONDS)
    century = refused(verifier, idp.token("k1", ttl=100 * 365 * 24 * 3600))
    assert century.reason == "TOKEN_TOO_LONG_LIVED"


def test_a_service_token_may_live_longer_but_not_forever(idp):
    verifier = verifier_for(idp)
    month = auth.DEFAULT_MAX_SERVICE_LIFETIME_SECONDS
    assert verifier.verify(idp.token("k1", roles=["service"], ttl=month)).roles == {"service"}
    assert refused(verifier, idp.token("k1", roles=["service"], ttl=month + 1)).reason == "TOKEN_TOO_LONG_LIVED"
    # The longer life is for the role "service" alone, not for a person's token that also has it.
    both = idp.token("k1", roles=["service", "agency_admin"], ttl=auth.DEFAULT_MAX_LIFETIME_SECONDS + 1)
    assert refused(verifier, both).reason == "TOKEN_TOO_LONG_LIVED"


@pytest.mark.parametrize("claim", ["iat", "exp"])
def test_a_token_without_iat_or_exp_is_refused(idp, claim):
    error = refused(verifier_for(idp), idp.token("k1", drop=(claim,)))
    assert error.reason == "TOKEN_CLAIM_MISSING" and error.metadata == {"claim": claim}


def test_max_lifetime_applies_to_local_hs256_tokens_too():
    secret = "unit-test-secret-of-at-least-32-bytes"
    verifier = auth.TokenVerifier(secret=secret, max_lifetime=600)
    assert refused(verifier, auth.mint_token(secret, subject="s", roles=[], ttl_seconds=601)).reason == \
        "TOKEN_TOO_LONG_LIVED"


def test_key_rotation_a_new_kid_makes_the_verifier_fetch_the_key_set_again(idp):
    verifier = verifier_for(idp)
    assert verifier.verify(idp.token("k1")).subject == "officer-1"
    assert idp.fetches == 1
    assert verifier.verify(idp.token("k1")).subject == "officer-1"
    assert idp.fetches == 1, "the key set is cached"
    idp.add_key("k2")
    idp.retire_key("k1")
    assert verifier.verify(idp.token("k2", subject="after-rotation")).subject == "after-rotation"
    assert idp.fetches == 2


def test_unknown_kids_cannot_make_every_call_fetch_the_key_set(idp):
    verifier = verifier_for(idp, jwks_cooldown=60)
    verifier.verify(idp.token("k1"))
    idp.add_key("made-up", publish=False)
    for _ in range(5):
        assert refused(verifier, idp.token("made-up")).reason == "UNKNOWN_KEY"
    assert idp.fetches == 1, "within the cooldown an unknown kid does not refetch"


def test_an_unreachable_identity_provider_is_unavailable_not_a_bad_token(idp):
    verifier = verifier_for(idp)
    token = idp.token("k1")
    idp.__exit__(None, None, None)
    with pytest.raises(Unavailable) as info:
        verifier.verify(token)
    assert info.value.reason == "JWKS_UNAVAILABLE"


def test_settings_build_a_jwks_verifier(idp, monkeypatch):
    monkeypatch.setenv("JWT_JWKS_URL", idp.jwks_url)
    monkeypatch.setenv("JWT_ISSUER", idp.issuer)
    monkeypatch.setenv("JWT_MAX_LIFETIME_SECONDS", "1800")
    settings = load_settings(ServiceSettings)
    assert settings.jwt_secret == "", "no local secret is filled in beside a JWKS"
    verifier = auth.TokenVerifier.from_settings(settings)
    assert verifier.verify(idp.token("k1", ttl=1800)).subject == "officer-1"
    assert refused(verifier, idp.token("k1", ttl=1801)).reason == "TOKEN_TOO_LONG_LIVED"


def test_a_secret_beside_a_jwks_is_refused(idp):
    with pytest.raises(ConfigError) as info:
        load_settings(ServiceSettings, jwt_jwks_url=idp.jwks_url, jwt_secret="x" * 40)
    assert "only one of" in info.value.message


# Production: the identity provider's keys, a named issuer and audience, no shared secret.
class CallerSettings(ServiceSettings):
    service_name: str = "routing"
    CALLS_PEERS = True


def _service_token(idp, roles=("service",)) -> str:
    return idp.token("k1", subject="routing-service", roles=roles, ttl=3600)


def production(idp, **overrides):
    values = {"onestop_env": "production", "mongodb_uri": "mongodb://db.prod:27017/",
              "amqp_uri": "amqp://routing:Pw7-q@mq.prod:5672/", "jwt_jwks_url": "https://idp.prod/jwks.json",
              "jwt_issuer": idp.issuer, "jwt_audience": "onestop", "service_token": _service_token(idp),
              **overrides}
    return load_settings(CallerSettings, **{k: v for k, v in values.items() if v is not None})


def test_production_with_the_identity_provider_s_keys_loads(idp):
    settings = production(idp)
    assert (settings.jwt_jwks_url, settings.jwt_secret) == ("https://idp.prod/jwks.json", "")
    assert auth.service_token(settings) == settings.service_token, "presented as issued, never minted"


@pytest.mark.parametrize("overrides, named", [
    ({"jwt_secret": "pR7-vX2q_Lm9sT4wZc8nB1yK6hF3jD0gUu2"}, "JWT_SECRET must not be set"),
    ({"jwt_jwks_url": None}, "JWT_JWKS_URL"),
    ({"jwt_jwks_url": "http://idp.prod/jwks.json"}, "must be https"),
    ({"jwt_issuer": None}, "JWT_ISSUER"),
    ({"jwt_audience": None}, "JWT_AUDIENCE"),
    ({"service_token": None}, "SERVICE_TOKEN must be set"),
])
def test_production_refuses(idp, overrides, named):
    with pytest.raises(ConfigError) as info:
        production(idp, **overrides)
    assert named in info.value.message


def test_production_refuses_a_service_token_with_more_than_the_service_role(idp):
    with pytest.raises(ConfigError) as info:
        production(idp, service_token=_service_token(idp, roles=("service", "agency_admin")))
    assert 'role "service" alone' in info.value.message


def test_production_with_a_public_key_file_needs_no_jwks(idp, tmp_path):
    from cryptography.hazmat.primitives import serialization
    _, key = idp._keys["k1"]
    pem = tmp_path / "idp.pem"
    pem.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,  # type: ignore[attr-defined]
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    settings = production(idp, jwt_jwks_url=None, jwt_public_key_file=str(pem))
    assert auth.TokenVerifier.from_settings(settings).verify(idp.token("k1")).subject == "officer-1"


def test_local_service_tokens_live_no_longer_than_the_service_maximum():
    settings = load_settings(ServiceSettings, service_name="routing")
    verifier = auth.TokenVerifier.from_settings(settings)
    assert verifier.verify(auth.service_token(settings)).roles == {"service"}
    import jwt
    claims = jwt.decode(auth.service_token(settings), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == settings.jwt_max_service_lifetime_seconds


def test_the_token_command_refuses_a_lifetime_the_services_would_refuse(capsys):
    with pytest.raises(SystemExit):
        auth.token_cli(["--ttl", str(auth.DEFAULT_MAX_LIFETIME_SECONDS + 1)])
    assert "JWT_MAX_LIFETIME_SECONDS" in capsys.readouterr().err
    auth.token_cli(["--ttl", str(auth.DEFAULT_MAX_LIFETIME_SECONDS)])
    printed = capsys.readouterr().out.strip()
    settings = load_settings(ServiceSettings)
    assert auth.TokenVerifier.from_settings(settings).verify(printed).subject == "demo-officer"
