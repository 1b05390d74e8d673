"""Secrets: every command of the suite, run with -vv, leaks no configured secret, Authorization value,
token, or presigned Policy / Signature / Credential / Security-Token — not on stdout, not on stderr, not in
the journal. Plain http:// to a non-loopback host is refused before any connection."""

from __future__ import annotations

import json
import re
import stat

import pytest

PAGE = {"metadata": {"name": "Secret test", "description": "d", "image": "https://example.com/i.png"},
        "content": [], "links": [], "type": "t", "visibility": "public", "categories": []}

# What a presigned form's secret parts look like in the sandbox's forms, wherever they might surface.
FORM_PATTERNS = [
    re.compile(r"eyJleHBpcmF0aW9u"),  # base64 of {"expiration" (a Policy document)
    re.compile(r"/s3/aws4_request"),  # an X-Amz-Credential value
    re.compile(r"SANDBOXSESSION"),  # the X-Amz-Security-Token value
    re.compile(r"X-Amz-Signature[\"':= ]+(?!\*\*\*)[0-9a-f]{8}", re.I),
    re.compile(r"Bearer (?!\*\*\*)\S{6}"),
]


def test_no_secret_anywhere_with_vv(cli, sandbox_factory, tmp_path, isolated_env):
    server = sandbox_factory("--ofauth-part-size", "1000")
    secrets = [v for k, v in server.env.items() if k.endswith(("_KEY", "_TOKEN", "_SECRET"))]
    assert len(secrets) >= 6
    (tmp_path / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 2500)
    (tmp_path / "page.json").write_text(json.dumps(PAGE))
    outputs = []

    def run(*args, code=0):
        result = cli("-vv", *args)
        outputs.append(result.stdout + result.stderr)
        assert result.code == code, (args, result)
        return result

    op = json.loads(run("-o", "json", "otherpage", "upload", str(tmp_path / "a.png")).stdout)[0]
    run("otherpage", "list")
    run("otherpage", "show", op["id"])
    server.control(s3_fail_next=5)
    run("--retries", "0", "otherpage", "upload", str(tmp_path / "a.png"), code=7)  # failure path, form kept
    failed = json.loads(cli("-o", "json", "otherpage", "list").stdout)[0]["id"]
    server.control(s3_fail_next=0)
    run("otherpage", "complete", failed)
    nb = json.loads(run("-o", "json", "nationbuilder", "upload", str(tmp_path / "a.png"), "--page", "s").stdout)[0]
    run("nationbuilder", "list", "--page", "s", "--all")
    run("nationbuilder", "show", str(nb["id"]), "--page", "s")
    run("-y", "nationbuilder", "delete", str(nb["id"]), "--page", "s")
    run("nationbuilder", "sites")
    of = json.loads(run("-o", "json", "ofauth", "upload", str(tmp_path / "a.png"), "--no-complete").stdout)[0]
    run("ofauth", "complete", of["mediaUploadId"])
    run("ofauth", "list", "--all")
    bb = json.loads(run("-o", "json", "bitbadges", "upload", str(tmp_path / "page.json")).stdout)[0]
    run("bitbadges", "list", "--all")
    run("bitbadges", "show", bb["listingId"])
    run("-y", "bitbadges", "delete", bb["listingId"])
    run("config", "list")
    run("auth", "status")
    run("history")
    run("resume")
    run("config", "path")

    journal_bytes = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("journal.sqlite3*"))
    everything = "\n".join(outputs) + journal_bytes.decode("latin-1")
    assert "> POST" in everything and "<   " in everything  # -vv really logged requests and bodies
    for secret in secrets:
        assert secret not in everything, f"a configured secret leaked: {secret[:6]}…"
    for pattern in FORM_PATTERNS:
        assert not pattern.search(everything), pattern.pattern
    for stash in (tmp_path / "data" / "pending").glob("*.json"):  # forms kept for resume: owner-only
        assert stat.S_IMODE(stash.stat().st_mode) == 0o600


@pytest.mark.parametrize("provider, var", [("otherpage", "MEDIACTL_OTHERPAGE_BASE_URL"),
                                           ("ofauth", "MEDIACTL_OFAUTH_BASE_URL"),
                                           ("bitbadges", "MEDIACTL_BITBADGES_BASE_URL"),
                                           ("nationbuilder", "MEDIACTL_NATIONBUILDER_BASE_URL")])
def test_plain_http_to_non_loopback_refused(cli, monkeypatch, provider, var, tmp_path):
    for key in ("OTHERPAGE_API_KEY", "OFAUTH_API_KEY", "OFAUTH_CONNECTION_ID", "BITBADGES_API_KEY",
                "BITBADGES_ACCESS_TOKEN", "NATIONBUILDER_ACCESS_TOKEN"):
        monkeypatch.setenv(f"MEDIACTL_{key}", "secret-value-1234")
    monkeypatch.setenv(var, "http://mediactl-test.invalid/api")
    (tmp_path / "a.png").write_bytes(b"x")
    args = {"otherpage": ("otherpage", "upload", str(tmp_path / "a.png"), "--community", "c"),
            "ofauth": ("ofauth", "list"), "bitbadges": ("bitbadges", "list"),
            "nationbuilder": ("nationbuilder", "sites")}[provider]
    run = cli(*args)
    assert run.code == 3 and "plain http://" in run.stderr  # refused, not "cannot reach" (no connection tried)
