"""Request bodies: a file or a range of it, base64 of a file inside JSON, a multipart form with the file
last. Nothing here reads a whole file into memory.

Every body has an exact `len` before its first byte, hashes what it reads (MD5 and SHA-256), reports
progress, and exposes `digests()` (which fail unless every byte was read) and `close()`. A short read, or
a size or mtime that differs from when the upload started, raises "file changed during upload" (exit 3)
before the last byte goes out, so the server never receives a complete body.

`Chunks` hands a body to the HTTP client as an iterable of large chunks (http.client then writes each
with one `sendall`), produced a few chunks ahead on another thread, so reading and hashing overlap the
sending. `Resendable` makes a fresh body per attempt and takes back the progress a failed attempt
reported.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mediactl.errors import TransientError
from mediactl.runtime import ProgressFn, no_progress
from mediactl.transfer.files import (
    CHUNK,
    Digests,
    FileState,
    WholeFileSha256,
    check_unchanged,
    file_changed,
    open_for_upload,
)

try:  # SIMD-accelerated, same RFC 4648 output; the standard library's is the fallback
    from pybase64 import b64encode as _b64encode
except ImportError:  # pragma: no cover
    from base64 import b64encode as _b64encode  # type: ignore[assignment]

B64_CHUNK = 3 * 256 * 1024  # a multiple of 3, so chunks encode without padding until the last


class FileSlice:
    """A read-only view of `length` bytes of a file from `offset`, hashing and reporting as it is read.

    `expected` is the file's state when its upload started (default: when the slice is opened); a
    whole-file hash given as `whole` is fed the bytes with their offsets.
    """

    def __init__(self, path: Path, offset: int = 0, length: int | None = None,
                 progress: ProgressFn = no_progress, md5: bool = True, *, expected: FileState | None = None,
                 whole: WholeFileSha256 | None = None, sha256: bool = True) -> None:
        self.path = path
        self._fh = open_for_upload(path)
        try:
            if expected is None:
                expected = FileState.of(os.fstat(self._fh.fileno()))
            else:
                check_unchanged(self._fh, expected, path)
            length = expected.size - offset if length is None else min(length, expected.size - offset)
            if offset < 0 or length < 0:
                raise file_changed(path)
        except BaseException:
            self._fh.close()
            raise
        self.expected = expected
        self.offset = offset
        self.length = length
        self._fh.seek(offset)
        self._pos = 0
        self._progress = progress
        self._whole = whole
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 else None  # only S3 ETag checks need it
        self._sha = hashlib.sha256() if sha256 else None  # a part of a whole-file hash needs none of its own

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
        if len(data) < size:  # a regular file reads short only at its end: it shrank
            raise file_changed(self.path)
        check_unchanged(self._fh, self.expected, self.path)
        if self._whole is not None:
            self._whole.feed(self.offset + self._pos, data)
        self._pos += len(data)
        if self._md5 is not None:
            self._md5.update(data)
        if self._sha is not None:
            self._sha.update(data)
        self._progress(len(data))
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK):
            yield chunk

    def digests(self) -> Digests:
        if self._pos != self.length:
            raise TransientError(f"only {self._pos} of {self.length} bytes were read")
        try:
            now = FileState.of(os.stat(self.path))
        except OSError:
            now = None
        if now != self.expected:  # it grew, was touched or went away after the last read
            raise file_changed(self.path)
        return Digests(self.length, self._md5.hexdigest() if self._md5 is not None else "",
                       self._sha.hexdigest() if self._sha is not None else "")

    def close(self) -> None:
        self._fh.close()


# --- base64 inside JSON ---------------------------------------------------------------------------------

_SENTINEL = "\x00mediactl-content\x00"


def json_envelope(document: dict, content_path: Sequence[str]) -> tuple[bytes, bytes]:
    """Split `document` into the JSON before and after the base64 content at `content_path`.

    The envelope is ASCII-only JSON (`ensure_ascii`), so it stays valid whatever the file name holds:
    quotes, backslashes, any unicode, even undecodable bytes from the file system.
    """
    import json

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
    breaks.

    Iterating yields whole encoded chunks (what the HTTP client sends, with few calls); `read(n)` serves
    file-like callers from the current chunk without copying the rest of it.
    """

    def __init__(self, path: Path, prefix: bytes, suffix: bytes, progress: ProgressFn = no_progress,
                 chunk: int = B64_CHUNK, *, expected: FileState | None = None) -> None:
        if chunk % 3:
            raise ValueError("chunk must be a multiple of 3")
        self._src = FileSlice(path, progress=progress, md5=False, expected=expected)
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

    def __iter__(self) -> Iterator[bytes]:
        while piece := self._next_piece():
            self._sent += len(piece)
            yield piece

    def digests(self) -> Digests:
        return self._src.digests()

    def close(self) -> None:
        self._src.close()


# --- multipart/form-data with the file last ----------------------------------------------------------------


class MultipartFormBody:
    """`fields` in the given order, then the file as the last part, as multipart/form-data.

    The parts' headers are rendered by urllib3 (as requests and MultipartEncoder render them); the file's
    bytes go out in the file slice's large chunks.
    """

    def __init__(self, fields: Sequence[tuple[str, str]], name: str, filename: str, content_type: str,
                 file: FileSlice, boundary: str) -> None:
        from urllib3.fields import RequestField

        self.content_type = f"multipart/form-data; boundary={boundary}"
        delimiter = f"--{boundary}\r\n".encode()
        head = bytearray()
        for key, value in fields:
            field = RequestField(name=key, data=value)
            field.make_multipart()
            head += delimiter + field.render_headers().encode() + str(value).encode() + b"\r\n"
        part = RequestField(name=name, data=b"", filename=filename)
        part.make_multipart(content_type=content_type)
        head += delimiter + part.render_headers().encode()
        self._head = bytes(head)
        self._tail = f"\r\n--{boundary}--\r\n".encode()
        self._file = file
        self.total = len(self._head) + file.length + len(self._tail)
        self._sent = 0

    @property
    def len(self) -> int:
        return self.total - self._sent

    def __iter__(self) -> Iterator[bytes]:
        self._sent += len(self._head)
        yield self._head
        for piece in self._file:
            self._sent += len(piece)
            yield piece
        self._sent += len(self._tail)
        yield self._tail

    def digests(self) -> Digests:
        return self._file.digests()

    def close(self) -> None:
        self._file.close()


# --- handing bodies to the HTTP client ------------------------------------------------------------------------


class Chunks:
    """An iterable body with a length and no `read`, so the HTTP client sends our large chunks as they come
    instead of reading 8 KiB at a time. A body of PREFETCH_FROM bytes or more is produced a few chunks ahead
    on another thread, so reading, hashing and encoding overlap the sending (hashlib, file reads and sockets
    release the GIL)."""

    PREFETCH_FROM = 2 * 1024 * 1024

    def __init__(self, body) -> None:
        self.body = body
        self.len = body.len
        self._prefetch: _Prefetch | None = None

    def __iter__(self):
        if self.len < self.PREFETCH_FROM:
            return iter(self.body)
        self._prefetch = _Prefetch(iter(self.body))
        return iter(self._prefetch)

    def digests(self) -> Digests:
        return self.body.digests()

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


class Resendable:
    """The body factory of one logical request: a fresh `Chunks` body per attempt, the progress a failed
    attempt reported taken back, and the digests of the attempt the server answered."""

    def __init__(self, make: Callable[[ProgressFn], Any], progress: ProgressFn) -> None:
        self._make = make
        self._progress = progress
        self._last: Chunks | None = None
        self._reported = 0

    def _count(self, n: int) -> None:
        self._reported += n
        self._progress(n)

    def __call__(self) -> Chunks:
        if self._reported:
            self._progress(-self._reported)
            self._reported = 0
        self._last = Chunks(self._make(self._count))
        return self._last

    def digests(self) -> Digests:
        """The digests of the last attempt's body (an error unless it was sent to the end)."""
        if self._last is None:
            raise TransientError("the body was never sent")
        return self._last.digests()
