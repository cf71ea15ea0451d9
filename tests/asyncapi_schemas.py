"""Reading docs/asyncapi.yaml as a partner would: the document, and a JSON Schema validator of an
event's payload or headers (unit and e2e tests of the partner kit)."""

from __future__ import annotations

import pathlib

import jsonschema
import yaml

DOCUMENT = pathlib.Path(__file__).resolve().parent.parent / "docs" / "asyncapi.yaml"


def document() -> dict:
    return yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


def _closed(schema):
    """The schema with every described object closed: a field the document does not describe fails."""
    if isinstance(schema, dict):
        closed = {k: _closed(v) for k, v in schema.items()}
        if closed.get("type") == "object" and "properties" in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_closed(v) for v in schema]
    return schema


def validator(doc: dict, event: str, part: str = "payload", closed: bool = True) -> jsonschema.Draft202012Validator:
    """A validator of `event`'s `part` ("payload" or "headers") with the document's schemas; closed:
    objects refuse fields the document does not list (the document itself leaves them open, for
    additive evolution; a test closes them to prove every published field is described)."""
    components = _closed(doc["components"]) if closed else doc["components"]
    schema = doc["components"]["messages"][event][part]
    return jsonschema.Draft202012Validator({**schema, "components": components},
                                           format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
