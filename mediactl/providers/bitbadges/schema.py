"""Validation against the BitBadges OpenAPI schemas packaged in schemas.json (see
scripts/extract_bitbadges_schemas.py)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path


@cache
def _document() -> dict:
    return json.loads((Path(__file__).parent / "schemas.json").read_text())


@cache
def _validator(name: str):
    from jsonschema import Draft202012Validator

    schema = {**_document(), "$ref": f"#/components/schemas/{name}"}
    return Draft202012Validator(schema)


def problems(name: str, instance) -> list[tuple[str, str]]:
    """(JSON path, message) for each way `instance` breaks schema `name`, most specific first."""
    out = []
    for error in sorted(_validator(name).iter_errors(instance), key=lambda e: (list(e.absolute_path), e.message)):
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        message = error.message
        if error.validator == "additionalProperties":
            message = message.replace("Additional properties are not allowed", "unknown field(s)")
        out.append((path, message))
    return out
