"""Shared fixtures. Every test runs with its own config and data directories and no MEDIACTL_* variables,
so no test can read the real home config or real credentials from the environment."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mediactl.cli import app
from mediactl.runtime import Runtime

pytest_plugins = ["tests.s3_server", "tests.sandbox_fixtures"]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("MEDIACTL_") or name in ("NO_COLOR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            monkeypatch.delenv(name, raising=False)
    config_dir = tmp_path / "config"
    data_dir = tmp_path / "data"
    monkeypatch.setenv("MEDIACTL_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("MEDIACTL_DATA_DIR", str(data_dir))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / ".local" / "share"))
    return config_dir


class Run:
    """The result of one in-process CLI run: exit code and the two streams, kept apart."""

    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code = code
        self.stdout = stdout
        self.stderr = stderr

    def __repr__(self) -> str:
        return f"Run(code={self.code}, stdout={self.stdout[-800:]!r}, stderr={self.stderr[-1500:]!r})"


@pytest.fixture
def cli():
    """Run mediactl in-process with captured streams: cli("config", "path", input="...")."""

    def run(*args: str, input: str | None = None, tty: bool = False) -> Run:
        runner = CliRunner()
        out, err = io.StringIO(), io.StringIO()
        rt = Runtime(stdout=out, stderr=err, stdin=io.TextIOWrapper(io.BytesIO((input or "").encode())),
                     stdout_isatty=tty, stderr_isatty=tty, stdin_isatty=tty)
        result = runner.invoke(app, list(args), obj=rt, input=input, catch_exceptions=False)
        return Run(result.exit_code, out.getvalue() + _runner_stdout(result), err.getvalue() + _runner_stderr(result))

    return run


def _runner_stdout(result) -> str:
    try:
        return result.stdout
    except ValueError:
        return ""


def _runner_stderr(result) -> str:
    try:
        return result.stderr
    except ValueError:
        return ""
