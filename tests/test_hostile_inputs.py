"""Inputs that change under a run or cannot be read (issue 25): a FIFO swapped in after the batch listed
its files (and before a `resume`), a directory `-r` cannot list, a file the dry run and the real run must
agree about, and an empty --files-from list. Permissions are tested in a process without root's DAC
override (setpriv), since root reads everything. Each run must end (no hang), with the documented exit code
and one line per failure."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.test_hostile_answers import one_error
from tests.test_hostile_config import RUNNER, restricted

MEDIACTL = [sys.executable, "-m", "mediactl"]


def community() -> str:
    return "c-" + uuid.uuid4().hex[:8]


def uploaded_names(sandbox, comm: str) -> list[str]:
    return sorted(f["name"] for f in sandbox.state()["otherpage"]["files"].values()
                  if f["communityId"] == comm and f.get("uploadedAt"))


def test_a_fifo_swapped_in_after_listing_does_not_hang_the_batch(sandbox_factory, tmp_path):
    server = sandbox_factory("--latency-ms", "300")
    folder = tmp_path / "dir"
    folder.mkdir()
    for name in ("f0.png", "f1.png"):
        (folder / name).write_bytes(os.urandom(500))
    comm = community()
    env = {**os.environ, **server.env, "MEDIACTL_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([*MEDIACTL, "--no-progress", "otherpage", "upload", "-r", str(folder), "-j", "1",
                             "--community", comm], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    journal = tmp_path / "data" / "journal.sqlite3"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # both files listed and registered: the batch has begun sending
        try:
            if sqlite3.connect(journal, timeout=5).execute("SELECT count(*) FROM uploads").fetchone()[0] == 2:
                break
        except sqlite3.Error:
            pass
        time.sleep(0.02)
    (folder / "f1.png").unlink()
    os.mkfifo(folder / "f1.png")  # nobody ever writes to it: a blocking open would wait forever
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 8, (out, err)
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "f1.png" in errors[0] and "FIFO" in errors[0], err
    assert uploaded_names(server, comm) == ["f0-png"]  # the emulator keeps slugs


def test_a_fifo_swapped_in_before_resume_does_not_hang_it(cli, sandbox, tmp_path):
    from mediactl.journal import Journal

    path = tmp_path / "late.png"
    path.write_bytes(os.urandom(500))
    entry = Journal(tmp_path / "data").register(provider="otherpage", profile="default", target=community(),
                                                path=path, name="late.png")  # as an interrupted batch leaves it
    path.unlink()
    os.mkfifo(path)
    proc = subprocess.run([*MEDIACTL, "resume"], env=os.environ.copy(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 8, proc
    assert "Traceback" not in proc.stderr and proc.stderr.count("error:") == 1, proc.stderr
    assert "late.png" in proc.stderr and "FIFO" in proc.stderr
    assert Journal(tmp_path / "data").entry(entry)["phase"] == "abandoned"


@pytest.fixture
def runner_home(sandbox):
    """A work dir, config and data dir that belong to the restricted runner, and the environment pointing at the
    sandbox."""
    work = Path(tempfile.mkdtemp(prefix="mediactl-restricted-"))
    work.chmod(0o755)
    for sub in ("cfg", "data", "files"):
        (work / sub).mkdir(mode=0o700)
    for root, dirs, _files in os.walk(work):
        for name in [root, *(os.path.join(root, d) for d in dirs)]:
            os.chown(name, RUNNER, RUNNER)
    env = {**os.environ, **sandbox.env, "MEDIACTL_CONFIG_DIR": str(work / "cfg"),
           "MEDIACTL_DATA_DIR": str(work / "data"), "HOME": str(work)}
    yield work, env
    subprocess.run(["chmod", "-R", "u+rwx", str(work)], check=False)
    subprocess.run(["rm", "-rf", str(work)], check=False)


def owned_file(path: Path, data: bytes, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chown(path.parent, RUNNER, RUNNER)
    path.write_bytes(data)
    os.chown(path, RUNNER, RUNNER)
    path.chmod(mode)
    return path


def test_recursive_upload_reports_a_directory_it_cannot_list(sandbox, runner_home):
    work, env = runner_home
    top = work / "files"
    owned_file(top / "a.png", os.urandom(400))
    owned_file(top / "locked" / "b.png", os.urandom(400))
    (top / "locked").chmod(0o000)
    comm = community()
    proc = restricted(["--no-progress", "otherpage", "upload", "-r", str(top), "--community", comm], env)
    assert proc.returncode == 8, proc  # the others were uploaded
    assert "Traceback" not in proc.stderr
    assert f"warning: cannot list {top / 'locked'}: permission denied" in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(top / "locked") in errors[0], proc.stderr
    assert uploaded_names(sandbox, comm) == ["a-png"]
    alone = restricted(["--no-progress", "otherpage", "upload", "-r", str(top / "locked"), "--community", comm], env)
    assert alone.returncode == 3, alone  # nothing could be uploaded
    assert f"cannot list {top / 'locked'}" in alone.stderr and "Traceback" not in alone.stderr
    assert uploaded_names(sandbox, comm) == ["a-png"]


PAGE = {"metadata": {"name": "Page", "description": "d", "image": "https://example.com/x.png"}, "content": [],
        "links": [], "type": "utility", "visibility": "public", "categories": []}


def test_dry_run_and_real_run_agree_about_an_unreadable_file(sandbox, runner_home):
    work, env = runner_home
    name = "agree-" + uuid.uuid4().hex[:6]
    good = owned_file(work / "files" / "good.json", json.dumps({**PAGE, "metadata": {**PAGE["metadata"],
                                                                                     "name": name}}).encode())
    bad = owned_file(work / "files" / "bad.json", json.dumps(PAGE).encode(), mode=0o000)
    plan = restricted(["-o", "json", "bitbadges", "upload", str(good), str(bad), "--dry-run"], env)
    assert plan.returncode == 0, plan
    actions = {Path(row["local"]["path"]).name: row["action"] for row in json.loads(plan.stdout)}
    assert actions == {"good.json": "upload", "bad.json": "refuse"}
    real = restricted(["-o", "json", "--no-progress", "bitbadges", "upload", str(good), str(bad)], env)
    assert real.returncode == 8, real  # as planned: the readable one is sent, the unreadable one refused
    assert "Traceback" not in real.stderr
    errors = [line for line in real.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "bad.json" in errors[0] and "permission denied" in errors[0], real.stderr
    pages = sandbox.state()["bitbadges"]["pages"].values()
    assert [p for p in pages if json.dumps(p).count(name)], "good.json was not created"


def test_an_empty_files_from_list_is_nothing_to_upload(cli, sandbox, tmp_path):
    (tmp_path / "changed.txt").write_text("")
    run = cli("-o", "json", "otherpage", "upload", "--files-from", str(tmp_path / "changed.txt"),
              "--community", community())
    assert run.code == 0, run
    assert json.loads(run.stdout) == [] and "nothing to upload" in run.stderr and "error" not in run.stderr
    script = (f"set -euo pipefail\n: > changed.txt\n{' '.join(MEDIACTL)} otherpage upload --files-from changed.txt "
              f"--community {community()}\necho ci-step-passed\n")  # the README's CI pattern, nothing changed
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "ci-step-passed" in proc.stdout, proc
    one_error(cli("otherpage", "upload", "--community", community()), 2, "no files given")


def test_a_page_document_nested_100000_deep_is_exit_3(cli, sandbox, tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text('{"metadata": ' + "[" * 100_000 + "]" * 100_000 + "}")
    before = len(sandbox.state()["bitbadges"]["pages"])
    for args in (["bitbadges", "upload", str(deep)], ["bitbadges", "upload", str(deep), "--dry-run"]):
        run = cli(*args)
        if "--dry-run" in args:  # the plan shows it refused, and exits 0 like every plan
            assert run.code == 0 and "nested too deep" in run.stdout, run
        else:
            one_error(run, 3, "deep.json", "nested too deep")
    assert len(sandbox.state()["bitbadges"]["pages"]) == before
