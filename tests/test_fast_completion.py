"""TAB completion from the completion table: current with the command tree, the same answers as the full CLI
in bash, zsh and fish, and no Typer, Rich or Pydantic imported for it (speed: bench/startup.py)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from mediactl.cli import app
from mediactl.completions_gen import table_text
from mediactl.fast_completion import TABLE_PATH, answer
from mediactl.launcher import fast_answer
from mediactl.typer_compat import enable_shell_completion

SHELL_ENVS = {  # how each script in completions/ calls mediactl back
    "bash": lambda line, words: {"_MEDIACTL_COMPLETE": "complete_bash", "COMP_WORDS": line,
                                 "COMP_CWORD": str(words)},
    "zsh": lambda line, words: {"_MEDIACTL_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": line},
    "fish": lambda line, words: {"_MEDIACTL_COMPLETE": "complete_fish", "_TYPER_COMPLETE_ARGS": line,
                                 "_TYPER_COMPLETE_FISH_ACTION": "get-args"},
    "fish is-args": lambda line, words: {"_MEDIACTL_COMPLETE": "complete_fish", "_TYPER_COMPLETE_ARGS": line,
                                         "_TYPER_COMPLETE_FISH_ACTION": "is-args"},
}
HELP_NAMES = ("-h", "--help")
HEAVY = ("typer", "click", "rich", "pydantic", "pydantic_core")


def shell_env(shell: str, words: list[str], incomplete: str) -> dict[str, str]:
    line = " ".join(["mediactl", *words, incomplete])
    return SHELL_ENVS[shell](line, len(words) + 1)


def full_cli_answer(env: dict[str, str]) -> tuple[str, int]:
    """What the Typer app itself answers (in this process, as `mediactl` would in its own)."""
    enable_shell_completion()
    stdout = io.StringIO()
    with mock.patch.dict(os.environ, env), mock.patch("sys.stdout", stdout), pytest.raises(SystemExit) as done:
        app(args=[], prog_name="mediactl")
    return stdout.getvalue(), done.value.code or 0


def canonical(answer: tuple[str, int]) -> tuple[str, int]:
    """The answer with the help option's two names in one order: Click orders them by a set's hash, so
    the full CLI's order changes from one process to the next (the shells sort them anyway)."""
    text, code = answer
    head = "_arguments '*: :((" if text.startswith("_arguments '*: :((") else ""
    lines = text[len(head):].split("\n")
    spots = [i for i, line in enumerate(lines) if line.split("\t")[0].split(":")[0].strip('"') in HELP_NAMES]
    for spot, line in zip(spots, sorted(lines[i].removesuffix("))'") for i in spots), strict=True):
        lines[spot] = line + ("))'" if lines[spot].endswith("))'") else "")
    return head + "\n".join(lines), code


def static_cases(table: dict):
    """Command lines that stop at every command, option and fixed value in the table."""
    for path, node in table["nodes"].items():
        words = path.split()
        yield words, ""
        yield words, "-"
        yield words, "--"
        yield words, "--h"
        for name in node["children"] or ():
            yield words, name[:1]
            yield words, name[:2]
        for option in node["options"]:
            first = option["opts"][0]
            if option["flag"]:
                yield [*words, first], "--"  # a given option is not offered again
                continue
            yield [*words, first], ""
            yield words, f"{option['names'][-1]}="
            for item in option["values"].get("items", [])[:2]:
                yield [*words, first], item[0][:1]
                yield [*words, first], item[0][:1].upper()
        if node["children"] is None:
            yield [*words, "somefile"], ""
            yield [*words, "somefile"], "./s"
            yield [*words, "a", "b"], "-"
            yield [*words, "-q"], "--"  # global options after the verb: the root group takes them
            yield [*words, "-o", "json", "x"], "-"
            yield [*words, "--timeout=5"], ""
            # a global option written last after the verb, which the root group leaves in place: the root's values
            yield [*words, "-o"], ""
            yield [*words, "a", "-o"], "J"
            yield [*words, "--output"], "pl"
            yield words, "--output=j"
            yield [*words, "--profile"], ""
            yield [*words, "--config-dir", "x", "--profile"], "d"
            yield [*words, "--timeout"], ""
            yield [*words, "-o"], "-"


def test_committed_completion_table_is_current():
    assert TABLE_PATH.read_text(encoding="utf-8") == table_text(), \
        "mediactl/completion_table.json is stale: run python -m mediactl.completions_gen"


@pytest.mark.parametrize("shell", list(SHELL_ENVS))
def test_table_answers_equal_the_full_cli(shell, isolated_env, cli):
    assert cli("--profile", "ci-prod", "config", "set", "otherpage.community", "c").code == 0
    table = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    compared, full_only = 0, []
    # fish renders every help text through Rich (slow on the CLI's side): half its cases, and for is-args,
    # which only says whether there is any answer, a fifth
    every = {"fish": 2, "fish is-args": 5}.get(shell, 1)
    for words, incomplete in list(static_cases(table))[::every]:
        env = shell_env(shell, words, incomplete)
        fast = answer(env, table)
        if fast is None:
            full_only.append((words, incomplete))
            continue
        assert canonical(fast) == canonical(full_cli_answer(env)), (shell, words, incomplete)
        compared += 1
    assert compared > 500 // every
    # Only what the table leaves to the CLI on purpose may go there: an option with a callback on the line
    # (--version prints and exits even while completing), or a value the table cannot look up itself.
    given: dict[str, bool] = {}
    for node in table["nodes"].values():
        for option in node["options"]:
            for name in option["names"]:
                given[name] = given.get(name, False) or option["callback"] or option["values"]["kind"] == "full"
    assert [c for c in full_only if not any(given.get(w) for w in c[0])] == []


@pytest.mark.parametrize("words, incomplete, expected", [
    (["--profile"], "ci", "ci-prod"),
    (["config", "set"], "ofauth.con", "ofauth.connection_id"),
    (["auth", "login"], "nat", "nationbuilder"),
    (["otherpage", "upload", "--dry-run", "-o"], "", "table\njson\njsonl\nplain"),  # a global option last
    (["otherpage", "list", "--profile"], "ci", "ci-prod"),  # after the verb: the root's values
    (["nationbuilder", "list", "--page", "x", "--output"], "JS", "json\njsonl"),
])
def test_values_looked_up_at_run_time(words, incomplete, expected, isolated_env, cli):
    assert cli("--profile", "ci-prod", "config", "set", "otherpage.community", "c").code == 0
    env = shell_env("bash", words, incomplete)
    fast = answer(env)
    if expected is None:
        assert fast is None
    else:
        assert fast == (expected + "\n", 0) == full_cli_answer(env)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_profile_names_come_from_the_config_dir_given_on_the_line(shell, isolated_env, cli, tmp_path):
    other = tmp_path / "elsewhere"
    assert cli("--config-dir", str(other), "--profile", "far", "config", "set", "otherpage.community", "c").code == 0
    env = shell_env(shell, ["--config-dir", str(other), "--profile"], "f")
    fast = answer(env)
    assert fast is not None and "far" in fast[0]
    assert fast == full_cli_answer(env)
    assert "far" not in answer(shell_env(shell, ["--profile"], "f"))[0]


def test_launcher_answers_version_and_completion_only():
    assert fast_answer(["--version"], {}) is not None
    assert fast_answer(["--version", "x"], {}) is None and fast_answer(["otherpage"], {}) is None
    assert fast_answer([], {"_MEDIACTL_COMPLETE": "source_bash"}) is None  # scripts come from the CLI


@pytest.mark.parametrize("shell, words, incomplete", [
    ("bash", ["otherpage"], "up"),
    ("bash", ["otherpage", "upload"], "--"),
    ("zsh", ["ofauth", "upload"], "--"),
    ("fish", [], "-"),
    ("bash", ["-o"], "js"),
    ("bash", ["--profile"], ""),  # a value looked up at run time (the config's profiles)
    ("fish", ["otherpage", "show"], ""),  # journal ids
    ("bash", ["otherpage", "list", "-o"], ""),  # a global option written last after the verb
    ("zsh", ["otherpage", "upload", "a.png", "--profile"], ""),
])
def test_table_completion_imports_no_typer_rich_or_pydantic(shell, words, incomplete, isolated_env):
    code = ("import sys, runpy\nsys.argv = ['mediactl']\n"
            "try:\n    runpy.run_module('mediactl', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "import json; print(json.dumps(sorted(sys.modules)), file=sys.stderr)")
    env = {**os.environ, **shell_env(shell, words, incomplete)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[1])
    modules = json.loads(proc.stderr.strip().splitlines()[-1])
    assert [m for m in modules if m.split(".")[0] in HEAVY] == []
    assert proc.stdout.strip() or shell == "fish"


GLOBAL_LAST = [  # a global option written last after the verb (README "Global options"): its values
    (["otherpage", "list", "-o"], "", ["table", "json", "jsonl", "plain"]),
    (["otherpage", "upload", "a.png", "-o"], "", ["table", "json", "jsonl", "plain"]),
    (["otherpage", "list", "--profile"], "", ["default", "ci-prod"]),
    (["nationbuilder", "list", "--page", "x", "-o"], "js", ["json", "jsonl"]),
    (["otherpage", "list"], "--output=p", ["plain"]),
]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
@pytest.mark.parametrize("words, incomplete, expected", GLOBAL_LAST)
def test_global_option_written_last_after_the_verb_completes_its_values(shell, words, incomplete, expected,
                                                                        isolated_env, cli):
    assert cli("--profile", "ci-prod", "config", "set", "otherpage.community", "c").code == 0
    env = {**os.environ, **shell_env(shell, words, incomplete)}
    proc = subprocess.run([str(Path(sys.executable).with_name("mediactl"))], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    if shell == "zsh":
        assert proc.stdout != "_files\n"
        assert proc.stdout.startswith("_arguments '*: :((") and all(f'"{v}"' in proc.stdout for v in expected)
    else:
        assert proc.stdout.split() == expected
    assert (proc.stdout, 0) == full_cli_answer(shell_env(shell, words, incomplete))


def test_profile_names_after_the_verb_come_from_the_config_dir_given_after_it(isolated_env, cli, tmp_path):
    other = tmp_path / "elsewhere"
    assert cli("--config-dir", str(other), "--profile", "far", "config", "set", "otherpage.community", "c").code == 0
    env = shell_env("bash", ["otherpage", "list", "--config-dir", str(other), "--profile"], "f")
    assert answer(env) == ("far\n", 0) == full_cli_answer(env)
