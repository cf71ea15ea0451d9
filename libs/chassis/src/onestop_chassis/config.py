"""Configuration from environment variables, with defaults for the local stack.

A malformed value, or a value that production requires and nobody set, stops the process with a
message naming the variable (exit status 2) instead of failing later in an obscure place.
"""

from __future__ import annotations

import pathlib
import sys
import urllib.parse
from typing import ClassVar, Literal, TypeVar

from pydantic import Field, PrivateAttr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .auth import (
    DEFAULT_JWKS_CACHE_SECONDS,
    DEFAULT_JWKS_COOLDOWN_SECONDS,
    DEFAULT_LEEWAY_SECONDS,
    DEFAULT_MAX_LIFETIME_SECONDS,
    DEFAULT_MAX_SERVICE_LIFETIME_SECONDS,
    MAX_LEEWAY_SECONDS,
    SERVICE,
)
from .services import SERVICES

LOCAL_JWT_SECRET = "onestop-local-development-secret-do-not-use-in-production"

# Credentials that are public (in this repository, or the servers' own defaults): production refuses
# them whatever else is right, in every setting named in PRODUCTION_SECRETS. Every literal of the
# services' local defaults, the local overlay's Secrets (deploy/k8s/overlays/local) and the local
# stack (deploy/local) is here: tests/unit/test_production_secrets.py checks the overlay's.
KNOWN_SECRETS = frozenset({
    LOCAL_JWT_SECRET, "local-only-jwt-secret-do-not-use-in-production",  # deploy/k8s/overlays/local
    "onestop-local-secret", "minioadmin",  # the local stack's MinIO, MinIO's own default
    # survey's INVITATION_KEY: its local default (onestop_survey.config), the local overlay's
    "onestop-local-survey-key-change-me-in-production", "local-only-survey-invitation-key-do-not-use",
    # delivery's CARRIER_API_TOKEN and CARRIER_WEBHOOK_SECRET: local defaults, the local overlay's
    "onestop-local-carrier-token-do-not-use-in-production",
    "onestop-local-carrier-webhook-secret-do-not-use-in-production",
    "local-only-carrier-token-do-not-use-in-production",
    "local-only-carrier-webhook-secret-do-not-use-in-production",
})
KNOWN_ACCESS_KEYS = frozenset({"onestop", "minioadmin"})
OWN_SECRET = ("give it one of its own for ONESTOP_ENV=production (a key: generate it, e.g. "
              "`openssl rand -base64 48`; a carrier's token: the one the carrier issued)")
LOOPBACK = ("127.0.0.1", "localhost", "[::1]", "0.0.0.0")  # noqa: S104 - names to refuse, not to bind
# The weak-secret rule: a secret shorter than this, or with fewer distinct characters, is refused in
# production (a 32-character run of one letter is 32 characters, and 1 distinct).
MIN_SECRET_LENGTH = 32
MIN_DISTINCT_SECRET_CHARACTERS = 10

# Ports every process uses unless told otherwise, from the one list of services (services.py).
GRPC_PORTS = {s.name: s.grpc_port for s in SERVICES}
API_METRICS_PORTS = {s.name: s.api_metrics_port for s in SERVICES}     # 9151..
WORKER_METRICS_PORTS = {s.name: s.worker_metrics_port for s in SERVICES}  # 9251..
RELAY_METRICS_PORTS = {s.name: s.relay_metrics_port for s in SERVICES}  # 9351..
WEB_PORTS = {s.name: s.web_port for s in SERVICES if s.web_port}  # public pages served by the worker


class ConfigError(SystemExit):
    def __init__(self, message: str):
        super().__init__(2)
        self.message = message


class ServiceSettings(BaseSettings):
    """Settings every service shares. Each service subclasses it and sets `service_name`."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    service_name: str = "unnamed"
    onestop_env: Literal["local", "production"] = "local"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    grpc_host: str = "127.0.0.1"
    grpc_port: int = 0
    grpc_max_workers: int = 16
    metrics_host: str = "127.0.0.1"
    api_metrics_port: int = 0
    worker_metrics_port: int = 0
    relay_metrics_port: int = 0
    web_host: str = "127.0.0.1"
    web_port: int = 0

    # One instance of the platform per agency (docs/operations.md, "One instance per agency"): a short
    # name that keeps its data apart from another agency's on a shared MongoDB, RabbitMQ and MinIO.
    # It prefixes every database (onestop_<instance>_<service>) and bucket (onestop-<instance>-...);
    # the RabbitMQ vhost is AMQP_URI's path. Empty: one instance alone (onestop_<service>, onestop-...).
    onestop_instance: str = Field(default="", pattern=r"^([a-z][a-z0-9-]{0,18}[a-z0-9])?$")

    mongodb_uri: str = "mongodb://127.0.0.1:27017/"
    mongodb_database: str = ""
    amqp_uri: str = "amqp://guest:guest@127.0.0.1:5672/"
    minio_endpoint: str = "127.0.0.1:9000"
    minio_access_key: str = "onestop"
    minio_secret_key: str = "onestop-local-secret"
    minio_secure: bool = False

    # How long a call waits for a dependency that does not answer before it gets UNAVAILABLE
    # (docs/design.md, "Outages"). pymongo's own server selection waits 30 s; minio-py's client
    # retries with backoff for longer. A stopped server must cost a caller about a second, not that.
    mongodb_timeout_seconds: float = 1.0         # server selection and connect
    mongodb_heartbeat_seconds: float = 0.5       # pymongo's own check of the server (its minimum)
    mongodb_socket_timeout_seconds: float = 30.0  # one reply from a server that hangs (a long scan is legal)
    minio_timeout_seconds: float = 1.0           # connect; reading a part may take longer (30 s)
    dependency_check_seconds: float = 0.5        # health: how often the api probes its dependencies

    # The agency's own calendar (onestop_chassis.worktime.calendar_file): closures (days off beyond
    # the national holidays) and make-up working days, one YAML file every service of the instance
    # reads at start (a ConfigMap in Kubernetes). Empty: the national calendar alone.
    working_calendar_file: str = ""
    _calendar_days: object = PrivateAttr(default=None)  # read once, when the settings are checked

    # How tokens are checked (onestop_chassis.auth.TokenVerifier), exactly one of: JWT_SECRET (HS256,
    # local mode only), JWT_PUBLIC_KEY_FILE (PEM) or JWT_JWKS_URL (the identity provider's published
    # keys, https in production). Production also needs JWT_ISSUER and JWT_AUDIENCE set.
    jwt_secret: str = ""
    jwt_public_key_file: str = ""
    jwt_jwks_url: str = ""
    jwt_jwks_cache_seconds: float = Field(default=DEFAULT_JWKS_CACHE_SECONDS, gt=0, le=86400)
    jwt_jwks_cooldown_seconds: float = Field(default=DEFAULT_JWKS_COOLDOWN_SECONDS, ge=0, le=3600)
    jwt_audience: str = "onestop"
    jwt_issuer: str = ""
    # The longest a token may live, exp - iat, in seconds: people's tokens, and tokens whose only
    # role is "service" (SERVICE_TOKEN, which a process reads once).
    jwt_max_lifetime_seconds: float = Field(default=DEFAULT_MAX_LIFETIME_SECONDS, gt=0)
    jwt_max_service_lifetime_seconds: float = Field(default=DEFAULT_MAX_SERVICE_LIFETIME_SECONDS, gt=0)
    # Seconds of clock skew allowed on a token's iat, nbf and exp (RFC 7519), 0 to 300. 30 s covers
    # machines whose clocks drift without NTP for a while, and is small next to a token's life
    # (1 to 8 hours), which it lengthens by as much.
    jwt_leeway_seconds: float = DEFAULT_LEEWAY_SECONDS
    # Bearer token this service presents when it calls other services (role "service", issued by
    # the identity provider). Empty: minted from JWT_SECRET, which only works with a shared secret.
    service_token: str = ""
    # Services that call another service's api (production then requires SERVICE_TOKEN).
    CALLS_PEERS: ClassVar[bool] = False

    outbox_poll_seconds: float = 0.2
    outbox_batch_size: int = 100
    outbox_grace_seconds: float = 60.0
    # However many relay (or worker) replicas run, one holds the outbox's lease and publishes
    # (onestop_chassis.leases): a term of this many seconds; a dead holder's successor takes over
    # within two terms.
    outbox_lease_seconds: float = 10.0
    # The relay runs as a process of its own (`onestop-<svc>-relay`, onestop_chassis.relay), so CPU
    # work on the worker's eventlet hub (rendering a form) never delays event delivery. True puts it
    # back on the worker's hub, as before: for comparison (`make bench relay`) and for a deployment
    # that has not got the relay process yet. Both at once only publish some events twice.
    outbox_relay_in_worker: bool = False
    # Aggregates the relay process relays at once (threads; each aggregate's events stay in order).
    # The worker's relay goes one by one.
    outbox_relay_concurrency: int = Field(default=8, ge=1, le=64)
    # Probes of the worker and relay (onestop_chassis.health, /healthz/live on the metrics port):
    # liveness fails once a worker's event consumer has been disconnected from RabbitMQ this long,
    # or a loop (relay, @periodic timer) has not completed a pass for 3 of its intervals and at
    # least this long (a pass may wait on a database timeout).
    liveness_grace_seconds: float = 60.0

    # Event handlers (onestop_chassis.dead_letters): a message whose handler keeps failing is tried
    # EVENT_MAX_ATTEMPTS times in all, waiting 1, 2, 4 ... seconds (at most EVENT_RETRY_MAX_SECONDS)
    # between attempts, then goes to its dead-letter queue. Defaults: 15 attempts over about 9 minutes.
    event_max_attempts: int = 15
    event_retry_base_seconds: float = 1.0
    event_retry_max_seconds: float = 60.0

    # Proxies whose X-Forwarded-For the public endpoints' rate limits believe (addresses or CIDR
    # networks, comma-separated; onestop_chassis.ratelimits). Empty: the peer address counts.
    trusted_proxies: str = ""

    # Standard OpenTelemetry variable: spans are exported over OTLP/HTTP only when it is set.
    otel_exporter_otlp_endpoint: str = ""

    # Settings whose local defaults must never reach production (a service adds its own).
    PRODUCTION_REQUIRED: ClassVar[tuple[str, ...]] = ("mongodb_uri", "amqp_uri")
    # A service's own credentials (survey's INVITATION_KEY, delivery's carrier token): production
    # requires each set, to a value of its own (not in KNOWN_SECRETS, not weak). Where the settings
    # also have `<name>_file` and it is set, the value is read from that file at start (a Kubernetes
    # Secret mounted as a file, or `make run`'s generated ones). JWT_SECRET, and MINIO_SECRET_KEY of a
    # service that requires it, get the same check without being required.
    PRODUCTION_SECRETS: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _defaults_and_production_rules(self):
        self._fill_defaults()
        self._read_secret_files()
        self._check_ranges()
        if self.onestop_env == "production":
            self._check_production()
        elif not (self.jwt_secret or self.jwt_public_key_file or self.jwt_jwks_url):
            self.jwt_secret = LOCAL_JWT_SECRET
        if sum(map(bool, (self.jwt_secret, self.jwt_public_key_file, self.jwt_jwks_url))) > 1:
            raise ValueError("set only one of JWT_SECRET, JWT_PUBLIC_KEY_FILE and JWT_JWKS_URL")
        return self

    def _fill_defaults(self) -> None:
        """The service's ports (onestop_chassis.services) and database name, where not set."""
        name = self.service_name
        self.grpc_port = self.grpc_port or GRPC_PORTS.get(name, 50050)
        self.api_metrics_port = self.api_metrics_port or API_METRICS_PORTS.get(name, 9150)
        self.worker_metrics_port = self.worker_metrics_port or WORKER_METRICS_PORTS.get(name, 9250)
        self.relay_metrics_port = self.relay_metrics_port or RELAY_METRICS_PORTS.get(name, 9350)
        self.web_port = self.web_port or WEB_PORTS.get(name, 8050)
        self.mongodb_database = self.mongodb_database or f"{self.resource_prefix.replace('-', '_')}_{name}"

    def _read_secret_files(self) -> None:
        """Each PRODUCTION_SECRETS value whose `<name>_file` is set, from that file (its text, stripped);
        ValueError naming the variable when the file cannot be read."""
        for name in self.PRODUCTION_SECRETS:
            path = getattr(self, f"{name}_file", "")
            if path:
                try:
                    setattr(self, name, pathlib.Path(path).read_text(encoding="utf-8").strip())
                except OSError as exc:
                    raise ValueError(f"{name.upper()}_FILE: cannot read {path}: {exc.strerror}") from None

    def _check_ranges(self) -> None:
        """ValueError naming the first setting out of its range."""
        for port_name in ("grpc_port", "api_metrics_port", "worker_metrics_port", "relay_metrics_port"):
            if not 0 < getattr(self, port_name) < 65536:
                raise ValueError(f"{port_name.upper()} must be a TCP port between 1 and 65535")
        if not 0 <= self.jwt_leeway_seconds <= MAX_LEEWAY_SECONDS:
            raise ValueError(f"JWT_LEEWAY_SECONDS must be between 0 and {MAX_LEEWAY_SECONDS} seconds")
        self.trusted_networks  # noqa: B018 - raises ValueError naming a bad TRUSTED_PROXIES entry
        if self.outbox_poll_seconds <= 0:
            raise ValueError("OUTBOX_POLL_SECONDS must be greater than 0")
        if self.liveness_grace_seconds <= 0:
            raise ValueError("LIVENESS_GRACE_SECONDS must be greater than 0")
        for seconds in ("mongodb_timeout_seconds", "mongodb_socket_timeout_seconds", "minio_timeout_seconds",
                        "dependency_check_seconds"):
            if getattr(self, seconds) <= 0:
                raise ValueError(f"{seconds.upper()} must be greater than 0")
        if self.mongodb_heartbeat_seconds < 0.5:
            raise ValueError("MONGODB_HEARTBEAT_SECONDS must be at least 0.5 (pymongo's minimum)")
        self.calendar_days()  # raises ValueError naming the file's bad lines

    def calendar_days(self):
        """The agency's closures and make-up days from WORKING_CALENDAR_FILE (worktime.CalendarDays);
        ValueError naming the file and each bad line."""
        if self._calendar_days is not None:
            return self._calendar_days
        from .errors import ServiceError
        from .worktime import calendar_days
        try:
            self._calendar_days = calendar_days(self.working_calendar_file)
            return self._calendar_days
        except OSError as exc:
            raise ValueError(f"WORKING_CALENDAR_FILE: cannot read {self.working_calendar_file}: "
                             f"{exc.strerror}") from None
        except ServiceError as exc:
            lines = "; ".join(f"{v.field}: {v.description}" for v in exc.violations) or exc.message
            raise ValueError(f"WORKING_CALENDAR_FILE {self.working_calendar_file}: {lines}") from None

    def _check_production(self) -> None:
        """ValueError when a local default (JWT secret, database or broker URI) would reach production."""
        self._check_production_tokens()
        missing = [name.upper() for name in self.PRODUCTION_REQUIRED
                   if name not in self.model_fields_set or getattr(self, name) in ("", None)]
        if missing:
            raise ValueError(f"{', '.join(missing)} must be set when ONESTOP_ENV=production "
                             "(the local defaults point at 127.0.0.1 with demo credentials)")
        self._check_production_values()

    def _check_production_tokens(self) -> None:
        """ValueError unless tokens are checked with the identity provider's keys (JWT_JWKS_URL over
        https, or JWT_PUBLIC_KEY_FILE) for a named issuer and audience, no pod holds a signing secret,
        and a service that calls peers has a SERVICE_TOKEN with the role "service" alone."""
        if self.jwt_secret:
            self._check_production_values()  # names a published or weak secret first
            raise ValueError("JWT_SECRET must not be set when ONESTOP_ENV=production: a shared secret lets "
                             "every pod mint a token for any role; set JWT_JWKS_URL (the identity provider's "
                             "keys) instead, and SERVICE_TOKEN for calls to other services")
        if not (self.jwt_jwks_url or self.jwt_public_key_file):
            raise ValueError("JWT_JWKS_URL (or JWT_PUBLIC_KEY_FILE) is required when ONESTOP_ENV=production")
        if self.jwt_jwks_url and urllib.parse.urlsplit(self.jwt_jwks_url).scheme != "https":
            raise ValueError("JWT_JWKS_URL must be https when ONESTOP_ENV=production (a key set read over "
                             "plain HTTP can be replaced on the way)")
        for name in ("jwt_issuer", "jwt_audience"):
            if name not in self.model_fields_set or not getattr(self, name):
                raise ValueError(f"{name.upper()} must be set when ONESTOP_ENV=production (the identity "
                                 "provider's issuer and this platform's audience, as in its tokens)")
        if self.CALLS_PEERS and not self.service_token:
            raise ValueError("SERVICE_TOKEN must be set when ONESTOP_ENV=production: this service calls "
                             "others with a token from the identity provider (role \"service\" only)")
        if self.service_token:
            import jwt
            try:
                roles = jwt.decode(self.service_token, options={"verify_signature": False}).get("roles")
            except jwt.InvalidTokenError as exc:
                raise ValueError(f"SERVICE_TOKEN is not a JWT: {exc}") from None
            if roles != [SERVICE]:
                raise ValueError(f"SERVICE_TOKEN must carry the role \"service\" alone (least privilege), "
                                 f"not {roles!r}")

    def _check_production_values(self) -> None:
        """ValueError naming the first setting that holds a public or weak credential, or an address
        of the machine itself where other pods and citizens must reach it."""
        self._check_production_secrets()
        if "minio_access_key" in self.PRODUCTION_REQUIRED and self.minio_access_key in KNOWN_ACCESS_KEYS:
            raise ValueError("MINIO_ACCESS_KEY is the local stack's or MinIO's default user; give the service a "
                             "user of its own for ONESTOP_ENV=production")
        amqp = urllib.parse.urlsplit(self.amqp_uri)
        if amqp.username in (None, "", "guest"):
            raise ValueError("AMQP_URI has no user or RabbitMQ's guest account (which RabbitMQ only lets in from "
                             "its own machine); give it a user of its own for ONESTOP_ENV=production")
        for name in self.PRODUCTION_REQUIRED:
            value = str(getattr(self, name))
            if any(host in value for host in LOOPBACK):
                raise ValueError(f"{name.upper()}={value} points at the machine the process runs on; in "
                                 "production it must be an address other pods (or citizens) can reach")

    def _check_production_secrets(self) -> None:
        """ValueError naming the first credential that is unset (PRODUCTION_SECRETS), published (in
        KNOWN_SECRETS) or weak (shorter than MIN_SECRET_LENGTH, or fewer than
        MIN_DISTINCT_SECRET_CHARACTERS distinct characters). Never prints the value."""
        optional = ["jwt_secret"] + ["minio_secret_key"] * ("minio_secret_key" in self.PRODUCTION_REQUIRED)
        for name in (*optional, *self.PRODUCTION_SECRETS):
            value = getattr(self, name)
            label = name.upper() + (f" (or {name.upper()}_FILE)" if f"{name}_file" in type(self).model_fields else "")
            if name in self.PRODUCTION_SECRETS and (name not in self.model_fields_set or not value):
                raise ValueError(f"{label} must be set when ONESTOP_ENV=production (its local default is "
                                 "published in the repository)")
            if not value:
                continue
            if value in KNOWN_SECRETS:
                raise ValueError(f"{label} is a credential published in the repository or a server's default; "
                                 f"{OWN_SECRET}")
            if len(value) < MIN_SECRET_LENGTH or len(set(value)) < MIN_DISTINCT_SECRET_CHARACTERS:
                raise ValueError(f"{label} is weak (fewer than {MIN_SECRET_LENGTH} characters, or fewer than "
                                 f"{MIN_DISTINCT_SECRET_CHARACTERS} distinct ones); {OWN_SECRET}")

    @property
    def resource_prefix(self) -> str:
        """What this instance's databases, buckets and queues start with: "onestop", or
        "onestop-<ONESTOP_INSTANCE>" (databases use "_" for "-")."""
        return f"onestop-{self.onestop_instance}" if self.onestop_instance else "onestop"

    @property
    def trusted_networks(self):
        from .ratelimits import parse_networks
        try:
            return parse_networks(self.trusted_proxies)
        except ValueError as exc:
            raise ValueError(f"TRUSTED_PROXIES: {exc}") from None


S = TypeVar("S", bound=ServiceSettings)


def load_settings(cls: type[S], **overrides) -> S:
    """Reads settings from the environment; on a bad value raises ConfigError naming the variable."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            variable = ".".join(str(p) for p in err["loc"]).upper()
            if variable:
                problems.append(f"{variable}={err.get('input')!r}: {err['msg']}")
            else:
                problems.append(err["msg"].removeprefix("Value error, "))
        raise ConfigError("configuration error: " + "; ".join(problems)) from None


def load_or_exit(cls: type[S]) -> S:
    """For process entrypoints: print the configuration error and exit with status 2."""
    try:
        return load_settings(cls)
    except ConfigError as exc:
        print(exc.message, file=sys.stderr)
        raise
