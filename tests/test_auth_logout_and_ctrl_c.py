"""Two papercuts of issue 28: `auth logout` run twice says the second time there was nothing to remove
(exit 0), and after Ctrl-C a batch's stderr ends with its hint, not a stray bare `interrupted` line."""

from __future__ import annotations

import os

from tests.test_batch import ctrl_c_upload, make_files


def test_logout_twice_says_the_second_time_there_were_none(cli, isolated_env, monkeypatch):
    assert cli("auth", "login", "nationbuilder", "--with-token", input="nb_secret_token\n").code == 0
    first = cli("auth", "logout", "nationbuilder")
    assert first.code == 0 and "removed nationbuilder credentials" in first.stderr, first
    second = cli("auth", "logout", "nationbuilder")
    assert second.code == 0, second
    assert "removed" not in second.stderr and "no nationbuilder credentials stored" in second.stderr, second
    assert "nb_secret_token" not in first.stderr + second.stderr

    monkeypatch.setenv("MEDIACTL_NATIONBUILDER_ACCESS_TOKEN", "nb_from_env")
    in_env = cli("auth", "logout", "nationbuilder")
    assert in_env.code == 0 and "MEDIACTL_NATIONBUILDER_ACCESS_TOKEN set in the environment" in in_env.stderr
    assert "nb_from_env" not in in_env.stderr


def test_ctrl_c_in_a_batch_ends_stderr_with_the_hint_not_a_bare_interrupted(sandbox_factory, tmp_path):
    server = sandbox_factory("--latency-ms", "150")
    make_files(tmp_path / "batch", 12, size=20_000)
    env = {**os.environ, **server.env, "MEDIACTL_OTHERPAGE_COMMUNITY": "ctrl-c"}
    code, err = ctrl_c_upload(server, env, tmp_path / "batch", after=2)
    assert code == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert any(line.startswith("interrupted: ") for line in lines), err
    assert "interrupted" not in lines, err  # no bare line, anywhere
    assert lines[-1].startswith("hint: ") and "mediactl resume" in lines[-1], err
