"""The public lookup: code + secret from the receipt, no token, nothing personal, rate-limited."""

from __future__ import annotations

import grpc
import pytest
from conftest import bearer
from onestop.intake.v1 import intake_pb2
from support import error_info, submit_request


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


def test_guessing_a_secret_is_stopped(intake):
    submitted = intake.SubmitDossier(submit_request(), metadata=bearer())
    codes = []
    for attempt in range(12):
        try:
            intake.LookupDossier(intake_pb2.LookupDossierRequest(code=submitted.dossier.code, secret=f"GUESS{attempt:03d}"))
        except grpc.RpcError as err:
            codes.append(err.code())
    assert codes[:10] == [grpc.StatusCode.NOT_FOUND] * 10
    assert codes[10:] == [grpc.StatusCode.RESOURCE_EXHAUSTED] * 2
    with pytest.raises(grpc.RpcError) as limited:  # even the right secret waits now
        intake.LookupDossier(intake_pb2.LookupDossierRequest(code=submitted.dossier.code, secret=submitted.lookup_secret))
    assert error_info(limited.value)[0] == "RATE_LIMITED"
