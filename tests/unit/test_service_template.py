"""`make service` and what it relies on, short of rendering (tests/e2e/test_new_service.py renders a
throw-away service in a copy of the checkout and runs it)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "templates"))
import scaffold  # noqa: E402 (templates/ is not a package; its path is added just above)

REGISTRIES = (scaffold.SERVICES_PY, scaffold.BASE, scaffold.LOCAL)


@pytest.mark.parametrize(("argv", "said"), [
    (["Survey"], "lowercase"), (["a-b"], "lowercase"), (["ab"], "3 to 12"), (["abcdefghijklm"], "3 to 12"),
    (["routing"], "exists already"), (["zzprobe", "--aggregate", "probe"], "capitalised"),
    (["zzprobe", "--grpc-port", "50052"], "taken by routing"), (["zzprobe", "--grpc-port", "51000"], "outside"),
])
def test_the_scaffold_refuses_before_writing_anything(argv, said, capsys):
    before = [p.read_text() for p in REGISTRIES]
    assert scaffold.main(argv) == 2
    assert said in capsys.readouterr().err
    assert [p.read_text() for p in REGISTRIES] == before
    assert not (ROOT / "services" / argv[0]).exists() or argv[0] == "routing"


def test_the_template_asks_what_the_scaffold_passes_with_the_same_rules():
    questions = yaml.safe_load((ROOT / "copier.yml").read_text())
    assert questions["_subdirectory"] == "templates/service"
    assert {"name", "description", "aggregate", "grpc_port"} <= set(questions)
    assert scaffold.NAME.pattern.strip("^$") in questions["name"]["validator"]
    assert scaffold.AGGREGATE.pattern.strip("^$") in questions["aggregate"]["validator"]


def test_services_sh_acts_on_the_services_named_only(tmp_path):
    def services_sh(*args):
        return subprocess.run(["bash", str(ROOT / "deploy/local/services.sh"), *args], capture_output=True, text=True,
                              env={**os.environ, "ONESTOP_DATA": str(tmp_path)})
    assert services_sh("status", "routing").stdout.split("\n")[:-1] == ["routing-api stopped", "routing-worker stopped",
                                                                "routing-relay stopped"]
    refused = services_sh("status", "nosuch")
    assert refused.returncode == 2 and "no service nosuch" in refused.stderr


def test_make_help_lists_the_service_target():
    listed = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(ROOT), "help"], capture_output=True,
                            text=True, check=True).stdout.split()
    assert {"service", "test-e2e"} <= set(listed)
