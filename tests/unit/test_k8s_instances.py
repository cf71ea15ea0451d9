"""One instance of the platform per agency, beside another's on shared MongoDB, RabbitMQ and MinIO
(deploy/k8s/overlays/agency-*, docs/operations.md): the two example overlays, rendered by the real
kustomize, keep every name apart; and a changed setting rolls the pods that read it."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import urllib.parse

import pytest
import yaml
from test_k8s_manifests import K8S, KUSTOMIZE, ROOT, _tool, build, config_map, generated_name, of_kind

from onestop_chassis.auth import mint_token
from onestop_chassis.config import load_settings
from onestop_chassis.services import built
from onestop_documents import domain as documents_domain

AGENCIES = ("overlays/agency-hue", "overlays/agency-da-nang")
AGENCY_CODE = "000.00.21.H17"  # the same agency code in both instances must still not collide


def instance_names(overlay: str) -> dict[str, set[str]]:
    """What the overlay's processes would name on the shared servers, read through the settings
    every service loads (so a service-level default that ignored the instance would show)."""
    docs = build(overlay)
    data = {k.lower(): v for k, v in config_map(docs, "onestop-config").items()}
    namespaces = {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"}
    databases, prefixes = set(), set()
    for service in built():
        module = importlib.import_module(f"onestop_{service.name}.config")
        cls = getattr(module, f"{service.name.capitalize()}Settings")
        # The names depend on neither ONESTOP_ENV (production's other settings are the Secret's) nor
        # the calendar (the file is mounted in the pod, the base's is checked elsewhere).
        settings = load_settings(cls, **{**data, "onestop_env": "local", "working_calendar_file": ""})
        databases.add(settings.mongodb_database)
        prefixes.add(settings.resource_prefix)
    (prefix,) = prefixes
    return {"namespace": namespaces, "database": databases,
            "vhost": {urllib.parse.urlparse(data["amqp_uri"]).path.lstrip("/")},
            "bucket": {documents_domain.bucket_for(AGENCY_CODE, prefix)},
            "namespace object": {d["metadata"]["name"] for d in of_kind(docs, "Namespace")}}


def test_two_agencies_on_shared_servers_share_no_name():
    hue, da_nang = (instance_names(o) for o in AGENCIES)
    for kind in hue:
        assert hue[kind] and da_nang[kind], f"{kind}: nothing found"
        assert not hue[kind] & da_nang[kind], f"{kind} shared by both instances: {hue[kind] & da_nang[kind]}"
    assert len(hue["database"]) == len(built()), "one database per service"
    assert "" not in hue["vhost"] | da_nang["vhost"], "an instance on the default vhost '/' meets every other"
    # Neither instance's buckets are the other's (nor the single-instance default's) to sweep.
    (hue_bucket,), (da_nang_bucket,) = hue["bucket"], da_nang["bucket"]
    assert not documents_domain.is_own_bucket(hue_bucket) and not documents_domain.is_own_bucket(da_nang_bucket)
    assert documents_domain.is_own_bucket(hue_bucket, "onestop-hue")
    assert not documents_domain.is_own_bucket(da_nang_bucket, "onestop-hue")


@pytest.mark.parametrize("overlay", AGENCIES)
def test_every_object_of_an_agency_overlay_is_in_its_namespace(overlay):
    docs = build(overlay)
    (namespace,) = {d["metadata"]["name"] for d in of_kind(docs, "Namespace")}
    outside = [f"{d['kind']}/{d['metadata']['name']}" for d in docs
               if d["kind"] != "Namespace" and d["metadata"].get("namespace") != namespace]
    assert outside == []


def test_a_changed_setting_rolls_the_pods_that_read_it(tmp_path):
    """onestop-config is generated with a hash of its content in its name, so a changed value
    changes every pod template that reads it, and Kubernetes rolls those Deployments."""
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    settings = copy / "base" / "settings.env"
    settings.write_text(settings.read_text().replace("LOG_LEVEL=INFO", "LOG_LEVEL=DEBUG"))
    result = subprocess.run([_tool(KUSTOMIZE), "build", str(copy / "overlays" / "local")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    changed = [d for d in yaml.safe_load_all(result.stdout) if d]
    before, after = generated_name(build("overlays/local"), "onestop-config"), generated_name(changed, "onestop-config")
    assert before != after
    readers = [d["metadata"]["name"] for d in of_kind(changed, "Deployment")
               if {"configMapRef": {"name": after}} in d["spec"]["template"]["spec"]["containers"][0]["envFrom"]]
    assert len(readers) == len(of_kind(changed, "Deployment")), "every process reads the shared settings"


def test_the_network_policy_allows_what_each_process_needs_and_nothing_else():
    """components/network-policy: the ports it opens by name exist on the containers that need
    them, and its egress covers every server the settings point at and every service's gRPC port."""
    docs = build(AGENCIES[0])
    policies = {p["metadata"]["name"]: p["spec"] for p in of_kind(docs, "NetworkPolicy")}
    assert policies["onestop-default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    for d in of_kind(docs, "Deployment"):
        ports = {p["name"] for p in d["spec"]["template"]["spec"]["containers"][0]["ports"]}
        component = d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
        assert "metrics" in ports, d["metadata"]["name"]
        assert component != "api" or "grpc" in ports, d["metadata"]["name"]
    egress = [port for rule in policies["onestop-dependencies-out"]["egress"] for port in rule["ports"]]

    def allowed(number: int) -> bool:
        return any(p["port"] <= number <= p.get("endPort", p["port"]) for p in egress if p["protocol"] == "TCP")
    data = config_map(docs, "onestop-config")
    for uri in (data["MONGODB_URI"], data["AMQP_URI"], "http://" + data["MINIO_ENDPOINT"]):
        assert allowed(urllib.parse.urlparse(uri).port), uri
    assert all(allowed(s.grpc_port) for s in built()), "a service calls another's api"
    assert allowed(53) and not allowed(22) and not allowed(443)
    # Only the apis reach HTTPS: the identity provider's published keys (JWT_JWKS_URL).
    idp = policies["onestop-identity-provider-out"]
    assert idp["podSelector"] == {"matchLabels": {"app.kubernetes.io/component": "api"}}
    assert [p for rule in idp["egress"] for p in rule["ports"]] == [{"port": 443, "protocol": "TCP"}]
    assert urllib.parse.urlparse(data["JWT_JWKS_URL"]).port in (None, 443)
    assert [p["metadata"]["name"] for p in of_kind(docs, "PodMonitor")] == ["onestop"]
    # The REST gateway: reached on its `http` port (a port its pod has), reaching every api it routes to.
    gateway_in = policies["onestop-gateway-http-in"]
    assert gateway_in["podSelector"] == {"matchLabels": {"app.kubernetes.io/component": "gateway"}}
    assert [p for rule in gateway_in["ingress"] for p in rule["ports"]] == [{"port": "http", "protocol": "TCP"}]
    (gateway,) = [d for d in of_kind(docs, "Deployment") if d["metadata"]["name"] == "gateway"]
    assert "http" in {p["name"] for p in gateway["spec"]["template"]["spec"]["containers"][0]["ports"]}
    addresses = pod_settings(AGENCIES[0], "gateway", OPERATOR_SECRET).addresses.values()
    assert addresses and all(allowed(int(address.rsplit(":", 1)[1])) for address in addresses)


# What an operator puts in the Secret onestop-secrets of an instance: credentials of its own.
# No JWT_SECRET: tokens are checked with the identity provider's keys (JWT_JWKS_URL); SERVICE_TOKEN
# is the identity provider's token for the services that call others, with the role "service" alone.
OPERATOR_SECRET = {"SERVICE_TOKEN": mint_token("the-identity-provider-s-own-signing-key", subject="onestop-hue",
                                               roles=["service"], ttl_seconds=24 * 3600),
                   "MINIO_ACCESS_KEY": "onestop-hue-documents",
                   "INVITATION_KEY": "Kd9-Lp2w_Qr7sT1vXz4bNm8cFg3hJy6u",
                   "MINIO_SECRET_KEY": "Yt5-Qe8r_Wu2iO7pAs4dFg1hJk9lZx3c",
                   "AMQP_URI": "amqp://onestop-hue:Nb6-Vc1x@rabbitmq.shared-data.svc:5672/onestop-hue",
                   "MONGODB_URI": "mongodb://onestop-hue:Mn4-Bv7c@mongodb.shared-data.svc:27017/",
                   # the Secret delivery-carrier: the agency's contract with its carrier
                   "CARRIER_BASE_URL": "https://donhang.carrier.example", "CARRIER_CUSTOMER_CODE": "KH-HUE-01",
                   "CARRIER_API_TOKEN": "Vb3-Nm8q_Wx1cZ6rT9yU4iO7pA2sD5fG", "CARRIER_WEBHOOK_SECRET":
                   "Hj6-Kl9z_Xc2vB5nM8qW1eR4tY7uI0oP"}


def pod_settings(overlay: str, deployment_name: str, secret: dict[str, str]):
    """The settings a Deployment's pod would load: its ConfigMaps (envFrom), its literal env and the
    Secret's keys it references, read by its service's settings class (ConfigError if refused)."""
    docs = build(overlay)
    (d,) = [d for d in of_kind(docs, "Deployment") if d["metadata"]["name"] == deployment_name]
    container = d["spec"]["template"]["spec"]["containers"][0]
    config_maps = {c["metadata"]["name"]: c.get("data", {}) for c in of_kind(docs, "ConfigMap")}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(config_maps[source["configMapRef"]["name"]])
    for variable in container.get("env", []):
        ref = variable.get("valueFrom", {}).get("secretKeyRef")
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        elif ref and ref["key"] in secret:
            env[variable["name"]] = secret[ref["key"]]
    env["WORKING_CALENDAR_FILE"] = ""  # mounted in the pod; the base's file is checked elsewhere
    service = d["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"].removeprefix("onestop-")
    if service == "gateway":  # the REST gateway: chassis code with settings of its own
        from onestop_chassis.gateway.main import GatewaySettings
        return load_settings(GatewaySettings, **{k.lower(): v for k, v in env.items()})
    cls = getattr(importlib.import_module(f"onestop_{service}.config"), f"{service.capitalize()}Settings")
    return load_settings(cls, **{k.lower(): v for k, v in env.items()})


def deployment_names(overlay: str) -> list[str]:
    return [d["metadata"]["name"] for d in of_kind(build(overlay), "Deployment")]


@pytest.mark.parametrize("overlay", AGENCIES)
def test_every_pod_of_an_agency_starts_in_production_with_the_operator_s_secret(overlay):
    for name in deployment_names(overlay):
        settings = pod_settings(overlay, name, OPERATOR_SECRET)
        assert settings.onestop_env == "production", name
        if name == "gateway":  # checks no token itself; reaches every api by its Service's name
            assert settings.addresses == {s.name: f"{s.name}:{s.grpc_port}" for s in built()}
            continue
        assert settings.jwt_jwks_url.startswith("https://") and settings.jwt_issuer, name
        assert settings.jwt_secret == "", f"{name}: no shared signing secret in a production pod"
    documents = pod_settings(overlay, "documents-api", OPERATOR_SECRET)
    assert documents.minio_public_endpoint.endswith(".example") and documents.minio_public_secure
    intake = pod_settings(overlay, "intake-api", OPERATOR_SECRET)
    assert intake.public_lookup_url.startswith("https://") and intake.documents_address == "documents:50053"


@pytest.mark.parametrize("key, value", [
    ("JWT_SECRET", "local-only-jwt-secret-do-not-use-in-production"),  # the local overlay's, public here
    ("JWT_SECRET", "a" * 32),
    ("JWT_SECRET", "pR7-vX2q_Lm9sT4wZc8nB1yK6hF3jD0g"),  # a strong one too: no signing secret in a pod
    ("SERVICE_TOKEN", mint_token("the-identity-provider-s-own-signing-key", subject="too-much",
                                 roles=["service", "agency_admin"])),
    ("MINIO_ACCESS_KEY", "onestop"),
    ("AMQP_URI", "amqp://guest:guest@rabbitmq.shared-data.svc:5672/onestop-hue"),
    ("INVITATION_KEY", "local-only-survey-invitation-key-do-not-use"),
])
def test_an_agency_pod_refuses_a_public_or_weak_credential(key, value):
    from onestop_chassis.config import ConfigError
    with pytest.raises(ConfigError) as refused:
        pod_settings(AGENCIES[0], "survey-api" if key == "INVITATION_KEY" else "documents-api",
                     {**OPERATOR_SECRET, key: value})
    assert key in refused.value.message


def test_the_local_overlay_runs_in_local_mode_with_its_throw_away_secret():
    import base64
    values = {k: base64.b64decode(v).decode() for s in of_kind(build("overlays/local"), "Secret")
              for k, v in s["data"].items()}  # onestop-secrets and delivery-carrier
    for name in deployment_names("overlays/local"):
        assert pod_settings("overlays/local", name, values).onestop_env == "local", name


# An example cluster's pods (kubeadm with flannel: the pod network 10.244.0.0/16): a REST gateway pod,
# the ingress controller's pod in front of it, and a stranger on the internet.
GATEWAY_POD, INGRESS_POD, STRANGER = "10.244.1.23", "10.244.2.9", "203.0.113.66"


def _per_address_limited() -> list[str]:
    """The Deployments of the services whose public RPCs or pages count budgets per client address."""
    services = [s.name for s in built()
                if any("trusted_networks" in f.read_text() for f in (ROOT / "services" / s.name).rglob("*.py"))]
    assert {"intake", "survey"} <= set(services)
    return [name for name in deployment_names(AGENCIES[0]) if name.split("-")[0] in services
            and not name.endswith("relay")]


@pytest.mark.parametrize("overlay", AGENCIES)
def test_every_per_address_limit_counts_the_rest_caller_not_the_gateway(overlay):
    """Issue 14 item 8: without TRUSTED_PROXIES one stranger's wrong guesses through the gateway
    spent the budget of every REST caller (they all counted as the gateway's address)."""
    from onestop_chassis.ratelimits import client_address
    for name in _per_address_limited():
        trusted = pod_settings(overlay, name, OPERATOR_SECRET).trusted_networks
        assert trusted and all(n.is_private for n in trusted), f"{name}: trusts {trusted}"
        # gateway → api, the gateway appending its peer (the ingress) to what the ingress wrote
        assert client_address(f"ipv4:{GATEWAY_POD}:41000", f"{STRANGER}, {INGRESS_POD}", trusted) == STRANGER, name
        # a client-sent X-Forwarded-For is believed only up to the first untrusted hop
        assert client_address(f"ipv4:{GATEWAY_POD}:41000", f"10.0.0.1, {STRANGER}", trusted) == STRANGER, name
        assert client_address(f"ipv4:{STRANGER}:41000", "198.51.100.1", trusted) == STRANGER, name
