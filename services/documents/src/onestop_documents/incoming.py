"""An upload's bytes as they arrive (streamed from gRPC): counted, hashed and limited on the way.
Plain Python."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Iterator

from onestop_chassis.errors import InvalidArgument

from . import domain


class IncomingFile:
    """An upload's bytes, read once as they arrive: SHA-256 and size computed on the way, the
    first bytes kept for sniffing, and the size limit enforced before anything past it is read.

    The object store takes the bytes either as the chunks they arrived in (`chunks()`, no copies:
    it groups them into parts itself) or file-like (`read`)."""

    def __init__(self, chunks: Iterable[bytes], limit: int):
        self._chunks = iter(chunks)
        self._limit = limit
        self._pending: deque[bytes] = deque()  # counted and hashed, not handed on yet (the sniffed head)
        self._hash = hashlib.sha256()
        self._done = False
        self.size = 0

    def _next_chunk(self) -> bytes | None:
        """The next chunk, counted against the limit and hashed; None at the end."""
        while not self._done:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._done = True
                return None
            if not chunk:
                continue
            self.size += len(chunk)
            if self.size > self._limit:
                raise InvalidArgument("FILE_TOO_LARGE",
                                      f"the file is larger than the limit of {self._limit} bytes",
                                      metadata={"limit_bytes": str(self._limit)})
            self._hash.update(chunk)
            return chunk
        return None

    def head(self) -> bytes:
        """The first bytes (what sniffing needs), kept to be handed on with the rest."""
        held = sum(len(c) for c in self._pending)
        while held < domain.SNIFF_BYTES:
            chunk = self._next_chunk()
            if chunk is None:
                break
            self._pending.append(chunk)
            held += len(chunk)
        if self._pending and len(self._pending[0]) >= domain.SNIFF_BYTES:
            return self._pending[0][:domain.SNIFF_BYTES]
        return b"".join(self._pending)[:domain.SNIFF_BYTES]

    def chunks(self) -> Iterator[bytes]:
        """The remaining bytes as they arrived, without copying them."""
        while self._pending:
            yield self._pending.popleft()
        while (chunk := self._next_chunk()) is not None:
            yield chunk

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            return b"".join(self.chunks())
        out, wanted = [], size
        while wanted > 0:
            if not self._pending:
                chunk = self._next_chunk()
                if chunk is None:
                    break
                self._pending.append(chunk)
            chunk = self._pending[0]
            if len(chunk) <= wanted:
                out.append(self._pending.popleft())
                wanted -= len(chunk)
            else:
                out.append(chunk[:wanted])
                self._pending[0] = chunk[wanted:]
                wanted = 0
        return out[0] if len(out) == 1 else b"".join(out)

    def drain(self) -> None:
        """Reads the rest without keeping it (only the checksum and size matter)."""
        self._pending.clear()
        while self._next_chunk() is not None:
            pass

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()
