"""onestop.*.v1 messages ↔ intake domain objects."""

from __future__ import annotations

import datetime as dt

from onestop.common.v1 import common_pb2 as common
from onestop.intake.v1 import intake_pb2 as pb
from onestop_chassis import codes, identity, worktime
from onestop_chassis.errors import FieldViolation, InvalidArgument, Violations

from ..catalogue import domain as catalogue
from ..reception import domain, routed
from ..units import domain as units


def identity_from_proto(message, field: str) -> identity.IdentityDocument | None:
    """The IdentityDocument `field` of `message` as sent (checked later by the domain), or None
    when the field is not set."""
    if not message.HasField(field):
        return None
    d = getattr(message, field)
    return identity.IdentityDocument(type=d.type, number=d.number, issuing_country=d.issuing_country)


def identity_to_proto(d: identity.IdentityDocument | None) -> common.IdentityDocument | None:
    if d is None:
        return None
    return common.IdentityDocument(type=int(d.type), number=d.number, issuing_country=d.issuing_country)


def applicant_from_proto(a: common.Applicant) -> domain.Applicant:
    return domain.Applicant(
        kind=a.kind, full_name=a.full_name.strip(), citizen_id=a.citizen_id.strip(),
        organisation_name=a.organisation_name.strip(), tax_code=a.tax_code.strip(),
        phone=a.phone.strip(), email=a.email.strip(),
        address=domain.Address(line=a.address.line, commune=a.address.commune, province=a.address.province,
                               commune_code=a.address.commune_code.strip(),
                               province_code=a.address.province_code.strip()),
        identity=identity_from_proto(a, "identity_document"))


def applicant_to_proto(a: domain.Applicant) -> common.Applicant:
    # citizen_id (deprecated) is still filled for clients that read it, where the paper carries
    # the personal identification number.
    return common.Applicant(
        kind=a.kind, full_name=a.full_name, citizen_id=a.identity.personal_number if a.identity else a.citizen_id,
        organisation_name=a.organisation_name, tax_code=a.tax_code, phone=a.phone, email=a.email,
        address=common.Address(line=a.address.line, commune=a.address.commune, province=a.address.province,
                               commune_code=a.address.commune_code, province_code=a.address.province_code),
        identity_document=identity_to_proto(a.identity))


def duration_to_proto(d: worktime.WorkingDuration) -> common.WorkingDuration:
    return common.WorkingDuration(days=d.days, hours=d.hours, minutes=d.minutes)


def unit_ref(unit: units.Unit) -> common.UnitRef:
    return common.UnitRef(code=unit.code, name=unit.name)


def submit_command(request: pb.SubmitDossierRequest) -> domain.SubmitDossier:
    return domain.SubmitDossier(
        request_id=request.request_id.strip(), procedure_code=request.procedure_code.strip(),
        applicant=applicant_from_proto(request.applicant), channel=request.channel,
        receiving_unit_code=request.receiving_unit_code.strip(), request_content=request.request_content,
        documents=tuple(domain.SubmittedDocument(name=d.name.strip(), copy_kind=d.copy_kind, count=d.count or 1)
                        for d in request.documents), return_by_post=request.return_by_post)


def fee_to_proto(f: catalogue.Fee) -> pb.Fee:
    return pb.Fee(name=f.name, amount=common.Money(currency_code=f.currency, amount=f.amount), note=f.note,
                  exemptions=list(f.exemptions))


def dossier_to_proto(d: domain.Dossier) -> pb.Dossier:
    message = pb.Dossier(
        code=d.code, procedure_code=d.procedure_code, procedure_name=d.procedure_name,
        applicant=applicant_to_proto(d.applicant), channel=int(d.channel), status=int(d.status),
        receiving_unit=unit_ref(d.receiving_unit), legal_duration=duration_to_proto(d.legal_duration),
        request_content=d.request_content, request_id=d.request_id,
        supplement_requested=d.supplement_requested, version=d.version,
        documents=[pb.SubmittedDocument(name=x.name, copy_kind=int(x.copy_kind), count=x.count) for x in d.documents],
        fees=[fee_to_proto(f) for f in d.fees], current_steps=[routed.step_vi(s) for s in d.current_steps],
        process_version=d.process_version, return_by_post=d.return_by_post)
    for t in d.history:
        change = message.history.add(status=int(t.status), actor=t.actor, note=t.note)
        change.at.FromDatetime(t.at)
    message.received_at.FromDatetime(d.received_at)
    if d.appointment_at is not None:
        message.appointment_at.FromDatetime(d.appointment_at)
    if d.supplement_request is not None:
        r = d.supplement_request
        message.supplement_request.reason = r.reason
        message.supplement_request.documents_to_add.extend(r.documents_to_add)
        message.supplement_request.requested_by = r.requested_by
        message.supplement_request.requested_at.FromDatetime(r.requested_at)
    message.refusal_reasons.extend(d.refusal_reasons)
    if d.result is not None:
        message.result.summary = d.result.summary
        message.result.timeliness = int(d.result.timeliness)
        message.result.recorded_by = d.result.recorded_by
        message.result.finished_at.FromDatetime(d.result.finished_at)
    if d.result_return is not None:
        r = d.result_return
        message.result_return.MergeFrom(pb.ResultReturn(
            method=int(r.method), receiver_name=r.receiver_name,
            receiver_id_number=r.receiver_identity.personal_number if r.receiver_identity else "",
            receiver_identity_document=identity_to_proto(r.receiver_identity),
            postal_tracking_number=r.postal_tracking_number, returned_by=r.returned_by, note=r.note))
        message.result_return.returned_at.FromDatetime(r.returned_at)
    return message


def unit_to_proto(u: units.Unit) -> pb.Unit:
    return pb.Unit(code=u.code, name=u.name, parent_code=u.parent_code, kind=int(u.kind), level=int(u.level),
                   receives_for=list(u.receives_for), address=u.address)


def unit_from_proto(m: pb.Unit) -> units.Unit:
    code = codes.normalise_code  # unit codes as typed: "000.00.21.h17 " is 000.00.21.H17
    return units.Unit(code=code(m.code), name=m.name.strip(), parent_code=code(m.parent_code), kind=m.kind,
                       level=m.level, receives_for=tuple(dict.fromkeys(code(c) for c in m.receives_for if c.strip())),
                       address=m.address.strip())


def public_dossier(d: domain.Dossier) -> pb.PublicDossier:
    message = pb.PublicDossier(
        code=d.code, procedure_name=d.procedure_name, receiving_unit_name=d.receiving_unit.name,
        status=int(d.status), status_label=domain.STATUS_LABELS_VI[d.status],
        applicant_name_masked=domain.mask_name(d.applicant.full_name),
        collect_at=f"Bộ phận Một cửa — {d.receiving_unit.name}",
        current_steps=[routed.step_vi(s) for s in d.current_steps], postal_notice=d.postal_notice)
    message.received_at.FromDatetime(d.received_at)
    if d.appointment_at is not None:
        message.appointment_at.FromDatetime(d.appointment_at)
    for t in routed.status_changes(d):
        change = message.history.add(status=int(t.status), status_label=domain.STATUS_LABELS_VI[t.status])
        change.at.FromDatetime(t.at)
    return message


# -- the catalogue ---------------------------------------------------------------------------------
FORMATS = {pb.CATALOGUE_FORMAT_YAML: "yaml", pb.CATALOGUE_FORMAT_JSON: "json"}
CONTENT_TYPES = {"yaml": "application/yaml", "json": "application/json"}


def catalogue_format(value: int) -> str:
    if value not in FORMATS:
        raise InvalidArgument.from_violations([FieldViolation("format", "must be CATALOGUE_FORMAT_YAML or _JSON")])
    return FORMATS[value]


def _date(value: str, name: str, v: Violations) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        v.add(name, "must be a date YYYY-MM-DD")
        return None


def procedure_from_proto(m: pb.Procedure, prefix: str = "procedure") -> catalogue.Procedure:
    v = Violations()
    effective_from = _date(m.effective_from, f"{prefix}.effective_from", v)
    effective_to = _date(m.effective_to, f"{prefix}.effective_to", v)
    v.raise_if_any()
    return catalogue.Procedure(
        code=m.code.strip(), is_local_code=m.is_local_code, name=m.name.strip(), field_code=m.field_code.strip(),
        competent_unit_code=m.competent_agency_code.strip(), level=m.level.strip(),
        legal_duration=worktime.WorkingDuration(m.legal_duration.days, m.legal_duration.hours,
                                              m.legal_duration.minutes),
        required_documents=tuple(catalogue.RequiredDocument(
            name=d.name.strip(), copy_kind=d.copy_kind, count=d.count or 1, form_template=d.form_template.strip(),
            required=d.required) for d in m.required_documents),
        fees=tuple(catalogue.Fee(name=f.name.strip(), amount=f.amount.amount,
                              currency=f.amount.currency_code.strip() or "VND", note=f.note.strip(),
                              exemptions=tuple(e.strip() for e in f.exemptions)) for f in m.fees),
        result=m.result.strip(), online_level=m.online_level, postal_return_allowed=m.postal_return_allowed,
        process_code=m.process_code.strip(), active=m.active, effective_from=effective_from,
        effective_to=effective_to, legal_basis=tuple(b.strip() for b in m.legal_basis), version=m.version)


def procedure_to_proto(p: catalogue.Procedure, *, unit_names: dict[str, str], today: dt.date) -> pb.Procedure:
    return pb.Procedure(
        code=p.code, is_local_code=p.is_local_code, name=p.name, field_code=p.field_code,
        field_name=catalogue.field_name(p.field_code), competent_agency_code=p.competent_unit_code,
        competent_agency_name=unit_names.get(p.competent_unit_code, ""), level=p.level,
        required_documents=[pb.RequiredDocument(name=d.name, copy_kind=int(d.copy_kind), count=d.count,
                                                form_template=d.form_template, required=d.required)
                            for d in p.required_documents],
        fees=[fee_to_proto(f) for f in p.fees],
        legal_duration=duration_to_proto(p.legal_duration), result=p.result, online_level=int(p.online_level),
        postal_return_allowed=p.postal_return_allowed, process_code=p.process_code, active=p.active,
        effective_from=p.effective_from.isoformat() if p.effective_from else "",
        effective_to=p.effective_to.isoformat() if p.effective_to else "",
        legal_basis=list(p.legal_basis), version=p.version, in_force=p.in_force(today))
