"""http.py against a real loopback server: retries, Retry-After, redirects, redaction, refusals."""

from __future__ import annotations

import io
import threading
import time
from http.client import RemoteDisconnected

import pytest
import requests
import responses

from mediactl.errors import ExitCode, LocalError, MediactlError
from mediactl.http import ApiClient, Redactor, check_url_scheme, retry_after_seconds
from mediactl.runtime import Runtime
from tests.httpserver import Reply, ScriptedServer


def runtime(verbose: int = 0, retries: int = 5) -> Runtime:
    return Runtime(stdout=io.StringIO(), stderr=io.StringIO(), verbose=verbose, retries=retries, timeout=5)


def test_retries_429_with_retry_after_then_503_then_succeeds():
    def handler(req, i):
        if i == 0:
            return Reply(429, '{"message":"slow down"}', {"Retry-After": "1"})
        if i == 1:
            return Reply(503, "busy")
        return Reply(200, '{"ok": true}', {"Content-Type": "application/json"})

    with ScriptedServer(handler) as srv:
        client = ApiClient(runtime(), provider="t", base_url=srv.url)
        body = client.json("GET", "/thing")
    assert body == {"ok": True}
    assert len(srv.requests) == 3
    assert srv.requests[1].time - srv.requests[0].time >= 1.0  # Retry-After honoured


def test_post_not_retried_on_503_but_retried_on_429():
    with ScriptedServer(lambda req, i: Reply(503, "down")) as srv:
        client = ApiClient(runtime(), provider="t", base_url=srv.url)
        with pytest.raises(MediactlError) as err:
            client.request("POST", "/create", json_body={"a": 1})
    assert err.value.code == ExitCode.TRANSIENT
    assert len(srv.requests) == 1

    def handler(req, i):
        return Reply(429, "", {"Retry-After": "0"}) if i < 2 else Reply(201, "{}")

    with ScriptedServer(handler) as srv:
        client = ApiClient(runtime(), provider="t", base_url=srv.url)
        client.request("POST", "/create", json_body={"a": 1})
    assert len(srv.requests) == 3


def test_retry_budget_exhausted_gives_exit_7_with_status():
    with ScriptedServer(lambda req, i: Reply(502, "<html><body>Bad gateway</body></html>")) as srv:
        client = ApiClient(runtime(retries=2), provider="t", base_url=srv.url)
        with pytest.raises(MediactlError) as err:
            client.request("GET", "/x")
    assert len(srv.requests) == 3
    assert err.value.code == ExitCode.TRANSIENT and err.value.status == 502
    assert "Bad gateway" in err.value.message and "<html>" not in err.value.message


def test_connection_refused_is_retried_then_exit_7():
    with ScriptedServer(lambda req, i: Reply(200)) as srv:
        url = srv.url
    client = ApiClient(runtime(retries=1), provider="t", base_url=url)
    with pytest.raises(MediactlError) as err:
        client.request("POST", "/create", json_body={})  # refused before sending: safe to retry
    assert err.value.code == ExitCode.TRANSIENT and "cannot reach" in err.value.message


def test_cross_host_redirect_drops_credentials():
    with ScriptedServer(lambda req, i: Reply(200, "{}"), host="127.0.0.2") as other:
        with ScriptedServer(lambda req, i: Reply(302, "", {"Location": other.url + "/landing"})) as srv:
            client = ApiClient(runtime(), provider="t", base_url=srv.url,
                               auth_headers={"X-Api-Key": "k-secret", "Authorization": "Bearer t-secret"})
            client.request("GET", "/start")
        assert srv.requests[0].headers["x-api-key"] == "k-secret"
        landed = other.requests[0].headers
        assert "x-api-key" not in landed and "authorization" not in landed


def test_same_host_redirect_keeps_credentials():
    def handler(req, i):
        return Reply(307, "", {"Location": "/second"}) if i == 0 else Reply(200, "{}")

    with ScriptedServer(handler) as srv:
        client = ApiClient(runtime(), provider="t", base_url=srv.url, auth_headers={"apiKey": "k-1234"})
        client.request("GET", "/first")
    assert srv.requests[1].headers["apikey"] == "k-1234"


@pytest.mark.parametrize("url", ["http://example.com/api", "http://10.0.0.5:8080/v1"])
def test_plain_http_to_non_loopback_refused_before_connecting(url):
    with pytest.raises(LocalError):
        ApiClient(runtime(), provider="t", base_url=url, auth_headers={"X-Api-Key": "k"})


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/x", "http://localhost:1", "http://[::1]:1", "https://a.b"])
def test_loopback_http_and_https_allowed(url):
    check_url_scheme(url)


def test_vv_log_redacts_every_secret_kind():
    secrets = {
        "X-Api-Key": "opk-123456789",
        "Authorization": "Bearer nbt-abcdefgh",
        "apiKey": "ofk-zzzzzzzz",
    }

    def handler(req, i):
        return Reply(200, '{"access_token": "at-returned-1", "refresh_token": "rt-returned-2", "fine": 1}',
                     {"Content-Type": "application/json", "Set-Cookie": "sid=cookie-secret-9"})

    rt = runtime(verbose=2)
    with ScriptedServer(handler) as srv:
        client = ApiClient(rt, provider="t", base_url=srv.url, auth_headers=secrets)
        client.request(
            "POST", "/x?access_token=qs-token-777&X-Amz-Signature=sig-888&page=2",
            json_body={"upload": {"Policy": "pol-999999", "X-Amz-Credential": "cred-1111",
                                  "X-Amz-Security-Token": "sts-2222", "key": "visible-key"}},
        )
    log = rt.stderr.getvalue()
    for leaked in ("opk-123456789", "nbt-abcdefgh", "ofk-zzzzzzzz", "at-returned-1", "rt-returned-2",
                   "cookie-secret-9", "qs-token-777", "sig-888", "pol-999999", "cred-1111", "sts-2222"):
        assert leaked not in log, leaked
    assert "visible-key" in log and "page=2" in log and "POST" in log and "200" in log


def test_redactor_replaces_known_values_anywhere():
    r = Redactor(["supersecret"])
    assert r.text("error: key supersecret rejected") == "error: key *** rejected"


@responses.activate
def test_truncated_json_body_is_exit_7_with_excerpt():
    responses.add(responses.GET, "https://api.example.com/v1/x", body='{"list": [1, 2', status=200,
                  content_type="application/json")
    client = ApiClient(runtime(), provider="t", base_url="https://api.example.com/v1")
    with pytest.raises(MediactlError) as err:
        client.json("GET", "/x")
    assert err.value.code == ExitCode.TRANSIENT and '{"list": [1, 2' in err.value.message


@responses.activate
def test_missing_expected_field_is_exit_6():
    responses.add(responses.GET, "https://api.example.com/v1/x", json={"other": 1})
    client = ApiClient(runtime(), provider="t", base_url="https://api.example.com/v1")
    with pytest.raises(MediactlError) as err:
        client.json("GET", "/x", expect=["list"])
    assert err.value.code == ExitCode.REJECTED and "missing list" in err.value.message


def test_retry_after_http_date_and_ratelimit_reset():
    resp = requests.Response()
    now = time.time()
    resp.headers["Retry-After"] = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 30))
    assert 28 <= retry_after_seconds(resp, now) <= 31
    resp = requests.Response()
    resp.headers["X-RateLimit-Reset"] = str(int(now + 12))
    assert 10 <= retry_after_seconds(resp, now) <= 13
    resp = requests.Response()
    resp.headers["X-RateLimit-Reset"] = "4"
    assert retry_after_seconds(resp, now) == 4


def test_api_root_in_returned_paths_maps_onto_base_url():
    client = ApiClient(runtime(), provider="nb", base_url="http://127.0.0.1:9/nb/api/v1", api_root="/api/v1")
    assert client.url("/api/v1/sites?__nonce=a&__token=b") == "http://127.0.0.1:9/nb/api/v1/sites?__nonce=a&__token=b"
    assert client.url("/sites") == "http://127.0.0.1:9/nb/api/v1/sites"


def _response(status: int, headers: dict | None = None) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp.headers.update(headers or {})
    return resp


def test_retry_policy_says_what_is_retried_and_what_is_ambiguous():
    from mediactl.http import RetryPolicy

    policy = RetryPolicy(3)
    assert policy.after_response(_response(503), attempt=0, idempotent=True).retry
    create_503 = policy.after_response(_response(503), attempt=0, idempotent=False)
    assert not create_503.retry and create_503.ambiguous  # may have been processed: reconcile first
    create_429 = policy.after_response(_response(429, {"Retry-After": "2"}), attempt=0, idempotent=False)
    assert create_429.retry and not create_429.ambiguous and 2 <= create_429.wait < 2.2
    assert not policy.after_response(_response(503), attempt=3, idempotent=True).retry  # budget spent
    assert not policy.after_response(_response(400), attempt=0, idempotent=False).ambiguous
    refused = requests.ConnectionError(ConnectionRefusedError(111, "refused"))
    assert policy.after_exception(refused, attempt=0, idempotent=False).retry
    dropped = requests.ConnectionError("Connection aborted.", RemoteDisconnected("closed"))
    lost = policy.after_exception(dropped, attempt=0, idempotent=False)
    assert not lost.retry and lost.ambiguous
    assert policy.after_exception(dropped, attempt=0, idempotent=True).retry


@responses.activate
def test_error_says_how_many_attempts_were_made_and_marks_an_ambiguous_create():
    responses.add(responses.POST, "https://api.example.com/v1/things", status=503, json={"message": "busy"})
    rt = Runtime(retries=5)
    client = ApiClient(rt, provider="test", base_url="https://api.example.com/v1")
    with pytest.raises(MediactlError) as caught:
        client.request("POST", "/things", json_body={"a": 1})
    assert caught.value.attempts == 1 and caught.value.ambiguous
    assert "after 1 attempt:" in caught.value.message and len(responses.calls) == 1


@pytest.mark.parametrize("timeout", ["inf", "1e12", "9000000000"])
def test_an_infinite_or_huge_timeout_works_end_to_end(cli, sandbox, tmp_path, timeout):
    # socket.settimeout and Condition.wait refuse what time_t cannot hold: that was exit 1, OverflowError
    (tmp_path / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 16)
    upload = cli("--timeout", timeout, "otherpage", "upload", str(tmp_path / "a.png"))
    assert upload.code == 0 and "uploaded a.png" in upload.stderr, upload
    listed = cli("--timeout", timeout, "otherpage", "list")
    assert listed.code == 0 and "a-png" in listed.stdout, listed


def test_the_watchdogs_thread_survives_an_alarm_at_infinity(monkeypatch):
    from mediactl.http import Deadlines

    died: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: died.append(args.exc_value))
    deadlines = Deadlines()
    deadlines.at(float("inf"), lambda: None)  # what --timeout inf schedules for every request
    for _ in range(2):  # a later alarm still fires: the thread that waits for infinity is alive
        fired = threading.Event()
        deadlines.at(time.monotonic(), fired.set)
        assert fired.wait(10)
    thread = deadlines._thread
    assert thread is not None
    thread.join(0.5)  # a thread that died on wait(inf) has ended by now
    assert thread.is_alive() and died == []


class _SwitchingStderr(io.StringIO):
    """A stderr that lets another thread run after every write, as a busy terminal or pipe may."""

    def write(self, text: str) -> int:
        written = super().write(text)
        time.sleep(0)
        return written


def test_verbose_log_lines_of_parallel_workers_do_not_run_into_each_other():
    stderr = _SwitchingStderr()
    rt = Runtime(stdout=io.StringIO(), stderr=stderr, verbose=2, retries=0, timeout=5)
    with ScriptedServer(lambda req, i: Reply(200, '{"ok": true}', {"Content-Type": "application/json"})) as srv:
        client = ApiClient(rt, provider="t", base_url=srv.url)
        workers = [threading.Thread(target=lambda: [client.json("GET", "/thing") for _ in range(15)])
                   for _ in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    lines = stderr.getvalue().splitlines()
    assert len(lines) >= 6 * 15 * 2, len(lines)
    assert all(line.startswith(("> ", "< ")) and line.count("GET ") <= 1 and line.count("< 200") <= 1
               for line in lines), [line for line in lines if not line.startswith(("> ", "< "))][:5]
