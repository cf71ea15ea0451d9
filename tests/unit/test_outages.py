"""Outages (issue 9, kind 7) in the chassis: which failures mean "a dependency is down", how the
api answers them (UNAVAILABLE, ErrorInfo reason, RetryInfo), health that follows the dependencies,
short client timeouts, and the worker's shutdown
order (no relay pass on a closed database). The e2e tier stops the real servers
(tests/e2e/test_outages.py)."""

from __future__ import annotations

import socket

import eventlet
import grpc
import mongoengine
import mongomock
import pymongo
import pymongo.errors
import pytest
import urllib3
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from kombu.exceptions import OperationalError
from minio.error import S3Error, ServerError
from nameko import config as nameko_config
from prometheus_client import REGISTRY

from onestop.routing.v1 import routing_pb2, routing_pb2_grpc
from onestop_chassis import auth, dependencies, mongo, storage, worker
from onestop_chassis.config import ConfigError, ServiceSettings, load_settings
from onestop_chassis.errors import ResourceExhausted, Unavailable
from onestop_chassis.grpc_server import GrpcServer

from fakes import only_get_case

UNIT = "000.00.21.H17"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- which failures mean "a dependency is down" -----------------------------------------------------
def _s3(code: str) -> S3Error:
    return S3Error(None, code, "message", "resource", "request-id", "host-id")


@pytest.mark.parametrize("exc, dependency", [
    (pymongo.errors.ServerSelectionTimeoutError("127.0.0.1:27017: [Errno 111] Connection refused"), "database"),
    (pymongo.errors.AutoReconnect("connection closed"), "database"),
    (pymongo.errors.NetworkTimeout("timed out"), "database"),
    (pymongo.errors.ExecutionTimeout("operation exceeded time limit", 50), "database"),
    (pymongo.errors.DuplicateKeyError("E11000 duplicate key"), None),
    (pymongo.errors.OperationFailure("unsupported", 2), None),
    (urllib3.exceptions.MaxRetryError(None, "/bucket", "refused"), "object_store"),
    (urllib3.exceptions.ProtocolError("Connection aborted."), "object_store"),
    (ServerError("server failed with HTTP status code 503", 503), "object_store"),
    (_s3("XMinioServerNotInitialized"), "object_store"),
    (_s3("SlowDown"), "object_store"),
    (_s3("NoSuchKey"), None),
    (_s3("AccessDenied"), None),
    (OperationalError("[Errno 111] Connection refused"), "broker"),
    (ValueError("a bug"), None),
])
def test_dependency_of_names_the_server_that_is_down(exc, dependency):
    assert dependencies.dependency_of(exc) == dependency


def test_a_failure_raised_from_a_dependency_failure_is_one_too():
    try:
        try:
            raise pymongo.errors.AutoReconnect("reset by peer")
        except pymongo.errors.AutoReconnect as cause:
            raise RuntimeError("could not load the dossier") from cause
    except RuntimeError as exc:
        assert dependencies.dependency_of(exc) == "database"


def test_unavailable_gives_a_retryable_error_with_an_actionable_reason():
    error = dependencies.unavailable(pymongo.errors.ServerSelectionTimeoutError("db:27017 refused"))
    assert isinstance(error, Unavailable)
    assert (error.code, error.reason) == ("UNAVAILABLE", "DATABASE_UNAVAILABLE")
    assert error.metadata == {"dependency": "database", "retryable": "true"}
    assert "retry" in error.message and "db:27017" not in error.message  # no internals
    assert dependencies.unavailable(ValueError("a bug")) is None
    busy = Unavailable("CODE_ALLOCATION_BUSY", "busy")
    assert dependencies.unavailable(busy) is busy


# -- short client timeouts from settings ------------------------------------------------------------
def test_mongo_connects_with_the_timeouts_from_settings():
    settings = load_settings(ServiceSettings, service_name="routing", mongodb_uri=f"mongodb://127.0.0.1:{_free_port()}/",
                             mongodb_timeout_seconds=0.2, mongodb_socket_timeout_seconds=7)
    client = mongo.connect(settings, alias="outage-timeouts")
    try:
        assert client.options.server_selection_timeout == 0.2  # pymongo's default is 30 s
        assert client.options.heartbeat_frequency == 0.5  # pymongo's default is 10 s
        assert client.options.pool_options.connect_timeout == 0.2
        assert client.options.pool_options.socket_timeout == 7
        with pytest.raises(pymongo.errors.ServerSelectionTimeoutError) as caught:
            mongoengine.get_db("outage-timeouts")["dossiers"].find_one({"_id": "x"})  # nothing listens there
        assert dependencies.dependency_of(caught.value) == "database"
    finally:
        mongo.disconnect("outage-timeouts")


def test_the_default_timeouts_keep_a_stopped_database_under_the_2_s_bound():
    settings = load_settings(ServiceSettings, service_name="intake")
    assert settings.mongodb_timeout_seconds < 2 and settings.minio_timeout_seconds < 2
    assert settings.dependency_check_seconds <= 1


@pytest.mark.parametrize("variable", ["mongodb_timeout_seconds", "mongodb_socket_timeout_seconds",
                                      "minio_timeout_seconds", "dependency_check_seconds", "mongodb_heartbeat_seconds"])
def test_a_timeout_that_is_not_positive_is_refused_naming_the_variable(variable):
    with pytest.raises(ConfigError) as caught:
        load_settings(ServiceSettings, service_name="intake", **{variable: 0})
    assert variable.upper() in caught.value.message


def test_minio_gives_up_connecting_at_once_instead_of_retrying_with_backoff():
    settings = load_settings(ServiceSettings, service_name="documents", minio_timeout_seconds=0.5)
    http = storage.http_client(settings)
    assert http.connection_pool_kw["timeout"].connect_timeout == 0.5
    assert http.connection_pool_kw["retries"].connect == 0  # minio-py's default pool retries 5 times


def test_the_object_store_probe_fails_on_a_closed_port_as_an_object_store_outage():
    settings = load_settings(ServiceSettings, service_name="documents", minio_endpoint=f"127.0.0.1:{_free_port()}")
    with pytest.raises(Exception) as caught:
        storage.prober(settings)()
    assert dependencies.dependency_of(caught.value) == "object_store"


# -- the api: UNAVAILABLE with ErrorInfo and RetryInfo, and health --------------------------------------
@only_get_case
class Routing(routing_pb2_grpc.RoutingServiceServicer):
    @auth.requires(auth.DESK_OFFICER)
    def GetCase(self, request, context):
        code = request.dossier_code
        if code == "database-down":
            raise pymongo.errors.ServerSelectionTimeoutError("127.0.0.1:27017: [Errno 111] Connection refused")
        if code == "object-store-down":
            raise urllib3.exceptions.MaxRetryError(None, "/onestop-000/x", "Connection refused")
        if code == "broker-down":
            raise OperationalError("[Errno 111] Connection refused")
        if code == "busy":
            raise Unavailable("CODE_ALLOCATION_BUSY", "too many at once; retry")
        return routing_pb2.GetCaseResponse(case=routing_pb2.Case(dossier_code=code))


class Switch:
    def __init__(self):
        self.up = True

    def __call__(self):
        if not self.up:
            raise pymongo.errors.ServerSelectionTimeoutError("refused")


@pytest.fixture(scope="module")
def switch():
    return Switch()


@pytest.fixture(scope="module")
def server(switch):
    # A long check interval: the tests run the monitor's rounds themselves (no waiting on a clock).
    settings = load_settings(ServiceSettings, service_name="routing", grpc_port=_free_port(),
                             dependency_check_seconds=3600)
    grpc_server = GrpcServer(settings)
    grpc_server.add_servicer(routing_pb2_grpc.add_RoutingServiceServicer_to_server, Routing(),
                             routing_pb2.DESCRIPTOR.services_by_name["RoutingService"])
    grpc_server.add_dependency(dependencies.DATABASE, switch)
    grpc_server.start()
    yield grpc_server, settings
    grpc_server.stop(grace=0)


@pytest.fixture(scope="module")
def channel(server):
    with grpc.insecure_channel(f"127.0.0.1:{server[1].grpc_port}") as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield ch


def _officer(settings):
    return (("authorization", "Bearer " + auth.mint_token(settings.jwt_secret, subject="o", roles=[auth.DESK_OFFICER],
                                                         agency=UNIT)),)


def _refusal(channel, settings, code):
    with pytest.raises(grpc.RpcError) as caught:
        routing_pb2_grpc.RoutingServiceStub(channel).GetCase(routing_pb2.GetCaseRequest(dossier_code=code),
                                                             metadata=_officer(settings), timeout=10)
    err = caught.value
    details = {d.TypeName(): d for d in rpc_status.from_call(err).details}
    info, retry = error_details_pb2.ErrorInfo(), error_details_pb2.RetryInfo()
    details["google.rpc.ErrorInfo"].Unpack(info)
    has_retry = "google.rpc.RetryInfo" in details
    if has_retry:
        details["google.rpc.RetryInfo"].Unpack(retry)
    return err, info, retry if has_retry else None


@pytest.mark.parametrize("code, reason, dependency", [
    ("database-down", "DATABASE_UNAVAILABLE", "database"),
    ("object-store-down", "OBJECT_STORE_UNAVAILABLE", "object_store"),
    ("broker-down", "BROKER_UNAVAILABLE", "broker"),
])
def test_a_dependency_that_is_down_answers_unavailable_with_its_reason_and_retry_info(server, channel, code, reason,
                                                                                      dependency):
    err, info, retry = _refusal(channel, server[1], code)
    assert err.code() == grpc.StatusCode.UNAVAILABLE  # was INTERNAL
    assert (info.reason, info.domain) == (reason, "routing.onestop")
    assert dict(info.metadata) == {"dependency": dependency, "retryable": "true"}
    assert retry is not None and retry.retry_delay.ToMilliseconds() == 1000
    assert "retry" in err.details() and "27017" not in err.details() and "Errno" not in err.details()
    assert REGISTRY.get_sample_value("onestop_grpc_errors_total",
                                     {"service": "routing", "method": "GetCase", "code": "UNAVAILABLE"}) >= 1


def test_every_unavailable_error_carries_retry_info(server, channel):
    err, info, retry = _refusal(channel, server[1], "busy")
    assert (err.code(), info.reason) == (grpc.StatusCode.UNAVAILABLE, "CODE_ALLOCATION_BUSY")
    assert retry is not None


def _health(channel, service=""):
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status


def _gauge():
    return REGISTRY.get_sample_value("onestop_dependency_up", {"service": "routing", "dependency": "database"})


def test_health_follows_the_database_and_recovers_by_itself(server, channel, switch):
    grpc_server, _ = server
    monitor = grpc_server._monitor
    assert monitor is not None
    switch.up = False
    assert monitor.check() is False
    assert _health(channel) == health_pb2.HealthCheckResponse.NOT_SERVING
    assert _health(channel, "onestop.routing.v1.RoutingService") == health_pb2.HealthCheckResponse.NOT_SERVING
    assert _gauge() == 0
    assert _health(channel, "liveness") == health_pb2.HealthCheckResponse.SERVING  # no restart for an outage
    switch.up = True
    assert monitor.check() is True
    assert _health(channel) == health_pb2.HealthCheckResponse.SERVING
    assert _health(channel, "onestop.routing.v1.RoutingService") == health_pb2.HealthCheckResponse.SERVING
    assert _gauge() == 1


def test_the_monitor_reports_changes_only_and_names_each_dependency():
    changes, state = [], {"database": True, "object_store": True}

    def probe(name):
        def run():
            if not state[name]:
                raise OSError("refused")
        return run

    monitor = dependencies.DependencyMonitor("documents", {n: probe(n) for n in state}, changes.append)
    monitor.check()
    monitor.check()
    state["object_store"] = False
    monitor.check()
    monitor.check()
    assert monitor.up == {"database": True, "object_store": False}
    state["object_store"] = True
    monitor.check()
    assert changes == [True, False, True]
    assert REGISTRY.get_sample_value("onestop_dependency_up",
                                     {"service": "documents", "dependency": "object_store"}) == 1


def test_a_probe_that_raises_anything_counts_as_down_and_never_stops_the_monitor():
    changes = []

    def broken():
        raise KeyError("unexpected")
    monitor = dependencies.DependencyMonitor("intake", {"database": broken}, changes.append)
    assert monitor.check() is False and changes == [False]


# -- the worker's shutdown order ----------------------------------------------------------------------
class _Container:
    """What the providers need of nameko's container: the service name, its providers, green threads."""

    def __init__(self):
        self.service_name = "intake"
        self.config = {}
        self.dependencies = []

    def spawn_managed_thread(self, fn, identifier=None):
        return eventlet.spawn(fn)


def test_the_worker_closes_the_database_only_after_the_relay_stopped(monkeypatch):
    """nameko stops every dependency provider at once. The relay's pass in progress must finish on
    an open database, and no pass may start after it was closed (it used to log a failed pass)."""
    container = _Container()
    settings = load_settings(ServiceSettings, service_name="intake", outbox_poll_seconds=0.01,
                             outbox_relay_in_worker=True)  # the relay on the worker's hub (its old shape)
    aggregates = mongomock.MongoClient().db["dossiers"]
    with nameko_config.patch({worker.SETTINGS_KEY: settings}):
        relay = worker.OutboxRelayRunner(lambda: aggregates).bind(container, "outbox")
        connection = worker.MongoConnection().bind(container, "mongo")
        relay.setup()
    container.dependencies = [connection, relay]  # the order nameko may well stop them in
    closed, passes, on_closed = [], [], []
    monkeypatch.setattr(mongo, "disconnect", lambda alias="default": closed.append(True))

    relay.start()

    class SlowRelay:
        def run_once(self):
            passes.append("start")
            if closed:
                on_closed.append("a pass started on a closed database")
            eventlet.sleep(0.05)  # a pass in progress when the worker is told to stop
            if closed:
                on_closed.append("a pass ended on a closed database")
            passes.append("end")
            return 0
    relay.relays = [SlowRelay()]
    while not passes:
        eventlet.sleep(0.005)
    pool = eventlet.GreenPool()
    for provider in container.dependencies:  # as nameko's SpawningProxy does
        pool.spawn(provider.stop)
    pool.waitall()
    assert closed == [True]
    assert on_closed == []
    assert passes[-1] == "end"


def test_stopping_the_relay_twice_is_harmless_and_ends_its_thread():
    container = _Container()
    settings = load_settings(ServiceSettings, service_name="intake", outbox_poll_seconds=3600,
                             outbox_relay_in_worker=True)  # the relay on the worker's hub (its old shape)
    with nameko_config.patch({worker.SETTINGS_KEY: settings}):
        relay = worker.OutboxRelayRunner(lambda: mongomock.MongoClient().db["dossiers"]).bind(container, "outbox")
        relay.setup()
    relay.start()
    eventlet.sleep(0)
    relay.stop()  # returns although the relay sleeps for an hour between passes
    relay.stop()
    assert relay._thread.dead


# -- intake: the public pages and the lookup limits during an outage --------------------------------
def test_a_public_page_whose_database_is_down_answers_a_vietnamese_503():
    from onestop_intake.public.pages import unavailable_when_down

    @unavailable_when_down
    def page(self, request):
        raise pymongo.errors.ServerSelectionTimeoutError("127.0.0.1:27017: [Errno 111] Connection refused")

    status, headers, html = page(None, object())  # (self, request) of the worker's handler
    assert status == 503  # nameko answered a bare 500
    assert headers["Retry-After"] == "5" and headers["Content-Type"].startswith("text/html")
    assert "Hệ thống tạm thời gián đoạn" in html and "Vui lòng thử lại sau ít phút" in html
    assert "27017" not in html and "Errno" not in html


def test_other_page_failures_are_left_alone():
    from onestop_intake.public.pages import unavailable_when_down

    @unavailable_when_down
    def page(self, request):
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        page(None, object())


def test_an_outage_is_no_wrong_guess_of_the_lookup_secret():
    """10 wrong secrets an hour (per client and code) lock a lookup; a citizen retrying while the
    database is down must not lock themselves out."""
    from onestop_chassis.errors import NotFound
    from onestop_intake.public.lookup_limits import NO_MATCH, LookupLimits

    limits = LookupLimits()
    code, client = "000.00.21.H17-261130-0001", "10.0.0.7"

    def down():
        raise pymongo.errors.AutoReconnect("connection reset")

    def wrong():
        raise NotFound(NO_MATCH, "no dossier matches")

    for _ in range(30):
        with pytest.raises(pymongo.errors.AutoReconnect):
            limits.guarded(client=client, code=code, find=down)
    assert limits.guarded(client=client, code=code, find=lambda: "found") == "found"
    for _ in range(10):
        with pytest.raises(NotFound):
            limits.guarded(client=client, code=code, find=wrong)
    with pytest.raises(ResourceExhausted):  # real mismatches do count
        limits.guarded(client=client, code=code, find=lambda: "found")


def test_a_failed_look_up_of_the_days_hint_gives_the_turn_to_the_next_caller():
    """20 submissions in flight when FerretDB died took up to 11 s to fail: each waited for the
    one before it to give the unit's day back, which a failed call never did (lease: 5 s)."""
    import datetime as dt
    import threading

    from onestop_intake.reception.adapters.mongo import MongoCodeSequence

    class Down:
        def find_one(self, *args, **kwargs):
            raise pymongo.errors.AutoReconnect("connection reset")

    working = mongomock.MongoClient().db["dossier_code_counters"]
    sequence = MongoCodeSequence(lease_seconds=3600)
    state = {"down": True}
    sequence._collection = lambda: Down() if state["down"] else working
    day = dt.date(2026, 11, 30)
    with pytest.raises(pymongo.errors.AutoReconnect):
        sequence.candidate(UNIT, day)
    state["down"] = False
    got = []
    other = threading.Thread(target=lambda: got.append(sequence.candidate(UNIT, day)), daemon=True)
    other.start()
    other.join(timeout=30)  # it would wait for the hour-long lease
    assert got == [1]


def test_after_a_failed_attempt_the_callers_waiting_for_the_day_go_at_once_together():
    """With the store down, taking turns makes each caller wait for the one before it to fail."""
    import datetime as dt
    import threading

    from onestop_intake.reception.adapters.mongo import MongoCodeSequence

    sequence = MongoCodeSequence(lease_seconds=3600)
    counters = mongomock.MongoClient().db["dossier_code_counters"]
    sequence._collection = lambda: counters
    day = dt.date(2026, 11, 30)
    has_turn, insert_failed, got = threading.Event(), threading.Event(), []

    def holder():
        sequence.candidate(UNIT, day)  # holds the day's turn; its insert then fails
        has_turn.set()
        insert_failed.wait(30)
        sequence.abandon(UNIT, day)

    def caller():
        got.append(sequence.candidate(UNIT, day))

    first = threading.Thread(target=holder, daemon=True)
    first.start()
    assert has_turn.wait(30)
    waiters = [threading.Thread(target=caller, daemon=True) for _ in range(3)]
    for waiter in waiters:
        waiter.start()
    waiters[0].join(timeout=0.2)
    assert got == []  # they take turns, as usual
    insert_failed.set()
    for waiter in waiters:
        waiter.join(timeout=30)  # with turns, two of them would wait for the hour-long lease
    assert got == [1, 1, 1]  # all at once (the unique insert still decides who gets the number)


# -- workers: no hot loop of redeliveries while a server is down, and no dead letter for an outage ---
@pytest.mark.parametrize("exc, outage", [
    (pymongo.errors.ServerSelectionTimeoutError("refused"), True),
    (Unavailable("VERSION_ALLOCATION_BUSY", "busy"), True),
    (ValueError("a bug"), False),
])
def test_an_event_whose_handler_met_an_outage_waits_and_is_never_dead_lettered(exc, outage):
    from types import SimpleNamespace

    from onestop_chassis import dead_letters

    handler = worker.ReliableEventHandler("intake", "DossierReceived")
    handler.container = SimpleNamespace(service_name="unit")
    handler.method_name = "on_event"
    handler.queue = SimpleNamespace(name="evt-intake-DossierReceived--unit.on_event")
    outcomes, retried = [], []
    handler.consumer = SimpleNamespace(ack_message=lambda m: outcomes.append("ack"),
                                       requeue_message=lambda m: outcomes.append("requeue"))
    handler._max_attempts, handler._retry_base, handler._retry_cap = 3, 1.0, 60.0
    handler._retry_later = lambda message, attempts, delay=None: retried.append((attempts, delay))
    message = SimpleNamespace(headers={dead_letters.ATTEMPTS_HEADER: 2}, properties={"message_id": "m"},
                              channel=SimpleNamespace(connection=True),
                              reject=lambda requeue: outcomes.append(("reject", requeue)))
    try:
        raise exc
    except Exception:
        import sys
        handler.handle_message_processed(message, exc_info=sys.exc_info())
    if outage:  # the last attempt, but an outage: retried later, not counted, after a pause
        assert retried == [(2, max(worker.OUTAGE_PAUSE_SECONDS, 4.0))] and outcomes == ["ack"]
    else:       # a bug on the last attempt: dead-lettered
        assert retried == [] and outcomes == [("reject", False)]


def test_every_worker_uses_the_chassis_event_handler():
    from nameko.events import EventHandler as NamekoEventHandler
    from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

    from onestop_documents.worker import DocumentsWorker
    from onestop_intake.forms.filing import FormFiling  # IntakeWorker's handlers (its module imports nameko.web,
    from onestop_routing.worker import RoutingWorker  # which breaks stdlib threads in this process)

    for service in (DocumentsWorker, FormFiling, RoutingWorker):
        handlers = [entrypoint for name in dir(service)
                    for entrypoint in getattr(getattr(service, name), ENTRYPOINT_EXTENSIONS_ATTR, ())
                    if isinstance(entrypoint, NamekoEventHandler)]
        assert handlers and all(isinstance(h, worker.ReliableEventHandler) for h in handlers), service.__name__
