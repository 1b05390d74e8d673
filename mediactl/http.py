"""HTTP for every provider: base URL, auth headers, timeouts, retries, redirects and redacted logs.

`ApiClient` is the only place requests are sent from. What it guarantees:
- every request has a connect and a read timeout (`--timeout inf`, or one beyond LONGEST_SOCKET_TIMEOUT, is
  a read without one);
- 429/500/502/503/504 and connection failures are retried with exponential backoff and full jitter,
  honouring `Retry-After` (seconds or HTTP date) and `X-RateLimit-Reset`, shared by every worker per host;
  a non-idempotent request (a create) is retried only on 429 or when the connection failed before anything
  was sent; any other failure of a create is marked ambiguous, for the caller to reconcile (RetryPolicy);
- redirects are followed by hand, and the provider's credentials are dropped when one leaves the base
  URL's host;
- plain http:// is refused unless the host is loopback, so secrets never cross a network in clear text, and
  a plain-http request never goes through a proxy (HTTP_PROXY) that is not on loopback;
- answers are bounded (README "Troubleshooting"): a success body is read up to MAX_ANSWER_BYTES (beyond
  is an error), an error body up to MAX_ERROR_BYTES (the rest is dropped), and the whole body must arrive
  within DEADLINE_FACTOR x the read timeout (from the request for a JSON or empty body, from the answer's
  headers for a streamed upload): a watchdog shuts the socket down, so a server trickling its headers or
  its body a byte at a time cannot hold a run;
  JSON nested too deep to parse is an unreadable answer, not a crash;
- a provider's `ca_bundle` setting beats REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE (it is passed per request);
  a malformed base_url, credentials inside it, a missing ca_bundle and an https:// URL pointed at a
  plain-HTTP server are local errors (exit 3) naming the setting;
- `-v` logs method, URL, status and time on stderr, `-vv` adds headers and bodies, every secret redacted.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import heapq
import ipaddress
import json
import os
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
import urllib3

from mediactl import __version__
from mediactl.errors import LocalError, MediactlError, RejectedError, TransientError, error_for_status
from mediactl.runtime import Runtime

USER_AGENT = f"mediactl/{__version__}"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})  # 500 too: only idempotent requests are resent
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
MAX_RETRY_WAIT = 60.0  # a Retry-After longer than this is reported rather than slept through
BACKOFF_BASE = 0.2
BACKOFF_CAP = 8.0
MAX_ANSWER_BYTES = 16 * 2**20  # a JSON answer larger than this is an error, not read into memory
MAX_ERROR_BYTES = 64 * 2**10  # an error body is read up to this, the rest dropped
DEADLINE_FACTOR = 3  # a body must be complete within this many read timeouts after its headers
# Beyond this a read timeout is "never": socket.settimeout refuses what the platform's time_t cannot hold
# (1e10 s on Linux, and inf), so a longer --timeout (or inf) reads without a socket timeout at all.
LONGEST_SOCKET_TIMEOUT = 1e9  # seconds, some 31 years
LONGEST_WAIT = 86400.0  # the watchdogs' thread waits at most a day at a time (threading refuses inf and huge)
READ_CHUNK = 64 * 1024

# Names (case-insensitive) whose values are secrets wherever they appear: headers, query strings,
# JSON bodies, form fields.
SECRET_NAMES = frozenset(
    name.lower()
    for name in (
        "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "apikey", "api_key",
        "access_token", "refresh_token", "client_secret", "token", "password", "secret",
        "policy", "x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature",
        "awsaccesskeyid",
    )
)
REDACTED = "***"


class Redactor:
    """Replaces secrets in anything that may be logged or shown."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        for value in secrets:
            self.add(value)

    def add(self, value: str | None) -> None:
        if value and len(value) >= 4:
            with self._lock:
                self._values.add(value)

    def text(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            text = text.replace(value, REDACTED)
        return text

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {
            k: (REDACTED if k.lower() in SECRET_NAMES else self.text(str(v))) for k, v in headers.items()
        }

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.query:
            query = [
                (k, REDACTED if k.lower() in SECRET_NAMES else v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
            ]
            parts = parts._replace(query=urlencode(query, safe="/:"))
        if parts.password:
            parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", f":{REDACTED}@"))
        return self.text(urlunsplit(parts))

    def data(self, obj: Any) -> Any:
        if isinstance(obj, dict):
            return {
                k: (REDACTED if str(k).lower() in SECRET_NAMES else self.data(v)) for k, v in obj.items()
            }
        if isinstance(obj, list):
            return [self.data(v) for v in obj]
        if isinstance(obj, str):
            return self.text(obj)
        return obj

    def body(self, raw: str | bytes | None, limit: int = 2000) -> str:
        if raw is None:
            return ""
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        try:
            shown = json.dumps(self.data(json.loads(raw)), ensure_ascii=False)
        except (ValueError, RecursionError):
            shown = self.text(raw)
        return shown if len(shown) <= limit else shown[:limit] + f"... ({len(shown)} chars)"


@functools.lru_cache(maxsize=64)
def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def without_userinfo(url: str) -> str:
    """The URL with any `user:password@` left out, for messages."""
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#@]*@", r"\1", url)


def check_url_scheme(url: str, *, what: str = "base_url") -> None:
    """Refuse, before any connection is made, what is not an http(s) URL, a URL carrying credentials, and
    plain http:// unless the host is loopback. `what` names the setting, for the message."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise LocalError(f"{what} '{without_userinfo(url)}' is not a valid URL: {exc}",
                         hint=f"fix {what}, e.g. https://api.example.com/v1") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LocalError(f"{what} '{without_userinfo(url)}' is not an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise LocalError(
            f"{what} '{without_userinfo(url)}' has credentials in it (user:password@); mediactl does not send them",
            hint="remove them from the URL; API keys and tokens go in credentials.toml (`mediactl auth login`)",
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise LocalError(
            f"{what} '{url}' uses plain http:// to a non-loopback host; refusing to send credentials "
            "in clear text",
            hint="use https://",
        )


def excerpt(text: str | bytes | None, limit: int = 200) -> str:
    """A short one-line excerpt of a body, with HTML tags dropped."""
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = re.sub(r"<[^>]+>", " ", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


class AnswerTooLarge(requests.RequestException):
    """A success answer over MAX_ANSWER_BYTES: it is not read (and retrying would get it again)."""


class AnswerDeadline(requests.exceptions.ReadTimeout):
    """The body did not arrive within its deadline (a server trickling bytes)."""


class DeepJSON(ValueError):
    """JSON nested deeper than the parser goes."""


class BoundedResponse(requests.Response):
    """A response whose body was read within the caps: `json()` reports JSON nested too deep to parse as a
    ValueError (like any unreadable JSON), not a RecursionError."""

    def json(self, **kwargs: Any) -> Any:
        try:
            return super().json(**kwargs)
        except RecursionError:
            raise DeepJSON("JSON nested too deep to parse") from None


_attempt = threading.local()  # .connections: the connections this thread's current attempt took from a pool


class _TrackedPool:
    """A connection pool that tells the attempt under way which connection it handed out, so the attempt's
    watchdog can end a read blocked on it (a server trickling its status line and headers)."""

    def _get_conn(self, timeout: float | None = None):
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        taken = getattr(_attempt, "connections", None)
        if taken is not None:
            taken.append(conn)
        return conn


class _TrackedHTTPPool(_TrackedPool, urllib3.HTTPConnectionPool):
    pass


class _TrackedHTTPSPool(_TrackedPool, urllib3.HTTPSConnectionPool):
    pass


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter with pools that report their connections to the attempt's watchdog."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}


def origin(url: str) -> tuple[str, str]:
    """(scheme, netloc): what the per-origin caches of the environment's settings are keyed by."""
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


class OriginCachedSession(requests.Session):
    """requests' Session, reading the environment (proxies, NO_PROXY, the CA bundle variables, ~/.netrc) once
    per origin instead of once per request: requests scans the whole environment for each, a tenth of the CPU
    of a batch of small files. The environment does not change while a command runs."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple, Any] = {}
        self._netrc: dict[tuple[str, str], Any] = {}

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        try:
            key = (*origin(url), tuple(sorted((proxies or {}).items())), stream, verify, cert, self.trust_env)
            hash(key)
        except TypeError:  # a value that cannot be a key (a cert tuple of lists): as requests does
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        settings = self._environment.get(key)
        if settings is None:
            settings = self._environment[key] = super().merge_environment_settings(url, proxies, stream, verify,
                                                                                   cert)
        return {**settings, "proxies": dict(settings["proxies"])}

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """The request requests' Session.prepare_request makes, in fewer steps when there is nothing to merge
        but headers (no cookies, no auth, no params on either side): its general merging (a Protocol check per
        value, a cookie jar built twice, ~/.netrc looked for twice per request) cost a fifth of the client's CPU
        per request in a batch of small files. tests/test_http_session.py compares the two."""
        if self.cookies or request.cookies or request.auth or self.auth or self.params or request.params:
            return super().prepare_request(request)
        headers = requests.structures.CaseInsensitiveDict(self.headers)
        headers.update(request.headers or {})
        for key in [key for key, value in headers.items() if value is None]:
            del headers[key]
        prepared = requests.PreparedRequest()
        prepared.prepare(method=str(request.method).upper(), url=request.url, files=request.files,
                         data=request.data, json=request.json, headers=headers, params=None,
                         auth=self._netrc_auth(str(request.url)) if self.trust_env else None,
                         cookies=requests.cookies.RequestsCookieJar(),
                         hooks=requests.sessions.merge_hooks(request.hooks, self.hooks))
        return prepared

    def _netrc_auth(self, url: str) -> Any:
        """~/.netrc's (or $NETRC's) credentials for the URL's host, as requests finds them, once per origin."""
        key = origin(url)
        if key not in self._netrc:
            self._netrc[key] = requests.utils.get_netrc_auth(url)
        return self._netrc[key]


def _shutdown(sock: Any) -> None:
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class Alarm:
    """One callback `Deadlines` runs at its time unless cancelled first; `fired` once it has run."""

    __slots__ = ("when", "callback", "fired")

    def __init__(self, when: float, callback: Callable[[], None] | None) -> None:
        self.when = when
        self.callback = callback
        self.fired = False

    def __lt__(self, other: Alarm) -> bool:
        return self.when < other.when


class Deadlines:
    """The watchdogs' clock: one daemon thread runs each alarm's callback at its (monotonic) time, unless it
    was cancelled first. A request's watchdogs used to be a `threading.Timer` each, a thread started and
    stopped per request: in a batch of small files that was a fifth of the client's CPU."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[Alarm] = []
        self._cancelled = 0  # cancelled alarms still in the heap (dropped lazily, or all at once)
        self._thread: threading.Thread | None = None

    def at(self, when: float, callback: Callable[[], None]) -> Alarm:
        alarm = Alarm(when, callback)
        with self._cond:
            heapq.heappush(self._heap, alarm)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="watchdogs", daemon=True)
                self._thread.start()
            elif self._heap[0] is alarm:  # sooner than what the thread waits for
                self._cond.notify()
        return alarm

    def cancel(self, alarm: Alarm) -> None:
        with self._cond:
            if alarm.callback is None:
                return
            alarm.callback = None  # the heap keeps no socket alive until the alarm's time
            self._cancelled += 1
            if self._cancelled > 64 and self._cancelled * 2 > len(self._heap):
                self._heap = [a for a in self._heap if a.callback is not None]
                heapq.heapify(self._heap)
                self._cancelled = 0

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0].callback is None:
                    heapq.heappop(self._heap)
                    self._cancelled = max(0, self._cancelled - 1)
                if not self._heap:
                    self._cond.wait()
                    continue
                delay = self._heap[0].when - time.monotonic()
                if delay > 0:  # an alarm at inf (--timeout inf) is waited for a day at a time, forever
                    self._cond.wait(min(delay, LONGEST_WAIT))
                    continue
                alarm = heapq.heappop(self._heap)
                callback, alarm.callback = alarm.callback, None
                alarm.fired = True
                self._cond.release()
                try:
                    if callback is not None:
                        callback()
                except Exception:  # noqa: BLE001,S110 - a watchdog shuts sockets down; nothing to report
                    pass
                finally:
                    self._cond.acquire()


DEADLINES = Deadlines()


class HeadersWatchdog:
    """Until the answer's headers are in: at `deadline`, shut down the socket of every connection the
    attempt took, which ends a read of a trickled status line or header (`expired` is then true)."""

    def __init__(self, deadline: float | None) -> None:
        self.connections: list[Any] = []
        self._deadline = deadline
        self._alarm: Alarm | None = None

    @property
    def expired(self) -> bool:
        return self._alarm is not None and self._alarm.fired

    def _expire(self) -> None:
        for conn in list(self.connections):
            _shutdown(getattr(conn, "sock", None))

    def __enter__(self) -> HeadersWatchdog:
        _attempt.connections = self.connections
        if self._deadline is not None:
            self._alarm = DEADLINES.at(self._deadline, self._expire)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._alarm is not None:
            DEADLINES.cancel(self._alarm)
        _attempt.connections = None


def _socket_of(resp: requests.Response) -> socket.socket | None:
    """The socket a streamed response reads from (urllib3 2 keeps it on the response's connection)."""
    connection = getattr(resp.raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    if sock is None:  # urllib3 1: through the http.client response
        sock = getattr(getattr(getattr(getattr(resp.raw, "_fp", None), "fp", None), "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


def connect_timeout(read_timeout: float) -> float:
    """The connect timeout that goes with a --timeout: the same, at most 10 s."""
    return min(10.0, read_timeout)


def socket_timeouts(read_timeout: float) -> tuple[float, float | None]:
    """(connect, read) timeouts for requests from --timeout: a read timeout too long for the platform's
    sockets (or inf) is none at all."""
    return (connect_timeout(read_timeout),
            read_timeout if read_timeout <= LONGEST_SOCKET_TIMEOUT else None)


def read_bounded(resp: requests.Response, limit: int, *, deadline: float, truncate: bool) -> None:
    """Read `resp`'s (decoded) body into it, at most `limit` bytes and before `deadline` (monotonic).

    Beyond `limit`, `truncate` keeps the first `limit` bytes; otherwise AnswerTooLarge. At the deadline a
    watchdog shuts the connection's socket down, which ends a read blocked on a trickling server
    (AnswerDeadline). The connection is closed when the body was not read to its end.
    """
    chunks: list[bytes] = []
    total = 0
    complete = False
    sock = _socket_of(resp)
    watchdog = DEADLINES.at(deadline, lambda: _shutdown(sock))
    try:
        for chunk in resp.iter_content(READ_CHUNK):
            if total + len(chunk) > limit:
                if not truncate:
                    raise AnswerTooLarge(f"the answer is larger than {limit // 2**20} MiB")
                chunks.append(chunk[: limit - total])
                total = limit
                break
            chunks.append(chunk)
            total += len(chunk)
            if watchdog.fired:
                raise AnswerDeadline("the answer did not arrive in time")
        else:
            complete = True
    except requests.RequestException:
        if watchdog.fired:
            raise AnswerDeadline("the answer did not arrive in time") from None
        raise
    finally:
        DEADLINES.cancel(watchdog)
        if not complete:
            resp.close()
    if watchdog.fired and not complete:
        raise AnswerDeadline("the answer did not arrive in time")
    resp._content = b"".join(chunks)
    resp._content_consumed = True  # type: ignore[attr-defined]
    resp.__class__ = BoundedResponse


def default_error_message(resp: requests.Response) -> str:
    """The message of an error body in the common shapes, else an excerpt of the body."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "errorMessage", "error", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                code = body.get("code")
                return f"{code}: {value}" if isinstance(code, str) and code and key == "message" else value
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return value["message"]
    text = excerpt(resp.text)
    return text or f"HTTP {resp.status_code} {resp.reason or ''}".strip()


def retry_after_seconds(resp: requests.Response, now: float | None = None) -> float | None:
    """Seconds to wait from Retry-After (delta or HTTP date) or X-RateLimit-Reset (delta or epoch)."""
    now = time.time() if now is None else now
    value = resp.headers.get("Retry-After")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - now)
        except (TypeError, ValueError, IndexError):
            pass
    value = resp.headers.get("X-RateLimit-Reset")
    if value:
        try:
            reset = float(value.strip())
        except ValueError:
            return None
        if reset > 1e12:  # epoch milliseconds
            reset /= 1000
        if reset > 1e9:  # epoch seconds
            return max(0.0, reset - now)
        return max(0.0, reset)
    return None


def failed_before_send(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached the server (so even a create may be retried)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        name = type(cur).__name__
        if name in ("NewConnectionError", "ConnectTimeoutError", "NameResolutionError"):
            return True
        if isinstance(cur, ConnectionRefusedError):
            return True
        nxt = getattr(cur, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = cur.__cause__ or cur.__context__
        if cur.args and isinstance(cur.args[0], BaseException) and nxt is None:
            nxt = cur.args[0]
        cur = nxt
    return False


PLAIN_HTTP_SIGNS = ("wrong_version_number", "wrong version number", "record layer failure", "http_request",
                    "unknown protocol", "packet length too long")


def tls_error(exc: requests.exceptions.SSLError, url: str, provider: str | None,
              ca_bundle: str | None) -> MediactlError:
    """A TLS failure: a plain-HTTP server behind an https:// URL is a local mistake (exit 3), as is a
    certificate our CA settings do not verify (exit 7 keeps its place for a server that may recover)."""
    host = urlsplit(url).netloc
    setting = f"{provider}.base_url" if provider else "the URL"
    text = str(exc).lower()
    if any(sign in text for sign in PLAIN_HTTP_SIGNS):
        return LocalError(
            f"{setting} '{without_userinfo(url)}' is https://, but {host} answered in plain HTTP (no TLS)",
            hint="use the server's https port, or http:// if it is a loopback server such as the sandbox",
            provider=provider,
        )
    env = next((name for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE") if os.environ.get(name)), None)
    if ca_bundle:
        hint = f"{provider}.ca_bundle is {ca_bundle}: check that it holds the CA that signed {host}'s certificate"
    elif env:
        hint = (f"{env} is {os.environ[env]}: check that it holds the CA that signed {host}'s certificate, or "
                f"set {provider or 'PROVIDER'}.ca_bundle (it beats {env})")
    else:
        hint = (f"if the server uses a private CA, run `mediactl config set {provider or 'PROVIDER'}.ca_bundle "
                "/path/to/ca.pem` (or set REQUESTS_CA_BUNDLE)")
    return TransientError(f"TLS verification failed for {host}: {excerpt(str(exc), 160)}", hint=hint,
                          provider=provider)


def connection_error(exc: requests.RequestException, url: str, provider: str | None,
                     ca_bundle: str | None = None, read_timeout: float | None = None) -> MediactlError:
    host = urlsplit(url).netloc
    if isinstance(exc, requests.exceptions.SSLError):
        return tls_error(exc, url, provider, ca_bundle)
    if isinstance(exc, AnswerTooLarge):
        return RejectedError(f"{host} sent an answer larger than {MAX_ANSWER_BYTES // 2**20} MiB; not reading it",
                             provider=provider)
    if isinstance(exc, AnswerDeadline):
        limit = f" ({DEADLINE_FACTOR} x --timeout {read_timeout:g}s)" if read_timeout else ""
        return TransientError(f"{host} did not finish its answer in time{limit}", provider=provider,
                              hint="the server is sending very slowly; retry later, or raise --timeout")
    if isinstance(exc, requests.Timeout):
        return TransientError(f"timed out talking to {host}", provider=provider,
                              hint="raise --timeout, or retry later")
    return TransientError(f"cannot reach {host}: {type(exc).__name__}", provider=provider)


@dataclass(frozen=True)
class Decision:
    retry: bool
    wait: float = 0.0
    ambiguous: bool = False  # the request may have been processed: a create must be reconciled, not resent


class RetryPolicy:
    """What is retried, how long to wait, and which failures are ambiguous — in one place.

    - A failure before anything was sent (connection refused, connect timeout) and a 429 are retried for
      any request: the server did not act on it.
    - Any other transient failure (500/502/503/504, a read timeout, a connection lost after sending) is
      retried only for an idempotent request; for a create it is *ambiguous*: the caller reconciles (asks
      the provider whether it landed) before sending it again.
    """

    def __init__(self, retries: int, retry_statuses: frozenset[int] = RETRY_STATUSES) -> None:
        self.retries = max(0, retries)
        self.retry_statuses = retry_statuses

    @staticmethod
    def backoff(attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * (2 ** attempt)))

    def after_exception(self, exc: requests.RequestException, *, attempt: int, idempotent: bool) -> Decision:
        if isinstance(exc, requests.exceptions.SSLError):
            return Decision(False)
        if isinstance(exc, AnswerTooLarge):  # it would be as large again; a create did reach the server
            return Decision(False, ambiguous=not idempotent)
        before_send = failed_before_send(exc)
        retry = attempt < self.retries and (idempotent or before_send)
        return Decision(retry, self.backoff(attempt), ambiguous=not before_send and not idempotent)

    def after_response(self, resp: requests.Response, *, attempt: int, idempotent: bool) -> Decision:
        status = resp.status_code
        ambiguous = status >= 500 and not idempotent
        if status not in self.retry_statuses or attempt >= self.retries or not (idempotent or status == 429):
            return Decision(False, ambiguous=ambiguous)
        wait = retry_after_seconds(resp)
        if wait is not None and wait > MAX_RETRY_WAIT:
            return Decision(False)
        return Decision(True, self.backoff(attempt) if wait is None else wait + random.uniform(0, 0.1))


class HostLimiter:
    """Shared by every client and worker thread talking to one host (scheme, host, port).

    A 429's wait (Retry-After, X-RateLimit-Reset) pauses every worker's next request to that host, instead
    of each worker burning its own retries; a run of connection failures before sending marks the host
    down, so a batch stops starting new items there quickly.
    """

    DOWN_AFTER = 3  # consecutive refused connections, with no success between them
    _hosts: dict[tuple, HostLimiter] = {}
    _hosts_lock = threading.Lock()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._resume_at = 0.0
        self._refused = 0

    @classmethod
    def for_url(cls, url: str) -> HostLimiter:
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname, parts.port)
        with cls._hosts_lock:
            return cls._hosts.setdefault(key, cls())

    def wait_turn(self) -> float:
        """Sleep while the host asked everyone to wait; returns the seconds slept. Waiters are spread over
        the second after the pause, so a batch's workers do not all hit the limit again at the same instant."""
        with self._lock:
            delay = self._resume_at - time.monotonic()
        if delay > 0:
            delay += random.uniform(0, 1.0)
            time.sleep(delay)
            return delay
        return 0.0

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def answered(self) -> None:
        with self._lock:
            self._refused = 0

    def refused(self) -> None:
        with self._lock:
            self._refused += 1

    @property
    def down(self) -> bool:
        return self._refused >= self.DOWN_AFTER


def check_ca_bundle(ca_bundle: str | None, provider: str | None) -> str | None:
    """The ca_bundle setting as a path that exists (else exit 3 naming it); without it, a CA variable of
    the environment that names a missing file is reported the same way (requests would crash on it)."""
    if ca_bundle:
        path = os.path.expanduser(ca_bundle)
        if not os.path.exists(path):
            name = f"{provider}.ca_bundle" if provider else "ca_bundle"
            raise LocalError(f"{name} is {ca_bundle}, which does not exist",
                             hint=f"point it at your CA's PEM file (`mediactl config set {name} PATH`), or "
                                  f"remove it (`mediactl config unset {name}`)", provider=provider)
        return path
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        value = os.environ.get(name)
        if value:
            if not os.path.exists(value):
                raise LocalError(f"{name} is {value}, which does not exist",
                                 hint=f"point {name} at your CA's PEM file, or unset it", provider=provider)
            break
    return None


@dataclass
class _Prepared:
    """One logical request as it stands (a redirect may change its method and URL)."""

    method: str
    url: str
    headers: dict[str, str]
    payload: bytes | None
    body: Body | None
    description: str


class Body:
    """A request body that can be produced afresh for every attempt (retries re-stream from the start)."""

    def __init__(self, factory: Callable[[], Any], length: int | None, content_type: str | None,
                 description: str = "") -> None:
        self.factory = factory
        self.length = length
        self.content_type = content_type
        self.description = description


class ApiClient:
    """One provider's HTTP client: joins paths to base_url, adds auth, retries and logs."""

    def __init__(
        self,
        rt: Runtime,
        *,
        provider: str | None,
        base_url: str,
        auth_headers: Mapping[str, str] | None = None,
        api_root: str = "",
        redactor: Redactor | None = None,
        error_message: Callable[[requests.Response], str] = default_error_message,
        ca_bundle: str | None = None,
        pool_size: int = 10,
        retry_statuses: frozenset[int] = RETRY_STATUSES,
    ) -> None:
        check_url_scheme(base_url, what=f"{provider}.base_url" if provider else "base_url")
        self.rt = rt
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.api_root = api_root.rstrip("/")
        self.auth_headers = dict(auth_headers or {})
        self.redactor = redactor or Redactor()
        self._register_secrets(self.auth_headers)
        self.error_message = error_message
        self.ca_bundle = check_ca_bundle(ca_bundle, provider)
        self.pool_size = pool_size
        self.policy = RetryPolicy(rt.retries, retry_statuses)
        self.timeout = rt.timeout
        self._local = threading.local()
        self._origin_settings: dict[tuple[str, str], tuple[dict[str, Any], str | None]] = {}

    def _register_secrets(self, headers: Mapping[str, str]) -> None:
        for value in headers.values():
            self.redactor.add(value)
            self.redactor.add(value.split(" ", 1)[-1])

    # -- plumbing ------------------------------------------------------------------------------------

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = OriginCachedSession()
            adapter = DeadlineAdapter(pool_connections=4, pool_maxsize=self.pool_size)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = USER_AGENT
            session.trust_env = True  # honour HTTPS_PROXY / REQUESTS_CA_BUNDLE (ca_bundle goes per request)
            self._local.session = session
        return session

    def url(self, path: str) -> str:
        """Resolve a path against base_url; the API's own root in a returned path stands for base_url's."""
        if urlsplit(path).scheme:
            return path
        if self.api_root and (path == self.api_root or path.startswith(self.api_root + "/")
                              or path.startswith(self.api_root + "?")):
            path = path[len(self.api_root):]
        if not path.startswith("/"):
            path = "/" + path
        return self.base_url + path

    def _same_host(self, url: str) -> bool:
        a, b = urlsplit(self.base_url), urlsplit(url)
        return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)

    def _log(self, line: str) -> None:
        """One -v log line on stderr; reasons, headers and bodies are server text, so it is sanitized."""
        from mediactl.ui.textsafe import sanitize

        self.rt.stderr_line(sanitize(line, one_line=True))

    def _log_request(self, method: str, url: str, headers: Mapping[str, str], body_desc: str) -> None:
        if self.rt.verbose >= 1:
            self._log(f"> {method} {self.redactor.url(url)}")
        if self.rt.verbose >= 2:
            merged = {k: str(v) for k, v in {**self.session.headers, **headers}.items()}
            for k, v in self.redactor.headers(merged).items():
                self._log(f">   {k}: {v}")
            if body_desc:
                self._log(f">   {body_desc}")

    def _log_response(self, resp: requests.Response, elapsed: float, *, streamed: bool = False) -> None:
        if self.rt.verbose >= 1:
            self._log(f"< {resp.status_code} {resp.reason or ''} ({elapsed * 1000:.0f} ms)".rstrip())
        if self.rt.verbose >= 2:
            for k, v in self.redactor.headers(resp.headers).items():
                self._log(f"<   {k}: {v}")
            self._log(f"<   {'<streamed body>' if streamed else self.redactor.body(resp.content)}")

    def _sleep(self, seconds: float, why: str) -> None:
        if self.rt.verbose >= 1:
            self._log(f"  retrying in {seconds:.1f}s ({why})")
        time.sleep(seconds)

    # -- the one request path ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        body: Body | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        ok: Iterable[int] = (200, 201, 202, 204),
        send_auth: bool = True,
        auth: Mapping[str, str] | None = None,
        timeout: float | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """Send one logical request (with retries and redirects); raise a MediactlError unless ok.

        `auth` adds credentials for this request only (e.g. a bearer token on writes); like the client's
        own, they go only to base_url's host. A failure of a non-idempotent request that the server may
        have processed is raised with `ambiguous` set (see RetryPolicy). A success's body is read within
        the caps (MAX_ANSWER_BYTES, the deadline) unless `stream`: then the caller reads it (a download).
        """
        method = method.upper()
        ok_statuses = frozenset(ok)
        self._register_secrets(auth or {})
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
        url = self.url(path)
        check_url_scheme(url, what="URL")
        if params:
            sep = "&" if urlsplit(url).query else "?"
            url = url + sep + urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
        request = _Prepared(method, url, *self._payload(json_body, body, headers))
        read_timeout = timeout if timeout is not None else self.timeout
        timeouts = (connect_timeout(read_timeout), read_timeout)  # for the deadlines; may be inf
        with_auth = send_auth and self._same_host(url)  # a path handed back may name another host

        attempt = 0
        redirects = 0
        while True:
            limiter = HostLimiter.for_url(request.url)
            if limiter.down:
                raise self._failure(TransientError(
                    f"{urlsplit(request.url).netloc} refused {HostLimiter.DOWN_AFTER} connections in a row; "
                    "not trying it again in this run", provider=self.provider), attempt, host_down=True)
            limiter.wait_turn()
            try:
                resp = self._send_once(request, with_auth, auth, timeouts, ok=ok_statuses, stream=stream)
            except requests.RequestException as exc:
                if failed_before_send(exc):
                    limiter.refused()
                decision = self.policy.after_exception(exc, attempt=attempt, idempotent=idempotent)
                if decision.retry and not limiter.down:
                    self._sleep(decision.wait, type(exc).__name__)
                    attempt += 1
                    continue
                failure = self._failure(connection_error(exc, request.url, self.provider, self.ca_bundle,
                                                         read_timeout), attempt + 1, ambiguous=decision.ambiguous)
                failure.timed_out = isinstance(exc, requests.Timeout)
                raise failure from None
            limiter.answered()

            if resp.status_code in REDIRECT_STATUSES and "Location" in resp.headers:
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise RejectedError(f"too many redirects from {self.redactor.url(request.url)}",
                                        provider=self.provider, status=resp.status_code)
                with_auth = self._follow_redirect(request, resp) and with_auth
                continue

            decision = self.policy.after_response(resp, attempt=attempt, idempotent=idempotent)
            if resp.status_code == 429:  # every worker talking to this host waits, not only this one
                if decision.retry:
                    limiter.pause(decision.wait)
                else:
                    wait = retry_after_seconds(resp)
                    limiter.pause(min(wait if wait is not None else self.policy.backoff(attempt), MAX_RETRY_WAIT))
            if decision.retry:
                resp.close()
                if resp.status_code != 429:  # a 429's wait is the limiter's (wait_turn, above)
                    self._sleep(decision.wait, f"HTTP {resp.status_code}")
                attempt += 1
                continue
            if resp.status_code in ok_statuses:
                return resp
            raise self._failure(self.error_for(resp, attempts=attempt + 1), attempt + 1,
                                ambiguous=decision.ambiguous)

    def _payload(self, json_body: Any, body: Body | None,
                 headers: Mapping[str, str] | None) -> tuple[dict[str, str], bytes | None, Body | None, str]:
        """Headers, a JSON payload or a re-streamable body, and how to describe it in -vv logs."""
        base_headers: dict[str, str] = {"Accept": "application/json"}
        description = ""
        payload: bytes | None = None
        if json_body is not None:
            payload = json.dumps(json_body, ensure_ascii=False).encode()
            base_headers["Content-Type"] = "application/json"
            if self.rt.verbose >= 2:  # only -vv shows bodies: no redaction pass per request otherwise
                description = self.redactor.body(payload)
        elif body is not None:
            if body.content_type:
                base_headers["Content-Type"] = body.content_type
            if body.length is not None:
                base_headers["Content-Length"] = str(body.length)
            description = body.description or (
                f"<{body.length} bytes streamed>" if body.length is not None else "<streamed body>")
        base_headers.update(headers or {})
        return base_headers, payload, body, description

    def _send_once(self, request: _Prepared, with_auth: bool, auth: Mapping[str, str] | None,
                   timeouts: tuple[float, float], *, ok: frozenset[int] = frozenset(),
                   stream: bool = False) -> requests.Response:
        """One attempt: a fresh body, credentials only for base_url's host, the answer read within its caps
        (a success up to MAX_ANSWER_BYTES, an error up to MAX_ERROR_BYTES, a redirect not at all), logged."""
        req_headers = dict(request.headers)
        if with_auth:
            req_headers.update(self.auth_headers)
            req_headers.update(auth or {})
        data = request.payload if request.payload is not None else (
            request.body.factory() if request.body is not None else None)
        self._log_request(request.method, request.url, req_headers, request.description)
        started = time.monotonic()
        # The deadline: DEADLINE_FACTOR read timeouts (and the connect timeout) for the whole exchange; for a
        # streamed upload, whose sending takes what the file takes, from the answer's headers on.
        deadline = started + timeouts[0] + DEADLINE_FACTOR * timeouts[1]
        watchdog = HeadersWatchdog(deadline if request.body is None else None)
        try:
            try:
                with watchdog:
                    resp = self.session.request(request.method, request.url, data=data, headers=req_headers,
                                                timeout=socket_timeouts(timeouts[1]),
                                                allow_redirects=False, stream=True,
                                                **self._per_request_settings(request.url))
            except requests.RequestException:
                if watchdog.expired:
                    raise AnswerDeadline("the answer did not arrive in time") from None
                raise
            if watchdog.expired:  # the headers were cut short by the watchdog, not ended by the server
                resp.close()
                raise AnswerDeadline("the answer did not arrive in time")
            if request.body is not None:
                deadline = time.monotonic() + DEADLINE_FACTOR * timeouts[1]
            if resp.status_code in REDIRECT_STATUSES and "Location" in resp.headers:
                read_bounded(resp, 0, deadline=deadline, truncate=True)
            elif resp.status_code in ok:
                if not stream:
                    read_bounded(resp, MAX_ANSWER_BYTES, deadline=deadline, truncate=False)
            else:
                read_bounded(resp, MAX_ERROR_BYTES, deadline=deadline, truncate=True)
        except requests.RequestException as exc:
            if self.rt.verbose >= 1:
                self.rt.stderr_line(f"< {type(exc).__name__} ({(time.monotonic() - started) * 1000:.0f} ms)")
            raise
        finally:
            close = getattr(data, "close", None)
            if callable(close):
                close()
        self._log_response(resp, time.monotonic() - started, streamed=stream and resp.status_code in ok)
        return resp

    def _per_request_settings(self, url: str) -> dict[str, Any]:
        """`verify` and `proxies` for one request. The ca_bundle setting is passed per request because
        requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE win over the session's own `verify`. A plain-http
        URL (loopback only) never goes through a proxy that is not on loopback: the credentials would
        cross the network in clear text. Worked out once per origin (the environment is read once)."""
        key = origin(url)
        known = self._origin_settings.get(key)
        if known is None:
            known = self._origin_settings[key] = self._origin_settings_for(url)
        out, refused_proxy = known
        if refused_proxy and self.rt.verbose >= 1:
            self._log(f"  not using proxy {without_userinfo(refused_proxy)} for {key[1]}: plain "
                      "http to a proxy off this machine would carry the credentials in clear text")
        return dict(out)

    def _origin_settings_for(self, url: str) -> tuple[dict[str, Any], str | None]:
        out: dict[str, Any] = {}
        refused_proxy = None
        if self.ca_bundle:
            out["verify"] = self.ca_bundle
        if urlsplit(url).scheme == "http":
            proxies = requests.utils.get_environ_proxies(url)
            proxy = proxies.get("http") or proxies.get("all")
            if proxy and not is_loopback(urlsplit(proxy if "://" in proxy else "http://" + proxy).hostname):
                out["proxies"] = {"http": None, "all": None}
                refused_proxy = proxy
        return out, refused_proxy

    def _follow_redirect(self, request: _Prepared, resp: requests.Response) -> bool:
        """Point `request` at the redirect target; returns whether credentials may still go with it."""
        request.url = urljoin(request.url, resp.headers["Location"])
        check_url_scheme(request.url, what="redirect target")
        if resp.status_code == 303 or (resp.status_code in (301, 302) and request.method == "POST"):
            request.method, request.payload, request.body, request.description = "GET", None, None, ""
            request.headers.pop("Content-Type", None)
            request.headers.pop("Content-Length", None)
        resp.close()
        return self._same_host(request.url)  # never hand credentials to another host

    @staticmethod
    def _failure(error: MediactlError, attempts: int, *, ambiguous: bool = False,
                 host_down: bool = False) -> MediactlError:
        error.attempts = attempts
        error.ambiguous = ambiguous
        error.host_down = host_down
        return error

    def error_for(self, resp: requests.Response, attempts: int = 1) -> MediactlError:
        message = self.redactor.text(self.error_message(resp))
        tried = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
        if resp.status_code == 429:
            wait = retry_after_seconds(resp)
            extra = f"; the server asks to wait {wait:.0f}s" if wait else ""
            message = f"rate limited (HTTP 429) {tried}{extra}: {message}"
        elif resp.status_code >= 500:
            message = f"HTTP {resp.status_code} {tried}: {message}"
        return error_for_status(resp.status_code, message, provider=self.provider)

    def json(self, method: str, path: str, *, expect: Iterable[str] = (), **kwargs: Any) -> Any:
        """Send a request and return its JSON body, checking the keys the caller relies on."""
        resp = self.request(method, path, **kwargs)
        return parse_json(resp, expect=expect, provider=self.provider)


def parse_json(resp: requests.Response, *, expect: Iterable[str] = (), provider: str | None = None) -> Any:
    """The JSON of a success response; HTML, empty or truncated bodies and missing keys are errors."""
    if resp.status_code == 204 or (not resp.content and not list(expect)):
        return {}
    try:
        body = resp.json()
    except ValueError as exc:
        ctype = resp.headers.get("Content-Type", "?")
        shown = str(exc) if isinstance(exc, DeepJSON) else (excerpt(resp.text) or "empty body")
        raise TransientError(
            f"unexpected answer from {urlsplit(resp.url).netloc} (HTTP {resp.status_code}, {ctype}): {shown}",
            status=resp.status_code, provider=provider,
        ) from None
    missing = [key for key in expect if not isinstance(body, dict) or key not in body]
    if missing:
        raise RejectedError(
            f"unexpected answer (HTTP {resp.status_code}): missing {', '.join(missing)} in "
            f"{excerpt(resp.text)}",
            status=resp.status_code, provider=provider,
        )
    return body
