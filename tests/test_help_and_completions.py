"""Help on every command and option, completion scripts that are up to date, completion that works and
stays light, and the import set of a bare start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mediactl.cli import app
from mediactl.completions_gen import SHELLS, script, write_all
from mediactl.typer_compat import walk_commands

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("requests", "urllib3", "requests_toolbelt", "sqlite3", "werkzeug", "jsonschema", "mediactl.sandbox",
         "mediactl.http", "mediactl.transfer", "mediactl.journal")


def test_every_command_and_option_has_help_and_every_command_an_example():
    missing = []
    commands = list(walk_commands(app, "mediactl"))
    assert len(commands) > 30  # every verb group was loaded and walked
    for command in commands:
        name = " ".join(("mediactl", *command.path))
        if not command.help.strip():
            missing.append(f"{name}: no help")
        if "example" not in (command.help + command.epilog).lower():  # groups too: their --help shows one
            missing.append(f"{name}: no example")
        for param in command.params:
            if param.name == "help":
                continue
            if not param.help.strip():
                missing.append(f"{name} {param.name}: no help")
    assert not missing, "\n".join(missing)


def test_committed_completion_scripts_are_current(tmp_path):
    write_all(tmp_path)
    for filename in SHELLS.values():
        assert (ROOT / "completions" / filename).read_text() == (tmp_path / filename).read_text(), \
            f"completions/{filename} is stale: run python -m mediactl.completions_gen"


def test_completion_command_prints_the_same_scripts(cli):
    for shell in SHELLS:
        run = cli("completion", shell)
        assert run.code == 0 and run.stdout == script(shell)
    assert cli("completion", "tcsh").code == 2


def _complete(words: str, cword: int, env: dict | None = None) -> list[str]:
    proc = subprocess.run([sys.executable, "-m", "mediactl"], capture_output=True, text=True,
                          env={**os.environ, **(env or {}), "_MEDIACTL_COMPLETE": "complete_bash",
                               "COMP_WORDS": words, "COMP_CWORD": str(cword)})
    return proc.stdout.split()


def test_completion_of_commands_setting_keys_and_profiles(isolated_env, cli):
    assert _complete("mediactl oth", 1) == ["otherpage"]
    assert "upload" in _complete("mediactl otherpage ", 2)
    assert _complete("mediactl config set ofauth.con", 3) == ["ofauth.connection_id"]
    assert cli("--profile", "ci-prod", "config", "set", "otherpage.community", "c").code == 0
    assert "ci-prod" in _complete("mediactl --profile ", 2)


def test_completion_and_bare_startup_import_no_heavy_module():
    code = ("import sys, os, runpy\nsys.argv = ['mediactl', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('mediactl', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "import json; print(json.dumps(sorted(sys.modules)), file=sys.stderr)")
    cases = [(["--version"], {}), (["--help"], {}), (["otherpage", "--help"], {}),
             ([], {"_MEDIACTL_COMPLETE": "complete_bash", "COMP_WORDS": "mediactl otherpage up", "COMP_CWORD": "2"})]
    for argv, env in cases:
        proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                              env={**os.environ, **env})
        modules = json.loads(proc.stderr.strip().splitlines()[-1])
        heavy = [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]
        assert heavy == [], (argv, env, heavy)


def test_man_pages_cover_every_command(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_man", ROOT / "scripts" / "gen_man.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pages = {p.name for p in module.main(tmp_path)}
    expected = {"-".join(("mediactl", *command.path)) + ".1" for command in walk_commands(app, "mediactl")}
    assert pages == expected
    upload = (tmp_path / "mediactl-otherpage-upload.1").read_text()
    assert ".SH OPTIONS" in upload and "presigned S3 form" in upload and "\\-\\-community" in upload


@pytest.mark.parametrize("words", ["mediactl ", "mediactl o", "mediactl hist", "mediactl zz"])
def test_launcher_fast_answers_equal_the_full_cli(words):
    """The launcher answers `--version` and completion without Typer: it must print exactly what the full CLI
    prints (every other word and shell: tests/test_fast_completion.py)."""
    from mediactl.launcher import fast_answer

    env = {**os.environ, "_MEDIACTL_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": "1"}
    full = subprocess.run([sys.executable, "-c", "from mediactl.cli import main; main()"], env=env,
                          capture_output=True, text=True)
    assert fast_answer([], env) == (full.stdout, 0)
    version = subprocess.run([sys.executable, "-c", "import sys; sys.argv[1:] = ['--version'];"
                              "from mediactl.cli import main; main()"], capture_output=True, text=True)
    assert fast_answer(["--version"], {}) == (version.stdout, 0)
    assert fast_answer(["--version", "x"], {}) is None and fast_answer(["otherpage"], {}) is None
