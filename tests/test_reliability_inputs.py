"""Bad inputs: each gives a one-line message naming the problem, the documented exit code, no traceback."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import responses

TRIED: list[str] = []


def assert_clean(run, code: int, *needles: str, name: str) -> None:
    """One error line (plus an optional hint), the exit code, the words that name the problem."""
    TRIED.append(name)
    assert run.code == code, (name, run)
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout, name
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, (name, run.stderr)
    for needle in needles:
        assert needle in errors[0], (name, needle, errors[0])


def test_local_file_problems(cli, sandbox, tmp_path, monkeypatch):
    assert_clean(cli("otherpage", "upload", str(tmp_path / "missing.png")), 3, "missing.png", "no such file",
                 name="missing file")
    (tmp_path / "dir").mkdir()
    assert_clean(cli("otherpage", "upload", str(tmp_path / "dir")), 3, "is a directory", name="directory without -r")
    (tmp_path / "README").write_text("x")
    assert_clean(cli("otherpage", "upload", str(tmp_path / "README")), 3, "no file extension",
                 name="name without extension")
    (tmp_path / "empty.png").write_bytes(b"")
    assert_clean(cli("ofauth", "upload", str(tmp_path / "empty.png")), 6, "File is empty",
                 name="empty file the provider refuses")
    (tmp_path / "big.png").write_bytes(b"x" * 2000)
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_MAX_SIZE", "1000")
    assert_clean(cli("nationbuilder", "upload", str(tmp_path / "big.png"), "--page", "p"), 3, "max_size",
                 name="file over the configured size limit")


def test_unreadable_file(sandbox, tmp_path):
    """chmod 000. Root reads anything, so as root the CLI runs without the capabilities that allow it."""
    TRIED.append("unreadable file")
    work = Path(tempfile.mkdtemp(prefix="mediactl-perm-"))
    path = work / "secret.png"
    path.write_bytes(b"data")
    path.chmod(0o000)
    env = {**os.environ, **sandbox.env, "MEDIACTL_CONFIG_DIR": str(work / "cfg"), "MEDIACTL_DATA_DIR": str(work / "d")}
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
            "--inh-caps=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    proc = subprocess.run([*drop, sys.executable, "-m", "mediactl", "otherpage", "upload", str(path)], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr
    assert "permission denied" in proc.stderr.lower() and "Traceback" not in proc.stderr


def test_odd_file_names(cli, sandbox, tmp_path):
    TRIED.extend(["non-UTF-8 file name", "very long file name"])
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9-\xff.png")
    with open(raw, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\nbytes")
    run = cli("-o", "json", "otherpage", "upload", os.fsdecode(raw))
    assert run.code == 0, run
    assert json.loads(run.stdout)[0]["key"]
    long_name = "L" * 250 + ".txt"
    (tmp_path / long_name).write_text("long")
    run = cli("-o", "json", "nationbuilder", "upload", str(tmp_path / long_name), "--page", "long")
    assert run.code == 0, run
    assert json.loads(run.stdout)[0]["filename"] == long_name


def test_config_problems(cli, isolated_env):
    isolated_env.mkdir(parents=True)
    (isolated_env / "credentials.toml").write_text('[default.otherpage]\napi_key = "unterminated\n')
    before = (isolated_env / "credentials.toml").read_text()
    assert_clean(cli("auth", "login", "otherpage", "--with-token", input="k\n"), 3, "credentials.toml", "line 2",
                 name="malformed credentials.toml")
    assert (isolated_env / "credentials.toml").read_text() == before
    (isolated_env / "credentials.toml").unlink()
    (isolated_env / "config.toml").write_text("[default\n")
    assert_clean(cli("config", "list"), 3, "config.toml", "line 1", name="malformed config.toml")
    (isolated_env / "config.toml").unlink()
    assert_clean(cli("--profile", "ghost", "config", "list"), 3, "unknown profile", name="unknown profile")
    assert_clean(cli("config", "set", "ofauth.colour", "x"), 2, "unknown setting key", name="unknown setting key")


def test_usage_problems(cli, sandbox, tmp_path):
    TRIED.append("invalid --limit")
    run = cli("ofauth", "list", "--limit", "0")
    assert run.code == 2 and "Traceback" not in run.stderr
    bad = tmp_path / "page.json"
    bad.write_text(json.dumps({"metadata": {"name": "x"}}))
    assert_clean(cli("bitbadges", "upload", str(bad)), 3, "$.metadata", "description",
                 name="invalid JSON page document")
    yaml_bad = tmp_path / "page.yaml"
    yaml_bad.write_text("metadata: [unclosed\n")
    assert_clean(cli("bitbadges", "upload", str(yaml_bad)), 3, "not valid YAML", name="invalid YAML page document")


ODD_ANSWERS = [
    ("HTML answer", 200, "<html><body><h1>Maintenance</h1></body></html>", "text/html", 7, "Maintenance"),
    ("empty answer", 200, "", "application/json", 7, "empty body"),
    ("truncated JSON", 200, '{"results": [{"id": 1}, {"id"', "application/json", 7, '{"results"'),
    ("wrong content type", 200, "results=1", "text/plain", 7, "text/plain"),
    ("missing expected fields", 200, '{"data": []}', "application/json", 6, "missing results"),
    ("HTML error page", 502, "<html><body>Bad Gateway</body></html>", "text/html", 7, "Bad Gateway"),
]


@pytest.mark.parametrize("name, status, body, ctype, code, needle", ODD_ANSWERS, ids=[a[0] for a in ODD_ANSWERS])
@responses.activate
def test_odd_server_answers(cli, monkeypatch, name, status, body, ctype, code, needle):
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_ACCESS_TOKEN", "tok-123456")
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_BASE_URL", "https://nb.example/api/v1")
    responses.add(responses.GET, "https://nb.example/api/v1/sites", status=status, body=body, content_type=ctype)
    assert_clean(cli("--retries", "0", "nationbuilder", "sites"), code, needle, name=name)


def test_expired_presigned_form(cli, sandbox_factory, tmp_path):
    server = sandbox_factory()
    server.control(form_ttl=3, s3_fail_next=100)  # the batch's second pass still finds the form valid
    (tmp_path / "a.png").write_bytes(b"png")
    assert cli("--retries", "0", "otherpage", "upload", str(tmp_path / "a.png")).code == 7
    file_id = json.loads(cli("-o", "json", "otherpage", "list").stdout)[0]["id"]
    import time

    time.sleep(3.5)
    assert_clean(cli("otherpage", "complete", file_id), 6, "expired", name="expired presigned form")


@pytest.fixture
def tls_server(tmp_path):
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            body = b'{"results": [], "next": null, "prev": null}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    yield f"https://127.0.0.1:{server.server_address[1]}/api/v1", ca_path
    server.shutdown()


def test_tls_failure_suggests_ca_bundle_and_ca_bundle_fixes_it(cli, monkeypatch, tls_server):
    url, ca_path = tls_server
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_BASE_URL", url)
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_ACCESS_TOKEN", "tok-123456")
    run = cli("--retries", "0", "nationbuilder", "sites")
    assert_clean(run, 7, "TLS", name="TLS failure")
    assert "REQUESTS_CA_BUNDLE" in run.stderr and "ca_bundle" in run.stderr
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_CA_BUNDLE", str(ca_path))
    assert cli("nationbuilder", "sites").code == 0


def test_report_bad_inputs_tried():
    """Runs last in this module: the README's reliability section quotes this count."""
    print(f"\nbad inputs tried: {len(TRIED)}: {', '.join(TRIED)}")
    assert len(TRIED) >= 20
