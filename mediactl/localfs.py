"""Local problems as exit-3 errors that name the path and say what to do (README "Troubleshooting").

A full disk, a read-only or missing data dir, a data dir path that is a file, a journal that is damaged or
is a directory: none of them is a bug in mediactl, so none may end in "internal error". `local_error`
turns the OSError or sqlite3 error behind each into a LocalError; the error boundary asks it before
calling anything a bug. `open_journal` opens the journal read-only when the data dir cannot be written,
so the commands that only read it (`history`, `--dry-run`) work there.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path
from typing import TypeVar

from mediactl.errors import LocalError

J = TypeVar("J")

JOURNAL_FILE = "journal.sqlite3"


def _data_dir_hint(data_dir: Path) -> str:
    return f"or point MEDIACTL_DATA_DIR at a directory you can write (now {data_dir})"


def disk_full(path: Path | str, data_dir: Path | None = None) -> LocalError:
    where = f"; {_data_dir_hint(data_dir)}" if data_dir is not None else ""
    return LocalError(f"no space left on the device of {path}", hint=f"free some space{where}")


def journal_problem(exc: sqlite3.Error, data_dir: Path) -> LocalError:
    """The journal's own failures: damaged, a directory, read-only, full."""
    path = data_dir / JOURNAL_FILE
    text = str(exc)
    lowered = text.lower()
    if "full" in lowered or (getattr(exc, "sqlite_errorname", "").startswith("SQLITE_IOERR")
                             and _nearly_full(data_dir)):
        return disk_full(path, data_dir)
    if "readonly" in lowered or "read-only" in lowered:
        return LocalError(f"the upload journal {path} is read-only: cannot record uploads",
                          hint=f"make {data_dir} writable, {_data_dir_hint(data_dir)}; `history` and --dry-run "
                               "work on a read-only journal")
    if path.is_dir():
        return LocalError(f"the upload journal {path} is a directory, not a file",
                          hint=f"move it away (mv {path} {path}.dir); mediactl then starts a new journal")
    if isinstance(exc, sqlite3.OperationalError) and "unable to open" in lowered:
        return LocalError(f"cannot open the upload journal {path}: {text}",
                          hint=f"check that {data_dir} is a directory you can write, {_data_dir_hint(data_dir)}")
    return LocalError(f"the upload journal {path} is damaged ({text})",
                      hint=f"move it aside (mv {path} {path}.broken); mediactl then starts a new journal, "
                           "without the old history")


def os_problem(exc: OSError, data_dir: Path | None) -> LocalError | None:
    """A file system failure with a path: the path, what happened, what to do."""
    path = exc.filename
    if exc.errno == errno.ENOSPC:
        return disk_full(path or (data_dir or "the data dir"), data_dir)
    if path is None:
        return None
    inside_data = data_dir is not None and _inside(Path(path), data_dir)
    hint = _data_dir_hint(data_dir) if inside_data and data_dir is not None else None
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        blocker = next((p for p in [Path(path), *Path(path).parents] if p.exists() and not p.is_dir()), None)
        if blocker is None:
            return None  # not a file in the way of a directory: something else, reported as it is
        return LocalError(f"{blocker} is a file, where mediactl needs a directory",
                          hint=f"move it away{', ' + hint if hint else ''}")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        what = "is on a read-only file system" if exc.errno == errno.EROFS else "is not writable (permission denied)"
        return LocalError(f"{path} {what}", hint=f"make it writable{', ' + hint if hint else ''}")
    if exc.errno == errno.EISDIR:
        return LocalError(f"{path} is a directory, where mediactl needs a file", hint="move it away")
    return None


def _nearly_full(folder: Path) -> bool:
    """Less than 64 KiB left (SQLite reports a full disk under WAL as an I/O error)."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False


def local_error(exc: BaseException, rt) -> LocalError | None:
    """The exit-3 error for `exc` when it is a local problem; None when it is not (then it is a bug)."""
    data_dir = _data_dir(rt)
    if isinstance(exc, sqlite3.Error) and data_dir is not None:
        return journal_problem(exc, data_dir)
    if isinstance(exc, OSError):
        return os_problem(exc, data_dir)
    return None


def _data_dir(rt) -> Path | None:
    try:
        return rt.data_dir
    except Exception:  # the environment itself is broken: no path to name
        return None


def writable_dir(folder: Path) -> bool:
    """Whether files can be created in `folder` (it exists, or can be made)."""
    if folder.is_dir():
        return os.access(folder, os.W_OK | os.X_OK) and not _read_only_fs(folder)
    parent = next((p for p in folder.parents if p.exists()), None)
    return parent is not None and parent.is_dir() and os.access(parent, os.W_OK | os.X_OK) \
        and not _read_only_fs(parent)


def _read_only_fs(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


SQLITE_MAGIC = b"SQLite format 3\0"


def check_journal_file(data_dir: Path) -> None:
    """Refuse a journal file that is not a database or is shorter than its header says (truncated): SQLite
    itself would answer some queries from what is left and fail on others, or show empty rows."""
    path = data_dir / JOURNAL_FILE
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
            size = os.fstat(fh.fileno()).st_size
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
        return  # nothing there yet, or not a file: opening it says what is wrong
    if not header:
        return  # empty: SQLite makes it a new database
    wal = path.with_name(path.name + "-wal")
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise journal_problem(sqlite3.DatabaseError("file is not a database"), data_dir)
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    counter_valid = header[24:28] == header[92:96]  # the page count is only meaningful then
    if counter_valid and pages and size < pages * page_size and not _nonempty(wal):  # else the WAL has the rest
        raise journal_problem(sqlite3.DatabaseError(
            f"truncated: {size} of its {pages * page_size} bytes"), data_dir)


def _nonempty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def read_only_journal(data_dir: Path, journal_class: type[J]) -> J | None:
    """A journal (of `journal_class`, mediactl.journal.Journal) opened read-only when `data_dir` cannot be
    written (a read-only mount, no permission), so `history` and `--dry-run` work there; None when it can
    be written. A write to it is an exit-3 error naming the data dir (journal_problem)."""
    if writable_dir(data_dir):
        return None
    if data_dir.exists() and not data_dir.is_dir():
        return None  # a file where the data dir should be: Journal's mkdir reports it (os_problem)

    class ReadOnlyJournal(journal_class):  # type: ignore[valid-type,misc]
        def __init__(self, folder: Path) -> None:  # no mkdir, no lock file, no migration: nothing is written
            self._attach(folder)

        def _db(self) -> sqlite3.Connection:
            conn = getattr(self._local, "conn", None)
            if conn is None:
                if self.path.is_file():
                    from urllib.parse import quote

                    # immutable: no -shm/-wal files are made (they could not be); nothing writes here anyway
                    conn = sqlite3.connect(f"file:{quote(str(self.path))}?mode=ro&immutable=1", uri=True,
                                           isolation_level=None)
                else:  # no journal yet: an empty one, in memory
                    from mediactl.journal_migrations import migrate

                    conn = sqlite3.connect(":memory:", isolation_level=None)
                    migrate(conn, self.path)
                    conn.execute("PRAGMA query_only = 1")
                conn.row_factory = sqlite3.Row
                self._local.conn = conn
            return conn

        def _writer(self) -> sqlite3.Connection:  # writes go to the read-only connection, which refuses them
            return self._db()

    return ReadOnlyJournal(data_dir)
