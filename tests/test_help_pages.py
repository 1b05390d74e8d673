"""Plain --help from the pre-rendered pages (mediactl/help_pages.py): current with the command tree, the very bytes
the full CLI prints piped, and printed by the launcher only where the full CLI would print that page."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mediactl import help_pages
from mediactl.help_pages import PAGES_PATH, answer, capture_pages, command_paths, pages_text

LAUNCHER = Path(sys.executable).with_name("mediactl")


class Pipe(io.StringIO):
    """A stdout that is not a terminal and encodes UTF-8, as a pipe is in a UTF-8 locale."""

    encoding = "utf-8"


class Terminal(Pipe):
    def isatty(self) -> bool:
        return True


def pages() -> dict:
    return json.loads(Path(PAGES_PATH).read_text(encoding="utf-8"))


def test_committed_help_pages_are_every_commands_piped_help_from_the_full_cli():
    """pages_text() runs the full CLI (mediactl.cli.main) with stdout a pipe for every command of the tree."""
    assert Path(PAGES_PATH).read_text(encoding="utf-8") == pages_text(), \
        "mediactl/help_pages.json is stale: run python -m mediactl.completions_gen"
    assert len(pages()["pages"]) >= 50 and "" in pages()["pages"] and "otherpage upload" in pages()["pages"]


def test_commands_under_a_group_with_code_of_its_own_are_left_to_the_full_cli():
    # `history` runs its callback (with options) before a subcommand's help: the page could not be exact
    assert "history" in command_paths() and not [p for p in command_paths() if p.startswith("history ")]


@pytest.mark.parametrize("words", [[], ["otherpage"], ["nationbuilder", "upload"], ["config", "set"]])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_the_launcher_prints_the_full_clis_page_without_typer(words, flag, isolated_env):
    full, _ = capture_pages([" ".join(words)], dict(os.environ))
    code = ("import sys\nfrom mediactl.launcher import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
            "import json; print(json.dumps(sorted(sys.modules)), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, *words, flag], capture_output=True, text=True,
                          encoding="utf-8", env=dict(os.environ, PYTHONIOENCODING="utf-8"))
    assert (proc.returncode, proc.stdout) == full[" ".join(words)]
    modules = json.loads(proc.stderr.strip().splitlines()[-1])
    assert [m for m in modules if m.split(".")[0] in ("typer", "rich", "pydantic")] == []


def test_the_console_script_prints_the_page(isolated_env):
    proc = subprocess.run([str(LAUNCHER), "otherpage", "--help"], capture_output=True, text=True, encoding="utf-8",
                          env=dict(os.environ, PYTHONIOENCODING="utf-8"))
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, pages()["pages"]["otherpage"], "")


def test_a_page_is_printed_only_for_exactly_a_command_and_its_help_flag_on_a_pipe():
    assert answer(["otherpage", "--help"], {}, Pipe()) == (pages()["pages"]["otherpage"], 0)
    assert answer(["--help"], {}, Pipe()) == (pages()["pages"][""], 0)
    for argv in (["otherpage"], ["otherpage", "--help", "x"], ["-q", "--help"], ["otherpage", "upload", "a.png", "-h"],
                 ["nope", "--help"], ["--", "--help"], ["history", "show", "--help"]):
        assert answer(argv, {}, Pipe()) is None, argv
    assert answer(["--help"], {}, Terminal()) is None  # rich panels on a terminal
    assert answer(["--help"], {"TYPER_USE_RICH": "0"}, Pipe()) is None
    latin = Pipe()
    latin.encoding = "latin-1"  # type: ignore[misc]
    assert answer(["--help"], {}, latin) is None


def test_a_page_is_printed_only_at_the_width_it_was_rendered_at():
    assert pages()["width"] == help_pages.help_width({}) == 78
    for columns in ("80", "120", "x", "0", "-3"):  # the same width as no COLUMNS, for Click
        assert answer(["--help"], {"COLUMNS": columns}, Pipe()) is not None, columns
    assert answer(["--help"], {"COLUMNS": "60"}, Pipe()) is None


def test_the_full_cli_wraps_at_the_width_the_launcher_assumes(isolated_env):
    env = dict(os.environ)
    wide, _ = capture_pages(["otherpage"], {**env, "COLUMNS": "120"})
    narrow, _ = capture_pages(["otherpage"], {**env, "COLUMNS": "60"})
    assert wide["otherpage"][1] == pages()["pages"]["otherpage"] != narrow["otherpage"][1]


def test_a_page_is_printed_only_by_the_typer_that_rendered_it():
    table = {**pages(), "typer": "0.0.1"}
    assert help_pages.installed_typer_version() == pages()["typer"]
    assert answer(["--help"], {}, Pipe(), table) is None


def test_below_the_root_only_an_environment_the_root_accepts_gets_a_page(tmp_path):
    """Below the root the root's options are parsed and its callback runs first: a bad value of a variable
    they read is a usage error even with --help, so only variables that cannot fail leave the page."""
    table = pages()
    assert set(table["root_env"]) > set(help_pages.HARMLESS_ROOT_ENV) | {help_pages.CONFIG_DIR_ENV}
    for name in table["root_env"]:
        if name in help_pages.HARMLESS_ROOT_ENV or name == help_pages.CONFIG_DIR_ENV:
            continue
        assert answer(["otherpage", "--help"], {name: "0"}, Pipe()) is None, name
        assert answer(["--help"], {name: "0"}, Pipe()) is not None, name  # the root's --help comes first
    (tmp_path / "file").write_text("")
    assert answer(["otherpage", "--help"], {"MEDIACTL_CONFIG_DIR": str(tmp_path / "file")}, Pipe()) is None
    for accepted in (tmp_path, tmp_path / "missing", ""):
        assert answer(["otherpage", "--help"], {"MEDIACTL_CONFIG_DIR": str(accepted)}, Pipe()) is not None


def test_the_variables_counted_harmless_are_and_the_others_are_not(isolated_env, tmp_path):
    (tmp_path / "file").write_text("")
    harmless = {name: "\x7fnot-a-value" for name in help_pages.HARMLESS_ROOT_ENV}
    cases = [("harmless", {**harmless, "MEDIACTL_CONFIG_DIR": str(tmp_path / "missing")}),
             ("timeout", {"MEDIACTL_TIMEOUT": "0"}), ("output", {"MEDIACTL_OUTPUT": "yaml"}),
             ("config dir", {"MEDIACTL_CONFIG_DIR": str(tmp_path / "file")})]
    for label, extra in cases:
        full, _ = capture_pages(["otherpage"], {**os.environ, **extra})
        fast = answer(["otherpage", "--help"], extra, Pipe())
        if fast is None:
            assert full["otherpage"][0] != 0, label  # the full CLI refuses: the launcher rightly left it alone
        else:
            assert (full["otherpage"][0], full["otherpage"][1]) == (fast[1], fast[0]), label
    assert answer(["otherpage", "--help"], cases[0][1], Pipe()) is not None
    for _, extra in cases:  # the root's --help is eager: printed before any other option is looked at
        full, _ = capture_pages([""], {**os.environ, **extra})
        assert full[""] == (0, pages()["pages"][""]) and answer(["--help"], extra, Pipe()) == (full[""][1], 0)
