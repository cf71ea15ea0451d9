"""Page tokens of list RPCs sorted by a key: the token carries the last key returned and a digest of
the filters it was returned under, so a token cannot be replayed against another list."""

from __future__ import annotations

import base64
import hashlib
import json

from .errors import FieldViolation, InvalidArgument


def encode_page_token(last_key: str, filters: str) -> str:
    """An opaque token: continue after `last_key` under the same `filters` (any text, e.g. JSON)."""
    digest = hashlib.sha256(filters.encode()).hexdigest()[:12]
    return base64.urlsafe_b64encode(json.dumps([last_key, digest]).encode()).decode()


def decode_page_token(token: str, filters: str, field: str = "page_token") -> str:
    """The last key of the previous page. InvalidArgument naming `field` when the token is not one
    `encode_page_token` made, or was made under other filters."""
    try:
        last_key, digest = json.loads(base64.urlsafe_b64decode(token.encode()))
        assert isinstance(last_key, str)
    except Exception:
        raise InvalidArgument.from_violations([FieldViolation(field, "is not a token this list returned")]) \
            from None
    if digest != hashlib.sha256(filters.encode()).hexdigest()[:12]:
        raise InvalidArgument.from_violations([FieldViolation(
            field, "belongs to a list with other filters: keep the filters, or start without a token")])
    return last_key
