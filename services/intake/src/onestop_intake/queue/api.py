"""The QueueService gRPC API (served by intake's api process)."""

from __future__ import annotations

import ipaddress

from onestop.intake.v1 import queue_pb2, queue_pb2_grpc
from onestop_chassis import auth, codes
from onestop_chassis.errors import ResourceExhausted
from onestop_chassis.ratelimits import Budgets, Network, grpc_client

from .domain import Ticket, validate
from .service import QueueDesk

TICKETS_PER_KIOSK = "30/minute"   # a kiosk at a busy centre: a press every 2 s at most
TICKETS_PER_CLIENT = "3/hour"     # anyone else (a phone, a script): enough for one visit


class TicketLimits:
    """Budgets of the public TakeTicket, per client address and unit (moving windows, per process).

    A kiosk is a client whose address is in `kiosks` (QUEUE_KIOSKS: the desks' kiosk machines,
    addresses or networks); it may print `per_kiosk` tickets per unit. Any other client gets
    `per_client` over all units. Nothing is counted per unit alone, so a stranger cannot use up the
    kiosks' tickets. Raises RESOURCE_EXHAUSTED `TICKET_RATE_LIMITED` with a RetryInfo and, in
    metadata `message_vi`, what the kiosk or app shows the citizen."""

    def __init__(self, kiosks: tuple[Network, ...] = (), per_kiosk: str = TICKETS_PER_KIOSK,
                 per_client: str = TICKETS_PER_CLIENT):
        self._kiosks = kiosks
        self._budgets = Budgets(kiosk=per_kiosk, client=per_client)

    def is_kiosk(self, client: str) -> bool:
        try:
            address = ipaddress.ip_address(client)
        except ValueError:
            return False
        return any(address in n for n in self._kiosks)

    def spend(self, client: str, unit_code: str) -> None:
        budget = "kiosk" if self.is_kiosk(client) else "client"
        key = (client, unit_code) if budget == "kiosk" else (client,)
        if not self._budgets.spend(budget, *key):
            wait = self._budgets.retry_after(budget, *key)
            minutes = max(1, int(wait + 59) // 60)
            raise ResourceExhausted(
                "TICKET_RATE_LIMITED",
                f"too many tickets taken from this {'kiosk' if budget == 'kiosk' else 'address'}; "
                f"try again in {int(wait)} s",
                retry_after=wait,
                metadata={"limit": budget, "unit_code": unit_code,
                          "message_vi": f"Đã lấy quá nhiều số thứ tự. Vui lòng thử lại sau {minutes} phút."})


def ticket_to_proto(t: Ticket) -> queue_pb2.Ticket:
    message = queue_pb2.Ticket(
        ticket_id=t.ticket_id, unit_code=t.unit_code, queue=t.queue, number=t.number, display=t.display,
        state=queue_pb2.TICKET_STATE_CALLED if t.called_at else queue_pb2.TICKET_STATE_WAITING, counter=t.counter)
    message.issued_at.FromDatetime(t.issued_at)
    if t.called_at:
        message.called_at.FromDatetime(t.called_at)
    return message


class QueueServicer(queue_pb2_grpc.QueueServiceServicer):
    def __init__(self, desk: QueueDesk, limits: TicketLimits | None = None, trusted_proxies=()):
        self._desk = desk
        self._limits = limits or TicketLimits()
        self._trusted_proxies = tuple(trusted_proxies)

    @auth.public
    def TakeTicket(self, request, context):
        unit_code, queue = codes.normalise_code(request.unit_code), request.queue.strip()
        validate(unit_code, queue)  # a refused request spends none of the client's tickets
        self._limits.spend(grpc_client(context, self._trusted_proxies), unit_code)
        ticket, waiting = self._desk.take(unit_code, queue)
        return queue_pb2.TakeTicketResponse(ticket=ticket_to_proto(ticket), waiting_before=waiting)

    @auth.requires(auth.DESK_OFFICER, auth.SERVICE)
    def CallNextTicket(self, request, context):
        ticket = self._desk.call_next(codes.normalise_code(request.unit_code), request.queue.strip(), request.counter,
                                      auth.current_principal())
        return queue_pb2.CallNextTicketResponse(ticket=ticket_to_proto(ticket))

    @auth.public
    def ListServing(self, request, context):
        return queue_pb2.ListServingResponse(queues=[
            queue_pb2.ServingQueue(queue=queue, serving=[ticket_to_proto(t) for t in serving], waiting=waiting)
            for queue, serving, waiting in self._desk.serving(codes.normalise_code(request.unit_code))])
