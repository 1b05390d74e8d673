"""Copy the BitBadges request/response schemas mediactl uses out of the OpenAPI spec into the package.

    python scripts/extract_bitbadges_schemas.py                       # vendored excerpt -> package
    python scripts/extract_bitbadges_schemas.py --vendor openapi.json  # upstream spec -> vendored excerpt -> package

The upstream spec (900 KB, see tests/data/SOURCES.md) is not in the repository: tests/data holds an excerpt
of it, the routes mediactl calls verbatim with every component they reach, so the tests can check requests
against the spec from any clone. The package ships only the schemas of those routes' bodies (refs kept as
`#/components/schemas/...`, so the file validates as it is with jsonschema's Draft 2020-12), with one
repair: a schema that is nothing but a reference to itself (upstream's `NumberType`, the type of
displayTimes, estimatedCost and every other number) sends a validator into endless recursion, so it is
replaced by what the BitBadges SDK declares it to be (SELF_REFERENCES below).
tests/test_bitbadges.py fails when the packaged copy drifts from the vendored excerpt.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDORED = ROOT / "tests" / "data" / "bitbadges_openapi.excerpt.json"
OUT = ROOT / "mediactl" / "providers" / "bitbadges" / "schemas.json"

# The routes mediactl calls (mediactl/providers/bitbadges/api.py), relative to the server's /api/v0.
PATHS = ["/utilityPage/{utilityPageId}", "/utilityPages", "/utilityPages/fetch", "/utilityPages/search",
         "/siwbb/token"]
ROOTS = [
    "iCreateUtilityPagePayload", "iUpdateUtilityPagePayload", "iDeleteUtilityPagePayload",
    "iGetUtilityPagesPayload", "iExchangeSIWBBAuthorizationCodePayload",
    "iCreateUtilityPageSuccessResponse", "iUpdateUtilityPageSuccessResponse", "iGetUtilityPageSuccessResponse",
    "iGetUtilityPagesSuccessResponse", "iSearchUtilityPagesSuccessResponse", "iDeleteUtilityPageSuccessResponse",
    "ErrorResponse",
]
COMPONENTS = "#/components/"
# Schemas the upstream spec defines as `{"$ref": <themselves>}`, and what the BitBadges SDK says they are.
# `NumberType` is `string | number | bigint` in bitbadgesjs-sdk: a JSON number, or a number written as a string.
SELF_REFERENCES = {
    "NumberType": {"description": "A number, or a number written as a string (bitbadgesjs-sdk NumberType: "
                                  "string | number | bigint)", "type": ["string", "number"]},
}


def excerpt(spec: dict) -> dict:
    """The upstream spec cut down to PATHS, the ROOTS schemas and every component they reference."""
    components: dict = {"securitySchemes": spec["components"]["securitySchemes"]}
    todo = [("schemas", name) for name in ROOTS] + _refs([spec["paths"][p] for p in PATHS])
    while todo:
        kind, name = todo.pop()
        if name in components.setdefault(kind, {}):
            continue
        components[kind][name] = spec["components"][kind][name]
        todo.extend(_refs(components[kind][name]))
    return {
        "openapi": spec["openapi"],
        "info": {"title": spec["info"]["title"], "version": spec["info"]["version"]},
        "servers": spec["servers"],
        "security": spec["security"],
        "paths": {p: spec["paths"][p] for p in PATHS},
        "components": {kind: dict(sorted(items.items())) for kind, items in sorted(components.items())},
    }


def extract(spec: dict) -> dict:
    """The package's schemas.json: the ROOTS schemas and the schemas they reference."""
    schemas = spec["components"]["schemas"]
    keep: dict = {}
    todo = list(ROOTS)
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep[name] = mend(name, schemas[name])
        todo.extend(n for kind, n in _refs(keep[name]) if kind == "schemas")
    return {"components": {"schemas": dict(sorted(keep.items()))}}


def mend(name: str, schema: dict) -> dict:
    """A schema as validators can use it: one that only refers to itself gets its SDK meaning (or, for a
    name not known here, accepts anything, which is what a reference to itself can only mean)."""
    if schema == {"$ref": f"{COMPONENTS}schemas/{name}"}:
        return SELF_REFERENCES.get(name, {})
    return schema


def _refs(node) -> list[tuple[str, str]]:
    """Every `#/components/<kind>/<name>` reference inside node, as (kind, name)."""
    if isinstance(node, dict):
        found = []
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(COMPONENTS):
                kind, name = value[len(COMPONENTS):].split("/", 1)
                found.append((kind, name))
            else:
                found.extend(_refs(value))
        return found
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def _write(path: Path, document: dict) -> None:
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--vendor"] and len(sys.argv) == 3:
        _write(VENDORED, excerpt(json.loads(Path(sys.argv[2]).read_text())))
    elif len(sys.argv) > 1:
        sys.exit(__doc__)
    _write(OUT, extract(json.loads(VENDORED.read_text())))
