"""Downloads: a remote file streamed to `DIR/NAME.part`, hashed on the way, fsynced, then renamed.

What this module guarantees (README "Round trip"):
- O(1) memory: the body is read in chunks and written as it arrives;
- the SHA-256 (and size) of what was written is in the result;
- NAME is the provider's file name reduced to a safe base name (no `/`, `..`, control characters or
  leading `-`), and the file it names is inside DIR;
- an interrupted or failed download leaves nothing under the final name (the `.part` file is removed);
- an existing file is left alone unless `force` (`skipped: exists`), even one that appears meanwhile;
- credentials go only to base_url's host (never to a CDN), and a redirect is followed WITHOUT them;
- an error body is read up to MAX_ERROR_BODY bytes, never whole.
The HTTP client (`mediactl.http.ApiClient`) supplies the session, the retry policy, logging and redaction;
a GET is idempotent, so a failed attempt (mid-body too) is retried from the start.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import requests

from mediactl.errors import LocalError, MediactlError, RejectedError, TransientError
from mediactl.runtime import ProgressFn, no_progress

CHUNK = 1024 * 1024
MAX_ERROR_BODY = 64 * 1024
MAX_NAME_BYTES = 200  # leaves room for " (ID)" and ".part" within the usual 255-byte limit
PART_SUFFIX = ".part"


# -- names ------------------------------------------------------------------------------------------------


def safe_name(name: str | None, fallback: str) -> str:
    """A provider's file name reduced to a base name that is safe to create in DIR and to print.

    The last path component only (either slash), control and format characters dropped, no leading
    `-` or `.` (not an option, not hidden, never `..`), trimmed to MAX_NAME_BYTES; empty -> `fallback`.
    """
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = text.strip().lstrip("-.").strip()
    if not text:
        text = "".join(ch for ch in str(fallback) if ch.isalnum() or ch in "_-") or "download"
    encoded = text.encode("utf-8", "replace")
    if len(encoded) > MAX_NAME_BYTES:
        stem, dot, ext = text.rpartition(".")
        keep = ("." + ext) if dot and stem and len(ext.encode()) <= 16 else ""
        head = (stem if keep else text).encode()[: MAX_NAME_BYTES - len(keep.encode())]
        text = head.decode("utf-8", "ignore") + keep
    return text


def name_from_url(url: str) -> str:
    """The last path segment of a URL, unquoted (a name to start from when the API gives none)."""
    return unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])


def with_id(name: str, item_id: str) -> str:
    """`photo.png` -> `photo (ID).png`: the name of the second item of a run with the same name."""
    suffix = f" ({safe_name(item_id, 'x')})"
    stem, dot, ext = name.rpartition(".")
    if dot and stem:
        return f"{stem}{suffix}.{ext}"
    return name + suffix


class NamePicker:
    """Hands out the names of one run's downloads: two items with one name get ` (ID)` before the
    extension, so neither overwrites the other. Thread-safe (batch workers)."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self._lock = threading.Lock()

    def pick(self, name: str | None, item_id: str) -> str:
        base = safe_name(name, item_id)
        with self._lock:
            chosen = base if base.casefold() not in self._taken else with_id(base, item_id)
            self._taken.add(chosen.casefold())
            return chosen


def target_in(directory: Path, name: str) -> Path:
    """DIR/NAME, refused unless it is a direct child of DIR (belt and braces after safe_name)."""
    if name in ("", ".", "..") or "/" in name or "\x00" in name or (os.sep != "/" and os.sep in name):
        raise LocalError(f"refusing to write {name!r}: not a plain file name")
    target = directory / name
    if target.parent.resolve() != directory.resolve():
        raise LocalError(f"refusing to write {name!r} outside {directory}")
    return target


def prepare_dir(directory: Path) -> Path:
    """The download directory, made if missing; a clean exit-3 error when it cannot be."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LocalError(f"{directory}: cannot create the download directory: {exc.strerror or exc}") from None
    if not directory.is_dir():
        raise LocalError(f"{directory} is not a directory")
    return directory


# -- the transfer -----------------------------------------------------------------------------------------


@dataclass
class Received:
    """What a download left on disk. `skipped` is a reason ("exists") when nothing was written."""

    path: Path
    size: int
    sha256: str | None
    skipped: str | None = None

    def local(self) -> dict:
        """The `local` object of a result row (the same shape as uploads')."""
        return {"path": os.fsdecode(self.path.absolute()), "size": self.size, "sha256": self.sha256}


def file_sha256(path: Path) -> tuple[int, str]:
    sha, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()


def download(client, url: str, target: Path, *, force: bool = False, progress: ProgressFn = no_progress,
             expected_size: int | None = None) -> Received:
    """Stream `url` to `target` (through `target.part`); see the module docstring for the guarantees.

    `client` is the provider's ApiClient: its credentials go with the request only when `url` is on
    base_url's host, and never after a redirect.
    """
    if not force and os.path.lexists(target):
        size = target.stat().st_size if target.exists() else 0
        return Received(target, size, None, skipped="exists")
    part = target.with_name(target.name + PART_SUFFIX)
    attempt = 0
    while True:
        try:
            size, sha = _fetch_once(client, url, part, progress, attempt)
            break
        except _Retry as retry:
            _remove(part)
            decision = retry.decision
            if not decision.retry:
                raise retry.error from None
            progress(-retry.received)
            if client.rt.verbose >= 1:
                client._log(f"  retrying in {decision.wait:.1f}s ({retry.why})")
            time.sleep(decision.wait)
            attempt += 1
        except BaseException:
            _remove(part)  # Ctrl-C, a full disk, an error answer: nothing under either name
            raise
    if expected_size is not None and size != expected_size:
        _remove(part)
        raise TransientError(f"{_shown(client, url)}: got {size} bytes, the provider said {expected_size}",
                             provider=client.provider)
    try:
        _publish(part, target, force)
    except FileExistsError:
        _remove(part)
        return Received(target, target.stat().st_size, None, skipped="exists")
    return Received(target, size, sha)


def write_bytes(target: Path, data: bytes, *, force: bool = False, progress: ProgressFn = no_progress) -> Received:
    """A small document (a BitBadges page) written the way downloads are: `.part`, fsync, rename, never over
    an existing file without `force`."""
    if not force and os.path.lexists(target):
        return Received(target, target.stat().st_size if target.exists() else 0, None, skipped="exists")
    part = target.with_name(target.name + PART_SUFFIX)
    try:
        with _open_part(part) as out:
            _write_all(out, data, part)
            os.fsync(out.fileno())
        progress(len(data))
        _publish(part, target, force)
    except FileExistsError:
        _remove(part)
        return Received(target, target.stat().st_size, None, skipped="exists")
    except BaseException:
        _remove(part)
        raise
    return Received(target, len(data), hashlib.sha256(data).hexdigest())


class _Retry(Exception):
    def __init__(self, error: MediactlError, decision, why: str, received: int = 0) -> None:
        super().__init__(error.message)
        self.error = error
        self.decision = decision
        self.why = why
        self.received = received


def remote_sha256(client, url: str) -> tuple[int, str]:
    """(size, SHA-256) of the bytes at `url`, streamed and hashed, nothing written (verify, sync)."""
    attempt = 0
    while True:
        try:
            return _fetch_once(client, url, None, no_progress, attempt)
        except _Retry as retry:
            if not retry.decision.retry:
                raise retry.error from None
            time.sleep(retry.decision.wait)
            attempt += 1


def _shown(client, url: str) -> str:
    return client.redactor.url(url)


def _fetch_once(client, url: str, part: Path | None, progress: ProgressFn, attempt: int) -> tuple[int, str]:
    """One attempt: GET (redirects by hand, credentials dropped at the first one), body to `part`."""
    from mediactl.http import (
        MAX_REDIRECTS,
        REDIRECT_STATUSES,
        HostLimiter,
        check_url_scheme,
        connection_error,
        socket_timeouts,
    )

    check_url_scheme(url, what="download URL")
    with_auth = client._same_host(url)
    current = url
    timeouts = socket_timeouts(client.timeout)
    for _ in range(MAX_REDIRECTS + 1):
        headers = {"Accept": "*/*", "Accept-Encoding": "identity"}
        if with_auth:
            headers.update(client.auth_headers)
        limiter = HostLimiter.for_url(current)
        limiter.wait_turn()
        client._log_request("GET", current, headers, "")
        started = time.monotonic()
        try:
            resp = client.session.get(current, headers=headers, stream=True, allow_redirects=False,
                                      timeout=timeouts)
        except requests.RequestException as exc:
            decision = client.policy.after_exception(exc, attempt=attempt, idempotent=True)
            raise _Retry(connection_error(exc, current, client.provider), decision, type(exc).__name__) from None
        limiter.answered()
        _log_head(client, resp, time.monotonic() - started)
        if resp.status_code in REDIRECT_STATUSES and "Location" in resp.headers:
            current = urljoin(current, resp.headers["Location"])
            resp.close()
            check_url_scheme(current, what="redirect target")
            with_auth = False  # a redirect is followed without credentials, whatever host it names
            continue
        if resp.status_code != 200:
            _bounded_body(resp)
            decision = client.policy.after_response(resp, attempt=attempt, idempotent=True)
            error = client.error_for(resp, attempts=attempt + 1)
            if resp.status_code == 429 and decision.retry:
                limiter.pause(decision.wait)
            raise _Retry(error, decision, f"HTTP {resp.status_code}")
        return _write_body(client, resp, part, progress, attempt)
    raise RejectedError(f"too many redirects from {_shown(client, url)}", provider=client.provider)


def _log_head(client, resp: requests.Response, elapsed: float) -> None:
    """-v: the status line; -vv: the headers (the body is a file, never logged)."""
    if client.rt.verbose >= 1:
        client._log(f"< {resp.status_code} {resp.reason or ''} ({elapsed * 1000:.0f} ms)".rstrip())
    if client.rt.verbose >= 2:
        for k, v in client.redactor.headers(resp.headers).items():
            client._log(f"<   {k}: {v}")


def _bounded_body(resp: requests.Response) -> None:
    """Read at most MAX_ERROR_BODY bytes of an error answer, so the usual error parsing can look at it."""
    try:
        data = resp.raw.read(MAX_ERROR_BODY, decode_content=True) or b""
    except Exception:  # a connection lost while reading an error body: the status says enough
        data = b""
    resp._content = data
    setattr(resp, "_content_consumed", True)  # noqa: B010 - requests' own flag, not in its type stubs
    resp.close()


class _Discard:
    """Where the bytes go when only their hash is wanted."""

    def write(self, data) -> int:
        return len(data)

    def fileno(self) -> int:
        return -1

    def __enter__(self) -> _Discard:
        return self

    def __exit__(self, *exc) -> None:
        return None


def _open_part(part: Path | None):
    if part is None:
        return _Discard()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(part, flags, 0o666)
    except OSError as exc:
        raise LocalError(f"{part}: cannot write: {exc.strerror or exc}") from None
    return os.fdopen(fd, "wb", buffering=0)


class _HashingWriter:
    """Hashes and writes the received chunks on its own thread, so receiving, hashing and writing overlap
    (all three release the GIL). At most QUEUED chunks wait: memory stays bounded."""

    QUEUED = 8

    def __init__(self, out, part: Path | None) -> None:
        import queue

        self.out, self.part = out, part
        self.sha = hashlib.sha256()
        self.error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(self.QUEUED)
        self._thread = threading.Thread(target=self._run, name="download-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self.error is not None:
                continue  # drain, so the receiver never blocks on a full queue
            try:
                self.sha.update(chunk)
                _write_all(self.out, chunk, self.part)
            except BaseException as exc:
                self.error = exc

    def put(self, chunk: bytes) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put(chunk)

    def finish_quietly(self) -> None:
        """Stop the thread after a failure elsewhere (Ctrl-C, a bug); its own error does not matter then."""
        self.error = self.error or RuntimeError("abandoned")
        self._queue.put(None)
        self._thread.join()

    def finish(self) -> str:
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error
        return self.sha.hexdigest()


def _write_body(client, resp: requests.Response, part: Path | None, progress: ProgressFn,
                attempt: int) -> tuple[int, str]:
    declared = resp.headers.get("Content-Length")
    size = 0
    try:
        sink = _open_part(part)
    except LocalError:
        resp.close()
        raise
    try:
        with sink as out:
            writer = _HashingWriter(out, part)
            try:
                for chunk in resp.iter_content(CHUNK):
                    writer.put(chunk)
                    size += len(chunk)
                    progress(len(chunk))
            except (requests.RequestException, ConnectionError) as exc:  # the body's connection, not the disk
                writer.finish()
                decision = client.policy.after_exception(
                    exc if isinstance(exc, requests.RequestException) else requests.ConnectionError(exc),
                    attempt=attempt, idempotent=True)
                error = TransientError(f"the connection to {urlsplit(resp.url).netloc} was lost after {size} "
                                       "bytes of the download", provider=client.provider)
                raise _Retry(error, decision, type(exc).__name__, size) from None
            except BaseException:
                writer.finish_quietly()
                raise
            sha = writer.finish()
            if declared is not None and declared.isdigit() and int(declared) != size:
                error = TransientError(f"the download from {urlsplit(resp.url).netloc} ended after {size} of "
                                       f"{declared} bytes", provider=client.provider)
                decision = client.policy.after_exception(requests.ConnectionError("short body"),
                                                         attempt=attempt, idempotent=True)
                raise _Retry(error, decision, "short body", size)
            try:
                if part is not None:
                    os.fsync(out.fileno())
            except OSError as exc:
                raise LocalError(f"{part}: cannot write: {exc.strerror or exc}") from None
    finally:
        resp.close()
    return size, sha


def _write_all(out, chunk: bytes, part: Path | None) -> None:
    view = memoryview(chunk)
    while view:
        try:
            written = out.write(view)
        except OSError as exc:
            raise LocalError(f"{part}: cannot write: {exc.strerror or exc}") from None
        view = view[written:]


def _publish(part: Path, target: Path, force: bool) -> None:
    """Give the finished `.part` its final name: atomically; without `force`, never over an existing file
    (a hard link fails if the name is taken; where links are not supported, an existence check)."""
    if force:
        os.replace(part, target)
    else:
        try:
            os.link(part, target, follow_symlinks=False)
        except FileExistsError:
            raise
        except OSError:
            if os.path.lexists(target):
                raise FileExistsError(str(target)) from None
            os.replace(part, target)
        else:
            os.unlink(part)
    _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
