"""With RabbitMQ stopped, the desk keeps receiving; once it is back, every case opens, once."""

from __future__ import annotations

import json
import subprocess
import time

from conftest import bearer

from stack import ROOT, port_open
from support import submit_request, wait_for_case

STACK = ["bash", str(ROOT / "deploy/local/stack.sh")]


def _rabbitmq(action: str) -> None:
    done = subprocess.run([*STACK, action, "rabbitmq"], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"stack.sh {action} rabbitmq failed:\n{done.stdout}\n{done.stderr}"


def test_dossiers_submitted_while_rabbitmq_is_down_open_their_cases_once_it_is_back(intake, routing, platform):
    _rabbitmq("stop")
    try:
        assert not port_open(5672), "RabbitMQ should be down for this test"
        codes = [intake.SubmitDossier(submit_request(), metadata=bearer(), timeout=10).dossier.code
                 for _ in range(20)]
        assert len(set(codes)) == 20
        time.sleep(1)  # the relay tries and fails meanwhile; nothing may be lost
        pending = platform.db("intake")["dossiers_outbox"].count_documents({"aggregate_id": {"$in": codes}})
        assert pending == 20, "every event waits in the outbox while the broker is down"
    finally:
        _rabbitmq("start")

    cases = [wait_for_case(routing, code, bearer(), timeout=120) for code in codes]
    assert [c.dossier_code for c in cases] == codes
    stored = list(platform.db("routing")["cases"].find({"_id": {"$in": codes}}))
    assert len(stored) == 20, "one case per dossier"
    opened = [json.loads(line).get("dossier_code") for line in platform.processes["routing-worker"].lines()
              if line.startswith("{") and '"case opened"' in line]
    assert {code: opened.count(code) for code in codes} == {code: 1 for code in codes}, "no case opened twice"
    assert platform.db("intake")["dossiers_outbox"].count_documents({"aggregate_id": {"$in": codes}}) == 0
