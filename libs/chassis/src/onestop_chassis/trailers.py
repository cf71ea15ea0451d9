"""A ServiceError as a google.rpc.Status that always fits in gRPC's trailers.

The status travels in the response trailers: `grpc-message` (percent-encoded) and
`grpc-status-details-bin` (base64 of the Status). grpcio's client refuses trailers past its
metadata limit (`grpc.max_metadata_size`, 8 KiB by default, with a random share refused from there
up to the hard limit): the caller then sees RESOURCE_EXHAUSTED instead of the real status.
Measured with grpcio 1.85: a 7,000-byte message was refused 17 times in 20, a 3,000-byte one
never; 8,000 bytes of details never, 12,000 bytes 13 times in 20.

So, whatever the error holds (30 field violations, a 100 KB value echoed in a message):
- `grpc-message` is cut to MESSAGE_BUDGET bytes once percent-encoded;
- every text in the details (metadata values, field paths, descriptions) to TEXT_LIMIT characters;
- at most MAX_VIOLATIONS field violations, and fewer if the details would pass DETAILS_BUDGET
  bytes; the ErrorInfo then says how many were left out (`violations_omitted`) and so does the
  message ("… and N more field violations not shown").
Together that keeps the trailers under about 5 KiB.
"""

from __future__ import annotations

import datetime as dt

from google.rpc import error_details_pb2, status_pb2

from .errors import ServiceError

MESSAGE_BUDGET = 1_024   # bytes of grpc-message once percent-encoded
DETAILS_BUDGET = 3_072   # bytes of the serialised Status (base64 makes it 4/3 larger on the wire)
TEXT_LIMIT = 200         # characters of each metadata value, field path and description
MAX_VIOLATIONS = 20
_ELLIPSIS = "…"


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    """`text` cut to at most `limit` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[:max(0, limit - 1)] + _ELLIPSIS


def _encoded_size(text: str) -> int:
    # gRPC percent-encodes every byte outside printable ASCII, and '%' itself, in grpc-message.
    return sum(1 if 0x20 <= b <= 0x7E and b != 0x25 else 3 for b in text.encode("utf-8"))


def clip_message(text: str, budget: int = MESSAGE_BUDGET) -> str:
    """`text` cut so that its percent-encoded form takes at most `budget` bytes."""
    if _encoded_size(text) <= budget:
        return text
    low, high = 0, len(text)  # the longest prefix that fits with the ellipsis (9 bytes encoded)
    while low < high:
        middle = (low + high + 1) // 2
        if _encoded_size(text[:middle]) + 9 <= budget:
            low = middle
        else:
            high = middle - 1
    return text[:low] + _ELLIPSIS


def rich_status(code: int, domain: str, err: ServiceError) -> status_pb2.Status:
    """The Status for `err` (canonical `code`), with an ErrorInfo in `domain` and a BadRequest
    when it has field violations, cut to fit the trailers as the module says."""
    status = status_pb2.Status(code=code)
    info = error_details_pb2.ErrorInfo(reason=err.reason, domain=domain,
                                       metadata={clip(k, 64): clip(v) for k, v in err.metadata.items()})
    omitted = 0
    if err.violations:
        bad = error_details_pb2.BadRequest()
        for n, v in enumerate(err.violations):
            if n >= MAX_VIOLATIONS:
                omitted = len(err.violations) - n
                break
            bad.field_violations.add(field=clip(v.field), description=clip(v.description))
            if info.ByteSize() + bad.ByteSize() + 64 > DETAILS_BUDGET:
                del bad.field_violations[-1]
                omitted = len(err.violations) - n
                break
        if omitted:
            info.metadata["violations_omitted"] = str(omitted)
    status.details.add().Pack(info)
    if err.violations:
        status.details.add().Pack(bad)
    retry_after = getattr(err, "retry_after", None)  # seconds; a RetryInfo tells clients when to retry
    if retry_after is not None:
        delay = error_details_pb2.RetryInfo()
        delay.retry_delay.FromTimedelta(dt.timedelta(seconds=max(1, int(retry_after + 0.999))))
        status.details.add().Pack(delay)
    suffix = f" … and {omitted} more field violations not shown" if omitted else ""
    status.message = clip_message(err.message, MESSAGE_BUDGET - _encoded_size(suffix)) + suffix
    return status
