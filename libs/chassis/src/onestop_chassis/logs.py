"""structlog JSON logs carrying service, process, trace id, span id and the dossier code.

Library logs (grpc, nameko, kombu) go through the same renderer, so every line on stdout is one
JSON object. Vietnamese text is written as UTF-8, not as \\u escapes.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

import structlog
from opentelemetry import trace


def _trace_ids(_logger, _method, event_dict):
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict.setdefault("trace_id", format(span_context.trace_id, "032x"))
        event_dict.setdefault("span_id", format(span_context.span_id, "016x"))
    return event_dict


# Secrets never reach a log line, whoever writes it (our code, an access log, a traceback):
# fields with these names lose their value, and in any text a secret query parameter
# (ma_tra_cuu=..., secret=..., X-Amz-Signature=..., a survey kiosk's khoa=...), a bearer token, or the
# token in a survey link's path (/khao-sat/<token>: survey's invitation, which lets whoever holds it
# answer) is replaced.
SECRET_FIELDS = frozenset({"secret", "lookup_secret", "ma_tra_cuu", "token", "authorization", "password",
                           "jwt_secret", "minio_secret_key", "service_token", "kiosk_key", "khoa"})
_SECRET_PARAMETER = re.compile(
    r"(?i)\b(ma_tra_cuu|secret|lookup_secret|token|access_token|password|x-amz-signature|x-amz-credential"
    r"|khoa|kiosk_key)"
    r"(=|%3D)[^&\s\"',;]*")
_SECRET_PATH = re.compile(r"(/khao-sat/)[^/?#\s\"',;]+")
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}")  # a token, not the word "bearer token"
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """`text` with secret query parameters and bearer tokens replaced by [redacted]."""
    text = _SECRET_PARAMETER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _SECRET_PATH.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return _BEARER.sub(f"Bearer {REDACTED}", text)


def _redact_secrets(_logger, _method, event_dict):
    for key, value in event_dict.items():
        if key.lower() in SECRET_FIELDS and value:
            event_dict[key] = REDACTED
        elif isinstance(value, str):
            event_dict[key] = redact(value)
    return event_dict


def configure_logging(service: str, process: str, level: str = "INFO", stream: TextIO | None = None) -> None:
    def identity(_logger, _method, event_dict):
        event_dict.setdefault("service", service)
        event_dict.setdefault("process", process)
        return event_dict

    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        identity,
        _trace_ids,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redact_secrets,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # kombu and amqp are chatty at INFO about every reconnect attempt.
    logging.getLogger("amqp").setLevel(max(logging.WARNING, root.level))


def bind_dossier(code: str) -> None:
    """Every later log line of this request or worker carries the dossier code."""
    structlog.contextvars.bind_contextvars(dossier_code=code)


get_logger = structlog.get_logger
