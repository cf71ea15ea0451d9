"""Errors a service raises on purpose, each with a canonical gRPC status code and a reason.

Plain Python, so domain and service code can raise them; `grpc_server` maps them to statuses
with a google.rpc.ErrorInfo (reason, metadata) and, for bad input, a google.rpc.BadRequest.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class ServiceError(Exception):
    """Base class. `code` is the canonical status name, `reason` an UPPER_SNAKE_CASE constant."""

    code = "UNKNOWN"

    def __init__(self, reason: str, message: str, *, metadata: dict[str, str] | None = None,
                 violations: list[FieldViolation] | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.metadata = dict(metadata or {})
        self.violations = list(violations or [])


class InvalidArgument(ServiceError):
    code = "INVALID_ARGUMENT"

    @classmethod
    def from_violations(cls, violations: list[FieldViolation]) -> InvalidArgument:
        summary = "; ".join(f"{v.field}: {v.description}" for v in violations)
        return cls("INVALID_FIELDS", f"the request has invalid fields: {summary}",
                   violations=violations,
                   metadata={"fields": ",".join(v.field for v in violations)})


class NotFound(ServiceError):
    code = "NOT_FOUND"


class AlreadyExists(ServiceError):
    code = "ALREADY_EXISTS"


class FailedPrecondition(ServiceError):
    code = "FAILED_PRECONDITION"


class Aborted(ServiceError):
    """A concurrent change won (another writer took the same slot first): reload and retry."""

    code = "ABORTED"


class PermissionDenied(ServiceError):
    code = "PERMISSION_DENIED"


class Unauthenticated(ServiceError):
    code = "UNAUTHENTICATED"


class Unavailable(ServiceError):
    """Temporary: the same request may succeed if sent again. The api adds a google.rpc.RetryInfo
    with `retry_after` (seconds)."""

    code = "UNAVAILABLE"
    retry_after: float | None = 1.0


class ResourceExhausted(ServiceError):
    """A limit was reached. `retry_after` (seconds, > 0) is when the caller may try again: the
    interceptor sends it as a google.rpc.RetryInfo, the pages as an HTTP Retry-After header."""

    code = "RESOURCE_EXHAUSTED"

    def __init__(self, reason: str, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(reason, message, **kwargs)
        self.retry_after = retry_after
        if retry_after is not None:
            self.metadata.setdefault("retry_after_seconds", str(max(1, int(retry_after + 0.999))))


class Cancelled(ServiceError):
    code = "CANCELLED"


class PermanentError(Exception):
    """Raised by a worker's handler for a message that can never be processed (bad data, a rule
    the message breaks): the chassis sends it to its dead-letter queue at once instead of retrying
    it (onestop_chassis.dead_letters). Anything else a handler raises is retried a bounded number
    of times, then dead-lettered too."""


@dataclass
class Violations:
    """Collects field violations so a request reports all its problems at once."""

    items: list[FieldViolation] = field(default_factory=list)

    def add(self, field_name: str, description: str) -> None:
        self.items.append(FieldViolation(field_name, description))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument.from_violations(self.items)
