"""onestop.*.v1 messages ↔ intake domain objects."""

from __future__ import annotations

from onestop.common.v1 import common_pb2 as common
from onestop.intake.v1 import intake_pb2 as pb

from .. import domain


def applicant_from_proto(a: common.Applicant) -> domain.Applicant:
    return domain.Applicant(
        kind=a.kind, full_name=a.full_name.strip(), citizen_id=a.citizen_id.strip(),
        organisation_name=a.organisation_name.strip(), tax_code=a.tax_code.strip(),
        phone=a.phone.strip(), email=a.email.strip(),
        address=domain.Address(line=a.address.line, commune=a.address.commune, province=a.address.province))


def applicant_to_proto(a: domain.Applicant) -> common.Applicant:
    return common.Applicant(
        kind=a.kind, full_name=a.full_name, citizen_id=a.citizen_id, organisation_name=a.organisation_name,
        tax_code=a.tax_code, phone=a.phone, email=a.email,
        address=common.Address(line=a.address.line, commune=a.address.commune, province=a.address.province))


def duration_to_proto(d: domain.WorkingDuration) -> common.WorkingDuration:
    return common.WorkingDuration(days=d.days, hours=d.hours, minutes=d.minutes)


def unit_ref(unit: domain.Unit) -> common.UnitRef:
    return common.UnitRef(code=unit.code, name=unit.name)


def submit_command(request: pb.SubmitDossierRequest) -> domain.SubmitDossier:
    return domain.SubmitDossier(
        request_id=request.request_id.strip(), procedure_code=request.procedure_code.strip(),
        applicant=applicant_from_proto(request.applicant), channel=request.channel,
        receiving_unit_code=request.receiving_unit_code.strip(), request_content=request.request_content)


def dossier_to_proto(d: domain.Dossier) -> pb.Dossier:
    message = pb.Dossier(
        code=d.code, procedure_code=d.procedure_code, procedure_name=d.procedure_name,
        applicant=applicant_to_proto(d.applicant), channel=int(d.channel), status=int(d.status),
        receiving_unit=unit_ref(d.receiving_unit), legal_duration=duration_to_proto(d.legal_duration),
        request_content=d.request_content, request_id=d.request_id,
        supplement_requested=d.supplement_requested, version=d.version)
    for t in d.history:
        change = message.history.add(status=int(t.status), actor=t.actor, note=t.note)
        change.at.FromDatetime(t.at)
    message.received_at.FromDatetime(d.received_at)
    if d.appointment_at is not None:
        message.appointment_at.FromDatetime(d.appointment_at)
    return message


def public_dossier(d: domain.Dossier) -> pb.PublicDossier:
    message = pb.PublicDossier(
        code=d.code, procedure_name=d.procedure_name, receiving_unit_name=d.receiving_unit.name,
        status=int(d.status), status_label=domain.STATUS_LABELS_VI[d.status],
        applicant_name_masked=domain.mask_name(d.applicant.full_name),
        collect_at=f"Bộ phận Một cửa — {d.receiving_unit.name}")
    message.received_at.FromDatetime(d.received_at)
    if d.appointment_at is not None:
        message.appointment_at.FromDatetime(d.appointment_at)
    for t in d.history:
        change = message.history.add(status=int(t.status), status_label=domain.STATUS_LABELS_VI[t.status])
        change.at.FromDatetime(t.at)
    return message
