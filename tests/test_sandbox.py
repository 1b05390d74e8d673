"""The sandbox itself: credentials, malformed bodies, the S3 endpoint's verdicts (checked against a real
S3 server), seeded fault injection, persistence, and the demo."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
import requests

from mediactl.sandbox.s3 import sign_form
from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY
from tests.sandbox_fixtures import start_sandbox


def test_each_emulator_rejects_missing_and_wrong_credentials(sandbox):
    env, base = sandbox.env, sandbox.base_url
    cases = [
        ("POST", env["MEDIACTL_OTHERPAGE_BASE_URL"] + "/community/c/file", "X-Api-Key", {"name": "a.png"}),
        ("GET", env["MEDIACTL_NATIONBUILDER_BASE_URL"] + "/sites", "Authorization", None),
        ("GET", env["MEDIACTL_OFAUTH_BASE_URL"] + "/v2/access/vault/media", "apiKey", None),
        ("GET", env["MEDIACTL_BITBADGES_BASE_URL"] + "/utilityPage/x", "x-api-key", None),
    ]
    for method, url, header, body in cases:
        for headers in ({}, {header: "wrong"}):
            resp = requests.request(method, url, json=body, headers=headers, timeout=10)
            assert resp.status_code == 401, (url, headers, resp.text)
    assert requests.get(base + "/otherpage/v1/community/c/file", timeout=10).status_code == 405
    # provider-shaped 401 bodies
    assert "statusCode" in requests.post(cases[0][1], json={}, timeout=10).json()
    assert requests.get(cases[1][1], timeout=10).json()["code"] == "unauthorized"
    of = requests.get(cases[2][1], timeout=10).json()
    assert {"error", "type", "requestId"} <= set(of)
    assert requests.get(cases[3][1], timeout=10).json()["unauthorized"] is True


def _answer(answers) -> tuple[str, dict[str, str], bytes]:
    status = answers.readline().decode()
    headers = {}
    while (line := answers.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, answers.read(int(headers.get("content-length", 0)))


def test_connections_are_kept_alive_and_unread_bodies_dropped(sandbox):
    """One connection serves request after request; a body the app refused without reading (a 401) is
    dropped, not read as the next request; `Connection: close` is answered in kind, and closes."""
    path = urlsplit(sandbox.env["MEDIACTL_OTHERPAGE_BASE_URL"]).path + "/community/c/file"
    key = sandbox.env["MEDIACTL_OTHERPAGE_API_KEY"]
    parts = urlsplit(sandbox.base_url)

    def request(headers: str, body: bytes) -> bytes:
        return (f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n{headers}"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock, sock.makefile("rb") as answers:
        sock.sendall(request("", b'{"name": "a.png"}' + b" " * 200_000))  # no key: refused before it is read
        status, headers, _ = _answer(answers)
        assert status.startswith("HTTP/1.1 401") and "connection" not in headers, (status, headers)
        sock.sendall(request(f"X-Api-Key: {key}\r\n", b'{"name": "b.png"}'))
        status, headers, body = _answer(answers)
        assert status.startswith("HTTP/1.1 201") and "connection" not in headers, (status, body)
        assert json.loads(body)["upload"]["url"]
        sock.sendall(request(f"X-Api-Key: {key}\r\nConnection: close\r\n", b'{"name": "c.png"}'))
        status, headers, body = _answer(answers)
        assert status.startswith("HTTP/1.1 201") and headers["connection"] == "close", (status, headers)
        assert answers.read() == b""  # the server closed it


def test_expect_100_continue_is_answered_with_exactly_one_interim_response(sandbox):
    """http.server's handle_expect_100 and werkzeug's run_wsgi each sent a `100 Continue` on HTTP/1.1."""
    path = urlsplit(sandbox.env["MEDIACTL_OTHERPAGE_BASE_URL"]).path + "/community/c/file"
    key = sandbox.env["MEDIACTL_OTHERPAGE_API_KEY"]
    parts = urlsplit(sandbox.base_url)
    body = b'{"name": "e.png"}'
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock, sock.makefile("rb") as answers:
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
                      f"X-Api-Key: {key}\r\nExpect: 100-continue\r\nConnection: close\r\n"
                      f"Content-Length: {len(body)}\r\n\r\n").encode())
        assert _answer(answers) == ("HTTP/1.1 100 Continue\r\n", {}, b"")  # before the body is sent
        sock.sendall(body)
        status, headers, answer = _answer(answers)
        assert status.startswith("HTTP/1.1 201"), (status, answer)
        assert json.loads(answer)["upload"]["url"]
        assert answers.read() == b""  # nothing else: no second interim answer, then the close


def test_malformed_bodies_rejected(sandbox):
    env = sandbox.env
    op = requests.post(env["MEDIACTL_OTHERPAGE_BASE_URL"] + "/community/c/file", json={"name": "noext"},
                       headers={"X-Api-Key": env["MEDIACTL_OTHERPAGE_API_KEY"]}, timeout=10)
    assert op.status_code == 400 and "extension" in op.json()["message"]
    nb = requests.post(env["MEDIACTL_NATIONBUILDER_BASE_URL"] + "/sites/s/pages/p/attachments",
                       json={"attachment": {"filename": "a.txt", "content": "not base64!"}},
                       headers={"Authorization": "Bearer " + env["MEDIACTL_NATIONBUILDER_ACCESS_TOKEN"]}, timeout=10)
    assert nb.status_code == 400 and "base64" in nb.json()["message"]
    nb_limit = requests.get(env["MEDIACTL_NATIONBUILDER_BASE_URL"] + "/sites?limit=101",
                            headers={"Authorization": "Bearer " + env["MEDIACTL_NATIONBUILDER_ACCESS_TOKEN"]},
                            timeout=10)
    assert nb_limit.status_code == 400
    of_headers = {"apiKey": env["MEDIACTL_OFAUTH_API_KEY"], "x-connection-id": env["MEDIACTL_OFAUTH_CONNECTION_ID"]}
    of = requests.post(env["MEDIACTL_OFAUTH_BASE_URL"] + "/v2/access/uploads/init", json={"filename": "a.png"},
                       headers=of_headers, timeout=10)
    assert of.status_code == 400 and of.json()["code"] == "VALIDATION_ERROR"
    missing_conn = requests.get(env["MEDIACTL_OFAUTH_BASE_URL"] + "/v2/access/vault/media",
                                headers={"apiKey": env["MEDIACTL_OFAUTH_API_KEY"]}, timeout=10)
    assert missing_conn.status_code == 400
    bb = requests.post(env["MEDIACTL_BITBADGES_BASE_URL"] + "/utilityPages", json={"metadata": {}},
                       headers={"x-api-key": env["MEDIACTL_BITBADGES_API_KEY"],
                                "Authorization": "Bearer " + env["MEDIACTL_BITBADGES_ACCESS_TOKEN"]}, timeout=10)
    assert bb.status_code == 400 and "errorMessage" in bb.json()


# -- S3 verdicts: the sandbox and SeaweedFS must agree -------------------------------------------------------


def _sandbox_form(sandbox) -> tuple[str, list[tuple[str, str]]]:
    env = sandbox.env
    record = requests.post(env["MEDIACTL_OTHERPAGE_BASE_URL"] + "/community/parity/file", json={"name": "p.txt"},
                           headers={"X-Api-Key": env["MEDIACTL_OTHERPAGE_API_KEY"]}, timeout=10).json()
    return record["upload"]["url"], list(record["upload"]["body"].items())


def _seaweed_form(s3_server, key: str, ttl: int = 300, max_size: int = 1 << 20):
    fields = sign_form(access_key=ACCESS_KEY, secret_key=SECRET_KEY, session_token=None, bucket=s3_server.bucket,
                       key=key, leading=[("success_action_status", "201"), ("key", key),
                                         ("Content-Type", "text/plain"), ("bucket", s3_server.bucket)],
                       trailing=[("x-amz-meta-file", "f1")], ttl=ttl, max_size=max_size, region=REGION)
    return f"{s3_server.endpoint}/{s3_server.bucket}", fields


def _post(url, fields, data=b"hello", file_last=True):
    parts = [(k, (None, v)) for k, v in fields]
    file_part = ("file", ("p.txt", data, "text/plain"))
    parts = parts + [file_part] if file_last else [file_part] + parts
    resp = requests.post(url, files=parts, timeout=20)
    code = None
    if resp.status_code >= 300:
        code = resp.text.split("<Code>", 1)[1].split("</Code>", 1)[0]
    return resp.status_code, code


def _tamper_sig(fields):
    return [(k, ("0" * len(v)) if k == "X-Amz-Signature" else v) for k, v in fields]


def _change_type(fields):
    return [(k, "image/png" if k == "Content-Type" else v) for k, v in fields]


def _extra(fields):
    return [*fields, ("x-amz-meta-extra", "1")]


@pytest.mark.parametrize("mutate, expected", [
    (lambda f: f, (201, None)),
    (_tamper_sig, (403, "SignatureDoesNotMatch")),
    (_change_type, (403, "AccessDenied")),
    (_extra, (403, "AccessDenied")),
])
def test_s3_verdicts_match_real_s3(sandbox, s3_server, mutate, expected):
    ours = _post(*(lambda u, f: (u, mutate(f)))(*_sandbox_form(sandbox)))
    theirs = _post(*(lambda u, f: (u, mutate(f)))(*_seaweed_form(s3_server, f"parity/{time.time_ns()}")))
    assert ours == theirs == expected


def test_s3_expired_and_too_large_match_real_s3(sandbox_factory, s3_server):
    server = sandbox_factory(apply=False)
    server.control(otherpage_max_size=10)
    url, fields = _sandbox_form(server)
    big = _post(url, fields, data=b"x" * 100)
    s3_url, s3_fields = _seaweed_form(s3_server, "parity/big", max_size=10)
    assert big == _post(s3_url, s3_fields, data=b"x" * 100) == (400, "EntityTooLarge")
    server.control(form_ttl=1, otherpage_max_size=1 << 20)
    url, fields = _sandbox_form(server)
    s3_url, s3_fields = _seaweed_form(s3_server, "parity/exp", ttl=1)
    time.sleep(2.1)
    ours, theirs = _post(url, fields), _post(s3_url, s3_fields)
    assert ours == theirs == (403, "AccessDenied")


def test_s3_file_must_be_last(sandbox):
    url, fields = _sandbox_form(sandbox)
    assert _post(url, fields, file_last=False) == (400, "InvalidArgument")


def test_policy_is_sigv4_with_expiry(sandbox):
    _, fields = _sandbox_form(sandbox)
    policy = json.loads(base64.b64decode(dict(fields)["Policy"]))
    expiry = dt.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert expiry > dt.datetime.now(dt.UTC)
    assert dict(fields)["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert ["content-length-range", 0, 512 * 1024 * 1024] in policy["conditions"]


# -- faults, persistence, serve --------------------------------------------------------------------------------


def _statuses(server, n=40) -> list:
    url = server.env["MEDIACTL_BITBADGES_BASE_URL"] + "/utilityPage/x"
    out = []
    for _ in range(n):
        try:
            out.append(requests.get(url, headers={"x-api-key": server.env["MEDIACTL_BITBADGES_API_KEY"]},
                                    timeout=5).status_code)
        except requests.ConnectionError:
            out.append("dropped")
    return out


def test_fault_injection_is_reproducible_with_a_seed(sandbox_factory):
    args = ("--fail-rate", "0.3", "--drop-rate", "0.1", "--seed", "42")
    first = _statuses(sandbox_factory(*args, apply=False))
    second = _statuses(sandbox_factory(*args, apply=False))
    other = _statuses(sandbox_factory("--fail-rate", "0.3", "--drop-rate", "0.1", "--seed", "7", apply=False))
    assert first == second
    assert first != other
    assert "dropped" in first and any(s in (500, 502, 503, 504, 429) for s in first) and 404 in first


def test_latency(sandbox_factory):
    server = sandbox_factory("--latency-ms", "200", apply=False)
    started = time.monotonic()
    assert _statuses(server, 3) == [404, 404, 404]
    assert time.monotonic() - started >= 0.6


def test_rate_limit_answers_429_with_retry_after(sandbox_factory):
    server = sandbox_factory("--rate-limit", "2", apply=False)
    statuses = _statuses(server, 8)  # well over 2 in one second, even on a loaded machine
    assert statuses.count(404) >= 2 and 429 in statuses


def test_data_dir_persists_state_and_credentials(tmp_path):
    first = start_sandbox("--data-dir", str(tmp_path / "sb"))
    try:
        env = first.env
        headers = {"Authorization": "Bearer " + env["MEDIACTL_NATIONBUILDER_ACCESS_TOKEN"]}
        created = requests.post(env["MEDIACTL_NATIONBUILDER_BASE_URL"] + "/sites/s/pages/p/attachments",
                                json={"attachment": {"filename": "a.txt", "content": "aGk="}}, headers=headers,
                                timeout=10).json()["attachment"]
    finally:
        first.stop()
    second = start_sandbox("--data-dir", str(tmp_path / "sb"))
    try:
        assert second.env["MEDIACTL_NATIONBUILDER_ACCESS_TOKEN"] == env["MEDIACTL_NATIONBUILDER_ACCESS_TOKEN"]
        rows = requests.get(second.env["MEDIACTL_NATIONBUILDER_BASE_URL"] + "/sites/s/pages/p/attachments",
                            headers=headers, timeout=10).json()["results"]
        assert [r["id"] for r in rows] == [created["id"]]
        assert requests.get(rows[0]["url"].replace(env["MEDIACTL_NATIONBUILDER_BASE_URL"].split("/nation")[0],
                                                   second.base_url), timeout=10).content == b"hi"
    finally:
        second.stop()


def test_serve_prints_export_lines_and_refuses_env_non_loopback():
    proc = subprocess.Popen([sys.executable, "-m", "mediactl", "sandbox", "serve"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(17)]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert all(line.startswith("export MEDIACTL_") for line in lines)
    assert any(line.startswith("export MEDIACTL_OTHERPAGE_COMMUNITY=") for line in lines)
    env = {"MEDIACTL_SANDBOX_HOST": "0.0.0.0", "PATH": "/usr/bin:/bin"}
    refused = subprocess.run([sys.executable, "-m", "mediactl", "sandbox", "serve"], capture_output=True, text=True,
                             env=env, timeout=30)
    assert refused.returncode == 2 and "non-loopback" in refused.stderr


def test_demo_exits_zero(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mediactl", "sandbox", "demo"], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "all 36 steps succeeded" in proc.stdout
    for provider in ("Other Page", "NationBuilder", "OFAuth", "BitBadges", "Round trip"):
        assert f"━━ {provider}" in proc.stdout
    for provider in ("nationbuilder", "otherpage", "ofauth", "bitbadges"):  # the round trip of each provider
        for verb in ("verify", "download", "sync"):
            assert f"$ mediactl {provider} {verb} " in proc.stdout


def _stop(pid_file) -> None:
    """Stop a background sandbox the test started, if it still runs."""
    import signal

    try:
        os.kill(int(pid_file.read_text()), signal.SIGTERM)
    except (OSError, ValueError):
        pass


def test_background_serve_returns_for_eval_and_stops_by_its_pid_file(tmp_path):
    pid_file, env_file = tmp_path / "sandbox.pid", tmp_path / "sandbox.env"
    (tmp_path / "a.txt").write_text("hello")
    script = f"""
        set -euo pipefail
        mediactl() {{ "{sys.executable}" -m mediactl "$@"; }}
        eval "$(mediactl sandbox serve --background --pid-file {pid_file} --env-file {env_file})"
        mediactl -q nationbuilder upload {tmp_path / "a.txt"} --page bg
        stat -c %a {env_file} > {tmp_path / "env_mode"}; cp {env_file} {tmp_path / "env_copy"}
        kill "$(cat {pid_file})"
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACTL_")}
    env["MEDIACTL_DATA_DIR"] = str(tmp_path / "data")
    try:
        proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().startswith("http://127.0.0.1:")  # the upload reached the sandbox
        assert "kill" in proc.stderr and str(pid_file) in proc.stderr  # it says how to stop it
        lines = (tmp_path / "env_copy").read_text().splitlines()
        assert len(lines) == 17 and all(line.startswith("export MEDIACTL_") for line in lines)
        assert (tmp_path / "env_mode").read_text().strip() == "600"
        for _ in range(200):  # the stopped server removes its pid file, and the env file with its secrets
            if not pid_file.exists() and not env_file.exists():
                break
            time.sleep(0.05)
        assert not pid_file.exists() and not env_file.exists()
    finally:
        _stop(pid_file)


def test_background_serve_refuses_a_second_one_on_the_same_pid_file(tmp_path):
    pid_file = tmp_path / "sandbox.pid"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACTL_")}
    command = [sys.executable, "-m", "mediactl", "sandbox", "serve", "--background", "--pid-file", str(pid_file)]
    try:
        first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
        assert first.returncode == 0 and pid_file.exists(), first.stderr
        second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
        assert second.returncode == 2 and "already runs" in second.stderr, second.stderr
        assert second.stdout == ""
    finally:
        _stop(pid_file)


def test_serve_on_all_interfaces_exports_a_loopback_url_that_mediactl_accepts(tmp_path, cli, monkeypatch):
    pid_file = tmp_path / "sandbox.pid"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACTL_")}
    try:
        proc = subprocess.run([sys.executable, "-m", "mediactl", "sandbox", "serve", "--host", "0.0.0.0",
                               "--background", "--pid-file", str(pid_file)],
                              capture_output=True, text=True, env=env, timeout=60)
        assert proc.returncode == 0, proc.stderr
        exports = dict(line.removeprefix("export ").split("=", 1) for line in proc.stdout.splitlines())
        assert exports["MEDIACTL_OFAUTH_BASE_URL"].startswith("http://127.0.0.1:")
        assert "every interface" in proc.stderr and "ssh -N -L" in proc.stderr
        for key, value in exports.items():
            monkeypatch.setenv(key, value)
        (tmp_path / "p.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
        assert cli("ofauth", "upload", str(tmp_path / "p.png")).code == 0
    finally:
        _stop(pid_file)
