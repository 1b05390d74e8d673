"""Run leases in the journal (modelled on restic's repository locks): which process owns which entries.

Each run that uploads or resumes holds a lease: a row in the journal's `leases` table with its pid, host,
start time and a heartbeat refreshed every few seconds by a daemon thread. Every entry a run registers or
takes over carries its `run_id`. Another run (a `resume` from cron, a second pipeline) leaves the entries of
a live run alone; a lease is stale, and its entries are taken over, when its process is gone on this host or
its heartbeat is older than STALE_AFTER (a run on another machine sharing the data dir, or a frozen one).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator

from mediactl.journal import Journal, _now

HEARTBEAT_EVERY = 2.0  # seconds between heartbeats
STALE_AFTER = 30.0  # a heartbeat older than this: the run is taken for gone, wherever it ran


def this_host() -> str:
    return socket.gethostname()


def process_alive(pid: int) -> bool:
    """Whether `pid` is a running process on this host (a zombie, killed but not yet reaped, is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def lease_is_live(row: dict | None, now: float | None = None) -> bool:
    if row is None:
        return False
    now = time.time() if now is None else now
    if now - float(row["heartbeat"]) > STALE_AFTER:
        return False
    return row["host"] != this_host() or process_alive(int(row["pid"]))


class Lease:
    """This process's lease; `journal.run_id` names it while it is held."""

    def __init__(self, journal: Journal, command: str) -> None:
        self.journal = journal
        self.run_id = uuid.uuid4().hex[:16]
        self.command = command
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> Lease:
        self.journal._execute(
            "INSERT INTO leases (run_id, pid, host, command, started_at, heartbeat) VALUES (?, ?, ?, ?, ?, ?)",
            (self.run_id, os.getpid(), this_host(), self.command, _now(), time.time()))
        self.journal.run_id = self.run_id
        self._thread = threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True)
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_EVERY):
            with contextlib.suppress(Exception):  # a missed beat is not fatal: the next one comes
                self.journal._execute("UPDATE leases SET heartbeat = ? WHERE run_id = ?", (time.time(), self.run_id))

    def release(self) -> None:
        self._stop.set()
        with contextlib.suppress(Exception):
            self.journal._execute("DELETE FROM leases WHERE run_id = ?", (self.run_id,))
        if self.journal.run_id == self.run_id:
            self.journal.run_id = None


def live_checker(journal: Journal):
    """`live(run_id) -> bool` for other runs' leases, cached briefly (a batch asks for many entries)."""
    cache: dict[str, tuple[float, bool]] = {}

    def live(run_id: str | None) -> bool:
        if not run_id:
            return False
        if run_id == journal.run_id:
            return True
        now = time.monotonic()
        hit = cache.get(run_id)
        if hit is not None and now - hit[0] < 1.0:
            return hit[1]
        row = journal._execute("SELECT * FROM leases WHERE run_id = ?", (run_id,)).fetchone()
        answer = lease_is_live(dict(row) if row is not None else None)
        cache[run_id] = (now, answer)
        return answer

    return live


@contextlib.contextmanager
def holding(journal: Journal, command: str | None = None) -> Iterator[Lease]:
    """Hold a lease for the duration of a batch (a nested batch, e.g. the second pass, reuses it)."""
    if journal.run_id is not None:
        yield None  # type: ignore[misc]
        return
    lease = Lease(journal, command or " ".join(sys.argv[1:3]) or "mediactl").acquire()
    try:
        yield lease
    finally:
        lease.release()


def drop_dead_leases(journal: Journal) -> None:
    """Forget leases whose runs are gone (their entries keep the run id; it no longer protects them)."""
    rows = [dict(r) for r in journal._execute("SELECT * FROM leases").fetchall()]
    for row in rows:
        if not lease_is_live(row):
            journal._execute("DELETE FROM leases WHERE run_id = ?", (row["run_id"],))


WAIT_POLL = 0.2  # seconds between looks at another run's entry while waiting for its outcome
IN_HAND = ("pending", "sending", "created", "sent", "failed", "interrupted")  # phases a live run may still change


def claim_or_wait(journal: Journal, entry: str, *, provider: str, target: str, name: str, path,
                  sha256: str | None) -> bool:
    """--skip-existing meets a file: claim it for this run (False: go on and upload it), or, when another
    live run has the same file in hand on the same target, wait for that run's outcome (True: look again,
    the journal now says whether it landed). A run that dies meanwhile stops the wait: its entry is stale."""
    live = live_checker(journal)
    other = journal.claim(entry, provider=provider, target=target, name=name, path=path, sha256=sha256, live=live)
    if other is None:
        return False
    while True:
        row = journal.entry(other["id"])
        # a failed entry is still that run's while it lives: its second pass may send it again
        if row is None or row["phase"] not in IN_HAND or not live(row["run_id"]):
            return True
        time.sleep(WAIT_POLL)
