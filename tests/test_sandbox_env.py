"""`sandbox env` and `sandbox status` find the sandbox running for a data dir; the env file (it holds the
sandbox's credentials) goes when the sandbox stops; `--strict` NationBuilder sites and pages 404 as the
real API's do."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from tests.sandbox_fixtures import start_sandbox


def _mediactl(*args: str, env: dict, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mediactl", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def _clean_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACTL_")}
    env["MEDIACTL_DATA_DIR"] = str(tmp_path / "data")
    return env


def _wait_gone(*paths) -> None:
    for _ in range(200):
        if not any(p.exists() for p in paths):
            return
        time.sleep(0.05)


def test_env_and_status_find_the_background_sandbox_and_its_files_go_when_it_stops(tmp_path):
    env, env_file = _clean_env(tmp_path), tmp_path / "sandbox.env"
    pid_file = tmp_path / "data" / "sandbox.pid"
    started = _mediactl("sandbox", "serve", "--background", "--env-file", str(env_file), env=env)
    try:
        assert started.returncode == 0, started.stderr
        assert oct(env_file.stat().st_mode & 0o777) == "0o600"
        assert oct((tmp_path / "data" / "sandbox.json").stat().st_mode & 0o777) == "0o600"  # it holds secrets
        again = _mediactl("sandbox", "env", env=env)  # a second shell: the same lines, no restart
        assert again.returncode == 0 and again.stdout == started.stdout == env_file.read_text()
        as_json = json.loads(_mediactl("-o", "json", "sandbox", "env", env=env).stdout)
        assert as_json["env"]["MEDIACTL_OFAUTH_API_KEY"] in started.stdout
        status = _mediactl("-o", "json", "sandbox", "status", env=env)
        row = json.loads(status.stdout)
        assert status.returncode == 0 and row["running"] is True and row["pid"] == int(pid_file.read_text())
        assert row["url"] == as_json["base_url"] and "API_KEY" not in status.stdout  # no secrets in status
        assert requests.get(row["url"] + "/_sandbox/health", timeout=10).json() == {"ok": True}
        assert _mediactl("sandbox", "status", env=env).stdout.startswith(f"running\t{row['url']}")
    finally:
        try:
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        except (OSError, ValueError):
            pass
    _wait_gone(env_file, pid_file, tmp_path / "data" / "sandbox.json")
    assert not env_file.exists() and not pid_file.exists() and not (tmp_path / "data" / "sandbox.json").exists()
    gone = _mediactl("sandbox", "env", env=env)
    assert gone.returncode == 3 and gone.stdout == ""
    assert "no sandbox runs for the data dir" in gone.stderr and str(tmp_path / "data") in gone.stderr
    down = _mediactl("-o", "json", "sandbox", "status", env=env)
    assert down.returncode == 3 and json.loads(down.stdout)["running"] is False


def test_a_stale_record_is_no_sandbox(tmp_path):
    env = _clean_env(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sandbox.json").write_text(json.dumps(
        {"pid": 2**22 + 7, "base_url": "http://127.0.0.1:9", "env": {"MEDIACTL_X": "1"}}))
    run = _mediactl("sandbox", "env", env=env)
    assert run.returncode == 3 and "MEDIACTL_X" not in run.stdout


def test_a_record_that_would_run_commands_through_eval_is_refused(tmp_path):
    """`eval "$(mediactl sandbox env)"` runs what it prints: a record with shell syntax is not the sandbox's."""
    env, pid_file = _clean_env(tmp_path), tmp_path / "data" / "sandbox.pid"
    started = _mediactl("sandbox", "serve", "--background", env=env)
    try:
        assert started.returncode == 0, started.stderr
        record_path = tmp_path / "data" / "sandbox.json"
        record = json.loads(record_path.read_text())
        record["env"]["MEDIACTL_OFAUTH_API_KEY"] = "x; touch pwned"
        record_path.write_text(json.dumps(record))
        run = _mediactl("sandbox", "env", env=env)
        assert run.returncode == 3 and "pwned" not in run.stdout
    finally:
        try:
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
        except (OSError, ValueError):
            pass


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_foreground_sandbox_removes_its_env_file_on_ctrl_c_and_sigterm(tmp_path, signum):
    env, env_file = _clean_env(tmp_path), tmp_path / "sandbox.env"
    proc = subprocess.Popen([sys.executable, "-m", "mediactl", "sandbox", "serve", "--env-file", str(env_file)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        first = proc.stdout.readline()
        assert first.startswith("export MEDIACTL_") and env_file.exists()
        assert _mediactl("sandbox", "status", env=env).returncode == 0
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not env_file.exists() and not (tmp_path / "data" / "sandbox.json").exists()


def test_a_second_sandbox_for_the_same_data_dir_leaves_the_first_ones_record(tmp_path):
    data = {"MEDIACTL_DATA_DIR": str(tmp_path / "data")}
    first = start_sandbox(extra_env=data)
    try:
        second = start_sandbox(extra_env=data)
        try:
            shown = json.loads(_mediactl("-o", "json", "sandbox", "env", env={**_clean_env(tmp_path), **data}).stdout)
            assert shown["base_url"] == first.base_url != second.base_url
        finally:
            second.stop()
        assert "another sandbox" in second.process.stderr.read()
        still = _mediactl("-o", "json", "sandbox", "status", env={**_clean_env(tmp_path), **data})
        assert json.loads(still.stdout)["url"] == first.base_url  # the second's stop left the record alone
    finally:
        first.stop()


def test_a_second_background_sandbox_for_the_same_data_dir_warns_and_leaves_the_first_ones_record(tmp_path):
    env, first_pid_file = _clean_env(tmp_path), tmp_path / "sandbox.pid"  # the first with --pid-file $PWD/...
    second_pid_file = tmp_path / "data" / "sandbox.pid"  # the second with the default pid file
    first = _mediactl("sandbox", "serve", "--background", "--pid-file", str(first_pid_file), env=env)
    try:
        assert first.returncode == 0, first.stderr
        assert "another sandbox" not in first.stderr
        first_pid = int(first_pid_file.read_text())
        second = _mediactl("sandbox", "serve", "--background", env=env)
        assert second.returncode == 0, second.stderr
        assert f"another sandbox (pid {first_pid}, " in second.stderr
        assert str(tmp_path / "data") in second.stderr
        row = json.loads(_mediactl("-o", "json", "sandbox", "status", env=env).stdout)
        assert row["running"] is True and row["pid"] == first_pid  # the first one's record, left alone
        assert _mediactl("sandbox", "env", env=env).stdout == first.stdout
        os.kill(int(second_pid_file.read_text()), signal.SIGTERM)
        _wait_gone(second_pid_file)
        assert not second_pid_file.exists()
        row = json.loads(_mediactl("-o", "json", "sandbox", "status", env=env).stdout)
        assert row["running"] is True and row["pid"] == first_pid  # the second's stop left it alone too
    finally:
        for pid_file in (second_pid_file, first_pid_file):
            try:
                os.kill(int(pid_file.read_text()), signal.SIGTERM)
            except (OSError, ValueError):
                pass
    _wait_gone(first_pid_file, second_pid_file, tmp_path / "data" / "sandbox.json")


# -- --strict: NationBuilder sites and pages exist or 404 ------------------------------------------------------


def test_strict_nationbuilder_404s_unknown_sites_and_pages(cli, sandbox_factory, tmp_path):
    server = sandbox_factory("--strict", "--site", "mysite", "--page", "mysite/events", "--page", "downloads")
    (tmp_path / "a.txt").write_text("hello")
    typo = cli("nationbuilder", "upload", str(tmp_path / "a.txt"), "--site", "mysite", "--page", "event")
    assert typo.code == 5, typo  # the real API's 404, not a page made on the spot
    assert cli("nationbuilder", "upload", str(tmp_path / "a.txt"), "--site", "mysitee", "--page", "events").code == 5
    assert cli("nationbuilder", "list", "--site", "nosuchsite", "--page", "welcome").code == 5
    assert cli("nationbuilder", "upload", str(tmp_path / "a.txt"), "--site", "mysite", "--page", "events").code == 0
    assert cli("nationbuilder", "upload", str(tmp_path / "a.txt"), "--page", "downloads").code == 0  # default site
    assert cli("nationbuilder", "upload", str(tmp_path / "a.txt"), "--page", "welcome").code == 0  # made with a site
    headers = {"Authorization": "Bearer " + server.env["MEDIACTL_NATIONBUILDER_ACCESS_TOKEN"]}
    base = server.env["MEDIACTL_NATIONBUILDER_BASE_URL"]
    unknown = requests.get(base + "/sites/other/pages/basic_pages", headers=headers, timeout=10)
    assert unknown.status_code == 404 and unknown.json() == {"code": "not_found", "message": "Record not found"}
    server.control(nationbuilder_sites=["other"], nationbuilder_pages=["other/late"])  # the test control
    slugs = [p["slug"] for p in requests.get(base + "/sites/other/pages/basic_pages", headers=headers,
                                             timeout=10).json()["results"]]
    assert slugs == ["welcome", "late"]
    server.control(strict=False)  # as documented without --strict: made on first use
    assert cli("nationbuilder", "upload", str(tmp_path / "a.txt"), "--site", "any", "--page", "thing").code == 0


def test_without_strict_sites_and_pages_are_made_on_first_use(cli, sandbox, tmp_path):
    (tmp_path / "a.txt").write_text("hello")
    assert cli("nationbuilder", "upload", str(tmp_path / "a.txt"), "--site", "made-now", "--page", "p").code == 0


def test_bad_strict_flags_are_usage_errors(tmp_path):
    env = _clean_env(tmp_path)
    assert _mediactl("sandbox", "serve", "--page", "a/b/c", env=env).returncode == 2
    assert _mediactl("sandbox", "serve", "--ofauth-already-completed", "500", env=env).returncode == 2
