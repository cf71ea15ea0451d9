"""The public lookup: code + secret from the receipt, no token, nothing personal, rate-limited."""

from __future__ import annotations

import grpc
import pytest
from conftest import bearer, token

from onestop.common.v1 import common_pb2
from onestop.intake.v1 import intake_pb2

from support import error_info, retry_delay, submit_request


def test_lookup_with_the_receipt_secret_shows_the_status_in_vietnamese(intake):
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    code, secret = submitted.dossier.code, submitted.lookup_secret
    assert len(secret) == 8 and secret.isalnum() and secret.isupper()
    found = intake.LookupDossier(intake_pb2.LookupDossierRequest(code=code, secret=secret.lower())).dossier
    assert (found.code, found.status_label) == (code, "Được tiếp nhận")
    assert found.appointment_at == submitted.dossier.appointment_at
    assert found.applicant_name_masked == "Ng**** Th* Hồ** Nh***"
    assert [h.status_label for h in found.history] == ["Được tiếp nhận"]
    assert "Trung tâm Phục vụ hành chính công" in found.collect_at
    # Nothing personal travels: the public message has no fields for it.
    assert not {"citizen_id", "phone", "email", "address", "applicant"} & set(found.DESCRIPTOR.fields_by_name)


def test_a_wrong_secret_or_code_is_the_same_not_found(intake):
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    for code, secret in [(submitted.dossier.code, "WRONG123"), ("000.00.21.H17-991231-9999", submitted.lookup_secret),
                         ("not a code", "X")]:
        with pytest.raises(grpc.RpcError) as refused:
            intake.LookupDossier(intake_pb2.LookupDossierRequest(code=code, secret=secret))
        assert (refused.value.code(), error_info(refused.value)[0]) == (grpc.StatusCode.NOT_FOUND, "NO_MATCH")


def test_guessing_a_secret_is_stopped_for_the_guesser_only(intake):
    """Ten wrong secrets from one client stop that client on that code; the owner, from another
    address, still gets in (a stranger can never lock them out)."""
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    stranger = (("x-forwarded-for", "198.51.100.77"),)  # the platform trusts 127.0.0.1 as its proxy
    codes = []
    for attempt in range(12):
        try:
            intake.LookupDossier(intake_pb2.LookupDossierRequest(code=submitted.dossier.code,
                                                                 secret=f"GUESS{attempt:03d}"),
                                 metadata=stranger)
        except grpc.RpcError as err:
            codes.append(err.code())
    assert codes[:10] == [grpc.StatusCode.NOT_FOUND] * 10
    assert codes[10:] == [grpc.StatusCode.RESOURCE_EXHAUSTED] * 2
    with pytest.raises(grpc.RpcError) as limited:  # the guesser waits, even with the right secret
        intake.LookupDossier(intake_pb2.LookupDossierRequest(code=submitted.dossier.code,
                                                             secret=submitted.lookup_secret),
                             metadata=stranger)
    assert error_info(limited.value)[0] == "RATE_LIMITED"
    delay = retry_delay(limited.value)
    assert delay is not None and 1 <= delay <= 3600
    owner = (("x-forwarded-for", "203.0.113.77"),)
    found = intake.LookupDossier(intake_pb2.LookupDossierRequest(code=submitted.dossier.code,
                                                                 secret=submitted.lookup_secret), metadata=owner)
    assert found.dossier.code == submitted.dossier.code


def test_a_result_not_ready_counts_no_wrong_secret(intake):
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    owner = (("x-forwarded-for", "203.0.113.78"),)
    for _ in range(12):
        with pytest.raises(grpc.RpcError) as not_ready:
            intake.GetResultLinks(intake_pb2.GetResultLinksRequest(code=submitted.dossier.code,
                                                                   secret=submitted.lookup_secret), metadata=owner)
        assert error_info(not_ready.value)[0] == "RESULT_NOT_READY"
    for attempt in range(10):  # the whole budget of wrong secrets is still there
        with pytest.raises(grpc.RpcError) as wrong:
            intake.LookupDossier(intake_pb2.LookupDossierRequest(code=submitted.dossier.code,
                                                                 secret=f"TYPO{attempt:04d}"),
                                 metadata=owner)
        assert error_info(wrong.value)[0] == "NO_MATCH"


def test_two_citizens_with_one_request_id_do_not_share_a_dossier(intake):
    request = submit_request(channel=common_pb2.CHANNEL_ONLINE)
    first = intake.SubmitDossier(request, metadata=bearer(token(roles=("citizen",), agency="", subject="citizen-a")))
    with pytest.raises(grpc.RpcError) as refused:
        intake.SubmitDossier(request, metadata=bearer(token(roles=("citizen",), agency="", subject="citizen-b")))
    assert (refused.value.code(), error_info(refused.value)[0]) == (grpc.StatusCode.ALREADY_EXISTS, "REQUEST_ID_REUSED")
    assert first.lookup_secret not in (refused.value.details() or "")
    again = intake.SubmitDossier(request, metadata=bearer(token(roles=("citizen",), agency="", subject="citizen-a")))
    assert again.lookup_secret == first.lookup_secret
