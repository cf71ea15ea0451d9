"""The QueueService gRPC API (served by intake's api process)."""

from __future__ import annotations

from onestop.intake.v1 import queue_pb2, queue_pb2_grpc

from onestop_chassis import auth

from .queue import QueueDesk, Ticket


def ticket_to_proto(t: Ticket) -> queue_pb2.Ticket:
    message = queue_pb2.Ticket(
        ticket_id=t.ticket_id, unit_code=t.unit_code, queue=t.queue, number=t.number, display=t.display,
        state=queue_pb2.TICKET_STATE_CALLED if t.called_at else queue_pb2.TICKET_STATE_WAITING, counter=t.counter)
    message.issued_at.FromDatetime(t.issued_at)
    if t.called_at:
        message.called_at.FromDatetime(t.called_at)
    return message


class QueueServicer(queue_pb2_grpc.QueueServiceServicer):
    def __init__(self, desk: QueueDesk):
        self._desk = desk

    @auth.public
    def TakeTicket(self, request, context):
        ticket, waiting = self._desk.take(request.unit_code.strip(), request.queue.strip())
        return queue_pb2.TakeTicketResponse(ticket=ticket_to_proto(ticket), waiting_before=waiting)

    @auth.requires(auth.DESK_OFFICER, auth.SERVICE)
    def CallNextTicket(self, request, context):
        ticket = self._desk.call_next(request.unit_code.strip(), request.queue.strip(), request.counter,
                                      auth.current_principal())
        return queue_pb2.CallNextTicketResponse(ticket=ticket_to_proto(ticket))

    @auth.public
    def ListServing(self, request, context):
        return queue_pb2.ListServingResponse(queues=[
            queue_pb2.ServingQueue(queue=queue, serving=[ticket_to_proto(t) for t in serving], waiting=waiting)
            for queue, serving, waiting in self._desk.serving(request.unit_code.strip())])
