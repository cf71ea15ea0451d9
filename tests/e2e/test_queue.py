"""Queue tickets over gRPC: a kiosk takes tickets, counters call them, the screen lists them."""

from __future__ import annotations

import grpc
import pytest
from conftest import bearer, stub_fixtures, token

from onestop.intake.v1 import queue_pb2, queue_pb2_grpc

from support import error_info

UNIT = "000.00.21.H17"


(queue,) = stub_fixtures("platform", queue=("intake", queue_pb2_grpc.QueueServiceStub))


def test_kiosk_counter_and_screen(queue):
    name = "ho-tich-e2e"
    taken = [queue.TakeTicket(queue_pb2.TakeTicketRequest(unit_code=UNIT, queue=name)) for _ in range(3)]
    assert [t.ticket.display for t in taken] == ["HTE-001", "HTE-002", "HTE-003"]
    assert [t.waiting_before for t in taken] == [0, 1, 2]
    called = queue.CallNextTicket(queue_pb2.CallNextTicketRequest(unit_code=UNIT, queue=name, counter=4),
                                  metadata=bearer()).ticket
    assert (called.number, called.counter, called.state) == (1, 4, queue_pb2.TICKET_STATE_CALLED)
    screen = queue.ListServing(queue_pb2.ListServingRequest(unit_code=UNIT))
    [row] = [q for q in screen.queues if q.queue == name]
    assert [(t.display, t.counter) for t in row.serving] == [("HTE-001", 4)] and row.waiting == 2


def test_refusals(queue):
    with pytest.raises(grpc.RpcError) as bad:
        queue.TakeTicket(queue_pb2.TakeTicketRequest(unit_code=UNIT, queue="Đất đai"))
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as unknown:
        queue.TakeTicket(queue_pb2.TakeTicketRequest(unit_code="000.00.99.H17", queue="dat-dai"))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as anonymous:
        queue.CallNextTicket(queue_pb2.CallNextTicketRequest(unit_code=UNIT, queue="dat-dai", counter=1))
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as other:
        queue.CallNextTicket(queue_pb2.CallNextTicketRequest(unit_code=UNIT, queue="dat-dai", counter=1),
                             metadata=bearer(token(agency="000.00.11.H17")))
    assert (other.value.code(), error_info(other.value)[0]) == (grpc.StatusCode.PERMISSION_DENIED, "OTHER_AGENCY")
    with pytest.raises(grpc.RpcError) as empty:
        queue.CallNextTicket(queue_pb2.CallNextTicketRequest(unit_code=UNIT, queue="khong-ai", counter=1),
                             metadata=bearer())
    assert error_info(empty.value)[0] == "QUEUE_EMPTY"
