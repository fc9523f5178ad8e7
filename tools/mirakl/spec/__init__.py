"""Mirakl's published seller OpenAPI (MMP), cut to the operations csagent uses, and validators
built from it. The JSON file beside this module is Mirakl's own text, unchanged: the contract.

Mirakl types nullable fields as plain types (`shop_reply_needed_since` is a required string and
is null when the shop has replied), so validation here lets any typed value be null; a
*required* field must still be present. Enums live in the descriptions ("Enum: `"A"`, ..."),
not in the schemas: `enum_values()` reads them.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from importlib.resources import files
from typing import Any

from jsonschema import Draft202012Validator

SPEC_FILE = "mirakl-mmp-seller-openapi.json"
_ENUM = re.compile(r'Enum:\s*((?:`"[^"`]*"`\s*,?\s*)+)')


@cache
def spec() -> dict[str, Any]:
    """The published OpenAPI document."""
    text = files(__package__).joinpath(SPEC_FILE).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def schemas() -> dict[str, Any]:
    components: dict[str, Any] = spec()["components"]["schemas"]
    return components


def operation(operation_id: str) -> tuple[str, str, dict[str, Any]]:
    """(method, path, operation) of an operation id such as "M11"."""
    for path, item in spec()["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return method.upper(), path, op
    raise KeyError(f"operation {operation_id} is not in the spec")


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _nullable(v) for k, v in node.items()}
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        return out
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@cache
def _nullable_components() -> dict[str, Any]:
    return {"schemas": _nullable(copy.deepcopy(schemas()))}


def validator_for(schema_name: str) -> Draft202012Validator:
    """A validator of one component schema, e.g. "M11_Response_200"."""
    if schema_name not in schemas():
        raise KeyError(f"schema {schema_name} is not in the spec")
    root = {
        "$ref": f"#/components/schemas/{schema_name}",
        "components": _nullable_components(),
    }
    return Draft202012Validator(root)


def response_schema_name(operation_id: str, status: str = "200") -> str:
    _, _, op = operation(operation_id)
    content = op["responses"][status]["content"]["application/json"]
    ref: str = content["schema"]["$ref"]
    return ref.rsplit("/", 1)[-1]


def response_examples(operation_id: str, status: str = "200") -> dict[str, Any]:
    """The spec's example bodies of one response, by example name."""
    _, _, op = operation(operation_id)
    examples = op["responses"][status]["content"]["application/json"].get("examples", {})
    return {name: example["value"] for name, example in examples.items()}


def differences(body: Any, schema_name: str) -> list[str]:
    """Every way `body` departs from a schema, as "path: problem" lines (empty: it conforms)."""
    found = []
    for error in sorted(validator_for(schema_name).iter_errors(body), key=lambda e: e.json_path):
        found.append(f"{error.json_path}: {error.message[:200]}")
    return found


def response_differences(operation_id: str, body: Any, status: str = "200") -> list[str]:
    return differences(body, response_schema_name(operation_id, status))


def enum_values(schema_name: str, field: str) -> set[str]:
    """The values a description lists as the field's enum (empty if it lists none)."""
    prop = schemas()[schema_name].get("properties", {}).get(field, {})
    match = _ENUM.search(prop.get("description", ""))
    return set(re.findall(r'"([^"]*)"', match.group(1))) if match else set()
