"""The one list of services (onestop_chassis.services) is what every place that names services reads.

A service added to the list but forgotten elsewhere (or the other way round) fails here, naming the
place; CONTRIBUTING.md's "Add a service" checklist is what these tests enforce.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import tomllib

import pytest
import yaml

from onestop_chassis import config, services

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILT = [s.name for s in services.built()]


def test_the_list_and_the_packages_agree():
    packages = sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))
    assert sorted(BUILT) == packages, "services.py's built services and the packages under services/ differ"


def test_ports_are_unique_and_the_chassis_defaults_come_from_the_list():
    ports = [p for s in services.SERVICES for p in (s.grpc_port, s.api_metrics_port, s.worker_metrics_port)]
    ports += [s.web_port for s in services.SERVICES if s.web_port]
    assert len(ports) == len(set(ports)), "two services share a port"
    assert {s.name: s.grpc_port for s in services.SERVICES} == config.GRPC_PORTS
    assert config.WORKER_METRICS_PORTS["intake"] == 9251 and config.WEB_PORTS == {
        "intake": 8051, "survey": 8054, "delivery": 8055}


@pytest.mark.parametrize("name", [s.name for s in services.SERVICES])
def test_every_service_has_its_contract(name):
    assert (ROOT / "protos" / "onestop" / name / "v1").is_dir(), f"protos/onestop/{name}/v1 is missing"


@pytest.mark.parametrize("name", BUILT)
def test_every_process_has_its_console_script(name):
    scripts = tomllib.loads((ROOT / "services" / name / "pyproject.toml").read_text())["project"]["scripts"]
    for process in services.BY_NAME[name].processes:
        assert f"onestop-{name}-{process}" in scripts, f"services/{name}/pyproject.toml lacks onestop-{name}-{process}"


@pytest.mark.parametrize("name", BUILT)
def test_every_service_is_in_the_kustomize_base_with_the_pod_defaults(name):
    base = yaml.safe_load((ROOT / "deploy/k8s/base/kustomization.yaml").read_text())
    assert name in base["resources"], f"deploy/k8s/base/kustomization.yaml does not list {name}"
    assert f"ghcr.io/onestop-vn/onestop-{name}" in [i["name"] for i in base["images"]]
    own = yaml.safe_load((ROOT / "deploy/k8s/base" / name / "kustomization.yaml").read_text())
    assert "../../components/pod-defaults" in own.get("components", []), \
        f"{name} does not use the pod-defaults component"


def test_the_makefile_and_the_local_scripts_read_the_list(tmp_path):
    script = ROOT / "libs/chassis/src/onestop_chassis/services.py"
    names = subprocess.run([sys.executable, str(script), "names"], capture_output=True, text=True, check=True)
    assert names.stdout.split() == BUILT
    packages = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(ROOT), "-f", "Makefile",
                               "--eval", "print-packages: ; @echo $(PACKAGES)", "print-packages"],
                              capture_output=True, text=True, check=True).stdout.split()
    assert packages == ["libs/contracts", "libs/chassis", *(f"services/{n}" for n in BUILT)]
    status = subprocess.run(["bash", str(ROOT / "deploy/local/services.sh"), "status"], capture_output=True,
                            text=True, check=True, env={**os.environ, "ONESTOP_DATA": str(tmp_path)})
    assert [line.split()[0] for line in status.stdout.splitlines()] == \
        [f"{n}-{p}" for n in BUILT for p in services.BY_NAME[n].processes] + ["carrier-sandbox", "gateway"]
    # delivery's carrier sandbox, and the REST gateway in front of every service


def test_the_cli_refuses_an_unknown_service():
    script = ROOT / "libs/chassis/src/onestop_chassis/services.py"
    done = subprocess.run([sys.executable, str(script), "ports", "nosuch"], capture_output=True, text=True)
    assert done.returncode == 2 and "usage" in done.stderr
