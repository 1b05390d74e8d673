"""Phase 2 of every upload: the bytes. Nothing here reads a whole file into memory.

- `presigned_post`: multipart/form-data to an S3 presigned POST form, fields in the given order and the
  file last, streamed by requests-toolbelt's MultipartEncoder with an exact Content-Length, through a
  client that carries no provider credentials.
- `Base64JsonBody`: `prefix + base64(file) + suffix` produced lazily (NationBuilder's attachment body).
- `FileSlice`: a file or a byte range of it, for raw PUTs and multipart parts.

Every reader hashes (MD5 and SHA-256) as it streams and reports progress, so no second read is needed.
A retried request gets a fresh reader, and the progress it had reported is taken back.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from mediactl.errors import LocalError, RejectedError, TransientError
from mediactl.http import ApiClient, Body, Redactor
from mediactl.runtime import Runtime

try:  # SIMD-accelerated, same RFC 4648 output; the standard library's is the fallback
    from pybase64 import b64encode as _b64encode
except ImportError:  # pragma: no cover
    from base64 import b64encode as _b64encode

ProgressFn = Callable[[int], None]
CHUNK = 1024 * 1024
B64_CHUNK = 3 * 256 * 1024  # a multiple of 3, so chunks encode without padding until the last


def _noop(_: int) -> None:
    return None


@dataclass
class Digests:
    size: int
    md5: str
    sha256: str


def local_info(path: Path, size: int, sha256: str | None) -> dict:
    """The `local` object mediactl adds to upload results."""
    return {"path": os.fsdecode(Path(path).absolute()), "size": size, "sha256": sha256}


def open_for_upload(path: Path) -> BinaryIO:
    """Open a local file, turning the usual failures into exit-code-3 errors that name the file."""
    try:
        if path.is_dir():
            raise LocalError(f"{path} is a directory", hint="pass -r to upload a directory's files")
        return open(path, "rb")
    except FileNotFoundError:
        raise LocalError(f"{path}: no such file") from None
    except PermissionError:
        raise LocalError(f"{path}: permission denied (cannot read the file)") from None
    except OSError as exc:
        raise LocalError(f"{path}: cannot read: {exc.strerror}") from None


def file_digests(path: Path) -> Digests:
    """Hash a file in chunks (used where the hash is needed before sending, e.g. --skip-existing)."""
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    size = 0
    with open_for_upload(path) as fh:
        while chunk := fh.read(CHUNK):
            md5.update(chunk)
            sha.update(chunk)
            size += len(chunk)
    return Digests(size, md5.hexdigest(), sha.hexdigest())


class _Attempts:
    """Hands out a fresh reader per attempt and takes back the progress a failed attempt reported."""

    def __init__(self, make: Callable[[ProgressFn], Any], progress: ProgressFn) -> None:
        self.make = make
        self.progress = progress
        self.current: Any = None
        self.reported = 0

    def _count(self, n: int) -> None:
        self.reported += n
        self.progress(n)

    def __call__(self) -> Any:
        if self.reported:
            self.progress(-self.reported)
            self.reported = 0
        self.current = self.make(self._count)
        return self.current


class FileSlice:
    """A read-only view of `length` bytes of a file from `offset`, hashing and reporting as it is read.

    Has `len` and `tell()` so requests and MultipartEncoder send an exact Content-Length.
    """

    def __init__(self, path: Path, offset: int = 0, length: int | None = None,
                 progress: ProgressFn = _noop, md5: bool = True) -> None:
        self._fh = open_for_upload(path)
        size = os.fstat(self._fh.fileno()).st_size
        self.offset = offset
        self.length = size - offset if length is None else min(length, size - offset)
        self._fh.seek(offset)
        self._pos = 0
        self._progress = progress
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 else None  # only S3 ETag checks need it
        self._sha = hashlib.sha256()

    @property
    def len(self) -> int:
        return self.length - self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        remaining = self.length - self._pos
        if remaining <= 0:
            return b""
        size = remaining if size is None or size < 0 else min(size, remaining)
        data = self._fh.read(size)
        if data:
            self._pos += len(data)
            if self._md5 is not None:
                self._md5.update(data)
            self._sha.update(data)
            self._progress(len(data))
        return data

    def __iter__(self):
        while chunk := self.read(CHUNK):
            yield chunk

    def digests(self) -> Digests:
        if self._pos != self.length:
            raise TransientError(f"only {self._pos} of {self.length} bytes were read")
        return Digests(self.length, self._md5.hexdigest() if self._md5 is not None else "", self._sha.hexdigest())

    def close(self) -> None:
        self._fh.close()


# --- base64 inside JSON ---------------------------------------------------------------------------------

_SENTINEL = "\x00mediactl-content\x00"


def json_envelope(document: dict, content_path: Sequence[str]) -> tuple[bytes, bytes]:
    """Split `document` into the JSON before and after the base64 content at `content_path`.

    The envelope is ASCII-only JSON (`ensure_ascii`), so it stays valid whatever the file name holds:
    quotes, backslashes, any unicode, even undecodable bytes from the file system.
    """
    doc = json.loads(json.dumps(document))
    target = doc
    for key in content_path[:-1]:
        target = target[key]
    target[content_path[-1]] = _SENTINEL
    text = json.dumps(doc, ensure_ascii=True, separators=(",", ":"))
    marker = json.dumps(_SENTINEL, ensure_ascii=True)
    prefix, suffix = text.split(marker)
    return (prefix + '"').encode("ascii"), ('"' + suffix).encode("ascii")


def base64_length(n: int) -> int:
    return 4 * ((n + 2) // 3)


class Base64JsonBody:
    """A body yielding `prefix + base64(file) + suffix` lazily, RFC 4648 standard alphabet, padded, no line
    breaks; `len` is exact before the first byte is read.

    Iterating yields whole encoded chunks (what the HTTP client sends, with few calls); `read(n)` serves
    file-like callers from the current chunk without copying the rest of it.
    """

    def __init__(self, path: Path, prefix: bytes, suffix: bytes, progress: ProgressFn = _noop,
                 chunk: int = B64_CHUNK) -> None:
        if chunk % 3:
            raise ValueError("chunk must be a multiple of 3")
        self._src = FileSlice(path, progress=progress, md5=False)
        self.size = self._src.length
        self.total = len(prefix) + base64_length(self.size) + len(suffix)
        self._pieces = self._generate(prefix, suffix, chunk)
        self._cur = b""
        self._off = 0
        self._sent = 0

    @property
    def len(self) -> int:
        return self.total - self._sent

    def tell(self) -> int:
        return self._sent

    def _generate(self, prefix: bytes, suffix: bytes, chunk: int):
        yield prefix
        while raw := self._src.read(chunk):
            while len(raw) % 3 and self._src.len:  # keep chunks a multiple of 3 until the end
                raw += self._src.read(3 - len(raw) % 3)
            yield _b64encode(raw)
        yield suffix

    def _next_piece(self) -> bytes:
        if self._off < len(self._cur):
            piece = self._cur[self._off:] if self._off else self._cur
        else:
            piece = next(self._pieces, b"")
        self._cur, self._off = b"", 0
        return piece

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            out = b"".join(iter(self._next_piece, b""))
            self._sent += len(out)
            return out
        parts, need = [], size
        while need:
            if self._off >= len(self._cur):
                self._cur, self._off = next(self._pieces, b""), 0
                if not self._cur:
                    break
            piece = self._cur[self._off:self._off + need]
            self._off += len(piece)
            need -= len(piece)
            parts.append(piece)
        out = b"".join(parts)
        self._sent += len(out)
        return out

    def __iter__(self):
        while piece := self._next_piece():
            self._sent += len(piece)
            yield piece

    def digests(self) -> Digests:
        return self._src.digests()

    def close(self) -> None:
        self._src.close()


class _Chunks:
    """An iterable body with a length and no `read`, so the HTTP client sends our large chunks as they come
    instead of reading 8 KiB at a time. A large body is produced a few chunks ahead on another thread, so
    reading, hashing and encoding overlap the sending (hashlib and sockets release the GIL)."""

    PREFETCH_FROM = 8 * 1024 * 1024

    def __init__(self, body) -> None:
        self.body = body
        self.len = body.len
        self._prefetch: _Prefetch | None = None

    def __iter__(self):
        if self.len < self.PREFETCH_FROM:
            return iter(self.body)
        self._prefetch = _Prefetch(iter(self.body))
        return iter(self._prefetch)

    def close(self) -> None:
        if self._prefetch is not None:
            self._prefetch.close()
        self.body.close()


_END = object()


class _Prefetch:
    """Runs an iterator on a daemon thread, at most `depth` items ahead of the consumer."""

    def __init__(self, source, depth: int = 4) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(source,), name="prefetch", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, source) -> None:
        try:
            for item in source:
                if not self._put(item):
                    return
            self._put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(exc)

    def __iter__(self):
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def send_base64_json(client: ApiClient, method: str, path: str, file: Path, document: dict,
                     content_path: Sequence[str], progress: ProgressFn = _noop, **kwargs: Any):
    """Send `document` with the file's base64 at `content_path`, streamed; returns (response, digests)."""
    prefix, suffix = json_envelope(document, content_path)
    attempts = _Attempts(lambda p: Base64JsonBody(file, prefix, suffix, progress=p), progress)
    size = os.stat(file).st_size
    length = len(prefix) + base64_length(size) + len(suffix)
    shown = Redactor().body(prefix + b"<base64 of %d bytes>" % size + suffix)
    body = Body(lambda: _Chunks(attempts()), length, "application/json", description=shown)
    resp = client.request(method, path, body=body, **kwargs)
    return resp, attempts.current.digests()


# --- raw PUT ---------------------------------------------------------------------------------------------


def put_file(client: ApiClient, path: str, file: Path, *, offset: int = 0, length: int | None = None,
             content_type: str = "application/octet-stream", progress: ProgressFn = _noop, **kwargs: Any):
    """PUT a file, or `length` bytes of it from `offset`, streamed; returns (response, digests)."""
    attempts = _Attempts(lambda p: FileSlice(file, offset, length, progress=p, md5=False), progress)
    probe = FileSlice(file, offset, length)
    probe.close()
    body = Body(lambda: _Chunks(attempts()), probe.length, content_type)
    resp = client.request("PUT", path, body=body, idempotent=True, **kwargs)
    return resp, attempts.current.digests()


# --- presigned S3 POST ------------------------------------------------------------------------------------

S3_FORM_SECRETS = ("policy", "x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature",
                   "awsaccesskeyid")


@dataclass
class PostResult:
    status: int
    location: str | None
    bucket: str | None
    key: str | None
    etag: str | None
    digests: Digests


def policy_expiration(fields: Sequence[tuple[str, str]]):
    """When a presigned form's policy expires (a timezone-aware datetime), or None if it cannot tell."""
    import datetime as dt

    value = next((v for k, v in fields if k.lower() == "policy"), None)
    if not value:
        return None
    try:
        expiration = json.loads(base64.b64decode(value))["expiration"]
        return dt.datetime.fromisoformat(expiration.replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError):
        return None


def s3_error(body: bytes | str) -> tuple[str, str] | None:
    """(Code, Message) of an S3 XML <Error>, or None when the body is not one."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    if root.tag.split("}")[-1] != "Error":
        return None

    def text(name: str) -> str:
        el = next((c for c in root if c.tag.split("}")[-1] == name), None)
        return (el.text or "").strip() if el is not None else ""

    return text("Code") or "Error", text("Message")


def _s3_message(resp) -> str:
    from mediactl.http import excerpt

    parsed = s3_error(resp.content)
    if parsed:
        code, message = parsed
        return f"{code}: {message}" if message else code
    return excerpt(resp.text) or f"HTTP {resp.status_code}"


def presigned_post(
    rt: Runtime,
    url: str,
    fields: Sequence[tuple[str, str]],
    file: Path,
    *,
    filename: str,
    content_type: str,
    progress: ProgressFn = _noop,
    provider: str | None = None,
    redactor: Redactor | None = None,
    check_etag: bool = True,
) -> PostResult:
    """POST `file` to a presigned S3 form; the same form is re-posted on 5xx and connection errors."""
    from requests_toolbelt import MultipartEncoder

    redactor = redactor or Redactor()
    for name, value in fields:
        if name.lower() in S3_FORM_SECRETS:
            redactor.add(value)
    # No provider credentials on this client: the form carries its own authorization.
    # S3 asks for a retry of any 5xx (InternalError included); re-posting the same form is safe.
    client = ApiClient(rt, provider=provider, base_url=url, redactor=redactor, error_message=_s3_message,
                       retry_statuses=frozenset({429, 500, 502, 503, 504}))
    boundary = uuid.uuid4().hex  # fixed across attempts, so Content-Type and Content-Length are too

    def make_encoder(report: ProgressFn) -> MultipartEncoder:
        part = FileSlice(file, progress=report)
        return MultipartEncoder(fields=[*fields, ("file", (filename, part, content_type))], boundary=boundary)

    attempts = _Attempts(make_encoder, progress)
    sizing = make_encoder(_noop)
    length = sizing.len
    sizing.fields[-1][1][1].close()
    described = "multipart form: " + ", ".join(
        f"{k}={'***' if k.lower() in S3_FORM_SECRETS else v}" for k, v in fields
    ) + f", file=<{filename}, {content_type}>"

    def close_current() -> None:
        if attempts.current is not None:
            attempts.current.fields[-1][1][1].close()

    body = Body(attempts, length, sizing.content_type, description=described)
    try:
        resp = client.request("POST", "", body=body, idempotent=True, ok=range(200, 500), send_auth=False,
                              headers={"Accept": "*/*"})
    finally:
        close_current()
    if resp.status_code not in (200, 201, 204):
        raise RejectedError(f"S3 rejected the upload: {redactor.text(_s3_message(resp))}",
                            status=resp.status_code, provider=provider)
    digests = attempts.current.fields[-1][1][1].digests()
    location = bucket = key = None
    etag = resp.headers.get("ETag")
    if resp.status_code == 201 and resp.content:
        try:
            root = ET.fromstring(resp.content)
        except ET.ParseError:
            raise TransientError(f"S3 answered 201 with a body that is not XML: {resp.text[:200]}",
                                 provider=provider) from None
        values = {c.tag.split("}")[-1]: (c.text or "") for c in root}
        location, bucket, key = values.get("Location"), values.get("Bucket"), values.get("Key")
        etag = values.get("ETag") or etag
    if etag:
        etag = etag.strip().strip('"')
    if check_etag and etag and "-" not in etag and etag != digests.md5:
        raise TransientError(
            f"checksum mismatch: S3 stored ETag {etag} but the file's MD5 is {digests.md5}",
            hint="the bytes were corrupted on the way; upload again", provider=provider,
        )
    return PostResult(resp.status_code, location, bucket, key, etag, digests)
