"""The sandbox server: one loopback WSGI app that mounts the four API emulators and the S3 endpoint.

Mount points (all under one host and port):
    /otherpage/v1/...          Other Page            /s3/<bucket>      S3 presigned POST endpoint
    /nationbuilder/api/v1/...  NationBuilder         /cdn/<key>        Other Page's image CDN
    /ofauth/v2/access/...      OFAuth                /files/...        uploaded bytes, served back
    /bitbadges/api/v0/...      BitBadges             /_sandbox/...     state and controls, for tests
    /                          the read-only dashboard (mediactl/sandbox/dashboard.py)

`GET /_sandbox/state` also lists the last provider requests (`requests`: number, method, path, status, the
injected fault if any), so a test can tell what mediactl sent.

State lives in memory, or with a data dir in `state.json` plus a blob folder, so it survives restarts.
Fault injection (latency, 5xx, 429 rate limit, dropped connections) is drawn from one seeded RNG.
"""

from __future__ import annotations

import collections
import json
import os
import random
import secrets
import socket
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule, RuleFactory, Submount
from werkzeug.wrappers import Request, Response


def emulators() -> dict:
    """Each registered provider's emulator module (its spec's `emulator`), by provider name."""
    from mediactl.registry import PROVIDERS
    from mediactl.spec import load

    return {name: load(spec.emulator) for name, spec in PROVIDERS.items()}


@dataclass
class Faults:
    fail_rate: float = 0.0
    drop_rate: float = 0.0
    latency_ms: int = 0
    rate_limit: float = 0.0  # requests per second; 0 = unlimited
    seed: int | None = None


@dataclass
class Options:
    data_dir: Path | None = None
    faults: Faults = field(default_factory=Faults)
    ofauth_part_size: int = 5 * 1024 * 1024
    ofauth_legacy_init: bool = False  # plan only in x-ofauth-upload-* headers, as older API versions
    ofauth_already_completed: int = 409  # status of OFAuth's "Upload already completed": 409 or 400
    # Unknown NationBuilder sites and pages answer 404, as the real API does, instead of being made on first
    # use; the sites and pages that exist then are `nationbuilder_sites` / `nationbuilder_pages` ("site/page").
    strict: bool = False
    nationbuilder_sites: list[str] = field(default_factory=list)
    nationbuilder_pages: list[str] = field(default_factory=list)
    otherpage_max_size: int = 512 * 1024 * 1024
    form_ttl: int = 3600  # seconds a presigned form stays valid
    page_size: int = 10  # BitBadges search page size
    s3_fail_next: int = 0  # the next N S3 POSTs answer 503 (to exercise `otherpage complete`)
    fail_paths: dict[str, int] = field(default_factory=dict)  # path substring -> next N requests get 503
    # "[METHOD ]path substring" -> the faults the next matching requests get, in order: "503" (not processed),
    # "500-after" (processed, then a 500), "drop-before", "drop-after" (processed, then the connection drops),
    # or "pass" (no fault for that one)
    fault_paths: dict[str, list[str]] = field(default_factory=dict)
    # Downloads (round trip): hand out file and CDN URLs on this host name instead (e.g. "localhost": another
    # host to mediactl, which must not send it credentials); the next N downloads send half their bytes and
    # drop the connection; every download first answers a redirect to itself (followed without credentials).
    download_host: str | None = None
    truncate_downloads: int = 0
    redirect_downloads: bool = False
    # Sign Other Page forms for a real S3 instead of the sandbox's own endpoint:
    # {"endpoint", "bucket", "region", "access_key", "secret_key"}.
    external_s3: dict | None = None


REQUEST_LOG_SIZE = 1000
# The Options that `POST /_sandbox/control` can change at run time (each emulator reads them per request).
CONTROLLABLE_OPTIONS = ("form_ttl", "ofauth_part_size", "ofauth_legacy_init", "ofauth_already_completed",
                        "otherpage_max_size", "page_size", "s3_fail_next", "fail_paths", "fault_paths", "strict",
                        "download_host", "truncate_downloads", "redirect_downloads")


class AnyNameRule(Rule):
    """A file route whose `<path:...>` also matches a name with a newline (`%0A`): werkzeug's own path
    converter is `[^/].*?`, and `.` stops at a newline, so such an item's URL would answer 404."""

    def get_converter(self, variable_name, converter_name, args, kwargs):
        converter = super().get_converter(variable_name, converter_name, args, kwargs)
        if converter_name == "path":
            converter.regex = r"[^/][\s\S]*?"
        return converter


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


CREDENTIAL_HEADERS = ("authorization", "x-api-key", "apikey", "x-connection-id")
# Where the WSGI environ holds them (a header with `_` in its name never gets there: werkzeug drops it).
_CREDENTIAL_KEYS = tuple("HTTP_" + name.upper().replace("-", "_") for name in CREDENTIAL_HEADERS)


def _has_credentials(request: Request) -> bool:
    """Whether a request carried any provider's credentials (the request log says so, for tests)."""
    environ = request.environ
    return any(key in environ for key in _CREDENTIAL_KEYS) or "access_token" in request.args


class DropConnection(Exception):
    """Raised by the fault layer: close the socket without an answer."""


def new_credentials(modules: dict) -> dict[str, str]:
    """Random credentials for every emulator's CREDENTIALS, keyed `<provider>_<setting>`, and the S3 keys."""
    creds = {f"{name}_{setting}": f"{prefix}_{secrets.token_urlsafe(18)}"
             for name, module in modules.items() for setting, prefix in module.CREDENTIALS.items()}
    creds["s3_access_key"] = "AKIA" + secrets.token_hex(8).upper()
    creds["s3_secret_key"] = secrets.token_urlsafe(30)
    return creds


class State:
    """All emulator records, guarded by one lock; saved after each change when there is a data dir."""

    def __init__(self, data_dir: Path | None, modules: dict) -> None:
        self.lock = threading.RLock()
        self.data_dir = data_dir
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mediactl-sandbox-")
            self.blob_dir = Path(self._tmp.name)
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            self.blob_dir = data_dir / "blobs"
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.data: dict[str, Any] = {"credentials": None}
        self.data.update({name: module.initial_state() for name, module in modules.items()})
        if data_dir is not None and (data_dir / "state.json").exists():
            self.data.update(json.loads((data_dir / "state.json").read_text()))

    def save(self) -> None:
        if self.data_dir is None:
            return
        with self.lock:
            payload = json.dumps(self.data)
            fd, tmp = tempfile.mkstemp(dir=self.data_dir, prefix=".state.", suffix=".tmp")
            with os.fdopen(fd, "w") as fh:
                fh.write(payload)
            os.replace(tmp, self.data_dir / "state.json")

    def blob_path(self, name: str) -> Path:
        return self.blob_dir / name

    def close(self) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            tmp.cleanup()


class Sandbox:
    """The WSGI application."""

    def __init__(self, options: Options | None = None) -> None:
        from mediactl.sandbox import dashboard, s3

        self.modules = emulators()
        self.options = options or Options()
        self.state = State(self.options.data_dir, self.modules)
        with self.state.lock:
            if self.state.data.get("credentials") is None:
                self.state.data["credentials"] = new_credentials(self.modules)
                self.state.save()
        self.creds: dict[str, str] = self.state.data["credentials"]
        self.base_url = ""  # set once the server knows its port
        self.faults = self.options.faults
        self._rng = random.Random(self.faults.seed)
        self._rng_lock = threading.Lock()
        self._rate_times: list[float] = []
        self.fault_log: list[str] = []
        # The last provider requests, numbered, for tests (e.g. that a dry run sent no create or delete).
        self.request_log: collections.deque[dict] = collections.deque(maxlen=REQUEST_LOG_SIZE)
        self._requests_seen = 0
        rules: list[RuleFactory] = [
            Rule("/_sandbox/state", endpoint="state"), Rule("/_sandbox/health", endpoint="health"),
            Rule("/_sandbox/control", endpoint="control", methods=["POST"])]
        for module in self.modules.values():
            rules.append(Submount(module.PREFIX, module.rules()))
            rules.extend(getattr(module, "extra_rules", list)())
        rules.extend(s3.rules())
        rules.extend(dashboard.rules())
        self.url_map = Map(rules, strict_slashes=False, merge_slashes=False)
        self.handlers = {"state": self._state, "health": lambda req: json_response({"ok": True}),
                         "control": self._control}
        for module in [*self.modules.values(), s3, dashboard]:
            self.handlers.update(module.handlers(self))

    # -- plumbing ------------------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + path

    def download_url(self, path: str) -> str:
        """The URL of a file the sandbox serves for download (on `download_host` when set)."""
        host = self.options.download_host
        if not host:
            return self.url(path)
        scheme, _, rest = self.base_url.partition("://")
        port = rest.rsplit(":", 1)[1] if ":" in rest else ""
        return f"{scheme}://{host}{':' + port if port else ''}{path}"

    def serve_download(self, request: Request, blob: Path, mimetype: str, headers: dict | None = None) -> Response:
        """A stored file's bytes, streamed, with the download test controls applied (see Options)."""
        if self.options.redirect_downloads and "direct" not in request.args:
            sep = "&" if request.query_string else "?"
            target = request.full_path.rstrip("?") + sep + "direct=1"
            return Response(status=302, headers={"Location": target})
        size = blob.stat().st_size
        with self._rng_lock:
            truncate = self.options.truncate_downloads > 0
            if truncate:
                self.options.truncate_downloads -= 1
                self.fault_log.append("truncate-download")

        def body():
            with open(blob, "rb") as fh:
                if truncate:
                    yield fh.read(size // 2)
                    raise DropConnection
                while chunk := fh.read(1024 * 1024):
                    yield chunk

        return Response(body(), mimetype=mimetype, direct_passthrough=True,
                        headers={"Content-Length": str(size), **(headers or {})})

    def env_settings(self) -> dict[str, str]:
        """The MEDIACTL_* settings that point mediactl at this sandbox."""
        settings: dict[str, str] = {}
        for name, module in self.modules.items():
            values = {"base_url": self.url(module.PREFIX)}
            values.update({setting: self.creds[f"{name}_{setting}"] for setting in module.CREDENTIALS})
            values.update(module.exports(self))
            settings.update({f"MEDIACTL_{name.upper()}_{key.upper()}": value for key, value in values.items()})
        return settings

    def new_id(self) -> str:
        return str(uuid.uuid4())

    # -- faults ----------------------------------------------------------------------------------------------

    def _draw_fault(self, path: str) -> str | None:
        """One seeded draw per provider request: None, '429', a 5xx before processing, '500-after' (processed,
        then a 500), 'drop-before' or 'drop-after' (processed, then the connection drops)."""
        f = self.faults
        if path.startswith("/_sandbox") or not (f.fail_rate or f.drop_rate or f.rate_limit):
            return None
        with self._rng_lock:
            if f.rate_limit:
                now = time.monotonic()
                self._rate_times = [t for t in self._rate_times if now - t < 1.0]
                if len(self._rate_times) >= f.rate_limit:
                    self.fault_log.append("429")
                    return "429"
                self._rate_times.append(now)
            roll = self._rng.random()
            kind = None
            if roll < f.fail_rate:
                kind = self._rng.choice(["500", "502", "503", "504", "429", "500-after"])
            elif roll < f.fail_rate + f.drop_rate:
                kind = self._rng.choice(["drop-before", "drop-after"])
            if kind:
                self.fault_log.append(kind)
            return kind

    def _targeted_fault(self, method: str, path: str) -> str | None:
        """The faults set through /_sandbox/control for requests whose path contains a given text: `fail_paths`
        (the next N get a 503) and `fault_paths` (the next ones get the listed faults, in order)."""
        with self._rng_lock:
            for needle, kinds in self.options.fault_paths.items():
                want_method, _, text = needle.rpartition(" ")  # "POST /attachments" or just "/attachments"
                if kinds and text in path and want_method in ("", method):
                    kind = kinds.pop(0)
                    if kind == "pass":
                        return None
                    self.fault_log.append(kind)
                    return kind
            for needle, count in self.options.fail_paths.items():
                if count > 0 and needle in path:
                    self.options.fail_paths[needle] = count - 1
                    self.fault_log.append("503")
                    return "503"
        return None

    # -- WSGI ----------------------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        entry = self._log_request(request)
        if self.faults.latency_ms:
            time.sleep(self.faults.latency_ms / 1000)
        fault = self._draw_fault(request.path) or self._targeted_fault(request.method, request.path)
        entry["fault"] = fault
        try:
            if fault == "429":
                response = json_response({"message": "Too Many Requests", "error": "rate_limited"}, 429,
                                         {"Retry-After": "1", "X-RateLimit-Reset": "1"})
            elif fault in ("500", "502", "503", "504"):
                response = Response(f"<html><body><h1>{fault} injected fault</h1></body></html>",
                                    status=int(fault), mimetype="text/html")
            elif fault == "drop-before":
                raise DropConnection
            else:
                response = self.dispatch(request)
                if fault == "drop-after":
                    raise DropConnection
                if fault == "500-after":
                    response = Response("<html><body><h1>500 injected fault (after processing)</h1></body></html>",
                                        status=500, mimetype="text/html")
        except DropConnection:
            entry["status"] = "dropped"
            self._drop(environ, request)
            start_response("500 Dropped", [("Content-Length", "0"), ("Connection", "close")])
            return [b""]
        entry["status"] = response.status_code
        return response(environ, start_response)

    def _log_request(self, request: Request) -> dict:
        """The request's entry in the log (number, time, method, path; status and any injected fault are
        added once known). The sandbox's own pages (/_sandbox/..., the dashboard at /) are not logged."""
        # Every key present from the start: the entry is filled in while /_sandbox/state may be serializing it.
        entry: dict[str, Any] = {"n": None, "at": None, "method": request.method, "path": request.path,
                                 "host": request.host, "credentials": _has_credentials(request),
                                 "status": None, "fault": None}
        if request.path.startswith("/_sandbox") or request.path == "/":
            return entry
        with self._rng_lock:
            self._requests_seen += 1
            entry.update(n=self._requests_seen, at=time.time())
            self.request_log.append(entry)
        return entry

    def _drop(self, environ, request: Request) -> None:
        """Read a little of the body, then shut the socket: the client sees the connection die."""
        sock = environ.get("werkzeug.socket")
        try:
            request.stream.read(1024)
        except Exception:
            pass
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return self.not_found(request)
        except MethodNotAllowed as exc:
            return exc.get_response(request.environ)
        except HTTPException as exc:
            return exc.get_response(request.environ)
        return self.handlers[endpoint](request, **args)

    def not_found(self, request: Request) -> Response:
        for module in self.modules.values():
            if request.path.startswith(module.PREFIX):
                return module.not_found()
        return json_response({"message": "Not Found"}, 404)

    # -- test helpers --------------------------------------------------------------------------------------

    def recent_requests(self) -> list[dict]:
        """A copy of the request log, oldest first."""
        with self._rng_lock:
            return [dict(entry) for entry in self.request_log]

    def _state(self, request: Request) -> Response:
        with self.state.lock:
            data = {k: v for k, v in self.state.data.items() if k != "credentials"}
            data["faults"] = list(self.fault_log)
            data["requests"] = self.recent_requests()
            return json_response(data)

    def _control(self, request: Request) -> Response:
        """Change behaviour at run time (tests): {"faults": {...}}, {"form_ttl": 1}, {"ofauth_part_size": 1024},
        and each emulator's own controls (e.g. BitBadges' {"bitbadges_credits": 0})."""
        body = request.get_json(silent=True) or {}
        with self.state.lock:
            for module in self.modules.values():
                control = getattr(module, "control", None)
                if control is not None:
                    control(self, body)
            for key in CONTROLLABLE_OPTIONS:
                if key in body:
                    setattr(self.options, key, body[key])
            if "faults" in body:
                for key, value in body["faults"].items():
                    setattr(self.faults, key, value)
                if "seed" in body["faults"]:
                    self._rng = random.Random(body["faults"]["seed"])
            self.state.save()
        return json_response({"ok": True})


# --- serving ----------------------------------------------------------------------------------------------


def local_address(host: str) -> str:
    """The address this machine reaches a server bound to `host` by: loopback for the all-interfaces
    addresses (0.0.0.0, ::), whose URL mediactl would refuse (plain http to a non-loopback host)."""
    return {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)


class RunningSandbox:
    """A sandbox served by werkzeug's threaded server on a background thread, keeping connections alive
    (mediactl/sandbox/serving.py)."""

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0, log=None) -> None:
        from werkzeug.serving import make_server

        from mediactl.sandbox.serving import KeepAliveHandler, handler_class

        class QuietHandler(KeepAliveHandler):
            def log_request(self, *args, **kwargs) -> None:
                if log is not None:
                    log(f"{self.command} {self.path} -> {args[0] if args else ''}")

            def log_error(self, *args) -> None:
                pass

        self.sandbox = sandbox
        self.handler = handler_class(QuietHandler)
        self.server = make_server(host, port, sandbox, threaded=True, request_handler=self.handler)
        self.server.daemon_threads = True  # type: ignore[attr-defined]  # threaded=True: a ThreadingMixIn
        self.port = self.server.server_port
        client_host = local_address(host)
        shown = f"[{client_host}]" if ":" in client_host else client_host
        sandbox.base_url = f"http://{shown}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="sandbox", daemon=True)

    def start(self) -> RunningSandbox:
        self.thread.start()
        return self

    def stop(self) -> None:
        from mediactl.sandbox.serving import close_all

        self.server.shutdown()
        close_all(self.handler)
        self.server.server_close()
        self.sandbox.state.close()

    def __enter__(self) -> RunningSandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
