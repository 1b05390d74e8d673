"""Sending a file through a provider's own API: a raw PUT of the file or a range of it, and a JSON document
carrying the file's base64. Both return (response, digests) of the attempt the server answered. And the
parts of a multipart upload sent in parallel on one shared pool."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mediactl.http import ApiClient, Body, Redactor
from mediactl.runtime import ProgressFn, no_progress
from mediactl.transfer.bodies import (
    Base64JsonBody,
    FileSlice,
    Resendable,
    base64_length,
    json_envelope,
)
from mediactl.transfer.files import FileState, WholeFileSha256

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

T = TypeVar("T")


def send_base64_json(client: ApiClient, method: str, path: str, file: Path, document: dict,
                     content_path: Sequence[str], progress: ProgressFn = no_progress, **kwargs: Any):
    """Send `document` with the file's base64 at `content_path`, streamed; returns (response, digests)."""
    prefix, suffix = json_envelope(document, content_path)
    expected = FileState.at(file)
    attempts = Resendable(lambda p: Base64JsonBody(file, prefix, suffix, progress=p, expected=expected), progress)
    length = len(prefix) + base64_length(expected.size) + len(suffix)
    shown = Redactor().body(prefix + b"<base64 of %d bytes>" % expected.size + suffix)
    body = Body(attempts, length, "application/json", description=shown)
    resp = attempts.send(lambda: client.request(method, path, body=body, **kwargs))
    return resp, attempts.digests()


def put_file(client: ApiClient, path: str, file: Path, *, offset: int = 0, length: int | None = None,
             content_type: str = "application/octet-stream", progress: ProgressFn = no_progress,
             expected: FileState | None = None, whole: WholeFileSha256 | None = None, **kwargs: Any):
    """PUT a file, or `length` bytes of it from `offset`, streamed; returns (response, digests).

    `expected` is the file's state when the whole upload started (parts of one file share it); `whole`
    collects the whole file's SHA-256 from the parts as they are read (the part's own is then not computed).
    """
    expected = expected or FileState.at(file)
    length = expected.size - offset if length is None else min(length, expected.size - offset)

    def make(report: ProgressFn) -> FileSlice:
        return FileSlice(file, offset, length, progress=report, md5=False, expected=expected, whole=whole,
                         sha256=whole is None)

    attempts = Resendable(make, progress)
    body = Body(attempts, length, content_type)
    resp = attempts.send(lambda: client.request("PUT", path, body=body, idempotent=True, **kwargs))
    return resp, attempts.digests()


_part_pool: ThreadPoolExecutor | None = None
_part_pool_lock = threading.Lock()
PART_WORKERS = 16


def send_parts(send: Callable[[T], None], parts: Sequence[T], concurrency: int) -> None:
    """Call `send(part)` for every part, at most `concurrency` at once, on one process-wide pool: its threads
    (and the pooled connections each keeps) serve every file of a batch instead of starting afresh per file.
    After a failure no new part starts; the first error is raised once the parts in flight have ended."""
    global _part_pool
    if concurrency <= 1 or len(parts) <= 1:
        for part in parts:
            send(part)
        return
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait  # parts only: not for small files

    with _part_pool_lock:
        if _part_pool is None:
            _part_pool = ThreadPoolExecutor(max_workers=PART_WORKERS, thread_name_prefix="part")
        pool = _part_pool
    waiting = list(reversed(parts))
    running: set[Future] = set()
    error: BaseException | None = None
    while running or (waiting and error is None):
        while waiting and error is None and len(running) < concurrency:
            running.add(pool.submit(send, waiting.pop()))
        finished, running = wait(running, return_when=FIRST_COMPLETED)
        for future in finished:
            if future.exception() is not None and error is None:
                error = future.exception()
    if error is not None:
        raise error
