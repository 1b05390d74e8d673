"""Copy the BitBadges request/response schemas mediactl uses out of the OpenAPI spec into the package.

    python scripts/extract_bitbadges_schemas.py ../shared/specs/bitbadges_openapi.json

The spec is 900 KB; the package ships only the components these routes reach (refs kept as
`#/components/schemas/...`, so the file validates as it is with jsonschema's Draft 2020-12).
tests/test_bitbadges.py fails when the packaged copy drifts from the spec.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOTS = [
    "iCreateUtilityPagePayload", "iUpdateUtilityPagePayload", "iDeleteUtilityPagePayload",
    "iGetUtilityPagesPayload", "iExchangeSIWBBAuthorizationCodePayload",
    "iCreateUtilityPageSuccessResponse", "iUpdateUtilityPageSuccessResponse", "iGetUtilityPageSuccessResponse",
    "iGetUtilityPagesSuccessResponse", "iSearchUtilityPagesSuccessResponse", "iDeleteUtilityPageSuccessResponse",
    "ErrorResponse",
]
OUT = Path(__file__).resolve().parent.parent / "mediactl" / "providers" / "bitbadges" / "schemas.json"


def extract(spec: dict) -> dict:
    schemas = spec["components"]["schemas"]
    keep: dict = {}
    todo = list(ROOTS)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep[name] = schemas[name]
        todo.extend(_refs(schemas[name]))
    return {"components": {"schemas": dict(sorted(keep.items()))}}


def _refs(node) -> list[str]:
    if isinstance(node, dict):
        found = []
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
                found.append(value.rsplit("/", 1)[1])
            else:
                found.extend(_refs(value))
        return found
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


if __name__ == "__main__":
    spec_path = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/specs/bitbadges_openapi.json")
    OUT.write_text(json.dumps(extract(json.loads(spec_path.read_text())), indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")
