"""Local files as uploads see them: opening with exit-code-3 errors, digests, the `local` result object,
and the guard against a file that changes while it is being sent."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mediactl.errors import LocalError

CHUNK = 1024 * 1024


@dataclass
class Digests:
    size: int
    md5: str
    sha256: str


@dataclass(frozen=True)
class FileState:
    """What a file looked like when its upload started; any difference later means it changed."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileState:
        return cls(st.st_size, st.st_mtime_ns)

    @classmethod
    def at(cls, path: Path) -> FileState:
        """The file's state now; the usual failures are exit-code-3 errors that name the file."""
        with open_for_upload(path) as fh:
            return cls.of(os.fstat(fh.fileno()))


def file_changed(path: Path | str) -> LocalError:
    return LocalError(f"{path}: file changed during upload",
                      hint="upload it again once nothing is writing to it")


def check_unchanged(fh: BinaryIO, expected: FileState, path: Path | str) -> None:
    if FileState.of(os.fstat(fh.fileno())) != expected:
        raise file_changed(path)


def local_info(path: Path, size: int, sha256: str | None) -> dict:
    """The `local` object mediactl adds to upload results."""
    return {"path": os.fsdecode(Path(path).absolute()), "size": size, "sha256": sha256}


def open_for_upload(path: Path) -> BinaryIO:
    """Open a local file, turning the usual failures into exit-code-3 errors that name the file.

    The open is non-blocking and what fstat does not call a regular file is refused: a FIFO swapped in
    after the batch listed its files (or before a `resume`) cannot hang the run waiting for a writer.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise LocalError(f"{path}: no such file") from None
    except PermissionError:
        raise LocalError(f"{path}: permission denied (cannot read the file)") from None
    except OSError as exc:
        raise LocalError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise LocalError(f"{path} is a directory", hint="pass -r to upload a directory's files")
        if not stat.S_ISREG(mode):
            raise LocalError(f"{path}: a {special_kind(mode)}, not a regular file; not uploaded",
                             hint="a pipe is read only when named on the command line (it is copied first)")
        os.set_blocking(fd, True)  # a regular file never blocks; plain reads from here on
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def special_kind(mode: int) -> str:
    """What a file that is not regular is, in words."""
    for test, kind in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISSOCK, "socket")):
        if test(mode):
            return kind
    return "special file"


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


class WholeFileSha256:
    """The SHA-256 of a whole file sent as byte ranges (multipart parts), hashed on its own thread, without
    reading the file a second time when the ranges come in order.

    The parts' bodies `feed` what they read; bytes that arrive in file order are queued (the same bytes
    objects, no copy; at most QUEUED bytes, then `feed` waits) and hashed on this object's thread, so the
    readers only read and the hashing overlaps the sending, part boundaries included. Bytes sent out of
    order (parts in parallel) are read back by the same thread, only once they have been sent (so from the
    page cache) and while the other parts are still sending, so the hash is ready shortly after the last part.
    """

    QUEUED = 8 * CHUNK

    def __init__(self, path: Path, expected: FileState) -> None:
        self.path = path
        self.expected = expected
        self._sha = hashlib.sha256()  # touched by the hashing thread only
        self._queue: deque[bytes | memoryview] = deque()  # in-order bytes not hashed yet
        self._queued = 0  # their total length
        self._end = 0  # end of the bytes accepted in order (hashed or queued)
        self._sent: list[tuple[int, int]] = []  # ranges sent beyond _end, not accepted yet
        self._cond = threading.Condition()
        self._closed = False
        self._abandoned = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._hash, name="sha256", daemon=True)
        self._thread.start()

    def feed(self, offset: int, data: bytes) -> None:
        with self._cond:
            while self._queued >= self.QUEUED and not (self._abandoned or self._error):
                self._cond.wait()
            if self._abandoned or self._error:
                return
            if offset <= self._end < offset + len(data):
                piece = data if offset == self._end else memoryview(data)[self._end - offset:]
                self._queue.append(piece)
                self._queued += len(piece)
                self._end += len(piece)
            elif offset > self._end:
                self._sent.append((offset, offset + len(data)))
            self._cond.notify_all()

    def _readable_end(self) -> int:
        """How far beyond the accepted bytes the file has been sent contiguously."""
        end = self._end
        for start, stop in sorted(self._sent):
            if start > end:
                break
            end = max(end, stop)
        return end

    def _hash(self) -> None:
        fh: BinaryIO | None = None  # opened only to catch up on bytes that were not fed in order
        try:
            while True:
                with self._cond:
                    while not (self._closed or self._queue or self._readable_end() > self._end):
                        self._cond.wait()
                    if self._abandoned:
                        return
                    if self._queue:
                        piece = self._queue.popleft()
                        self._queued -= len(piece)
                        self._cond.notify_all()  # a feeder may wait for room
                    elif self._closed and self._end >= self.expected.size:
                        return
                    else:
                        piece = None
                        start = self._end
                        end = self._readable_end() if not self._closed else self.expected.size
                if piece is not None:
                    self._sha.update(piece)
                    continue
                fh = fh or open_for_upload(self.path)
                fh.seek(start)
                data = fh.read(min(CHUNK, end - start))
                if not data:
                    raise file_changed(self.path)
                with self._cond:
                    if self._end != start:  # a part fed these bytes meanwhile: they are queued
                        continue
                    self._end += len(data)
                    self._sent = [(a, b) for a, b in self._sent if b > self._end]
                self._sha.update(data)
        except BaseException as exc:  # handed to hexdigest()
            with self._cond:
                self._error = exc
                self._cond.notify_all()
        finally:
            if fh is not None:
                fh.close()

    def abandon(self) -> None:
        """Stop the hashing thread without finishing (the upload failed)."""
        with self._cond:
            self._closed = self._abandoned = True
            self._cond.notify_all()

    def hexdigest(self) -> str:
        """Wait for the thread to finish the file, then its SHA-256."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._sha.hexdigest()
