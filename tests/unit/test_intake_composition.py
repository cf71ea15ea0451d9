"""Intake's composition root and layout (issue 10): `bootstrap` is the one place that builds
adapters; the packages stay small; the one IntakeService servicer is composed of one mixin per
package."""

from __future__ import annotations

import pathlib

import pytest
from test_intake_units_results import NOW, OFFICER, P_JUSTICE, PROCEDURES, UNITS, _cmd

from onestop.intake.v1 import intake_pb2, intake_pb2_grpc
from onestop_chassis.config import load_settings
from onestop_chassis.errors import Unavailable
from onestop_intake import api as intake_api
from onestop_intake.bootstrap import bootstrap
from onestop_intake.config import IntakeSettings
from onestop_intake.reception.adapters.documents_client import DocumentsClient

from fakes import FakeCatalogue, FakeDossiers, FakeSequence, FakeTickets

SRC = pathlib.Path(intake_api.__file__).parent


def _settings(**overrides) -> IntakeSettings:
    return load_settings(IntakeSettings, **{"documents_address": "", **overrides})


def test_bootstrap_builds_every_use_case_over_the_adapters_it_is_given():
    dossiers, store, tickets = FakeDossiers(), FakeCatalogue(PROCEDURES, UNITS), FakeTickets()
    intake = bootstrap(_settings(), dossiers=dossiers, catalogue=store, sequence=FakeSequence(), tickets=tickets,
                       clock=lambda: NOW)

    submitted = intake.reception.submit(_cmd(P_JUSTICE), OFFICER).dossier
    assert dossiers.by_code(submitted.code) == submitted and intake.dossiers is dossiers
    assert intake.catalogue.get(P_JUSTICE.code) == P_JUSTICE
    assert intake.units.get(OFFICER.agency).unit.code == OFFICER.agency
    ticket, waiting = intake.queue.take(OFFICER.agency, "ho-tich")
    assert (ticket.number, waiting) == (1, 0) and tickets.of_day(OFFICER.agency, ticket.day) == [ticket]
    assert intake.public_catalogue.detail_page(P_JUSTICE.code)[0] == 200
    assert intake.documents is None  # DOCUMENTS_ADDRESS empty: this desk keeps no result files


def test_the_documents_client_opens_nothing_until_it_is_called():
    asked = []

    def token() -> str:
        asked.append(True)
        return "t"

    intake = bootstrap(_settings(documents_address="127.0.0.1:9"), dossiers=FakeDossiers(),
                       catalogue=FakeCatalogue(PROCEDURES, UNITS), sequence=FakeSequence(), tickets=FakeTickets())
    assert isinstance(intake.documents, DocumentsClient) and intake.documents._channel is None

    client = DocumentsClient("127.0.0.1:9", token, timeout=5.0)  # port 9 (discard): nothing listens
    assert asked == [] and client._channel is None
    with pytest.raises(Unavailable) as info:
        client.result_links(dossier_code="000.00.21.H17-261130-0001", agency_code="000.00.21.H17")
    assert info.value.reason == "DOCUMENTS_UNAVAILABLE" and asked == [True]
    client.close()


def test_every_intake_rpc_lives_in_one_package_mixin():
    mixins = [cls for cls in intake_api.IntakeServicer.__mro__[1:]
              if cls.__module__.startswith("onestop_intake.") and cls.__module__.endswith(".api")]
    assert {cls.__module__ for cls in mixins} == {"onestop_intake.reception.api", "onestop_intake.forms.api",
                                                  "onestop_intake.units.api", "onestop_intake.catalogue.api"}
    for method in intake_pb2.DESCRIPTOR.services_by_name["IntakeService"].methods:
        owners = [cls.__name__ for cls in mixins if method.name in vars(cls)]
        assert len(owners) == 1, (method.name, owners)
        assert getattr(intake_api.IntakeServicer, method.name) is not \
            getattr(intake_pb2_grpc.IntakeServiceServicer, method.name)
