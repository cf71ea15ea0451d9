import datetime as dt

import pytest

from onestop.common.v1 import common_pb2
from onestop.events.v1 import intake_events_pb2 as ev
from onestop_chassis import events

OCCURRED = dt.datetime(2026, 11, 23, 2, 15, 30, tzinfo=dt.UTC)


def _received() -> ev.DossierReceived:
    message = ev.DossierReceived(
        header=events.new_header("intake", OCCURRED),
        dossier_code="000.00.21.H17-261123-0001",
        procedure_code="1.000948",
        procedure_name="Cấp phiếu lý lịch tư pháp",
        receiving_unit=common_pb2.UnitRef(code="000.00.21.H17", name="Sở Tư pháp"),
        channel=common_pb2.CHANNEL_IN_PERSON,
        applicant=common_pb2.Applicant(kind=common_pb2.APPLICANT_KIND_PERSON, full_name="Nguyễn Văn An",
                                       citizen_id="001203004567"),
        legal_duration=common_pb2.WorkingDuration(days=10),
    )
    message.received_at.FromDatetime(OCCURRED)
    return message


def test_new_header():
    header = events.new_header("intake", OCCURRED)
    assert header.producer == "intake"
    assert len(header.event_id) == 36
    assert header.occurred_at.ToDatetime(dt.UTC) == OCCURRED
    assert events.new_header("intake").event_id != header.event_id


def test_event_type_is_the_short_message_name():
    assert events.event_type(ev.DossierReceived) == "DossierReceived"
    assert events.event_type(ev.DossierSubmitted()) == "DossierSubmitted"


def test_payload_round_trip():
    message = _received()
    payload = events.to_payload(message)
    assert payload["dossierCode"] == "000.00.21.H17-261123-0001"
    assert payload["header"]["eventId"] == message.header.event_id
    assert payload["applicant"]["fullName"] == "Nguyễn Văn An"
    assert events.from_payload(payload, ev.DossierReceived) == message


def test_unknown_keys_are_ignored():
    message = _received()
    payload = {**events.to_payload(message), "addedInVersion2": {"anything": [1, 2]}}
    assert events.from_payload(payload, ev.DossierReceived) == message


@pytest.mark.parametrize("payload", [
    None, 42, "garbage", ["a"], {"dossierCode": 5}, {"header": {"eventId": 3}},
    {"header": {"occurredAt": "not a time", "eventId": "e"}},
])
def test_garbage_is_an_invalid_event(payload):
    with pytest.raises(events.InvalidEvent):
        events.from_payload(payload, ev.DossierReceived)


def test_payload_without_event_id_is_invalid():
    payload = events.to_payload(_received())
    del payload["header"]["eventId"]
    with pytest.raises(events.InvalidEvent, match="eventId"):
        events.from_payload(payload, ev.DossierReceived)
    with pytest.raises(events.InvalidEvent):
        events.from_payload({"dossierCode": "x"}, ev.DossierReceived)


# -- found by the issue 9 review: a malformed event opened a phantom case ----------------------------
def test_an_overlong_event_id_is_invalid():
    payload = events.to_payload(_received())
    payload["header"]["eventId"] = "x" * 100_000
    with pytest.raises(events.InvalidEvent, match="longer than 64"):
        events.from_payload(payload, ev.DossierReceived)


@pytest.mark.parametrize("change", [
    lambda m: setattr(m, "dossier_code", ""),
    lambda m: setattr(m, "dossier_code", "\x00"),
    lambda m: setattr(m, "dossier_code", "000.00.21.H17-26113-0001"),
    lambda m: m.ClearField("received_at"),
    lambda m: m.ClearField("appointment_at"),
])
def test_routing_refuses_a_received_dossier_it_cannot_open_a_case_for(change):
    from onestop_routing.worker import open_case_command

    message = _received()
    message.appointment_at.FromDatetime(OCCURRED + dt.timedelta(days=14))
    assert open_case_command(message).dossier_code == message.dossier_code  # the whole one is fine
    change(message)
    with pytest.raises(events.InvalidEvent):  # a PermanentError: straight to the dead-letter queue
        open_case_command(message)


def test_header_of_an_event_and_of_a_message_that_is_not_one():
    message = _received()
    assert events.header_of(message) == message.header
    assert events.header_of(message).event_id == message.header.event_id != ""
    with pytest.raises(TypeError, match="not an event"):
        events.header_of(common_pb2.UnitRef(code="000.00.21.H17"))
