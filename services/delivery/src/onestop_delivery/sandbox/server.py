"""`onestop-carrier-sandbox`: the CARRIER SANDBOX, an HTTP server that behaves like a VNPost-shaped
postal carrier so delivery can be run and tested where no carrier is reachable. It is NOT a carrier,
and never the adapter under test: the VNPost adapter (`adapters/vnpost.py`) talks to it over HTTP.

Carrier API (JSON; `Authorization: Bearer <token>` when started with --token-file):
  POST /api/orders                       an order (customerCode, orderNumber = idempotency key,
                                         sender*/receiver* Fullname, Tel, Address, ProvinceCode,
                                         CommuneCode, weight in grams, codAmount in VND, contentNote)
                                         → 201 (created) or 200 (that order number before):
                                         {orderNumber, itemCode (the waybill), totalFee, statusCode}
  POST /api/orders/<itemCode>/cancel     → 200; 409 once picked up; 404 unknown
  GET  /api/orders/<itemCode>/tracking   → {itemCode, orderNumber, events: [{eventId, itemCode,
                                         orderNumber, statusCode, statusText, time, note}]}
Control (for tests and demos, never faulted):
  POST /sandbox/advance {itemCode?, stages?}            move one parcel (or all) on
  POST /sandbox/fail-next-attempt {itemCode, count?, reason?}
  POST /sandbox/down {seconds? | requests?}             the API answers 503
  POST /sandbox/slow {seconds, requests?}               the API does the work, then answers late
  POST /sandbox/webhook {mode: duplicate|late|bad-signature, count?}
  POST /sandbox/chaos {seed, failureRate?, webhookRate?} seeded random faults (the demo)
  POST /sandbox/reset;  GET /sandbox/orders[?orderNumber=]

Every response carries `X-Carrier-Sandbox`. Status codes: see `model.py`.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from onestop_chassis.logs import configure_logging

from .model import CannotCancel, NoSuchParcel, OrderInvalid, SandboxCarrier
from .webhooks import WebhookSender

log = structlog.get_logger("carrier-sandbox")

BANNER = "onestop CARRIER SANDBOX: a stand-in for a VNPost-shaped carrier, for tests and demos. Not a carrier."
SANDBOX_HEADER = {"X-Carrier-Sandbox": "onestop carrier sandbox; not a carrier"}

URLS = Map([
    Rule("/", endpoint="banner", methods=["GET"]),
    Rule("/api/orders", endpoint="create", methods=["POST"]),
    Rule("/api/orders/<item_code>/cancel", endpoint="cancel", methods=["POST"]),
    Rule("/api/orders/<item_code>/tracking", endpoint="track", methods=["GET"]),
    Rule("/sandbox/advance", endpoint="advance", methods=["POST"]),
    Rule("/sandbox/fail-next-attempt", endpoint="fail_next_attempt", methods=["POST"]),
    Rule("/sandbox/down", endpoint="down", methods=["POST"]),
    Rule("/sandbox/slow", endpoint="slow", methods=["POST"]),
    Rule("/sandbox/webhook", endpoint="webhook", methods=["POST"]),
    Rule("/sandbox/chaos", endpoint="chaos", methods=["POST"]),
    Rule("/sandbox/reset", endpoint="reset", methods=["POST"]),
    Rule("/sandbox/orders", endpoint="orders", methods=["GET"]),
])


def answer(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=SANDBOX_HEADER,
                    content_type="application/json; charset=utf-8")


def refuse(status: int, message: str, code: str) -> Response:
    return answer({"code": code, "message": message}, status)


class SandboxApp:
    """The WSGI application over one sandbox carrier and its webhook sender."""

    def __init__(self, carrier: SandboxCarrier, webhooks: WebhookSender, token: str = ""):
        self.carrier, self.webhooks, self.token = carrier, webhooks, token

    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            endpoint, args = URLS.bind_to_environ(environ).match()
            if endpoint in ("create", "cancel", "track"):
                response = self._carrier_api(request, getattr(self, endpoint), args)
            else:
                response = getattr(self, endpoint)(request, **args)
        except HTTPException as exc:
            response = refuse(exc.code or 500, exc.description or exc.name, exc.name.upper().replace(" ", "_"))
        return response(environ, start_response)

    def _carrier_api(self, request: Request, handler: Callable[..., Response], args: dict) -> Response:
        """The carrier's own routes: token, commanded faults, then the work."""
        if self.token and request.headers.get("Authorization", "") != f"Bearer {self.token}":
            return refuse(401, "Sai mã truy cập API (token)", "UNAUTHORIZED")
        with self.carrier.lock:
            down, delay = self.carrier.faults.take_down(), 0.0
            if not down:
                delay = self.carrier.faults.take_slow()
        if down:
            log.info("answering 503 (sandbox told to be down)", path=request.path)
            return refuse(503, "Hệ thống tạm ngừng phục vụ (sandbox down)", "UNAVAILABLE")
        try:
            response = handler(request, **args)
        except NoSuchParcel as exc:
            response = refuse(404, f"Không tìm thấy bưu gửi {exc}", "ITEM_NOT_FOUND")
        if delay:
            log.info("answering late (sandbox told to be slow)", path=request.path, seconds=delay)
            time.sleep(delay)
        return response

    def create(self, request: Request) -> Response:
        try:
            parcel, created = self.carrier.create(_json(request))
        except OrderInvalid as exc:
            return refuse(400, str(exc), "INVALID_ORDER")
        log.info("order created" if created else "order number seen before: same waybill",
                 order_number=parcel.order_number, item_code=parcel.item_code)
        body = {k: v for k, v in parcel.view().items() if k in ("orderNumber", "itemCode", "totalFee", "statusCode")}
        return answer(body, 201 if created else 200)

    def cancel(self, request: Request, item_code: str) -> Response:
        try:
            parcel = self.carrier.cancel(item_code)
        except CannotCancel as exc:
            return refuse(409, str(exc), "ALREADY_PICKED_UP")
        return answer({"itemCode": item_code, "statusCode": parcel.status})

    def track(self, request: Request, item_code: str) -> Response:
        view = self.carrier.parcel(item_code).view()
        return answer({k: view[k] for k in ("itemCode", "orderNumber", "statusCode", "events")})

    def banner(self, request: Request) -> Response:
        return Response(BANNER + "\n", headers=SANDBOX_HEADER, content_type="text/plain; charset=utf-8")

    def advance(self, request: Request) -> Response:
        body = _json(request, {})
        try:
            events = self.carrier.advance(body.get("itemCode"), int(body.get("stages", 1)))
        except NoSuchParcel as exc:
            return refuse(404, f"Không tìm thấy bưu gửi {exc}", "ITEM_NOT_FOUND")
        return answer({"events": events})

    def fail_next_attempt(self, request: Request) -> Response:
        body = _json(request, {})
        reason = body.get("reason") or "Người nhận vắng nhà"
        try:
            parcel = self.carrier.fail_next_attempt(body.get("itemCode", ""), int(body.get("count", 1)), reason)
        except NoSuchParcel as exc:
            return refuse(404, f"Không tìm thấy bưu gửi {exc}", "ITEM_NOT_FOUND")
        return answer({"itemCode": parcel.item_code, "failNext": len(parcel.fail_next)})

    def down(self, request: Request) -> Response:
        body = _json(request, {})
        with self.carrier.lock:
            self.carrier.faults.down_requests = int(body.get("requests", 0))
            self.carrier.faults.down_until = time.monotonic() + float(body.get("seconds", 0))
        return answer({"down": body})

    def slow(self, request: Request) -> Response:
        body = _json(request, {})
        with self.carrier.lock:
            self.carrier.faults.slow_seconds = float(body.get("seconds", 0))
            self.carrier.faults.slow_requests = int(body.get("requests", 1))
        return answer({"slow": body})

    def webhook(self, request: Request) -> Response:
        body = _json(request, {})
        try:
            self.webhooks.arm(str(body.get("mode")), int(body.get("count", 1)))
        except ValueError as exc:
            return refuse(400, str(exc), "INVALID_MODE")
        return answer({"armed": list(self.webhooks.plan)})

    def chaos(self, request: Request) -> Response:
        body = _json(request, {})
        seed = int(body.get("seed", 0))
        with self.carrier.lock:
            self.carrier.chaos = random.Random(seed)
            self.carrier.chaos_failure_rate = float(body.get("failureRate", 0.3))
            self.webhooks.chaos = random.Random(seed + 1)
            self.webhooks.chaos_rate = float(body.get("webhookRate", 0.2))
        return answer({"chaos": body})

    def reset(self, request: Request) -> Response:
        self.webhooks.drain()
        self.carrier.reset()
        self.webhooks.plan.clear()
        self.webhooks.chaos = None
        return answer({"reset": True})

    def orders(self, request: Request) -> Response:
        number = request.args.get("orderNumber")
        with self.carrier.lock:
            parcels = [p.view() for p in self.carrier.by_item.values() if number in (None, p.order_number)]
            return answer({"orders": parcels, "createRequests": self.carrier.create_requests,
                           "webhooksSent": self.webhooks.sent, "webhooksFailed": self.webhooks.failed})


def _json(request: Request, default: Any = None) -> Any:
    """The body as JSON (`default` when empty); 400 when it is not JSON, or not an object on a control route."""
    data = request.get_data(as_text=True)
    if not data and default is not None:
        return default
    try:
        body = json.loads(data)
    except ValueError:
        raise BadRequest("the body is not JSON") from None
    if default is not None and not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


class _RequestLog(WSGIRequestHandler):
    """One JSON log line per request, without the terminal colours Werkzeug's own line carries."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.info("request", method=self.command, path=self.path, status=str(code))


def _schedule(carrier: SandboxCarrier, seconds_per_stage: float, stop: threading.Event) -> None:
    """Moves every parcel that has not moved for `seconds_per_stage` one stage on, until `stop`."""
    while not stop.wait(min(1.0, seconds_per_stage / 4)):
        carrier.advance(stages=1, older_than=seconds_per_stage)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="onestop-carrier-sandbox", description=BANNER)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8955)
    parser.add_argument("--webhook-url", default="", help="where tracking events are POSTed (empty: nowhere)")
    parser.add_argument("--secret-file", required=True, help="the webhook's HMAC-SHA256 secret (file)")
    parser.add_argument("--token-file", default="", help="the API token orders must carry (file; empty: any)")
    parser.add_argument("--seconds-per-stage", type=float, default=0.0,
                        help="parcels move on by themselves every so many seconds (0: only on command)")
    parser.add_argument("--max-attempts", type=int, default=3, help="failed attempts before the return to sender")
    parser.add_argument("--late-seconds", type=float, default=5.0, help="a late webhook's longest wait")
    parser.add_argument("--chaos-seed", type=int, default=None, help="seeded random faults from the start (demo)")
    return parser.parse_args(argv)


def _read_secret(path: str, what: str) -> str:
    try:
        value = pathlib.Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        sys.exit(f"onestop-carrier-sandbox: cannot read the {what} {path}: {exc.strerror}")
    if not value:
        sys.exit(f"onestop-carrier-sandbox: the {what} {path} is empty")
    return value


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging("delivery", "carrier-sandbox")
    secret = _read_secret(args.secret_file, "webhook secret file")
    token = _read_secret(args.token_file, "API token file") if args.token_file else ""
    webhooks = WebhookSender(args.webhook_url, secret.encode("utf-8"), late_seconds=args.late_seconds).start()
    carrier = SandboxCarrier(webhooks.submit, max_attempts=args.max_attempts)
    app = SandboxApp(carrier, webhooks, token)
    if args.chaos_seed is not None:
        carrier.chaos, carrier.chaos_failure_rate = random.Random(args.chaos_seed), 0.3
        webhooks.chaos, webhooks.chaos_rate = random.Random(args.chaos_seed + 1), 0.2
    server = make_server(args.host, args.port, app, threaded=True, request_handler=_RequestLog)
    stop = threading.Event()
    if args.seconds_per_stage > 0:
        threading.Thread(target=_schedule, args=(carrier, args.seconds_per_stage, stop), daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    log.warning(BANNER, port=server.port, webhook_url=args.webhook_url,
                seconds_per_stage=args.seconds_per_stage, max_attempts=args.max_attempts)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        webhooks.stop()
        log.info("carrier sandbox stopped")
