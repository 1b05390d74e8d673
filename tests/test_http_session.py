"""OriginCachedSession.prepare_request makes the very request requests' own Session.prepare_request makes."""

from __future__ import annotations

import io

import pytest
import requests

from mediactl.http import OriginCachedSession


def _shape(prepared: requests.PreparedRequest) -> tuple:
    body = prepared.body
    if hasattr(body, "read"):
        body = ("stream", id(body))
    return (prepared.method, prepared.url, list(prepared.headers.items()), body,
            {k: list(v) for k, v in prepared.hooks.items()},
            sorted((c.name, c.value, c.domain) for c in prepared._cookies))


STREAM = io.BytesIO(b"streamed bytes")

REQUESTS = [
    dict(method="post", url="http://127.0.0.1:8080/api/community/c%201/file", json={"name": "ä.png"},
         headers={"Accept": "application/json", "X-Api-Key": "k"}),
    dict(method="POST", url="http://127.0.0.1:9/bucket", data=b"x" * 10,
         headers={"Content-Type": "multipart/form-data; boundary=b", "Content-Length": "10", "Accept": "*/*"}),
    dict(method="PUT", url="https://media.example.test/u/1?part=2&sig=a%2Fb", data=STREAM,
         headers={"Content-Length": "14"}),
    dict(method="GET", url="https://api.example.test/v1/pages?limit=10", headers={"User-Agent": None}),
    dict(method="GET", url="https://api.example.test/v1/pages", params={"b": "1", "a": ["x", "y"]}),
    dict(method="GET", url="https://xn--bcher-kva.example/é path", headers={"accept": "text/plain"}),
    dict(method="DELETE", url="https://netrc-host.example/v1/x/1"),
    dict(method="GET", url="https://netrc-host.example/v1/x/2", auth=("given", "pw")),
    dict(method="POST", url="https://api.example.test/v1/x", data={"a": "1", "b": ["2", "3"]},
         cookies={"sid": "abc"}),
    dict(method="GET", url="https://api.example.test/v1/x", hooks={"response": [print]}),
]


@pytest.fixture(autouse=True)
def netrc_file(tmp_path, monkeypatch):
    path = tmp_path / "netrc"
    path.write_text("machine netrc-host.example login someone password secret\n")
    path.chmod(0o600)
    monkeypatch.setenv("NETRC", str(path))


@pytest.mark.parametrize("spec", REQUESTS, ids=lambda spec: f"{spec['method']} {spec['url'][:40]}")
@pytest.mark.parametrize("session_state", ["fresh", "session headers", "session cookie", "session auth",
                                           "no trust_env"])
def test_prepared_like_requests_own(spec, session_state):
    ours, theirs = OriginCachedSession(), requests.Session()
    for session in (ours, theirs):
        if session_state == "session headers":
            session.headers.update({"X-Session": "1", "Accept": "application/xml"})
        elif session_state == "session cookie":
            session.cookies.set("jar", "1", domain="api.example.test")
        elif session_state == "session auth":
            session.auth = ("session", "pw")
        elif session_state == "no trust_env":
            session.trust_env = False
    for _ in range(2):  # the second time from the per-origin netrc cache
        assert _shape(ours.prepare_request(requests.Request(**spec))) == \
            _shape(theirs.prepare_request(requests.Request(**spec)))


def test_netrc_credentials_go_to_their_host_only():
    session = OriginCachedSession()
    with_netrc = session.prepare_request(requests.Request("GET", "https://netrc-host.example/a"))
    without = session.prepare_request(requests.Request("GET", "https://other.example/a"))
    assert with_netrc.headers["Authorization"].startswith("Basic ")
    assert "Authorization" not in without.headers
