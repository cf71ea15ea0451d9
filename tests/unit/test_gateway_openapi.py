"""The REST gateway's OpenAPI document: current (what `make openapi` makes of the protos today),
valid Swagger 2.0 (openapi-spec-validator), and naming exactly the routes the gateway serves; and
the vendored google/api protos are the pinned googleapis-common-protos wheel's."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import re

import pytest
from google.api import annotations_pb2
from openapi_spec_validator import OpenAPIV2SpecValidator, validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from onestop_chassis.gateway.routes import contract_files, routes_of

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs/openapi/onestop.swagger.json"


def _generator():
    spec = importlib.util.spec_from_file_location("openapi_gen", ROOT / "libs/contracts/openapi.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shape(template: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", template)


def test_the_committed_document_is_current():
    assert DOCUMENT.read_text(encoding="utf-8") == _generator().render(), "run `make openapi`"


def test_the_document_is_valid_swagger_2():
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    validate(document, cls=OpenAPIV2SpecValidator)
    # The validator does check: an unknown operation is refused.
    with pytest.raises(OpenAPIValidationError, match="gett"):
        validate({**document, "paths": {"/v1/x": {"gett": {}}}}, cls=OpenAPIV2SpecValidator)


def test_the_document_names_every_route_the_gateway_serves_and_no_other():
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    documented = {(method.upper(), _shape(path)) for path, item in document["paths"].items() for method in item}
    served = {(r.http_method, _shape(r.template)) for r in routes_of(contract_files())}
    assert documented == served
    submit = document["paths"]["/v1/dossiers"]["post"]
    assert submit["operationId"] == "IntakeService_SubmitDossier"
    assert submit["responses"]["default"]["schema"]["$ref"] == "#/definitions/rpcStatus"
    assert "requestId" in document["definitions"]["v1SubmitDossierRequest"]["properties"]


def test_the_vendored_google_api_protos_are_the_pinned_wheels():
    wheel = pathlib.Path(annotations_pb2.__file__).parent
    for name in ("annotations.proto", "http.proto"):
        assert (ROOT / "third_party/google/api" / name).read_bytes() == (wheel / name).read_bytes(), name


def test_every_route_needs_the_bearer_token_unless_its_rpc_is_public():
    """Issue 14 item 8: the `bearer` definition applied to no route. Each operation's security is
    checked against its servicer method's policy (the authorisation matrix's servicers)."""
    from test_authorisation_matrix import SERVICES

    from onestop_chassis.auth import policy_of
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    assert document["security"] == [{"bearer": []}] and "bearer" in document["securityDefinitions"]
    servicers = {descriptor.name: cls for cls, _, descriptor in SERVICES.values()}
    public = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            service, rpc = operation["operationId"].split("_", 1)
            if policy_of(getattr(servicers[service], rpc)).public:
                assert operation.get("security") == [], f"{method} {path}: public, yet needs a token"
                public.append(rpc)
            else:
                assert "security" not in operation, f"{method} {path}: needs a token, yet marked public"
    assert {"LookupDossier", "FileFeedback", "GetFeedback", "TakeTicket"} <= set(public)
    assert len(public) < sum(len(item) for item in document["paths"].values())
