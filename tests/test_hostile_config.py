"""Config mistakes and unsafe config files (issue 25): unknown keys with a did-you-mean, secrets in
config.toml, wrong types, and, as OpenSSH does, a config dir or file that another user can write or owns.
Each is exit 3 naming the key or the path, one line, no traceback, and no request sent. Ownership and
permissions are tested in a process that obeys file permissions (setpriv drops root's DAC override), since
root may otherwise read and write anything."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.httpserver import Reply, ScriptedServer
from tests.test_hostile_answers import one_error

# The restricted process stays uid 0 but without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH: it obeys file modes as
# any user does, and can still reach the checkout and its venv wherever CI cloned them (another uid cannot
# pass a 0700 directory above the clone, and then cannot even import mediactl).
RUNNER = 0  # the restricted process's uid: the files it owns
OTHER = 65533  # a user who is neither the runner nor root


@pytest.fixture
def server(monkeypatch):
    """A loopback NationBuilder that records what reached it; the token comes from the environment."""
    with ScriptedServer(lambda req, i: Reply(200, '{"results": []}')) as srv:
        monkeypatch.setenv("MEDIACTL_NATIONBUILDER_BASE_URL", srv.url + "/api/v1")
        monkeypatch.setenv("MEDIACTL_NATIONBUILDER_ACCESS_TOKEN", "tok-123456")
        yield srv


def write_config(folder: Path, text: str, name: str = "config.toml", mode: int = 0o644) -> Path:
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / name
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("text,needles", [
    ('[default.otherpage]\ncomunity = "c-1"\n', ("unknown setting 'comunity'", "default.otherpage.comunity")),
    ('[default.otherpage]\napi_key = "op_123456"\n', ("default.otherpage.api_key is a secret", "config.toml")),
    ("[default.otherpage]\ncommunity = 5\n", ("default.otherpage.community must be a string", "an integer")),
    ('[default.othrpage]\ncommunity = "c-1"\n', ("unknown provider 'othrpage'",)),
])
def test_config_mistakes_are_exit_3_naming_the_key(cli, isolated_env, server, text, needles):
    path = write_config(isolated_env, text)
    for args in (["config", "list"], ["nationbuilder", "sites"]):
        run = cli(*args)
        line = one_error(run, 3, str(path), *needles)
        assert "op_123456" not in run.stderr + run.stdout, line
    assert server.requests == []


def test_the_hints_say_what_to_write(cli, isolated_env):
    write_config(isolated_env, '[default.otherpage]\ncomunity = "c-1"\n')
    assert "did you mean 'community'?" in cli("config", "list").stderr
    write_config(isolated_env, '[default.otherpage]\napi_key = "op_123456"\n')
    assert "credentials.toml" in cli("config", "list").stderr.split("hint:", 1)[1]
    write_config(isolated_env, '[default.ofauth]\nmax_size = 1000\nconnection_id = "c-9"\n')
    assert cli("config", "get", "ofauth.max_size").stdout.strip() == "1000"  # an integer size is a size


@pytest.mark.parametrize("target", ["directory", "file"])
def test_a_config_writable_by_others_is_refused_with_the_chmod_that_fixes_it(cli, isolated_env, server, target):
    path = write_config(isolated_env, '[default.nationbuilder]\nsite = "s"\n')
    unsafe = isolated_env if target == "directory" else path
    unsafe.chmod(0o777 if target == "directory" else 0o666)
    run = cli("nationbuilder", "sites")
    one_error(run, 3, str(unsafe), "writable by other users")
    assert f"chmod go-w {unsafe}" in run.stderr
    assert server.requests == []
    unsafe.chmod(0o700 if target == "directory" else 0o644)
    assert cli("nationbuilder", "sites").code == 0


def restricted(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """mediactl ARGS in a process that obeys file permissions (root without its DAC override)."""
    if os.geteuid() != 0:
        pytest.fail("this test drops root's DAC override with setpriv and needs root (CI runs as root)")
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) is missing: scripts/test installs it")
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]
    return subprocess.run([*drop, sys.executable, "-m", "mediactl", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def test_a_config_owned_by_another_user_is_refused(server):
    """Run with a config dir owned by a third user (mode 0755: the runner can read it, not write it;
    root's own files are trusted, as OpenSSH trusts them)."""
    work = Path(tempfile.mkdtemp(prefix="mediactl-owner-"))
    try:
        work.chmod(0o755)
        config = work / "cfg"
        write_config(config, f'[default.nationbuilder]\nbase_url = "{server.url}/api/v1"\n')
        config.chmod(0o755)
        os.chown(config, OTHER, OTHER)
        os.chown(config / "config.toml", OTHER, OTHER)
        data = work / "data"
        data.mkdir()
        os.chown(data, RUNNER, RUNNER)
        env = {k: v for k, v in os.environ.items() if k != "MEDIACTL_NATIONBUILDER_BASE_URL"}
        env.update(MEDIACTL_CONFIG_DIR=str(config), MEDIACTL_DATA_DIR=str(data), HOME=str(data))
        proc = restricted(["nationbuilder", "sites"], env)
        assert proc.returncode == 3, proc
        assert "Traceback" not in proc.stderr and proc.stderr.count("error:") == 1, proc.stderr
        assert f"config directory {config} is owned by another user (uid {OTHER})" in proc.stderr
        assert server.requests == []  # its base_url did not get the token
        os.chown(config, RUNNER, RUNNER)
        os.chown(config / "config.toml", RUNNER, RUNNER)
        assert restricted(["nationbuilder", "sites"], env).returncode == 0
        assert len(server.requests) == 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
