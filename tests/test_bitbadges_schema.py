"""Every page document the vendored BitBadges OpenAPI accepts is accepted by `bitbadges upload` (issue 25):
documents generated from the spec's own create schema by hypothesis-jsonschema go through the CLI, not one
hand-written example. The spec's `NumberType` refers to itself (displayTimes, estimatedCost...); it is read
as the SDK declares it, as scripts/extract_bitbadges_schemas.py does for the packaged copy."""

from __future__ import annotations

import importlib.util
import json
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis_jsonschema import from_schema

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "tests" / "data" / "bitbadges_openapi.excerpt.json"


def _extract():
    spec = importlib.util.spec_from_file_location("extract", ROOT / "scripts" / "extract_bitbadges_schemas.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _inline(node, schemas: dict, seen: tuple = ()):
    """The schema with every `#/components/schemas/X` replaced by X itself (hypothesis-jsonschema wants
    one self-contained schema), the self-references mended as the extraction script mends them."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            assert name not in seen, f"a reference cycle through {name}"
            target = _inline(_extract().mend(name, schemas[name]), schemas, (*seen, name))
            rest = {k: v for k, v in node.items() if k not in ("$ref", "description")}
            return {**target, **_inline(rest, schemas, seen)} if rest else target
        return {k: _inline(v, schemas, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, schemas, seen) for v in node]
    return node


SCHEMAS = json.loads(SPEC.read_text())["components"]["schemas"]
CREATE = _inline(SCHEMAS["iCreateUtilityPagePayload"], SCHEMAS)


def test_the_number_fields_of_the_spec_are_in_the_generated_documents():
    properties = CREATE["properties"]
    assert properties["displayTimes"]["properties"]["start"]["type"] == ["string", "number"]
    assert properties["estimatedCost"]["properties"]["amount"]["type"] == ["string", "number"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(document=from_schema(CREATE))
def test_every_document_the_spec_accepts_is_accepted(cli, sandbox, tmp_path, document):
    path = tmp_path / f"page-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(document))
    run = cli("-o", "json", "bitbadges", "upload", str(path), "--dry-run")
    assert run.code == 0, (document, run)
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr, run
    assert [row["action"] for row in json.loads(run.stdout)] == ["upload"], (document, run)


def test_a_page_with_display_times_and_an_estimated_cost_is_created(cli, sandbox, tmp_path):
    document = {"metadata": {"name": "Timed page", "description": "d", "image": "https://example.com/x.png"},
                "content": [], "links": [], "type": "utility", "visibility": "public", "categories": [],
                "displayTimes": {"start": 1700000000000, "end": "1800000000000"},
                "estimatedCost": {"amount": 5, "denom": "ubadge"}}
    path = tmp_path / "timed.json"
    path.write_text(json.dumps(document))
    run = cli("-o", "json", "bitbadges", "upload", str(path))
    assert run.code == 0, run
    listing = json.loads(run.stdout)[0]["listingId"]
    shown = cli("-o", "json", "bitbadges", "show", listing)
    assert shown.code == 0, shown
    assert '"displayTimes"' in shown.stdout and "1700000000000" in shown.stdout
