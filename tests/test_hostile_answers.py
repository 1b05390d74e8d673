"""Hostile answers and bad connection settings (issue 25; README "Troubleshooting"), through the CLI
against loopback servers: endless and trickled bodies, JSON nested 100,000 deep, an https:// URL pointed at
plain HTTP, CA bundles, malformed base_urls, credentials in a base_url, a plain-http proxy off the machine.
Each asserts the exit code, one error line without a traceback, and what reached (or did not) the server."""

from __future__ import annotations

import socket
import time

import pytest

from tests.httpserver import RawServer, Reply, ScriptedServer
from tests.test_reliability_inputs import tls_server  # noqa: F401 - the fixture, used by name

TOKEN = "tok-hostile-123456"


def one_error(run, code: int, *needles: str) -> str:
    assert run.code == code, run
    assert "Traceback" not in run.stderr + run.stdout, run
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.stderr
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


@pytest.fixture
def nationbuilder_at(monkeypatch):
    def point(url: str) -> None:
        monkeypatch.setenv("MEDIACTL_NATIONBUILDER_BASE_URL", url)
        monkeypatch.setenv("MEDIACTL_NATIONBUILDER_ACCESS_TOKEN", TOKEN)
    return point


def endless(status: str, ctype: str, chunk: bytes):
    def answer(server: RawServer, conn) -> None:
        server.send(conn, f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nConnection: close\r\n\r\n".encode())
        while server.sent < 4 * 2**30:  # 4 GiB: far more than mediactl may read
            server.send(conn, chunk)
    return answer


def test_endless_json_answer_is_a_clean_error_read_only_up_to_the_cap(cli, nationbuilder_at):
    with RawServer(endless("200 OK", "application/json", b"[" + b"1," * 32768)) as server:
        nationbuilder_at(server.url + "/api/v1")
        run = cli("--retries", "0", "nationbuilder", "sites")
        one_error(run, 6, "larger than 16 MiB")
        time.sleep(0.2)
    assert server.sent < 64 * 2**20  # it hung up soon after 16 MiB: memory stayed bounded


def test_endless_html_error_body_is_read_up_to_64_kib(cli, nationbuilder_at):
    with RawServer(endless("500 Internal Server Error", "text/html", b"<p>oops</p>" * 6000)) as server:
        nationbuilder_at(server.url + "/api/v1")
        run = cli("--retries", "0", "nationbuilder", "sites")
        one_error(run, 7, "HTTP 500", "oops")
        time.sleep(0.2)
    assert server.sent < 16 * 2**20


def test_a_server_trickling_its_answer_cannot_hold_the_run_past_its_deadline(cli, nationbuilder_at):
    def trickle(server: RawServer, conn) -> None:
        server.send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(600):  # a byte every 0.1 s for a minute: each read is well within --timeout
            server.send(conn, b" ")
            time.sleep(0.1)

    with RawServer(trickle) as server:
        nationbuilder_at(server.url + "/api/v1")
        run = cli("--retries", "0", "--timeout", "0.5", "nationbuilder", "sites")
        one_error(run, 7, "did not finish its answer in time", "--timeout 0.5")
    assert server.sent < 590  # it hung up long before the server was done


@pytest.mark.parametrize("status,code", [(200, 7), (400, 6)])
def test_json_nested_100000_deep_is_a_clean_error(cli, nationbuilder_at, status, code):
    deep = "[" * 100_000 + "]" * 100_000
    with ScriptedServer(lambda req, i: Reply(status, deep, {"Content-Type": "application/json"})) as server:
        nationbuilder_at(server.url + "/api/v1")
        one_error(cli("--retries", "0", "nationbuilder", "sites"), code)


def test_https_base_url_pointed_at_plain_http_names_the_setting(cli, nationbuilder_at):
    with ScriptedServer(lambda req, i: Reply(200, "{}")) as server:
        nationbuilder_at(server.url.replace("http://", "https://") + "/api/v1")
        line = one_error(cli("nationbuilder", "sites"), 3, "nationbuilder.base_url", "plain HTTP")
    assert "TLS verification failed" not in line


def test_ca_bundle_beats_requests_ca_bundle_from_the_environment(cli, nationbuilder_at, monkeypatch, request,
                                                                 tmp_path):
    url, ca_path = request.getfixturevalue("tls_server")
    other = tmp_path / "other-ca.pem"
    import trustme

    trustme.CA().cert_pem.write_to_path(str(other))  # a valid bundle, of a CA that did not sign the server
    nationbuilder_at(url)
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(variable, str(other))
        run = cli("--retries", "0", "nationbuilder", "sites")
        one_error(run, 7, "TLS verification failed")
        assert variable in run.stderr  # the hint says which variable is in force, and that ca_bundle beats it
        monkeypatch.setenv("MEDIACTL_NATIONBUILDER_CA_BUNDLE", str(ca_path))
        assert cli("nationbuilder", "sites").code == 0
        monkeypatch.delenv("MEDIACTL_NATIONBUILDER_CA_BUNDLE")
        monkeypatch.delenv(variable)


def test_missing_ca_bundle_is_exit_3_naming_the_setting(cli, nationbuilder_at, monkeypatch, tmp_path):
    with ScriptedServer(lambda req, i: Reply(200, '{"results": []}')) as server:
        nationbuilder_at(server.url.replace("127.0.0.1", "localhost") + "/api/v1")
        monkeypatch.setenv("MEDIACTL_NATIONBUILDER_CA_BUNDLE", str(tmp_path / "gone.pem"))
        one_error(cli("nationbuilder", "sites"), 3, "nationbuilder.ca_bundle", "gone.pem", "does not exist")
        monkeypatch.delenv("MEDIACTL_NATIONBUILDER_CA_BUNDLE")
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "gone-too.pem"))
        one_error(cli("nationbuilder", "sites"), 3, "REQUESTS_CA_BUNDLE", "gone-too.pem")
    assert server.requests == []


@pytest.mark.parametrize("url,needle", [("http://[::1", "Invalid IPv6 URL"),
                                        ("http://127.0.0.1:99999/api/v1", "out of range"),
                                        ("http://127.0.0.1:port/api/v1", "not a valid URL")])
def test_malformed_base_url_is_exit_3_naming_the_setting(cli, nationbuilder_at, url, needle):
    nationbuilder_at(url)
    one_error(cli("nationbuilder", "sites"), 3, "nationbuilder.base_url", needle)


def test_credentials_in_a_base_url_are_refused_and_never_printed(cli, nationbuilder_at):
    with ScriptedServer(lambda req, i: Reply(200, '{"results": []}')) as server:
        url = server.url.replace("http://", "http://admin:hunter2secret@") + "/api/v1"
        nationbuilder_at(url)
        run = cli("-vv", "nationbuilder", "sites")
        one_error(run, 3, "nationbuilder.base_url", "credentials")
        assert "hunter2secret" not in run.stderr + run.stdout
        listed = cli("config", "list", "--provider", "nationbuilder")
        assert "hunter2secret" not in listed.stdout + listed.stderr
        refused = cli("config", "set", "nationbuilder.base_url", url)
        assert refused.code == 2 and "hunter2secret" not in refused.stderr + refused.stdout, refused
    assert server.requests == []  # neither the password nor the token went anywhere


def _outward_address() -> str:
    """This machine's address on its way out (no packet is sent): a host that is not loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))
        address = probe.getsockname()[0]
    assert not address.startswith("127."), "this test needs a non-loopback IPv4 address"
    return address


def test_a_plain_http_proxy_off_the_machine_never_gets_the_token(cli, nationbuilder_at, monkeypatch):
    with ScriptedServer(lambda req, i: Reply(200, '{"results": []}')) as target, \
            ScriptedServer(lambda req, i: Reply(200, '{"results": []}'), host=_outward_address()) as proxy:
        nationbuilder_at(target.url + "/api/v1")
        for variable in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
            monkeypatch.setenv(variable, proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        run = cli("nationbuilder", "sites")
        assert run.code == 0, run
    assert proxy.requests == []
    assert [r.headers.get("authorization") for r in target.requests] == [f"Bearer {TOKEN}"]


def test_a_server_trickling_its_headers_cannot_hold_the_run_either(cli, nationbuilder_at):
    def trickle(server: RawServer, conn) -> None:
        server.send(conn, b"HTTP/1.1 200 OK\r\nX-Slow: ")
        for _ in range(600):  # one byte of a header every 0.1 s, never ending it
            server.send(conn, b"x")
            time.sleep(0.1)

    with RawServer(trickle) as server:
        nationbuilder_at(server.url + "/api/v1")
        run = cli("--retries", "0", "--timeout", "0.5", "nationbuilder", "sites")
        one_error(run, 7, "did not finish its answer in time")
    assert server.sent < 590
