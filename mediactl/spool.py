"""Spools: copies of stdin (`-`) and of pipes given by name (`<(cmd)`, `/dev/stdin`, a FIFO), because every
provider needs the length up front and a retried request reads the bytes again.

A spool lives in the data dir (`MEDIACTL_DATA_DIR/spool/`, mode 0600) for as long as the run that made it:
the error boundary removes it on every way out — success, failure, a refused name, Ctrl-C. A spool left by a
process that was killed outright is still used by `mediactl resume`, which then removes it too; once it is
gone, resume says that the bytes must be piped in again.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from mediactl.errors import LocalError
from mediactl.runtime import Runtime

FOLDER = "spool"
PREFIX = "stdin-"


def spool(rt: Runtime, source: BinaryIO, name: str) -> Path:
    """Copy `source` to a new spool file (with `name`'s extension, which some readers go by); the run
    owns it from before the first byte, so an interrupted copy is removed too."""
    folder = rt.data_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, filename = tempfile.mkstemp(prefix=PREFIX, suffix=Path(name).suffix, dir=folder)  # mode 0600
    path = Path(filename)
    rt.spools.append(path)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out, 1024 * 1024)
    except OSError as exc:
        if exc.errno != errno.ENOSPC or exc.filename not in (None, filename):
            raise
        from mediactl.localfs import disk_full

        path.unlink(missing_ok=True)
        error = disk_full(folder, rt.data_dir)
        error.message = f"cannot copy {name} from stdin: {error.message}"
        raise error from None
    return path


def remove_all(rt: Runtime) -> None:
    """Remove the run's spools (the error boundary calls this on every way out)."""
    while rt.spools:
        rt.spools.pop().unlink(missing_ok=True)


def is_spool(path: Path | str) -> bool:
    path = Path(path)
    return path.parent.name == FOLDER and path.name.startswith(PREFIX)


def reclaim(rt: Runtime, entry: dict) -> None:
    """Before resuming a journal entry: a spooled upload needs its spool, which the run then owns (and
    removes at its end). Says clearly when the bytes are gone."""
    path = Path(entry["path"])
    if not is_spool(path):
        return
    if not path.exists():
        raise LocalError(f"'{entry.get('name')}' was read from stdin and its bytes are gone (mediactl removes "
                         "its copy of stdin when the upload ends)",
                         hint=f"pipe them in again: ... | mediactl {entry['provider']} upload - --name "
                              f"'{entry.get('name')}'")
    rt.info(f"'{entry.get('name')}': using the copy of stdin left by an interrupted run")
    rt.spools.append(path)
