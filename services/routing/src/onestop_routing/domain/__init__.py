"""Routing's domain, plain Python: the case opened for a received dossier (here), process
templates (`process`), legal clocks (`clocks`), the journey log and its fold (`journey`) and who
may do what (`actions`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import IntEnum


class CaseState(IntEnum):
    OPEN = 1


@dataclass
class Case:
    dossier_code: str
    procedure_code: str
    procedure_name: str
    receiving_unit_code: str
    receiving_unit_name: str
    channel: int
    applicant_name: str
    received_at: dt.datetime
    due_at: dt.datetime
    opened_at: dt.datetime
    state: CaseState = CaseState.OPEN
    # Ids of the events already applied to this case: an event delivered twice changes nothing.
    applied_event_ids: list[str] = field(default_factory=list)
    # The process template the case runs (the catalogue's process_code) and the version it started
    # with, kept for the case's whole life; version 0: the procedure has no template, the desk
    # records the result itself (intake's RecordResult) and the case stays OPEN without steps.
    process_code: str = ""
    process_version: int = 0
    process_agency: str = ""  # the template's agency_code ("" for every agency's)


@dataclass(frozen=True)
class OpenCase:
    """From a DossierReceived event."""
    event_id: str
    dossier_code: str
    procedure_code: str
    procedure_name: str
    receiving_unit_code: str
    receiving_unit_name: str
    channel: int
    applicant_name: str
    received_at: dt.datetime
    due_at: dt.datetime
    process_code: str = ""
    receiving_agency_code: str = ""  # the receiving desk's agency (its parent unit), "" unknown


def open_case(cmd: OpenCase, opened_at: dt.datetime) -> Case:
    return Case(
        dossier_code=cmd.dossier_code, procedure_code=cmd.procedure_code, procedure_name=cmd.procedure_name,
        receiving_unit_code=cmd.receiving_unit_code, receiving_unit_name=cmd.receiving_unit_name,
        channel=cmd.channel, applicant_name=cmd.applicant_name, received_at=cmd.received_at,
        due_at=cmd.due_at, opened_at=opened_at, applied_event_ids=[cmd.event_id], process_code=cmd.process_code)
