"""config and auth commands, settings precedence, file modes and atomic writes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mediactl.config import ConfigStore, Settings
from mediactl.runtime import Runtime


def read_toml(path: Path) -> dict:
    import tomllib

    return tomllib.loads(path.read_text())


def test_config_path_lists_the_isolated_dirs(cli, isolated_env):
    run = cli("-o", "json", "config", "path")
    assert run.code == 0, run
    data = json.loads(run.stdout)
    assert data["config_dir"] == str(isolated_env)
    assert data["credentials_file"] == str(isolated_env / "credentials.toml")


def test_set_get_unset_plain_setting(cli, isolated_env):
    assert cli("config", "set", "otherpage.community", "c-1").code == 0
    assert read_toml(isolated_env / "config.toml") == {"default": {"otherpage": {"community": "c-1"}}}
    run = cli("config", "get", "otherpage.community")
    assert (run.code, run.stdout) == (0, "c-1\n")
    assert cli("config", "unset", "otherpage.community").code == 0
    run = cli("config", "get", "otherpage.community")
    assert run.code == 3 and "not set" in run.stderr


def test_secret_goes_to_credentials_file_0600_and_is_masked(cli, isolated_env):
    run = cli("config", "set", "otherpage.api_key", "sk-verysecret")
    assert run.code == 0, run
    creds = isolated_env / "credentials.toml"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert not (isolated_env / "config.toml").exists()
    get = cli("config", "get", "otherpage.api_key")
    assert "sk-verysecret" not in get.stdout + get.stderr
    assert cli("config", "get", "otherpage.api_key", "--show-secrets").stdout == "sk-verysecret\n"
    listing = cli("-o", "json", "config", "list")
    assert "sk-verysecret" not in listing.stdout
    row = next(r for r in json.loads(listing.stdout) if r["key"] == "otherpage.api_key")
    assert row["source"] == "credentials.toml" and row["value"] == "********"


def test_unknown_setting_key_is_a_usage_error(cli):
    run = cli("config", "set", "otherpage.colour", "x")
    assert run.code == 2
    assert "unknown setting key 'otherpage.colour'" in run.stderr
    assert "Traceback" not in run.stderr


def test_unknown_profile_is_refused(cli):
    run = cli("--profile", "nope", "config", "list")
    assert run.code == 3 and "unknown profile 'nope'" in run.stderr


def test_profiles_are_separate(cli):
    assert cli("--profile", "ci", "config", "set", "ofauth.connection_id", "conn-ci").code == 0
    assert cli("config", "set", "ofauth.connection_id", "conn-dev").code == 0
    assert cli("--profile", "ci", "config", "get", "ofauth.connection_id").stdout == "conn-ci\n"
    assert cli("config", "get", "ofauth.connection_id").stdout == "conn-dev\n"


@pytest.mark.parametrize(
    "option, env, file, expected, source",
    [
        ("opt", "env", "file", "opt", "option"),
        (None, "env", "file", "env", "env"),
        (None, None, "file", "file", "config.toml"),
        (None, None, None, "https://api.other.page/v1", "default"),
    ],
)
def test_settings_precedence(isolated_env, monkeypatch, option, env, file, expected, source):
    rt = Runtime()
    store = ConfigStore(isolated_env)
    if file:
        store.update(False, "default", "otherpage", {"base_url": file})
    if env:
        monkeypatch.setenv("MEDIACTL_OTHERPAGE_BASE_URL", env)
    resolved = Settings(rt).resolve("otherpage", "base_url", option)
    assert (resolved.value, resolved.source) == (expected, source)


def _login_on_a_terminal(*args: str, keys: bytes = b"", interrupt: bool = False):
    """`mediactl auth login ...` with a pseudo-terminal as stdin (and no controlling terminal, so getpass
    reads that pty): types `keys` once the prompt is shown, or sends SIGINT (Ctrl-C) instead.
    Returns (exit code, stderr, what the terminal echoed)."""
    import pty
    import signal
    import time

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "mediactl", "auth", *args], stdin=slave,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    os.close(slave)
    deadline = time.monotonic() + 30
    while proc.poll() is None and b":" not in proc.stderr.peek(1) and time.monotonic() < deadline:
        time.sleep(0.05)  # wait for the prompt (stderr), so the keys are typed with echo already off
    time.sleep(0.2)
    if interrupt:
        proc.send_signal(signal.SIGINT)
    else:
        os.write(master, keys)
    code = proc.wait(timeout=30)
    os.set_blocking(master, False)
    try:
        echoed = os.read(master, 4096)
    except OSError:
        echoed = b""
    os.close(master)
    return code, proc.stderr.read().decode(), echoed


def test_auth_login_prompts_hidden_and_status_shows_source_not_secret(cli, isolated_env):
    code, stderr, echoed = _login_on_a_terminal("login", "otherpage", keys=b"op-secret-key\n")
    assert code == 0, stderr
    assert "Other Page api_key:" in stderr and b"op-secret-key" not in echoed  # hidden input
    assert read_toml(isolated_env / "credentials.toml")["default"]["otherpage"]["api_key"] == "op-secret-key"
    status = cli("-o", "json", "auth", "status")
    rows = {r["provider"]: r for r in json.loads(status.stdout)}
    assert rows["otherpage"]["configured"] is True
    assert rows["otherpage"]["sources"]["api_key"] == "credentials.toml"
    assert rows["ofauth"]["configured"] is False
    assert "op-secret-key" not in status.stdout


def test_auth_login_without_a_terminal_says_use_with_token_exit_2(cli, isolated_env):
    run = cli("auth", "login", "otherpage")  # stdin is not a terminal
    assert run.code == 2, run
    assert run.stderr.startswith("error: no terminal to prompt; use --with-token")
    assert "GetPassWarning" not in run.stderr and "Aborted" not in run.stderr
    proc = subprocess.run([sys.executable, "-m", "mediactl", "auth", "login", "ofauth"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no terminal to prompt; use --with-token" in proc.stderr, proc.stderr
    assert not (isolated_env / "credentials.toml").exists()


def test_auth_login_ctrl_c_is_130_and_end_of_input_is_2(isolated_env):
    code, stderr, _ = _login_on_a_terminal("login", "otherpage", interrupt=True)
    assert code == 130 and "interrupted" in stderr and "Traceback" not in stderr, stderr
    code, stderr, _ = _login_on_a_terminal("login", "otherpage", keys=b"\x04")  # Ctrl-D
    assert code == 2 and "no secret entered" in stderr, stderr
    assert not (isolated_env / "credentials.toml").exists()


def test_auth_login_with_token_reads_stdin_and_logout_removes(cli, isolated_env, monkeypatch):
    run = cli("auth", "login", "nationbuilder", "--with-token", input="nb-token-123\n")
    assert run.code == 0, run
    creds = read_toml(isolated_env / "credentials.toml")
    assert creds["default"]["nationbuilder"]["access_token"] == "nb-token-123"
    monkeypatch.setenv("MEDIACTL_OFAUTH_API_KEY", "from-env")
    rows = {r["provider"]: r for r in json.loads(cli("-o", "json", "auth", "status").stdout)}
    assert rows["ofauth"]["sources"]["api_key"] == "env"
    assert cli("auth", "logout", "nationbuilder").code == 0
    assert "nationbuilder" not in read_toml(isolated_env / "credentials.toml").get("default", {})


def test_auth_login_with_token_picks_named_secret(cli, isolated_env):
    run = cli("auth", "login", "bitbadges", "--with-token", "--secret", "access_token", input="at-1\n")
    assert run.code == 0, run
    assert read_toml(isolated_env / "credentials.toml")["default"]["bitbadges"] == {"access_token": "at-1"}
    bad = cli("auth", "login", "bitbadges", "--with-token", "--secret", "nope", input="x\n")
    assert bad.code == 2


def test_malformed_toml_reported_with_path_and_line_and_never_overwritten(cli, isolated_env):
    isolated_env.mkdir(parents=True)
    broken = "[default.otherpage]\ncommunity = \"c-1\"\nthis is not toml\n"
    path = isolated_env / "config.toml"
    path.write_text(broken)
    run = cli("config", "set", "otherpage.community", "c-2")
    assert run.code == 3
    assert str(path) in run.stderr and "line 3" in run.stderr
    assert "Traceback" not in run.stderr
    assert path.read_text() == broken


def test_group_readable_credentials_warn(cli, isolated_env):
    isolated_env.mkdir(parents=True)
    creds = isolated_env / "credentials.toml"
    creds.write_text('[default.otherpage]\napi_key = "k-123456"\n')
    creds.chmod(0o644)
    run = cli("auth", "status")
    assert run.code == 0
    assert "readable by other users" in run.stderr and "chmod 600" in run.stderr


def test_credentials_0600_from_creation_even_with_umask_000(isolated_env):
    old = os.umask(0)
    try:
        ConfigStore(isolated_env).update(True, "default", "otherpage", {"api_key": "k"})
        ConfigStore(isolated_env).update(False, "default", "otherpage", {"community": "c"})
    finally:
        os.umask(old)
    assert stat.S_IMODE((isolated_env / "credentials.toml").stat().st_mode) == 0o600
    assert stat.S_IMODE((isolated_env / "config.toml").stat().st_mode) == 0o644
    leftovers = [p.name for p in isolated_env.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_kill_between_write_and_rename_leaves_old_file(isolated_env):
    store = ConfigStore(isolated_env)
    store.update(True, "default", "otherpage", {"api_key": "old-key"})
    before = (isolated_env / "credentials.toml").read_bytes()
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from mediactl.config import ConfigStore
        os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)
        ConfigStore(Path({str(isolated_env)!r})).update(True, "default", "otherpage", {{"api_key": "new-key"}})
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert proc.returncode == -9
    assert (isolated_env / "credentials.toml").read_bytes() == before


def test_concurrent_config_set_loses_nothing(isolated_env):
    """Two processes each setting 20 keys at once: all 40 land (file lock around read-modify-write)."""
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        from mediactl.config import ConfigStore
        store = ConfigStore(Path(sys.argv[1]))
        for i in range(20):
            store.update(False, sys.argv[2], "otherpage", {"community": str(i)})
            store.update(False, "shared", sys.argv[2] == "a" and "ofauth" or "bitbadges",
                         {"base_url": f"https://x/{sys.argv[2]}{i}"})
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(isolated_env), who]) for who in "ab"]
    assert [p.wait() for p in procs] == [0, 0]
    data = read_toml(isolated_env / "config.toml")
    assert data["a"]["otherpage"]["community"] == "19"
    assert data["b"]["otherpage"]["community"] == "19"
    assert data["shared"]["ofauth"]["base_url"] == "https://x/a19"
    assert data["shared"]["bitbadges"]["base_url"] == "https://x/b19"


def test_set_refuses_values_every_use_would_refuse(cli):
    run = cli("config", "set", "otherpage.base_url", "http://api.example.com/v1")
    assert run.code == 2 and "plain http://" in run.stderr
    assert cli("config", "set", "otherpage.base_url", "http://127.0.0.1:8080/v1").code == 0
    assert cli("config", "set", "ofauth.max_size", "ten").code == 2
    assert cli("config", "set", "ofauth.max_size", "1024").code == 0
    warned = cli("config", "set", "ofauth.ca_bundle", "/nonexistent/ca.pem")
    assert warned.code == 0 and "not a file" in warned.stderr


def test_valid_toml_of_the_wrong_shape_is_exit_3_naming_file_key_and_shape(cli, isolated_env):
    isolated_env.mkdir(parents=True, exist_ok=True)
    config = isolated_env / "config.toml"
    config.write_text('[default]\notherpage = "x"\n')
    for args in (["config", "list"], ["otherpage", "list"], ["config", "set", "otherpage.community", "c-1"]):
        run = cli(*args)
        assert run.code == 3, (args, run)
        assert f"{config}: default.otherpage must be a table of otherpage settings" in run.stderr, run
        assert "[default.otherpage]" in run.stderr and "not a string" in run.stderr
    assert config.read_text() == '[default]\notherpage = "x"\n'  # untouched, even by `config set`

    credentials = isolated_env / "credentials.toml"
    config.unlink()
    credentials.write_text("ofauth = 1\n")
    credentials.chmod(0o600)
    run = cli("-o", "json", "ofauth", "list")
    assert run.code == 3, run
    message = json.loads(run.stdout)["error"]["message"]
    assert f"{credentials}: ofauth must be a profile table" in message and "not an integer" in message
    credentials.write_text("[default.ofauth]\napi_key = [1, 2]\n")
    run = cli("auth", "status")
    assert run.code == 3 and "default.ofauth.api_key must be a single value" in run.stderr, run
    assert credentials.read_text() == "[default.ofauth]\napi_key = [1, 2]\n"
