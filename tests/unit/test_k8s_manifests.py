"""The Kubernetes manifests under deploy/k8s, rendered by the real kustomize binary.

Builds overlays/local and overlays/local-otel (the same plus components/otel) and checks what a
cluster would receive. kustomize comes from `make tools` (~/.cache/onestop/bin); when it is missing
the tests fail and say so, they are never skipped.
"""

from __future__ import annotations

import functools
import os
import pathlib
import re
import subprocess
import sys
import tomllib

import pytest
import yaml

from onestop_chassis.config import API_METRICS_PORTS, GRPC_PORTS, RELAY_METRICS_PORTS, WORKER_METRICS_PORTS
from onestop_chassis.services import BY_NAME

ROOT = pathlib.Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
CACHE = pathlib.Path(os.environ.get("ONESTOP_CACHE", pathlib.Path.home() / ".cache" / "onestop"))
KUSTOMIZE = CACHE / "bin" / "kustomize"
PLAIN, OTEL = "overlays/local", "overlays/local-otel"
OTEL_VARIABLE, OTEL_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel-collector:4318"
NAME_LABEL, COMPONENT_LABEL = "app.kubernetes.io/name", "app.kubernetes.io/component"

# Every service that exists as a package must be deployable.
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))


def scripts(service: str) -> dict[str, str]:
    return tomllib.loads((ROOT / "services" / service / "pyproject.toml").read_text())["project"]["scripts"]


# Services with an outbox ship an `onestop-<svc>-relay` process (onestop_chassis.relay).
RELAYED = [s for s in SERVICES if "relay" in BY_NAME[s].processes]


KUBECONFORM = CACHE / "bin" / "kubeconform"
K8S_SCHEMAS = CACHE / "k8s-schemas"  # deploy/k8s/schemas.py, made by `make tools`
SCHEMA_LOCATION = f"{K8S_SCHEMAS}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json"
# Every overlay an operator may apply (each is a directory with a kustomization).
OVERLAYS = sorted(f"overlays/{p.parent.name}" for p in (K8S / "overlays").glob("*/kustomization.yaml"))


def _tool(path: pathlib.Path) -> str:
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"{path.name} is missing at {path}: run `make tools` to build it", pytrace=False)
    return str(path)


@functools.cache
def rendered(kustomization: str) -> str:
    """`kustomize build deploy/k8s/<kustomization>`: the YAML a cluster would receive."""
    result = subprocess.run([_tool(KUSTOMIZE), "build", str(K8S / kustomization)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.fail(f"`kustomize build deploy/k8s/{kustomization}` failed:\n{result.stderr}", pytrace=False)
    return result.stdout


@functools.cache
def build(kustomization: str) -> tuple[dict, ...]:
    return tuple(doc for doc in yaml.safe_load_all(rendered(kustomization)) if doc)


def of_kind(docs, kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def deployment(docs, service: str, component: str) -> dict:
    found = [d for d in of_kind(docs, "Deployment")
             if d["spec"]["template"]["metadata"]["labels"].get(NAME_LABEL) == f"onestop-{service}"
             and d["spec"]["template"]["metadata"]["labels"].get(COMPONENT_LABEL) == component]
    assert len(found) == 1, f"expected one {component} Deployment for {service}, found {len(found)}"
    return found[0]


def containers(pod_spec: dict) -> list[dict]:
    return pod_spec.get("initContainers", []) + pod_spec["containers"]


def env_names(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_conforms_to_the_kubernetes_schemas(overlay):
    """kubeconform, strict (an unknown or misspelt field is an error), against the schemas of
    Kubernetes v1.37 made from a registry package by `make tools`; never downloaded here."""
    if not (K8S_SCHEMAS / "PACKAGE").is_file():
        pytest.fail(f"kubeconform's schemas are missing at {K8S_SCHEMAS}: run `make tools`", pytrace=False)
    result = subprocess.run(
        [_tool(KUBECONFORM), "-strict", "-summary", "-output", "text", "-schema-location", SCHEMA_LOCATION, "-"],
        input=rendered(overlay), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"kubeconform refused deploy/k8s/{overlay}:\n{result.stdout}{result.stderr}"
    summary = re.search(r"(\d+) resources? found.*Valid: (\d+), Invalid: 0, Errors: 0, Skipped: 0", result.stdout)
    assert summary and summary[1] == summary[2] and int(summary[1]) == len(build(overlay)), result.stdout


def test_kubeconform_refuses_a_misspelt_field(tmp_path):
    """The conformance test above is not vacuous: a field kubernetes does not know is refused."""
    bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  nmespace: onestop\ndata: {a: b}\n"
    result = subprocess.run(
        [_tool(KUBECONFORM), "-strict", "-schema-location", SCHEMA_LOCATION, "-"],
        input=bad, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "nmespace" in result.stdout, result.stdout


def test_services_exist():
    assert {"intake", "routing"} <= set(SERVICES)


@pytest.mark.parametrize("overlay", [PLAIN, OTEL])
@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_an_api_and_a_worker_deployment(overlay, service):
    docs = build(overlay)
    api, worker = deployment(docs, service, "api"), deployment(docs, service, "worker")
    for d in (api, worker):
        assert d["metadata"]["namespace"] == "onestop"
        assert d["metadata"]["labels"]["app.kubernetes.io/part-of"] == "onestop"
        assert d["spec"]["replicas"] == 1, "the local overlays run one replica of everything"
        # the selector must select the pod template it belongs to
        template_labels = d["spec"]["template"]["metadata"]["labels"]
        assert d["spec"]["selector"]["matchLabels"].items() <= template_labels.items()


@pytest.mark.parametrize("service", SERVICES)
def test_the_api_autoscales_and_a_drain_takes_one_pod_at_a_time(service):
    docs = build("base")
    api = deployment(docs, service, "api")
    assert "replicas" not in api["spec"], "the autoscaler owns the api's replica count"
    (hpa,) = [h for h in of_kind(docs, "HorizontalPodAutoscaler")
              if h["spec"]["scaleTargetRef"]["name"] == api["metadata"]["name"]]
    assert hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    # CPU utilisation is measured against the request, which every api container must have.
    assert api["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    for component in ("api", "worker"):
        labels = deployment(docs, service, component)["spec"]["selector"]["matchLabels"]
        budgets = [b for b in of_kind(docs, "PodDisruptionBudget") if b["spec"]["selector"]["matchLabels"] == labels]
        assert [b["spec"].get("maxUnavailable") for b in budgets] == [1], f"{service} {component}"
    local = [h for h in of_kind(build(PLAIN), "HorizontalPodAutoscaler")
             if h["spec"]["scaleTargetRef"]["name"] == api["metadata"]["name"]]
    assert [(h["spec"]["minReplicas"], h["spec"]["maxReplicas"]) for h in local] == [(1, 1)]


@pytest.mark.parametrize("service", SERVICES)
def test_api_serves_grpc_on_its_default_port_with_grpc_probes(service):
    api = deployment(build(PLAIN), service, "api")
    (container,) = api["spec"]["template"]["spec"]["containers"]
    port = GRPC_PORTS[service]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["grpc"] == port
    assert ports["metrics"] == API_METRICS_PORTS[service]
    assert "command" not in container, "the api is the image's default command"
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe].get("grpc", {}).get("port") == port, f"{service} api {probe} is not grpc:{port}"
    # readiness follows the dependencies (health ""); liveness and startup must not, or a database
    # outage would restart every api pod (GrpcServer's "liveness" stays SERVING)
    assert container["readinessProbe"]["grpc"].get("service", "") == ""
    assert container["livenessProbe"]["grpc"]["service"] == container["startupProbe"]["grpc"]["service"] == "liveness"
    annotations = api["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(API_METRICS_PORTS[service])


@pytest.mark.parametrize("service", SERVICES)
def test_worker_runs_the_worker_script_and_is_probed_on_its_health_endpoints(service):
    docs = build(PLAIN)
    api, worker = deployment(docs, service, "api"), deployment(docs, service, "worker")
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    scripts = tomllib.loads((ROOT / "services" / service / "pyproject.toml").read_text())["project"]["scripts"]
    assert container["command"] == [f"onestop-{service}-worker"]
    assert container["command"][0] in scripts
    assert container["image"] == api["spec"]["template"]["spec"]["containers"][0]["image"], \
        "one image per service serves both processes"
    assert container["image"].startswith(f"ghcr.io/onestop-vn/onestop-{service}:")
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    pages = {"web": BY_NAME[service].web_port} if BY_NAME[service].web_port else {}  # its public pages
    assert ports == {"metrics": WORKER_METRICS_PORTS[service], **pages}
    for kind, path in (("livenessProbe", "/healthz/live"), ("readinessProbe", "/healthz/ready")):
        probe = container[kind]["httpGet"]  # onestop_chassis.health, next to /metrics
        assert probe["path"] == path and probe["port"] in ("metrics", WORKER_METRICS_PORTS[service])


def test_the_services_with_an_outbox_have_a_relay():
    assert {"intake", "documents"} <= set(RELAYED)


@pytest.mark.parametrize("overlay", [PLAIN, OTEL])
@pytest.mark.parametrize("service", RELAYED)
def test_relay_runs_the_relay_script_with_the_worker_settings_and_is_probed_on_its_health(overlay, service):
    docs = build(overlay)
    worker, relay = deployment(docs, service, "worker"), deployment(docs, service, "relay")
    assert relay["spec"]["replicas"] == 1, "one relay is enough; a second would only publish events twice"
    assert relay["spec"]["selector"]["matchLabels"].items() <= relay["spec"]["template"]["metadata"]["labels"].items()
    (container,) = relay["spec"]["template"]["spec"]["containers"]
    (worker_container,) = worker["spec"]["template"]["spec"]["containers"]
    assert container["command"] == [f"onestop-{service}-relay"]
    assert container["image"] == worker_container["image"]
    # the relay loads the service's settings: the same configuration and secrets as the worker
    assert container["envFrom"] == worker_container["envFrom"]
    assert container["env"] == worker_container["env"]
    assert "OUTBOX_RELAY_IN_WORKER" not in env_names(worker_container), "the worker must not relay as well"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": RELAY_METRICS_PORTS[service]}
    for kind, path in (("livenessProbe", "/healthz/live"), ("readinessProbe", "/healthz/ready")):
        probe = container[kind]["httpGet"]  # onestop_chassis.health, next to /metrics
        assert probe["path"] == path and probe["port"] in ("metrics", RELAY_METRICS_PORTS[service])
    annotations = relay["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(RELAY_METRICS_PORTS[service])


@pytest.mark.parametrize("service", SERVICES)
def test_services_expose_grpc_and_metrics(service):
    services = {s["metadata"]["name"]: s for s in of_kind(build(PLAIN), "Service")}
    api_ports = {p["name"]: p["port"] for p in services[service]["spec"]["ports"]}
    assert api_ports == {"grpc": GRPC_PORTS[service], "metrics": API_METRICS_PORTS[service]}
    assert services[service]["spec"]["selector"][COMPONENT_LABEL] == "api"
    worker_ports = {p["name"]: p["port"] for p in services[f"{service}-worker-metrics"]["spec"]["ports"]}
    assert worker_ports == {"metrics": WORKER_METRICS_PORTS[service]}
    assert services[f"{service}-worker-metrics"]["spec"]["selector"][COMPONENT_LABEL] == "worker"


@pytest.mark.parametrize("overlay", [PLAIN, OTEL])
def test_every_container_runs_as_non_root(overlay):
    for d in of_kind(build(overlay), "Deployment"):
        pod = d["spec"]["template"]["spec"]
        pod_context = pod.get("securityContext", {})
        for c in containers(pod):
            context = {**pod_context, **c.get("securityContext", {})}  # the container's own wins
            where = f"{d['metadata']['name']}/{c['name']}"
            assert context.get("runAsNonRoot") is True, f"{where} may run as root"
            assert context.get("runAsUser", 10001) != 0, f"{where} runs as uid 0"
            assert c.get("securityContext", {}).get("allowPrivilegeEscalation") is False, where
            assert c.get("securityContext", {}).get("readOnlyRootFilesystem") is True, where
            assert c.get("resources", {}).get("requests") and c["resources"].get("limits"), where


def test_otel_overlay_sets_the_endpoint_on_every_deployment():
    deployments = of_kind(build(OTEL), "Deployment")
    assert len(deployments) == 2 * len(SERVICES) + len(RELAYED) + 1  # and the REST gateway
    for d in deployments:
        for c in containers(d["spec"]["template"]["spec"]):
            variable = env_names(c).get(OTEL_VARIABLE)
            assert variable == {"name": OTEL_VARIABLE, "value": OTEL_ENDPOINT}, \
                f"{d['metadata']['name']}/{c['name']}: {variable}"


def test_plain_overlay_does_not_export_traces():
    docs = build(PLAIN)
    for d in of_kind(docs, "Deployment"):
        for c in containers(d["spec"]["template"]["spec"]):
            assert OTEL_VARIABLE not in env_names(c), f"{d['metadata']['name']}/{c['name']}"
    for config_map in of_kind(docs, "ConfigMap"):
        assert OTEL_VARIABLE not in config_map.get("data", {})


@pytest.mark.parametrize("overlay", [PLAIN, OTEL])
def test_every_referenced_config_map_and_secret_key_exists(overlay):
    docs = build(overlay)
    config_maps = {c["metadata"]["name"]: c.get("data", {}) for c in of_kind(docs, "ConfigMap")}
    secrets = {s["metadata"]["name"]: s.get("data", {}) for s in of_kind(docs, "Secret")}
    for d in of_kind(docs, "Deployment"):
        for c in containers(d["spec"]["template"]["spec"]):
            where = f"{d['metadata']['name']}/{c['name']}"
            for source in c.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps, where
            for variable in c.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref is None:
                    continue
                # kustomize rewrites the name to the generated Secret's hash-suffixed one
                assert ref["name"] in secrets, f"{where}: Secret {ref['name']} is not in the output"
                if not ref.get("optional"):
                    assert ref["key"] in secrets[ref["name"]], f"{where}: {ref['name']} has no {ref['key']}"
            names = env_names(c)
            if d["metadata"]["name"] == "gateway":  # checks no token (the apis do): holds no secret at all
                assert not any("secretKeyRef" in v.get("valueFrom", {}) for v in c.get("env", [])), where
                continue
            assert "JWT_SECRET" in names, f"{where}: the local overlays check tokens with their JWT_SECRET"
    # The base is production; the local overlays are a laptop's (their secrets are public here,
    # and production refuses those: tests/unit/test_k8s_instances.py).
    assert config_map(build("base"), "onestop-config")["ONESTOP_ENV"] == "production"
    assert config_map(docs, "onestop-config")["ONESTOP_ENV"] == "local"


def test_base_creates_no_secret():
    assert not of_kind(build("base"), "Secret"), "secrets belong to overlays, never to the base"


def test_one_dockerfile_builds_every_service():
    assert not list((ROOT / "services").glob("*/Dockerfile")), "one Dockerfile for all, at the root"
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG SERVICE$", text, re.M) and re.search(r"^EXPOSE \$\{PORTS\}$", text, re.M)
    assert re.search(r'^CMD \["/bin/sh", "-c", "exec onestop-\$\{ONESTOP_SERVICE\}-api"\]$', text, re.M)
    assert re.search(r"^ENV ONESTOP_SERVICE=\$\{SERVICE\}", text, re.M)
    assert re.search(r"^USER 10001(:10001)?$", text, re.M), "a numeric non-root USER, so runAsNonRoot can verify it"
    runtime = [line for line in text.split(" AS runtime", 1)[1].splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in runtime if "grpcio-tools" in line], "grpcio-tools belongs to the builder only"


@pytest.mark.parametrize("service", SERVICES)
def test_make_image_passes_the_ports_the_manifests_use(service):
    # `make image` exposes what services.py says; the manifests must use the same ports.
    ports = subprocess.run([sys.executable, str(ROOT / "libs/chassis/src/onestop_chassis/services.py"), "ports",
                            service], capture_output=True, text=True, check=True).stdout.split()
    assert [int(p) for p in ports] == [GRPC_PORTS[service], API_METRICS_PORTS[service], WORKER_METRICS_PORTS[service],
                                       *([RELAY_METRICS_PORTS[service]] if service in RELAYED else [])]
    makefile = (ROOT / "Makefile").read_text()
    assert '--build-arg PORTS="$$($(PYTHON) $(SERVICES_PY) ports $(SERVICE))"' in makefile


# --- documents -----------------------------------------------------------------------------------

DOCUMENTS_CONFIG = "documents-config"


def generated_name(docs, name: str) -> str:
    """The name kustomize gave the ConfigMap generated as `name` (`<name>-<hash of its content>`)."""
    (found,) = [c["metadata"]["name"] for c in of_kind(docs, "ConfigMap")
                if re.fullmatch(rf"{re.escape(name)}-[a-z0-9]{{10}}", c["metadata"]["name"])]
    return found


def config_map(docs, name: str) -> dict[str, str]:
    """The data of the ConfigMap generated as `name`."""
    (found,) = [c for c in of_kind(docs, "ConfigMap") if c["metadata"]["name"] == generated_name(docs, name)]
    return found.get("data", {})


def mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "k": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    for suffix in sorted(units, key=len, reverse=True):
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * units[suffix]
    return float(quantity) / 2**20


@pytest.mark.parametrize(("kustomization", "mode"),
                         [("base", "COMPLIANCE"), (PLAIN, "GOVERNANCE"), (OTEL, "GOVERNANCE")])
def test_documents_settings_are_valid_and_production_retention_is_compliance(kustomization, mode):
    from onestop_chassis.config import load_settings
    from onestop_documents.config import DocumentsSettings

    data = config_map(build(kustomization), DOCUMENTS_CONFIG)
    # COMPLIANCE in the base (what production deploys): retained records cannot be shortened or
    # deleted by anyone. Only the throw-away local overlays use GOVERNANCE.
    assert data["RETENTION_MODE"] == mode
    settings = load_settings(DocumentsSettings, **{k.lower(): v for k, v in data.items()})
    assert settings.max_upload_bytes == 50 * 1024 * 1024
    assert settings.retention_days == 3650
    assert settings.documents_peers == ""


def test_documents_deployments_read_their_config_and_an_optional_service_token():
    docs = build(PLAIN)
    for component in ("api", "worker"):
        (container,) = deployment(docs, "documents", component)["spec"]["template"]["spec"]["containers"]
        assert {"configMapRef": {"name": generated_name(docs, DOCUMENTS_CONFIG)}} in container["envFrom"], component
    (api,) = deployment(docs, "documents", "api")["spec"]["template"]["spec"]["containers"]
    token = env_names(api)["SERVICE_TOKEN"]["valueFrom"]["secretKeyRef"]
    assert token["key"] == "SERVICE_TOKEN" and token["optional"] is True, "a secret, and not required"
    (routing,) = deployment(docs, "routing", "api")["spec"]["template"]["spec"]["containers"]
    assert mebibytes(api["resources"]["limits"]["memory"]) > mebibytes(routing["resources"]["limits"]["memory"]), \
        "streamed uploads hold ~5 MiB each: the documents api needs more memory than the other apis"


def test_delivery_takes_the_carriers_endpoint_and_credentials_from_a_secret_never_a_literal():
    docs = build(PLAIN)
    secrets = {s["metadata"]["name"].rsplit("-", 1)[0]: s.get("data", {}) for s in of_kind(docs, "Secret")}
    for component in ("api", "worker"):
        (container,) = deployment(docs, "delivery", component)["spec"]["template"]["spec"]["containers"]
        variables = env_names(container)
        for name in ("CARRIER_BASE_URL", "CARRIER_CUSTOMER_CODE", "CARRIER_API_TOKEN", "CARRIER_WEBHOOK_SECRET"):
            assert "value" not in variables[name], f"{component}: {name} must come from a Secret"
            ref = variables[name]["valueFrom"]["secretKeyRef"]
            assert ref["name"].startswith("delivery-carrier-") and not ref.get("optional"), component
            assert name in secrets["delivery-carrier"], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_worker_and_relay_is_probed_on_its_health_endpoints_in_every_overlay(overlay):
    """A worker whose AMQP consumer died, or a relay whose loop hung, fails /healthz/live
    (onestop_chassis.health); /metrics alone answered as long as the process lived."""
    probed = 0
    for doc in of_kind(build(overlay), "Deployment"):
        component = doc["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        if component not in ("worker", "relay"):
            continue
        for container in containers(doc["spec"]["template"]["spec"]):
            ports = {p["name"] for p in container.get("ports", [])}
            for kind, path in (("livenessProbe", "/healthz/live"), ("readinessProbe", "/healthz/ready")):
                probe = container[kind]["httpGet"]
                assert probe["path"] == path, (overlay, doc["metadata"]["name"], kind)
                assert probe["port"] == "metrics" and "metrics" in ports, (overlay, doc["metadata"]["name"])
            probed += 1
    # every worker, and every relay of a service that has one (a service born from the template has none)
    assert probed == sum(len({"worker", "relay"} & set(BY_NAME[s].processes)) for s in SERVICES)
