"""Hostile local conditions (issue 19): pipes that close, non-regular inputs, spooled stdin, the same file
twice, a journal gone stale, and one contract for `show` and `history`. Real subprocesses where the shell
or the kernel is the point (closed pipes, FIFOs), the in-process CLI elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

MEDIACTL = [sys.executable, "-m", "mediactl"]


def community() -> str:
    return "c-" + uuid.uuid4().hex[:8]


def make_files(folder: Path, count: int, ext: str = "png") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        path = folder / f"f{n:02d}.{ext}"
        path.write_bytes(os.urandom(300) + str(n).encode())
        paths.append(path)
    return paths


def bash(script: str, *, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """Run a script under `set -euo pipefail`, `mediactl` being this checkout's CLI."""
    prelude = f"set -euo pipefail\nmediactl() {{ {' '.join(MEDIACTL)} \"$@\"; }}\n"
    return subprocess.run(["bash", "-c", prelude + script], cwd=cwd, input=stdin, capture_output=True,
                          timeout=120)


def phases(cli, provider: str) -> dict[str, int]:
    run = cli("-o", "json", "history", "--provider", provider, "--limit", "500")
    assert run.code == 0, run
    counts: dict[str, int] = {}
    for row in json.loads(run.stdout):
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return counts


# --- 2. a closed stdout --------------------------------------------------------------------------------


def test_upload_batch_piped_into_head_uploads_everything_and_exits_0(cli, sandbox, tmp_path):
    make_files(tmp_path / "dir", 30)
    comm = community()
    run = bash(f"mediactl otherpage upload -r dir/ -j 1 -o jsonl --community {comm} | head -n1", cwd=tmp_path)
    assert run.returncode == 0, run
    assert b"internal error" not in run.stderr and b"BrokenPipe" not in run.stderr, run.stderr
    assert json.loads(run.stdout)["provider"] == "otherpage"
    assert phases(cli, "otherpage") == {"completed": 30}
    files = [f for f in sandbox.state()["otherpage"]["files"].values() if f["communityId"] == comm]
    assert len(files) == 30 and all(f["uploadedAt"] for f in files)


def test_upload_batch_exit_code_reflects_the_uploads_not_the_pipe(cli, sandbox, tmp_path, monkeypatch):
    for n in range(6):  # three small files, three over max_size
        make_files(tmp_path / "dir", 0)
        (tmp_path / "dir" / f"f{n}.png").write_bytes(os.urandom(100 if n % 2 else 1000))
    monkeypatch.setenv("MEDIACTL_OTHERPAGE_MAX_SIZE", "500")
    proc = subprocess.Popen([*MEDIACTL, "-q", "otherpage", "upload", "-r", "dir/", "-j", "1", "--community",
                             community()], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first result
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 8, err  # what the uploads say (some failed), not 0 (the pipe) and not 1
    assert b"internal error" not in err and err.count(b"over otherpage.max_size") == 3
    assert phases(cli, "otherpage") == {"completed": 3, "failed": 3}


def test_listing_whose_reader_goes_away_succeeds_under_pipefail(cli, sandbox, tmp_path):
    make_files(tmp_path / "dir", 20)
    assert cli("otherpage", "upload", "-r", str(tmp_path / "dir"), "--community", community()).code == 0
    for _ in range(5):
        run = bash('x=$(mediactl otherpage list -q | head -n1); echo "got $x"', cwd=tmp_path)
        assert run.returncode == 0, run
        assert run.stdout.startswith(b"got ") and len(run.stdout.strip()) > 4 and run.stderr == b"", run


def test_paged_listing_stops_quietly_when_its_reader_closes(cli, sandbox, tmp_path):
    """Deterministic: each row needs its own request, so the rows after the first meet a closed pipe."""
    make_files(tmp_path / "att", 5, ext="txt")
    page = "p-" + uuid.uuid4().hex[:8]
    assert cli("nationbuilder", "upload", "-r", str(tmp_path / "att"), "--page", page).code == 0
    for mode in ("jsonl", "plain", "json", "table"):
        proc = subprocess.Popen([*MEDIACTL, "-o", mode, "nationbuilder", "list", "--page", page, "--limit", "1",
                                 "--all"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if mode in ("jsonl", "plain"):
            assert proc.stdout.readline()
        proc.stdout.close()
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and err == b"", (mode, err)
