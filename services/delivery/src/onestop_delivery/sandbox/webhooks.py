"""The CARRIER SANDBOX's tracking webhook: each new event POSTed to the webhook URL, signed.

The body is `{"events": [<event>]}` (UTF-8 JSON); the header `X-Signature` is the hex HMAC-SHA256 of
the body with the webhook secret. On command (`/sandbox/webhook`) or by chaos, a report is sent twice,
held back and sent after the next one (late, so out of order), or signed with a wrong key. Reports
go out one at a time from one thread, in the order the parcels moved unless told otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import random
import threading
import time
from collections import deque
from typing import Any

import requests
import structlog

log = structlog.get_logger("carrier-sandbox")

SIGNATURE_HEADER = "X-Signature"
MODES = ("duplicate", "late", "bad-signature")


def sign(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookSender:
    """Sends reports to `url` (nothing when it is empty). A late report is sent after the next one,
    or after `late_seconds` when no other comes."""

    def __init__(self, url: str, secret: bytes, *, timeout_seconds: float = 5.0, late_seconds: float = 5.0):
        self.url, self.secret = url, secret
        self.timeout_seconds, self.late_seconds = timeout_seconds, late_seconds
        self.plan: deque[str] = deque()  # modes of the next reports, armed by /sandbox/webhook
        self.chaos: random.Random | None = None
        self.chaos_rate = 0.0
        self.sent = self.failed = 0
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._held: list[tuple[dict[str, Any], float]] = []
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)

    def start(self) -> WebhookSender:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(self.timeout_seconds + 1)

    def drain(self, timeout: float = 10.0) -> None:
        """Waits until every report submitted so far has been sent (what `/sandbox/reset` does first,
        so a test's armed mode never applies to an earlier test's report)."""
        deadline = time.monotonic() + timeout
        while (self._queue.unfinished_tasks or self._held) and time.monotonic() < deadline:
            time.sleep(0.02)

    def submit(self, event: dict[str, Any]) -> None:
        if self.url:
            self._queue.put(event)

    def arm(self, mode: str, count: int = 1) -> None:
        if mode not in MODES:
            raise ValueError(f"mode: one of {', '.join(MODES)}")
        self.plan.extend([mode] * count)

    def _mode(self) -> str:
        if self.plan:
            return self.plan.popleft()
        if self.chaos and self.chaos.random() < self.chaos_rate:
            return self.chaos.choice(MODES)
        return "normal"

    def _run(self) -> None:
        while True:
            try:
                event = self._queue.get(timeout=0.2)
            except queue.Empty:
                self._release_held(only_older_than=self.late_seconds)
                continue
            try:
                if event is None:
                    self._release_held()
                    return
                self._send(event)
            finally:
                self._queue.task_done()

    def _send(self, event: dict[str, Any]) -> None:
        mode = self._mode()
        if mode == "late":
            log.info("webhook held back (late, out of order)", event_id=event["eventId"])
            self._held.append((event, time.monotonic()))
            return
        self._post(event, bad_signature=mode == "bad-signature")
        if mode == "duplicate":
            self._post(event)
        self._release_held()

    def _release_held(self, only_older_than: float | None = None) -> None:
        now = time.monotonic()
        keep = []
        for event, since in self._held:
            if only_older_than is None or now - since >= only_older_than:
                self._post(event)
            else:
                keep.append((event, since))
        self._held = keep

    def _post(self, event: dict[str, Any], bad_signature: bool = False) -> None:
        body = json.dumps({"events": [event]}, ensure_ascii=False).encode("utf-8")
        key = b"not-the-webhook-secret" if bad_signature else self.secret
        headers = {"Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: sign(key, body),
                   "User-Agent": "onestop-carrier-sandbox (not a carrier)"}
        try:
            answer = self._session.post(self.url, data=body, headers=headers, timeout=self.timeout_seconds)
            self.sent += 1
            log.info("webhook sent", event_id=event["eventId"], status_code=event["statusCode"],
                     answer=answer.status_code, bad_signature=bad_signature)
        except requests.RequestException as exc:
            self.failed += 1
            log.warning("webhook not delivered", event_id=event["eventId"], error=str(exc))
