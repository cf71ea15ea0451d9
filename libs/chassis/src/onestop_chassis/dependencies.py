"""The servers a service depends on (database, object store, broker) when they are down.

- `unavailable(exc)` recognises a failure to reach one of them, anywhere in an exception's chain,
  and gives the UNAVAILABLE ServiceError the api answers with (reason `DATABASE_UNAVAILABLE`,
  `OBJECT_STORE_UNAVAILABLE` or `BROKER_UNAVAILABLE`, metadata `dependency` and `retryable`, and a
  RetryInfo). Anything else is left alone (and stays INTERNAL if nothing else handles it).
- `DependencyMonitor` probes each dependency an api declares, every DEPENDENCY_CHECK_SECONDS, and
  reports the result: the gRPC server turns it into the standard health service's NOT_SERVING /
  SERVING, and the gauge `onestop_dependency_up{service, dependency}` shows each one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pymongo.errors
import urllib3.exceptions
from minio.error import S3Error, ServerError

from . import metrics
from .errors import Unavailable
from .logs import get_logger

log = get_logger("onestop.dependencies")

DATABASE, OBJECT_STORE, BROKER = "database", "object_store", "broker"
REASONS = {DATABASE: "DATABASE_UNAVAILABLE", OBJECT_STORE: "OBJECT_STORE_UNAVAILABLE", BROKER: "BROKER_UNAVAILABLE"}
_NAMES = {DATABASE: "the database", OBJECT_STORE: "the object store", BROKER: "the message broker"}
# S3 error codes that mean "the server cannot serve now", not "this request is wrong".
_S3_BUSY = frozenset({"ServiceUnavailable", "SlowDown", "XMinioServerNotInitialized", "XMinioReadQuorum",
                      "XMinioWriteQuorum"})
RETRY_DELAY_SECONDS = 1.0


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _broker_errors() -> tuple[type[BaseException], ...]:
    from amqp.exceptions import ConnectionError as AmqpConnectionError
    from kombu.exceptions import OperationalError
    return OperationalError, AmqpConnectionError


def dependency_of(exc: BaseException) -> str | None:
    """Which dependency `exc` (or an exception it was raised from) says is unreachable, if any.

    The database: pymongo's ConnectionFailure (AutoReconnect, NetworkTimeout,
    ServerSelectionTimeoutError) or any of its errors that is a timeout. The object store: urllib3's
    errors (minio-py's transport: MaxRetryError, NewConnectionError, ProtocolError...), minio-py's
    ServerError (a 5xx without an S3 body) and S3 codes like ServiceUnavailable. The broker:
    kombu's OperationalError and amqp's ConnectionError.
    """
    broker = _broker_errors()
    for link in _chain(exc):
        if isinstance(link, pymongo.errors.ConnectionFailure) or \
                (isinstance(link, pymongo.errors.PyMongoError) and link.timeout):
            return DATABASE
        if isinstance(link, (urllib3.exceptions.HTTPError, ServerError)) or \
                (isinstance(link, S3Error) and link.code in _S3_BUSY):
            return OBJECT_STORE
        if isinstance(link, broker):
            return BROKER
    return None


def unavailable_error(dependency: str, cause: str = "") -> Unavailable:
    """The UNAVAILABLE error for a dependency that does not answer."""
    because = f" ({cause})" if cause else ""
    return Unavailable(REASONS[dependency],
                       f"{_NAMES[dependency]} is not answering{because}; this is temporary: retry in a moment",
                       metadata={"dependency": dependency, "retryable": "true"})


def unavailable(exc: BaseException) -> Unavailable | None:
    """The UNAVAILABLE ServiceError for an unreachable dependency, or None for any other failure."""
    if isinstance(exc, Unavailable):
        return exc
    dependency = dependency_of(exc)
    return None if dependency is None else unavailable_error(dependency, type(exc).__name__)


Probe = Callable[[], None]  # raises unless the dependency answered, within its own short timeout


class DependencyMonitor:
    """Probes each dependency every `interval` seconds in a daemon thread and calls
    `on_change(all_up)` whenever the overall answer changes (and once, after the first round)."""

    def __init__(self, service: str, probes: dict[str, Probe], on_change: Callable[[bool], None],
                 interval: float = 0.5):
        self._service = service
        self._probes = dict(probes)
        self._on_change = on_change
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._up: dict[str, bool] = {}
        self._all_up: bool | None = None

    @property
    def up(self) -> dict[str, bool]:
        """Each dependency's last answer (True: it answered)."""
        return dict(self._up)

    def check(self) -> bool:
        """One round of probes; returns whether every dependency answered."""
        for name, probe in self._probes.items():
            try:
                probe()
                up = True
            except Exception as exc:  # any failure of a probe means "not answering"
                up, error = False, f"{type(exc).__name__}: {exc}"[:300]
            if self._up.get(name) != up:
                if up:
                    log.info("dependency answers again", dependency=name)
                else:
                    log.warning("dependency not answering", dependency=name, error=error)
            self._up[name] = up
            metrics.DEPENDENCY_UP.labels(self._service, name).set(1 if up else 0)
        all_up = all(self._up.values())
        if all_up != self._all_up:
            self._all_up = all_up
            self._on_change(all_up)
        return all_up

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dependency-monitor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.check()
            except Exception:  # never let the monitor die: health would freeze at its last answer
                log.exception("dependency check failed")
            self._stopping.wait(self._interval)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
