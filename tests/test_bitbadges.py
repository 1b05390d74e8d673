"""BitBadges end to end against the sandbox, and every request the client sent checked against the
OpenAPI spec itself (the vendored excerpt in tests/data, see its SOURCES.md), so drift from the spec fails CI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests

from mediactl.providers.bitbadges.schema import _document

SPEC = Path(__file__).resolve().parent / "data" / "bitbadges_openapi.excerpt.json"
SENT: list[tuple[str, str, dict, bytes | None]] = []

PAGE = {
    "metadata": {"name": "Demo page", "description": "Made by mediactl", "image": "https://example.com/logo.png"},
    "content": [{"type": "text", "label": "About", "content": "Hello"}],
    "links": [{"url": "https://example.com"}],
    "type": "utility",
    "visibility": "public",
    "categories": ["tools"],
}


@pytest.fixture(autouse=True)
def record_requests(monkeypatch):
    """Keep a copy of every request sent to a BitBadges API (the request still goes out unchanged)."""
    real_send = requests.Session.send

    def send(self, request, **kwargs):
        if "/bitbadges/api/v0" in request.url or "api.bitbadges.io" in request.url:
            body = request.body if isinstance(request.body, bytes | type(None)) else str(request.body).encode()
            SENT.append((request.method, request.url, dict(request.headers), body))
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)


def write(tmp_path, name: str, doc) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


def test_create_update_list_show_delete(cli, sandbox, tmp_path):
    run = cli("-o", "json", "bitbadges", "upload", str(write(tmp_path, "page.json", PAGE)))
    assert run.code == 0, run
    [doc] = json.loads(run.stdout)
    listing = doc["listingId"]
    assert doc["metadata"]["name"] == "Demo page" and doc["provider"] == "bitbadges" and doc["local"]["sha256"]

    run = cli("-o", "json", "bitbadges", "upload", str(write(tmp_path, "page.json", PAGE)), "--update",
              "--listing-id", listing, "--name", "Renamed", "--visibility", "unlisted")
    assert run.code == 0, run
    [updated] = json.loads(run.stdout)
    assert updated["metadata"]["name"] == "Renamed" and updated["visibility"] == "unlisted"

    shown = json.loads(cli("-o", "json", "bitbadges", "show", listing).stdout)
    assert shown["listingId"] == listing and shown["metadata"]["name"] == "Renamed"

    run = cli("-y", "-o", "json", "bitbadges", "delete", listing)
    assert run.code == 0 and json.loads(run.stdout)[0]["deleted"] is True
    assert cli("bitbadges", "show", listing).code == 5


def test_list_all_follows_bookmark_and_show_several(cli, sandbox_factory, tmp_path):
    sandbox_factory("--page-size", "2")
    ids = []
    for n in range(5):
        doc = {**PAGE, "metadata": {**PAGE["metadata"], "name": f"Page {n}"}}
        ids.append(json.loads(cli("-o", "json", "bitbadges", "upload", str(write(tmp_path, f"p{n}.json", doc)))
                              .stdout)[0]["listingId"])
    run = cli("-v", "-o", "json", "bitbadges", "list", "--all")
    assert [d["listingId"] for d in json.loads(run.stdout)] == ids
    assert run.stderr.count("/utilityPages/search") == 3
    assert len(json.loads(cli("-o", "json", "bitbadges", "list").stdout)) == 2

    run = cli("-o", "json", "bitbadges", "show", ids[0], "util-missing", ids[2])
    assert run.code == 8 and "util-missing" in run.stderr
    rows = json.loads(run.stdout)
    assert [r.get("listingId") for r in rows] == [ids[0], None, ids[2]]
    assert rows[1]["error"]["code"] == 5


def test_invalid_document_rejected_locally_with_path(cli, sandbox, tmp_path):
    bad = {**PAGE, "metadata": {"description": "no name", "image": "https://x/y.png"}}
    before = len(SENT)
    run = cli("bitbadges", "upload", str(write(tmp_path, "bad.json", bad)))
    assert run.code == 3
    assert "$.metadata: 'name' is a required property" in run.stderr
    assert len(SENT) == before  # nothing sent
    run = cli("bitbadges", "upload", str(write(tmp_path, "vis.json", {**PAGE, "visibility": "secret"})))
    assert run.code == 3 and "$.visibility" in run.stderr
    run = cli("bitbadges", "upload", str(write(tmp_path, "broken.json", '{"metadata": ')))
    assert run.code == 3 and "not valid JSON" in run.stderr and "line 1" in run.stderr


def test_yaml_document(cli, sandbox, tmp_path):
    import yaml

    path = tmp_path / "page.yaml"
    path.write_text(yaml.safe_dump(PAGE))
    run = cli("-q", "bitbadges", "upload", str(path))
    assert run.code == 0 and run.stdout.strip().startswith("util-")


def test_bad_key_is_exit_4(cli, sandbox, monkeypatch):
    monkeypatch.setenv("MEDIACTL_BITBADGES_API_KEY", "bbk_wrong")
    run = cli("bitbadges", "list")
    assert run.code == 4 and "x-api-key" in run.stderr


def test_out_of_credits_402(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    server.control(bitbadges_credits=0)
    run = cli("bitbadges", "upload", str(write(tmp_path, "page.json", PAGE)))
    assert run.code == 6 and "out of BitBadges API credits" in run.stderr


def test_expired_access_token_refreshed_once_and_saved(cli, sandbox_factory, tmp_path, monkeypatch, isolated_env):
    server = sandbox_factory()
    # the tokens live in credentials.toml (as after `auth login`), not in the environment
    for key in ("ACCESS_TOKEN", "REFRESH_TOKEN", "CLIENT_SECRET"):
        monkeypatch.delenv(f"MEDIACTL_BITBADGES_{key}")
    for key in ("access_token", "refresh_token", "client_secret"):
        value = server.env[f"MEDIACTL_BITBADGES_{key.upper()}"]
        assert cli("config", "set", f"bitbadges.{key}", value).code == 0
    server.control(expire_bitbadges_token=True)
    run = cli("-o", "json", "bitbadges", "upload", str(write(tmp_path, "page.json", PAGE)))
    assert run.code == 0, run
    assert "refreshed the BitBadges access token" in run.stderr
    import tomllib

    creds = tomllib.loads((isolated_env / "credentials.toml").read_text())["default"]["bitbadges"]
    assert creds["access_token"] != server.env["MEDIACTL_BITBADGES_ACCESS_TOKEN"]
    assert cli("bitbadges", "list").code == 0  # the saved token works


# -- spec conformance: runs last in this module ----------------------------------------------------------------


def _spec() -> dict:
    return json.loads(SPEC.read_text())


def _extract_script():
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "scripts" / "extract_bitbadges_schemas.py"
    spec = importlib.util.spec_from_file_location("extract", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_packaged_schemas_match_the_vendored_spec():
    assert _extract_script().extract(_spec()) == _document(), \
        "mediactl/providers/bitbadges/schemas.json is stale: run scripts/extract_bitbadges_schemas.py"


def test_vendored_spec_is_self_contained():
    """Every reference in the excerpt resolves inside it, and it covers every route the client calls."""
    spec, script = _spec(), _extract_script()
    for kind, name in script._refs(spec):
        assert name in spec["components"].get(kind, {}), f"#/components/{kind}/{name} is not vendored"
    assert set(spec["paths"]) == set(script.PATHS)
    assert script.excerpt(spec) == spec  # the excerpt of the excerpt is itself: nothing extra, nothing missing


def test_every_request_sent_conforms_to_the_openapi_spec():
    from jsonschema import Draft202012Validator

    spec = _spec()
    assert SENT, "the tests above sent no BitBadges request"
    templates = []
    for template, ops in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        templates.append((re.compile(pattern), template, ops))
    checked = 0
    for method, url, headers, body in SENT:
        path = re.sub(r"^.*?/api/v0", "", url.split("?", 1)[0])
        match = [(t, ops) for rx, t, ops in templates if rx.match(path) and method.lower() in ops]
        assert match, f"{method} {path} is not an operation of the spec"
        template, ops = match[0]
        op = ops[method.lower()]
        assert headers.get("x-api-key"), f"{method} {path} sent without x-api-key"
        for param in op.get("parameters") or []:
            if param.get("in") == "query" and "?" in url:
                names = {p.split("=")[0] for p in url.split("?", 1)[1].split("&")}
                assert names <= {p["name"] for p in op["parameters"] if p.get("in") == "query"}, url
        schema = (((op.get("requestBody") or {}).get("content") or {}).get("application/json") or {}).get("schema")
        if schema is not None:
            errors = list(Draft202012Validator({**spec, **schema}).iter_errors(json.loads(body)))
            assert not errors, f"{method} {path}: {errors[0].message}"
            checked += 1
    assert checked >= 4
