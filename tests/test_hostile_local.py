"""Hostile local conditions (issue 19): pipes that close, non-regular inputs, spooled stdin, the same file
twice, a journal gone stale, and one contract for `show` and `history`. Real subprocesses where the shell
or the kernel is the point (closed pipes, FIFOs), the in-process CLI elsewhere."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

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
    # refused before anything was sent: abandoned (outcome refused), nothing for a resume to send
    assert phases(cli, "otherpage") == {"completed": 3, "abandoned": 3}


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


# --- 3. non-regular inputs -----------------------------------------------------------------------------


def spools(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "data" / "spool"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_process_substitution_and_dev_stdin_are_read_like_stdin(sandbox, tmp_path):
    data = os.urandom(3000)
    (tmp_path / "a.png").write_bytes(data)
    comm = community()
    for script in (f"mediactl -o json otherpage upload <(cat a.png) --name a.png --community {comm}",
                   f"cat a.png | mediactl -o json otherpage upload /dev/stdin --name a.png --community {comm}",
                   "mediactl -o json nationbuilder upload /dev/stdin --name a.png --page pipes < <(cat a.png)"):
        run = bash(script, cwd=tmp_path)
        assert run.returncode == 0, (script, run)
        [result] = json.loads(run.stdout)
        assert result["local"]["size"] == len(data), script
    assert spools(tmp_path) == []
    run = bash(f"mediactl otherpage upload <(cat a.png) --community {comm}", cwd=tmp_path)
    assert run.returncode == 2 and b"pass --name" in run.stderr, run


def test_fifo_by_name_is_uploaded_and_in_a_directory_is_skipped(cli, sandbox, tmp_path):
    import threading

    folder = tmp_path / "dir"
    make_files(folder, 2)
    os.mkfifo(folder / "pipe.png")
    comm = community()
    # found by -r: skipped with a warning, nothing opened (a blocked open would hang here: the timeout)
    run = bash(f"mediactl -o json otherpage upload -r dir/ --community {comm}", cwd=tmp_path)
    assert run.returncode == 0, run
    assert b"skipping" in run.stderr and b"pipe.png: a FIFO" in run.stderr
    assert sorted(r["local"]["path"].rsplit("/", 1)[-1] for r in json.loads(run.stdout)) == ["f00.png", "f01.png"]
    # given by name: read like stdin, under its own name
    data = os.urandom(5000)
    writer = threading.Thread(target=lambda: (folder / "pipe.png").write_bytes(data))
    writer.start()
    run = cli("-o", "json", "otherpage", "upload", str(folder / "pipe.png"), "--community", comm)
    writer.join(10)
    assert run.code == 0, run
    [result] = json.loads(run.stdout)
    assert result["name"].startswith("pipe") and result["local"]["size"] == len(data)
    assert spools(tmp_path) == []


def test_special_files_and_symlinks_follow_the_documented_rule(cli, sandbox, tmp_path):
    folder = tmp_path / "tree"
    make_files(folder, 1)
    (folder / "link.png").symlink_to(folder / "f00.png")  # a link to a file: followed, but the same file
    (folder / "other.png").write_bytes(b"x" * 10)
    (folder / "alias.png").symlink_to(folder / "other.png")
    (folder / "broken.png").symlink_to(tmp_path / "nowhere.png")
    outside = tmp_path / "outside"
    make_files(outside, 1)
    (folder / "linked-dir").symlink_to(outside, target_is_directory=True)
    run = cli("-o", "json", "otherpage", "upload", "-r", str(folder), "--community", community())
    assert run.code == 0, run
    names = sorted(r["local"]["path"].rsplit("/", 1)[-1] for r in json.loads(run.stdout))
    assert names == ["alias.png", "f00.png"], names  # a link and its file are one file: uploaded once
    assert "other.png is the same file as" in run.stderr
    assert "broken.png: a broken symbolic link" in run.stderr
    assert "linked-dir: a symbolic link to a directory" in run.stderr
    run = cli("otherpage", "upload", "/dev/null", "--name", "x.png", "--community", community())
    assert run.code == 3 and "character device, not a regular file" in run.stderr, run


# --- 4. spooled stdin ----------------------------------------------------------------------------------


def test_refused_name_is_checked_before_stdin_is_copied(sandbox, tmp_path):
    # 30 MiB that is never read: the name is refused first, and nothing is left in the data dir
    run = bash("set +e; head -c 31457280 /dev/zero | mediactl otherpage upload - --name noextension "
               '--community c-1; echo "rc=${PIPESTATUS[1]} writer=${PIPESTATUS[0]}"', cwd=tmp_path)
    assert b"has no file extension" in run.stderr and b"rc=3" in run.stdout, run
    assert b"writer=141" in run.stdout, run  # head died of SIGPIPE: mediactl never read stdin
    assert spools(tmp_path) == []


def test_spool_lives_in_the_data_dir_and_is_removed_on_success_and_failure(cli, sandbox, tmp_path, monkeypatch):
    data = os.urandom(2000)
    run = cli("-o", "json", "nationbuilder", "upload", "-", "--page", "sp", "--name", "s.txt", input=data.hex())
    assert run.code == 0, run
    assert json.loads(run.stdout)[0]["local"]["path"].startswith(str(tmp_path / "data" / "spool"))
    assert spools(tmp_path) == []
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_MAX_SIZE", "10")  # refused after spooling, nothing sent
    run = cli("nationbuilder", "upload", "-", "--page", "sp", "--name", "s.txt", input=data.hex())
    assert run.code == 3, run
    assert spools(tmp_path) == []
    monkeypatch.delenv("MEDIACTL_NATIONBUILDER_MAX_SIZE")
    run = cli("resume", "--provider", "nationbuilder")  # refused: not something resume sends later
    assert run.code == 0 and "nothing to resume" in run.stderr, run
    base = sandbox.env["MEDIACTL_NATIONBUILDER_BASE_URL"]
    with socket.socket() as sock:  # a port nothing listens on: the upload fails after spooling
        sock.bind(("127.0.0.1", 0))
        monkeypatch.setenv("MEDIACTL_NATIONBUILDER_BASE_URL", f"http://127.0.0.1:{sock.getsockname()[1]}/api/v1")
    run = cli("nationbuilder", "upload", "-", "--page", "sp", "--name", "s.txt", "--retries", "0",
              input=data.hex())
    assert run.code != 0, run
    assert spools(tmp_path) == []
    # ... so a resume of that upload says clearly that the bytes are gone
    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_BASE_URL", base)
    run = cli("resume", "--provider", "nationbuilder")  # resume: 8 when something could not be finished
    assert run.code == 8 and "read from stdin and its bytes are gone" in run.stderr, run
    assert "| mediactl nationbuilder upload - --name 's.txt'" in run.stderr
    again = cli("resume", "--provider", "nationbuilder")  # said once: the entry is abandoned, not retried
    assert again.code == 0 and "nothing to resume" in again.stderr, again


def test_spool_removed_on_ctrl_c(sandbox_factory, tmp_path):
    import signal
    import time

    sandbox_factory("--latency-ms", "3000")
    proc = subprocess.Popen([*MEDIACTL, "nationbuilder", "upload", "-", "--page", "slow", "--name", "s.txt"],
                            cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write(os.urandom(5000))
    proc.stdin.close()
    for _ in range(200):  # wait for the spool to exist (the copy is done, the request under way)
        if spools(tmp_path):
            break
        time.sleep(0.05)
    assert spools(tmp_path), "no spool was made in the data dir"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    err = proc.stderr.read()
    assert proc.returncode == 130, err
    assert spools(tmp_path) == []


@pytest.mark.parametrize("signame, code", [("SIGTERM", 143), ("SIGHUP", 129), ("SIGINT", 130)])
def test_signal_while_stdin_is_copied_removes_the_copy(sandbox, tmp_path, signame, code):
    # stdin stays open, so the copy to the spool is under way (before any batch) when the signal lands: a
    # cancelled CI job must not leave a partial copy of its data behind, nor end by the signal unannounced
    import signal
    import time

    proc = subprocess.Popen([*MEDIACTL, "nationbuilder", "upload", "-", "--page", "p", "--name", "s.txt"],
                            cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write(os.urandom(5000))
    proc.stdin.flush()
    for _ in range(200):
        if spools(tmp_path):
            break
        time.sleep(0.05)
    assert spools(tmp_path), "no spool was made in the data dir"
    proc.send_signal(getattr(signal, signame))
    proc.wait(timeout=60)
    err = proc.stderr.read().decode()
    proc.stdin.close()
    assert proc.returncode == code, err
    assert err.splitlines()[-1] == "interrupted", err
    assert spools(tmp_path) == []


@pytest.mark.parametrize("stage", ["spooled", "spooled-twice", "cleanup", "weakref"])
def test_ctrl_c_at_an_exact_stage_exits_130_and_removes_the_spool(sandbox, tmp_path, stage):
    # tests/ctrl_c_at.py delivers it: just after the spool is made, from code run by exec() (CPython then
    # marks the process killed by Ctrl-C: `python -m` used to end by SIGINT, -2, after the summary); the
    # same with a second Ctrl-C at once; as the spools are removed after an upload that went well; inside a
    # weakref callback, where Python can only print it (the run then went on and exited 0)
    env = {**os.environ, "CTRL_C_AT": stage, "PYTHONPATH": str(Path(__file__).parent)}
    proc = subprocess.run([sys.executable, "-m", "ctrl_c_at", "nationbuilder", "upload", "-", "--page", "p-" + stage,
                           "--name", "s.txt"], cwd=tmp_path, input=os.urandom(3000), capture_output=True, env=env,
                          timeout=60)
    assert proc.returncode == 130, proc
    assert spools(tmp_path) == []
    if stage != "spooled-twice":  # the second Ctrl-C exits at once: no more words
        last = proc.stderr.decode().splitlines()[-1]  # `interrupted`, or the batch's hint when it was under way
        assert last == "interrupted" or last.startswith("hint: `mediactl resume --batch "), proc
    assert "Exception ignored" not in proc.stderr.decode(), proc
    if stage == "cleanup":
        assert proc.stderr.decode().startswith("uploaded s.txt"), proc


def test_resume_uses_a_spool_left_by_a_killed_run(cli, sandbox_factory, tmp_path):
    import signal
    import time

    sandbox_factory("--latency-ms", "3000")
    data = os.urandom(4000)
    proc = subprocess.Popen([*MEDIACTL, "nationbuilder", "upload", "-", "--page", "killed", "--name", "k.txt"],
                            cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write(data)
    proc.stdin.close()
    from mediactl.journal import Journal

    for _ in range(400):  # until the upload is journalled (its request then waits on the sandbox's latency)
        if spools(tmp_path) and (tmp_path / "data" / "journal.sqlite3").exists() and \
                Journal(tmp_path / "data").list(provider="nationbuilder"):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(spools(tmp_path)) == 1
    run = cli("-o", "json", "resume", "--provider", "nationbuilder")
    assert run.code == 0, run
    assert "using the copy of stdin left by an interrupted run" in run.stderr
    assert json.loads(run.stdout)[0]["local"]["size"] == len(data)
    assert spools(tmp_path) == []


# --- 9. the same file twice ----------------------------------------------------------------------------


def test_the_same_file_named_three_ways_is_uploaded_once(cli, sandbox, tmp_path, monkeypatch):
    make_files(tmp_path, 1)
    monkeypatch.chdir(tmp_path)
    run = cli("-o", "json", "otherpage", "upload", "f00.png", "f00.png", "./f00.png", str(tmp_path / "f00.png"),
              "--community", community())
    assert run.code == 0, run
    assert len(json.loads(run.stdout)) == 1
    assert run.stderr.count("is the same file as") == 3
    assert phases(cli, "otherpage") == {"completed": 1}


# --- 10. one contract for show and history --------------------------------------------------------------


def test_a_missing_id_is_exit_5_on_every_show(cli, sandbox, tmp_path):
    for args, ids in ((["otherpage", "show", "nope"], 1), (["nationbuilder", "show", "999999", "--page", "p"], 1),
                      (["ofauth", "show", "999999"], 1), (["bitbadges", "show", "nope"], 1),
                      (["bitbadges", "show", "a", "b"], 2)):
        run = cli("-o", "json", *args)
        assert run.code == 5, (args, run)
        doc = json.loads(run.stdout)  # several ids: an array with one error per id
        assert [e["error"]["code"] for e in (doc if isinstance(doc, list) else [doc])] == [5] * ids


def test_ofauth_show_accepts_what_upload_q_prints(cli, sandbox, tmp_path):
    (tmp_path / "clip.mp4").write_bytes(os.urandom(4000))
    run = cli("-q", "ofauth", "upload", str(tmp_path / "clip.mp4"))
    assert run.code == 0, run
    upload_id = run.stdout.strip()
    shown = cli("-o", "json", "ofauth", "show", upload_id)
    assert shown.code == 0, shown
    media = json.loads(shown.stdout)
    assert media["provider"] == "ofauth" and str(media["id"]) != upload_id
    assert cli("-o", "json", "ofauth", "show", str(media["id"])).code == 0


def test_history_names_the_phase_status_in_table_json_and_filter(cli, sandbox, tmp_path):
    make_files(tmp_path / "h", 1)
    assert cli("otherpage", "upload", "-r", str(tmp_path / "h"), "--community", community()).code == 0
    [row] = json.loads(cli("-o", "json", "history", "--status", "completed").stdout)
    assert row["status"] == "completed" and "phase" not in row
    assert "STATUS" in cli("-o", "table", "history").stdout


# --- 8. --skip-existing and a stale journal ------------------------------------------------------------


def test_nationbuilder_delete_updates_the_journal_and_skip_existing_uploads_again(cli, sandbox, tmp_path):
    make_files(tmp_path / "nb", 3, ext="txt")
    page = "p-" + uuid.uuid4().hex[:8]
    args = ("-o", "json", "nationbuilder", "upload", "-r", str(tmp_path / "nb"), "--page", page, "--skip-existing")
    first = json.loads(cli(*args).stdout)
    ids = [str(r["id"]) for r in first]
    assert cli("-y", "nationbuilder", "delete", *ids, "--page", page).code == 0
    assert phases(cli, "nationbuilder") == {"deleted": 3}
    again = cli(*args)
    assert again.code == 0, again
    second = json.loads(again.stdout)
    assert not any(r.get("skipped") for r in second) and {str(r["id"]) for r in second}.isdisjoint(ids)
    # and now the journal is right, a third run skips them, confirmed by the page's listing
    third = cli(*args)
    assert all(r.get("skipped") for r in json.loads(third.stdout)) and "journal's word" not in third.stderr


def test_nationbuilder_skip_existing_confirms_with_the_page(cli, sandbox, tmp_path):
    """Deleted behind mediactl's back (another tool): the page's listing says so, the journal is corrected."""
    make_files(tmp_path / "nb", 2, ext="txt")
    page = "p-" + uuid.uuid4().hex[:8]
    args = ("-o", "json", "nationbuilder", "upload", "-r", str(tmp_path / "nb"), "--page", page, "--skip-existing")
    first = json.loads(cli(*args).stdout)
    gone = first[0]["id"]
    site = os.environ["MEDIACTL_NATIONBUILDER_SITE"]
    base = os.environ["MEDIACTL_NATIONBUILDER_BASE_URL"]
    import requests

    requests.delete(f"{base}/sites/{site}/pages/{page}/attachments/{gone}", timeout=10,
                    headers={"Authorization": f"Bearer {os.environ['MEDIACTL_NATIONBUILDER_ACCESS_TOKEN']}"}
                    ).raise_for_status()
    second = json.loads(cli(*args).stdout)
    assert sorted(bool(r.get("skipped")) for r in second) == [False, True]
    assert phases(cli, "nationbuilder") == {"completed": 2, "deleted": 1}  # a skip adds no entry


def test_bitbadges_delete_and_skip_existing(cli, sandbox, tmp_path):
    doc = {"metadata": {"name": "Page " + uuid.uuid4().hex[:6], "description": "d", "image": "https://x.test/i.png"},
           "content": [], "links": [], "type": "utility", "visibility": "public", "categories": []}
    (tmp_path / "page.json").write_text(json.dumps(doc))
    args = ("-o", "json", "bitbadges", "upload", str(tmp_path / "page.json"), "--skip-existing")
    run = cli(*args)
    assert run.code == 0, run
    [first] = json.loads(run.stdout)
    [skipped] = json.loads(cli(*args).stdout)
    assert skipped.get("skipped") and skipped["listingId"] == first["listingId"]
    assert cli("-y", "bitbadges", "delete", first["listingId"]).code == 0
    [again] = json.loads(cli(*args).stdout)
    assert not again.get("skipped") and again["listingId"] != first["listingId"]


def test_otherpage_skip_existing_says_it_could_not_confirm(cli, sandbox, tmp_path):
    make_files(tmp_path / "op", 2)
    args = ("otherpage", "upload", "-r", str(tmp_path / "op"), "--community", community(), "--skip-existing")
    assert cli(*args).code == 0
    run = cli(*args)
    assert run.code == 0 and "2 file(s) skipped on the journal's word alone" in run.stderr, run
    assert "Other Page cannot be asked" in run.stderr
