"""The record of the sandbox serving for a data dir, so `sandbox env` and `sandbox status` in another shell
find it without a restart.

The serving process writes `sandbox.json` in mediactl's data dir (mode 0600: it holds the sandbox's
credentials) once it listens, and removes it when it stops. A second sandbox started for the same data dir
while the first runs leaves the first's record alone (it says so), and a record whose process is gone, or
whose server does not answer, counts as no sandbox.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

RECORD_NAME = "sandbox.json"


@dataclass
class Instance:
    pid: int
    base_url: str
    env: dict[str, str]
    started_at: float
    state_dir: str | None  # the sandbox's own --data-dir, if any
    path: Path  # where this record lives


def record_path(data_dir: Path) -> Path:
    return data_dir / RECORD_NAME


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds the sandbox's credentials or pid), atomically: a
    reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# What the sandbox's exports are made of (URLs, url-safe tokens, slugs). `eval "$(mediactl sandbox env)"`
# runs them through a shell, so a record holding anything else (a shell metacharacter, a control character)
# is not one the sandbox wrote, and is refused.
EXPORT_NAME = re.compile(r"MEDIACTL_[A-Z0-9_]+")
EXPORT_VALUE = re.compile(r"[A-Za-z0-9._~:/\[\]@%+=-]*")


def _read(path: Path) -> Instance | None:
    try:
        raw = json.loads(path.read_text())
        found = Instance(pid=int(raw["pid"]), base_url=str(raw["base_url"]), env=dict(raw["env"]),
                         started_at=float(raw.get("started_at", 0)), state_dir=raw.get("state_dir"), path=path)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    values = [found.base_url, *found.env.values()]
    if not all(EXPORT_NAME.fullmatch(str(k)) for k in found.env) or \
            not all(isinstance(v, str) and EXPORT_VALUE.fullmatch(v) for v in values):
        return None
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, but not a sandbox of ours
        return False
    return True


def _answers(base_url: str) -> bool:
    """The recorded server answers its health check (a pid reused by another program does not)."""
    import requests

    try:
        return requests.get(base_url + "/_sandbox/health", timeout=3).json().get("ok") is True
    except (requests.RequestException, ValueError, AttributeError):
        return False


def find(data_dir: Path) -> Instance | None:
    """The sandbox running for this data dir, or None."""
    found = _read(record_path(data_dir))
    if found is None or not _alive(found.pid) or not _answers(found.base_url):
        return None
    return found


def publish(data_dir: Path, base_url: str, env: dict[str, str], state_dir: Path | None) -> Instance | None:
    """Record this process as the sandbox of `data_dir`. Returns the other live sandbox instead when one is
    already recorded there (its record is left alone)."""
    path = record_path(data_dir)
    other = _read(path)
    if other is not None and other.pid != os.getpid() and _alive(other.pid) and _answers(other.base_url):
        return other
    record = {"pid": os.getpid(), "base_url": base_url, "env": env, "started_at": time.time(),
              "state_dir": str(state_dir) if state_dir else None}
    write_private(path, json.dumps(record, indent=1) + "\n")
    return None


def withdraw(data_dir: Path) -> None:
    """Remove the record if it is this process's (a stopping sandbox never removes another one's)."""
    path = record_path(data_dir)
    mine = _read(path)
    if mine is not None and mine.pid == os.getpid():
        path.unlink(missing_ok=True)
