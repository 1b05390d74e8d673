"""The interrupt summary, end to end with real signals to a real `python -m mediactl`: every way a batch
(or a resume) is interrupted ends stderr with the `hint:` naming what to resume, and a mediactl started in
the background of a non-interactive script (where the shell ignores SIGINT for it) stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_process_faults import finish, make_batch, mediactl, phases, upload_args, wait_for

EXPECTED_EXIT = {signal.SIGTERM: 143, signal.SIGINT: 130, signal.SIGHUP: 129}


def last_line(stderr: str) -> str:
    return stderr.rstrip("\n").splitlines()[-1]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_an_interrupted_batch_ends_stderr_with_the_hint_naming_its_batch(sandbox_factory, tmp_path, signum):
    server = sandbox_factory("--latency-ms", "400")
    target = f"hint-{signum.name}"
    make_batch("nationbuilder", tmp_path / target, 6)
    env = {**os.environ, **server.env}
    data_dir = Path(env["MEDIACTL_DATA_DIR"])
    proc = mediactl(env, *upload_args("nationbuilder", tmp_path / target, target), "-j", "2")
    wait_for("a create in flight", lambda: phases(data_dir)["sending"] >= 1, proc)
    time.sleep(0.1)
    proc.send_signal(signum)
    code, _, err = finish(proc)
    assert code == EXPECTED_EXIT[signum], err
    assert f"interrupted: {'Ctrl-C' if signum == signal.SIGINT else signum.name};" in err, err
    last = last_line(err)
    assert last.startswith("hint: ") and "mediactl resume --batch " in last, err
    assert "interrupted (" not in err, err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_an_interrupted_resume_ends_stderr_with_the_hint(sandbox_factory, tmp_path, signum):
    server = sandbox_factory("--latency-ms", "400")
    target = f"hint-resume-{signum.name}"
    make_batch("nationbuilder", tmp_path / target, 6)
    env = {**os.environ, **server.env}
    data_dir = Path(env["MEDIACTL_DATA_DIR"])
    proc = mediactl(env, *upload_args("nationbuilder", tmp_path / target, target))
    wait_for("the batch registered", lambda: sum(phases(data_dir).values()) > 0, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc = mediactl(env, "resume")
    wait_for("a resume create in flight", lambda: phases(data_dir)["sending"] >= 1, proc)
    time.sleep(0.1)
    proc.send_signal(signum)
    code, _, err = finish(proc)
    assert code == EXPECTED_EXIT[signum], err
    last = last_line(err)
    assert last.startswith("hint: ") and "mediactl resume" in last, err
    assert "interrupted (" not in err, err


def test_sigterm_stops_a_mediactl_started_in_the_background_of_a_script(sandbox_factory, tmp_path):
    # a non-interactive shell starts `cmd &` with SIGINT ignored (POSIX): mediactl keeps it ignored (as
    # under nohup), and SIGTERM is the way to stop it
    server = sandbox_factory("--latency-ms", "400")
    target = "background"
    make_batch("nationbuilder", tmp_path / target, 6)
    env = {**os.environ, **server.env}
    data_dir = Path(env["MEDIACTL_DATA_DIR"])
    err_file = tmp_path / "stderr.txt"
    command = [sys.executable, "-m", "mediactl", "--no-progress", *upload_args("nationbuilder", tmp_path / target,
                                                                                target)]
    script = '"$@" 2>"$ERR" & echo $!; wait $!; echo "rc=$?"'
    shell = subprocess.Popen(["bash", "-c", script, "bash", *command], env={**env, "ERR": str(err_file)},
                             stdout=subprocess.PIPE, text=True)
    pid = int(shell.stdout.readline())
    wait_for("a create in flight", lambda: phases(data_dir)["sending"] >= 1, shell)
    time.sleep(0.1)
    os.kill(pid, signal.SIGINT)  # ignored, as the shell set it up: the batch goes on
    os.kill(pid, signal.SIGTERM)
    out, _ = shell.communicate(timeout=90)
    err = err_file.read_text()
    assert out.strip().splitlines()[-1] == "rc=143", (out, err)
    assert "interrupted: SIGTERM;" in err, err
    assert last_line(err).startswith("hint: "), err
