"""Run leases (issue 24): which runs count as live, and `resume` taking over the entries of a run on another
machine whose heartbeat went stale while leaving those of a fresh one alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from mediactl.journal import Journal
from mediactl.leases import STALE_AFTER, lease_is_live, process_alive, this_host


def lease_row(**changes) -> dict:
    return {"run_id": "r1", "pid": os.getpid(), "host": this_host(), "heartbeat": time.time(), **changes}


def test_a_lease_is_live_while_its_process_runs_and_its_heartbeat_is_fresh():
    assert lease_is_live(lease_row())
    assert not lease_is_live(None)
    assert not lease_is_live(lease_row(heartbeat=time.time() - STALE_AFTER - 1))  # frozen, or pid reused
    assert lease_is_live(lease_row(host="another-machine", pid=1))  # cannot be looked at: the heartbeat decides
    assert not lease_is_live(lease_row(host="another-machine", heartbeat=time.time() - STALE_AFTER - 1))


def test_a_killed_process_is_gone_even_before_it_is_reaped():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert process_alive(child.pid)
    child.kill()
    deadline = time.monotonic() + 10
    while process_alive(child.pid) and time.monotonic() < deadline:  # a zombie until waited for
        time.sleep(0.01)
    assert not process_alive(child.pid)
    child.wait()


def _entry_owned_by(journal: Journal, path: Path, run_id: str, host: str, heartbeat: float) -> str:
    journal._execute("INSERT INTO leases (run_id, pid, host, command, started_at, heartbeat) VALUES "
                     "(?, 1, ?, 'nationbuilder upload', '2026-01-01T00:00:00Z', ?)", (run_id, host, heartbeat))
    journal.run_id = run_id
    [entry] = journal.register_all([dict(provider="nationbuilder", profile="default", target="s/leases",
                                         path=path, name=path.name)])
    journal.run_id = None
    return entry


def test_resume_takes_over_a_stale_run_and_leaves_a_fresh_one_alone(cli, sandbox, tmp_path):
    journal = Journal(tmp_path / "data")
    stale, fresh = tmp_path / "stale.txt", tmp_path / "fresh.txt"
    stale.write_bytes(b"left by a machine that went away")
    fresh.write_bytes(b"being uploaded on another machine right now")
    _entry_owned_by(journal, stale, "gone", "another-machine", time.time() - STALE_AFTER - 5)
    _entry_owned_by(journal, fresh, "going", "another-machine", time.time())
    run = cli("-o", "json", "resume")
    assert run.code == 0, run
    assert [r["local"]["path"] for r in json.loads(run.stdout)] == [str(stale)]
    assert "1 upload left alone" in run.stderr
    names = [a["filename"] for a in sandbox.state()["nationbuilder"]["attachments"].values() if a["page"] == "leases"]
    assert names == ["stale.txt"]
    phases = {Path(e["path"]).name: e["phase"] for e in journal.list()}
    assert phases == {"stale.txt": "completed", "fresh.txt": "pending"}
