"""Local problems (issue 25): a full disk, a damaged journal, a read-only or misplaced data dir, config files
that are not UTF-8 or sit in a read-only dir. Each is exit 3 with one line naming the path and what to do,
no traceback, nothing sent and nothing lost. The disks are real: small tmpfs mounts (root: CI runs as root)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.test_hostile_answers import one_error


def community() -> str:
    return "c-" + uuid.uuid4().hex[:8]


def sent_to(sandbox, comm: str) -> list[dict]:
    return [f for f in sandbox.state()["otherpage"]["files"].values() if f["communityId"] == comm]


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs; `small_disk(read_only=True)` remounts it read-only."""
    if os.geteuid() != 0:
        pytest.fail("these tests mount a small tmpfs and need root (CI runs as root); run them with sudo")
    mounted: list[Path] = []

    def make(name: str = "disk") -> Path:
        path = tmp_path / name
        path.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(path)], check=True)
        mounted.append(path)
        return path

    yield make
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], check=False)


def read_only(path: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)


def fill(folder: Path) -> None:
    """Write until the disk is full (tmpfs allocates by pages: 4 KiB writes leave nothing over)."""
    try:
        with open(folder / "filler", "wb", buffering=0) as out:
            while True:
                out.write(b"\0" * 4096)
    except OSError:
        pass


def test_full_disk_under_the_journal_is_exit_3_and_nothing_is_sent(cli, sandbox, tmp_path, monkeypatch, small_disk):
    data = small_disk()
    monkeypatch.setenv("MEDIACTL_DATA_DIR", str(data))
    assert cli("history").code == 0  # the journal exists, then the disk fills up
    fill(data)
    (tmp_path / "a.png").write_bytes(os.urandom(2000))
    comm = community()
    run = cli("otherpage", "upload", str(tmp_path / "a.png"), "--community", comm)
    one_error(run, 3, "no space left", str(data))
    assert "free some space" in run.stderr
    assert sent_to(sandbox, comm) == []


def test_full_disk_while_spooling_stdin_is_exit_3_and_leaves_no_spool(cli, sandbox, monkeypatch, small_disk):
    data = small_disk()
    monkeypatch.setenv("MEDIACTL_DATA_DIR", str(data))
    assert cli("history").code == 0
    comm = community()
    proc = subprocess.run([sys.executable, "-m", "mediactl", "otherpage", "upload", "-", "--name", "big.png",
                           "--community", comm], input=os.urandom(3 * 2**20), capture_output=True,
                          env={**os.environ, "MEDIACTL_DATA_DIR": str(data)}, timeout=120)
    assert proc.returncode == 3, proc
    err = proc.stderr.decode()
    assert "Traceback" not in err and err.count("error:") == 1, err
    assert "cannot copy big.png from stdin: no space left" in err and str(data / "spool") in err
    assert list((data / "spool").iterdir()) == []
    assert sent_to(sandbox, comm) == []


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_journal_is_exit_3_and_left_as_it_is(cli, sandbox, tmp_path, damage):
    (tmp_path / "a.png").write_bytes(os.urandom(2000))
    assert cli("otherpage", "upload", str(tmp_path / "a.png"), "--community", community()).code == 0
    journal = tmp_path / "data" / "journal.sqlite3"
    subprocess.run([sys.executable, "-c", f"import sqlite3; sqlite3.connect({str(journal)!r}).execute("
                    "'PRAGMA wal_checkpoint(TRUNCATE)')"], check=True)
    whole = journal.read_bytes()
    broken = b"this is not a database\n" * 10 if damage == "garbage" else whole[: len(whole) // 3]
    journal.write_bytes(broken)
    for args in (["history"], ["otherpage", "upload", str(tmp_path / "a.png"), "--community", community()]):
        run = cli(*args)
        one_error(run, 3, "journal", str(journal))
        assert f"mv {journal} {journal}.broken" in run.stderr
    assert journal.read_bytes() == broken  # nothing overwrote it


def test_a_journal_path_that_is_a_directory_is_exit_3(cli, tmp_path):
    (tmp_path / "data" / "journal.sqlite3").mkdir(parents=True)
    run = cli("history")
    one_error(run, 3, "is a directory", str(tmp_path / "data" / "journal.sqlite3"))


def test_a_data_dir_path_that_is_a_file_is_exit_3(cli, tmp_path):
    (tmp_path / "data").write_text("not a directory")
    one_error(cli("history"), 3, str(tmp_path / "data"), "is a file")
    assert (tmp_path / "data").read_text() == "not a directory"


def test_read_only_data_dir_history_and_dry_run_work_uploads_are_exit_3(cli, sandbox, tmp_path, monkeypatch,
                                                                       small_disk):
    data = small_disk()
    monkeypatch.setenv("MEDIACTL_DATA_DIR", str(data))
    (tmp_path / "a.png").write_bytes(os.urandom(2000))
    (tmp_path / "b.png").write_bytes(os.urandom(2000))
    comm = community()
    before = subprocess.run([sys.executable, "-m", "mediactl", "otherpage", "upload", str(tmp_path / "a.png"),
                             "--community", comm], env={**os.environ, "MEDIACTL_DATA_DIR": str(data)},
                            capture_output=True, timeout=60)  # its own process: nothing of it stays open
    assert before.returncode == 0, before
    read_only(data)
    history = cli("-o", "json", "history")
    assert history.code == 0, history
    assert [row["status"] for row in json.loads(history.stdout)] == ["completed"]
    plan = cli("-o", "json", "otherpage", "upload", str(tmp_path / "a.png"), str(tmp_path / "b.png"),
               "--community", comm, "--skip-existing", "--dry-run")
    assert plan.code == 0, plan
    assert [row["action"] for row in json.loads(plan.stdout)] == ["skip", "upload"]
    run = cli("otherpage", "upload", str(tmp_path / "b.png"), "--community", comm)
    one_error(run, 3, "read-only", str(data))
    assert len(sent_to(sandbox, comm)) == 1  # a.png from before; b.png was not sent
    run = cli("--report", str(tmp_path / "resume.json"), "resume")  # refused before it starts: still reported
    one_error(run, 3, "read-only", str(data))
    [item] = json.loads((tmp_path / "resume.json").read_text())["items"]
    assert (item["status"], item["code"]) == ("error", 3) and "read-only" in item["message"]


def test_a_read_only_config_dir_is_exit_3_naming_it(cli, isolated_env, monkeypatch, small_disk):
    config = small_disk("config")
    monkeypatch.setenv("MEDIACTL_CONFIG_DIR", str(config))
    assert cli("config", "set", "otherpage.community", "c-1").code == 0  # writes no file held open
    read_only(config)
    run = cli("config", "set", "otherpage.community", "c-2")
    one_error(run, 3, str(config), "read-only")
    assert cli("config", "get", "otherpage.community").stdout.strip() == "c-1"


@pytest.mark.parametrize("name", ["config.toml", "credentials.toml"])
def test_config_files_that_are_not_utf8_fail_before_any_row(cli, isolated_env, monkeypatch, name):
    isolated_env.mkdir(mode=0o700)
    table = "community" if name == "config.toml" else "api_key"
    (isolated_env / name).write_bytes(f'[default.otherpage]\n{table} = "caf'.encode() + b'\xe9"\n')
    (isolated_env / name).chmod(0o600)
    if name == "config.toml":  # so that `sites` gets as far as the config's settings
        monkeypatch.setenv("MEDIACTL_NATIONBUILDER_ACCESS_TOKEN", "tok-123456")
    for args in (["config", "list"], ["nationbuilder", "sites"]):
        run = cli(*args)
        one_error(run, 3, str(isolated_env / name), "not UTF-8", "0xe9")
        assert run.stdout == ""


def test_a_config_file_nested_too_deep_is_exit_3(cli, isolated_env):
    path = write_private(isolated_env, "config.toml", "a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    one_error(cli("config", "list"), 3, str(path), "nested too deep")


def write_private(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name
