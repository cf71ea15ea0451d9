"""One check of production credentials, in the chassis (onestop_chassis.config: PRODUCTION_SECRETS,
KNOWN_SECRETS, the weak-secret rule): every credential literal the repository ships in the local
overlay's Secrets, and every service's local default, is refused by every pod of an agency overlay
that reads it, with a message naming the variable."""

from __future__ import annotations

import base64
import importlib

import pytest
from test_k8s_instances import AGENCIES, OPERATOR_SECRET, deployment_names, pod_settings
from test_k8s_manifests import build, of_kind

from onestop_chassis.auth import mint_token
from onestop_chassis.config import KNOWN_ACCESS_KEYS, KNOWN_SECRETS, ConfigError, ServiceSettings, load_settings
from onestop_chassis.services import built


def local_overlay_secrets() -> dict[str, str]:
    """Every literal of the local overlay's Secrets (onestop-secrets, delivery-carrier), decoded."""
    return {key: base64.b64decode(value).decode() for secret in of_kind(build("overlays/local"), "Secret")
            for key, value in secret["data"].items()}


def settings_classes() -> list[type[ServiceSettings]]:
    return [getattr(importlib.import_module(f"onestop_{s.name}.config"), f"{s.name.capitalize()}Settings")
            for s in built()]


def checked_secrets(cls: type[ServiceSettings]) -> set[str]:
    """The settings whose values the chassis checks in production for this service."""
    uses_store = "minio_secret_key" in cls.PRODUCTION_REQUIRED
    return {"JWT_SECRET", *(["MINIO_SECRET_KEY"] * uses_store), *(n.upper() for n in cls.PRODUCTION_SECRETS)}


def test_every_credential_of_the_local_overlay_is_a_known_secret():
    literals = local_overlay_secrets()
    credentials = set().union(*map(checked_secrets, settings_classes()))
    assert {"INVITATION_KEY", "CARRIER_API_TOKEN", "CARRIER_WEBHOOK_SECRET"} <= credentials
    unknown = {k: v for k, v in literals.items() if k in credentials and v not in KNOWN_SECRETS}
    assert unknown == {}, "a credential published in deploy/k8s/overlays/local that production would accept"
    assert literals["MINIO_ACCESS_KEY"] in KNOWN_ACCESS_KEYS


@pytest.mark.parametrize("cls", settings_classes(), ids=lambda c: c.__name__)
def test_every_local_default_of_a_service_credential_is_a_known_secret(cls):
    for name in cls.PRODUCTION_SECRETS:
        assert cls.model_fields[name].default in KNOWN_SECRETS, f"{cls.__name__}.{name}'s local default"


@pytest.mark.parametrize("overlay", AGENCIES[:1])
def test_production_refuses_every_secret_literal_of_the_local_overlay_in_every_pod(overlay):
    """Each literal of the local overlay put in each credential an agency pod reads from its Secrets
    (every Deployment of every service) stops that pod, naming the variable."""
    literals = sorted(set(local_overlay_secrets().values()))
    tried = 0
    for name in deployment_names(overlay):
        service = name.rsplit("-", 1)[0]
        if service == "gateway":  # it reads no Secret (test_k8s_manifests checks it holds none)
            continue
        cls = next(c for c in settings_classes() if c.model_fields["service_name"].default == service)
        assert pod_settings(overlay, name, OPERATOR_SECRET).onestop_env == "production", name
        for key in sorted(checked_secrets(cls) & set(OPERATOR_SECRET) | {"JWT_SECRET"}):
            for literal in literals:
                with pytest.raises(ConfigError) as refused:
                    pod_settings(overlay, name, {**OPERATOR_SECRET, key: literal})
                assert key in refused.value.message, (name, key, literal)
                tried += 1
    assert tried > 100


def test_a_service_credential_unset_published_weak_or_from_a_file(tmp_path):
    """Survey's INVITATION_KEY through the one chassis check: each refusal says why."""
    from onestop_survey.config import SurveySettings
    production = {"onestop_env": "production", "jwt_jwks_url": "https://sso.example/certs",
                  "jwt_issuer": "https://sso.example", "jwt_audience": "onestop",
                  "mongodb_uri": "mongodb://db/", "amqp_uri": "amqp://survey:Pw7-q@mq/",
                  "survey_base_url": "https://motcua.example/khao-sat", "intake_address": "intake-api:50051",
                  "service_token": mint_token("the-identity-provider-s-own-key", subject="svc", roles=["service"])}
    for given, why in (({}, "INVITATION_KEY must be set"),
                       ({"invitation_key": "onestop-local-survey-key-change-me-in-production"}, "published"),
                       ({"invitation_key": "short-Kd9-Lp2w"}, "weak"),
                       ({"invitation_key": "ab" * 20}, "weak")):
        with pytest.raises(ConfigError) as refused:
            load_settings(SurveySettings, **production, **given)
        assert "INVITATION_KEY" in refused.value.message and why in refused.value.message
        assert given.get("invitation_key", "@") not in refused.value.message, "never prints the value"
    key = "Kd9-Lp2w_Qr7sT1vXz4bNm8cFg3hJy6u"
    assert load_settings(SurveySettings, **production, invitation_key=key).invitation_key == key
