"""End-to-end: intake and routing run as real processes (api + worker each) on the real stack, and
the tests call them with a plain grpcio client, as an integration partner would."""

from __future__ import annotations

import contextlib
import pathlib
import sys
import time

import grpc
import pymongo
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from onestop.delivery.v1 import delivery_pb2_grpc
from onestop.documents.v1 import documents_pb2_grpc
from onestop.intake.v1 import intake_pb2_grpc
from onestop.routing.v1 import routing_pb2_grpc
from onestop.survey.v1 import survey_pb2_grpc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from onestop_chassis.auth import mint_token  # noqa: E402 - isort keeps first-party after `stack`
from onestop_chassis.config import LOCAL_JWT_SECRET  # noqa: E402 - as above

from stack import AMQP_FORMS_TEST_URI, MONGODB_URI, LocalPlatform  # noqa: E402 - found through sys.path above

UNIT = "000.00.21.H17"
# Every secret the platforms handed out or the tests used (lookup secrets, bearer tokens): no log
# line of any platform may hold one (checked when the session ends).
ISSUED_SECRETS: set[str] = set()


class Platform(LocalPlatform):
    @property
    def intake_port(self) -> int:
        return self.grpc_ports["intake"]

    @property
    def routing_port(self) -> int:
        return self.grpc_ports["routing"]

    def channel(self, service: str) -> grpc.Channel:
        return grpc.insecure_channel(f"127.0.0.1:{self.grpc_ports[service]}")

    def db(self, service: str):
        return pymongo.MongoClient(MONGODB_URI, tz_aware=True)[self.databases[service]]


def token(roles=("desk_officer",), agency=UNIT, subject="e2e-officer", ttl=3600) -> str:
    minted = mint_token(LOCAL_JWT_SECRET, subject=subject, roles=roles, agency=agency, ttl_seconds=ttl)
    ISSUED_SECRETS.add(minted)
    return minted


def bearer(tok: str | None = None) -> tuple:
    return (("authorization", f"Bearer {tok or token()}"),)


def _wait_serving(platform: Platform, service: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with platform.channel(service) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                status = stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                assert time.monotonic() < deadline, f"{service} api never reported SERVING"
                time.sleep(0.2)


@contextlib.contextmanager
def running(p: Platform):
    """Starts the platform's processes, waits until every api serves, and stops them at the end."""
    try:
        p.start()
        for service in p.services:
            _wait_serving(p, service)
        yield p
    finally:
        try:
            if "intake" in p.services:
                dossiers = p.db("intake")["dossiers"].find({}, {"lookup_secret": 1})
                for d in dossiers:  # tests type them in either case
                    if d.get("lookup_secret"):
                        ISSUED_SECRETS.update((d["lookup_secret"], d["lookup_secret"].lower()))
        finally:
            p.stop()


@pytest.fixture(scope="session", autouse=True)
def secrets_stay_out_of_logs(tmp_path_factory):
    """After the session: no log file of any platform it ran holds a lookup secret or a token."""
    yield
    logs = sorted(tmp_path_factory.getbasetemp().rglob("*.log"))
    if not ISSUED_SECRETS:
        return  # no platform ran (a selection of tests that start none)
    assert logs, "platforms ran but wrote no log files to scan"
    leaks = [f"{path.name}:{number}"
             for path in logs for number, line in enumerate(path.read_text("utf-8", "replace").splitlines(), 1)
             for secret in ISSUED_SECRETS if secret in line]
    assert not leaks, f"secrets in the logs ({len(ISSUED_SECRETS)} issued): " + "; ".join(leaks[:20])


# The tests reach the platform through 127.0.0.1: it is the trusted proxy (a test may name the client
# it stands for in X-Forwarded-For) and a queue kiosk (it takes tickets for the whole suite).
PUBLIC_ENV = {"TRUSTED_PROXIES": "127.0.0.1", "QUEUE_KIOSKS": "127.0.0.1"}


@pytest.fixture(scope="session")
def platform(local_stack, tmp_path_factory):
    with running(Platform(log_dir=tmp_path_factory.mktemp("e2e-logs"),
                          extra_env={"OUTBOX_POLL_SECONDS": "0.1", **PUBLIC_ENV})) as p:
        yield p


# Each service's api as a partner calls it: its gRPC stub (a service may serve others, e.g. intake's
# QueueService: name the class).
STUB_CLASSES = {"intake": intake_pb2_grpc.IntakeServiceStub, "routing": routing_pb2_grpc.RoutingServiceStub,
                "documents": documents_pb2_grpc.DocumentsServiceStub, "survey": survey_pb2_grpc.SurveyServiceStub,
                "delivery": delivery_pb2_grpc.DeliveryServiceStub}


@contextlib.contextmanager
def stub(platform: Platform, service: str, stub_class=None):
    """A gRPC stub of `service`'s api on `platform` (STUB_CLASSES, or `stub_class` on the same
    channel); the channel is closed at the end."""
    with platform.channel(service) as channel:
        yield (stub_class or STUB_CLASSES[service])(channel)


def stub_fixtures(platform_fixture: str, *services: str, **named: tuple[str, type]) -> tuple:
    """Function-scoped fixtures yielding stubs on the platform of the fixture `platform_fixture`: one
    named after each of `services`, and `name=(service, stub class)` for the others. A module binds
    them to module names so pytest finds them:
    `intake, routing = stub_fixtures("agency", "intake", "routing")`."""
    def fixture(name: str, service: str, stub_class):
        @pytest.fixture(name=name)
        def _stub(request):
            with stub(request.getfixturevalue(platform_fixture), service, stub_class) as s:
                yield s
        return _stub
    return tuple(fixture(name, service, stub_class) for name, (service, stub_class)
                 in {**{s: (s, None) for s in services}, **named}.items())


intake, routing = stub_fixtures("platform", "intake", "routing")


def purge_event_queues(amqp_uri: str) -> None:
    """Empties the event queues of every consumer of this platform (with their retry queues). The
    vhost is shared with other modules and runs, and dossier codes repeat from one run to the next
    (`<unit>-<date>-0001`): an event a stopped worker left queued would otherwise apply to a new
    dossier of the same code. (The workers are imported here, not at the top: IntakeWorker imports
    nameko's web server, which changes the threads of the process that imports it.)"""
    import contextlib

    from amqp.exceptions import ChannelError
    from kombu import Connection
    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

    from onestop_chassis import dead_letters
    from onestop_chassis.consuming import ReliableEventHandler
    from onestop_delivery.worker import DeliveryWorker
    from onestop_documents.worker import DocumentsWorker
    from onestop_intake.worker import IntakeWorker
    from onestop_routing.worker import RoutingWorker
    from onestop_survey.worker import SurveyWorker
    names = [f"evt-{handler.source_service}-{handler.event_type}--{worker.name}.{method}"
             for worker in (IntakeWorker, RoutingWorker, DocumentsWorker, DeliveryWorker, SurveyWorker)
             for method in dir(worker)
             for handler in getattr(getattr(worker, method), ENTRYPOINT_EXTENSIONS_ATTR, ())
             if isinstance(handler, ReliableEventHandler)]
    with Connection(amqp_uri) as connection:
        for queue in names + [dead_letters.retry_queue(name) for name in names]:
            with contextlib.suppress(ChannelError):  # NOT_FOUND: never declared on this vhost
                connection.channel().queue_purge(queue)


@contextlib.contextmanager
def on_forms_vhost(tmp_path_factory, prefix: str, services: tuple[str, ...], extra_env: dict | None = None):
    """A module's own platform (`services`, with documents where forms are filed) on the shared
    forms vhost, its consumers' queues emptied before and after (purge_event_queues); `extra_env`
    adds settings of its processes."""
    purge_event_queues(AMQP_FORMS_TEST_URI)
    try:
        with running(Platform(log_dir=tmp_path_factory.mktemp(f"{prefix}-logs"), services=services, prefix=prefix,
                              amqp_uri=AMQP_FORMS_TEST_URI,
                              extra_env={"OUTBOX_POLL_SECONDS": "0.1", **(extra_env or {})})) as p:
            yield p
    finally:
        purge_event_queues(AMQP_FORMS_TEST_URI)  # what the stopped workers left, for the next module
