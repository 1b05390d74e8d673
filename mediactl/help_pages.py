"""`mediactl ... --help` answered from pre-rendered pages, without Typer, when the help would be plain text.

Piped or captured, mediactl prints Typer's plain help (mediactl/cli.py main), the same bytes every time for a
given command tree, Typer and width. `python -m mediactl.completions_gen` (or `python -m mediactl.help_pages`)
captures them from the full CLI, run with its stdout a pipe, into mediactl/help_pages.json; the launcher
prints a page from there for a command line that is exactly `[COMMAND...] --help` (or `-h`) when the
full CLI would print that very page:

- stdout is not a terminal (a terminal gets rich panels), TYPER_USE_RICH is not set, and stdout encodes UTF-8;
- the width Click would wrap at (COLUMNS, else 80, as shutil.get_terminal_size finds it for a pipe) is the
  one rendered;
- the installed Typer is the one that rendered the pages (read from its __init__.py, not imported);
- below the root, the root's options are parsed and its callback runs before the help: only when none of
  the environment variables they read could make that fail (a bad MEDIACTL_TIMEOUT is a usage error even
  with --help) is the page printed; the generator records which variables the root reads, and the ones
  known to be harmless are listed here.

Anything else goes to the full CLI, which is never wrong, only slower. tests/test_help_pages.py keeps the
pages current and compares them with the full CLI's output.
"""

from __future__ import annotations

import json
import os
import stat
import sys

TYPE_CHECKING = False  # typing and pathlib take longer to import than printing a page
if TYPE_CHECKING:
    from typing import Any, TextIO

PAGES_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "help_pages.json")
HELP_FLAGS = ("--help", "-h")
# Read by the root's options or callback, and unable to make them fail: any text is a valid value.
HARMLESS_ROOT_ENV = ("MEDIACTL_PROFILE", "MEDIACTL_DEBUG", "MEDIACTL_NO_PROGRESS")
CONFIG_DIR_ENV = "MEDIACTL_CONFIG_DIR"  # --config-dir's: a path that may not be a file nor unreadable


def answer(argv: list[str], environ: dict[str, str], stdout: TextIO | None = None,
           pages: dict | None = None) -> tuple[str, int] | None:
    """(the help page, 0) when the full CLI would print exactly that for `argv`, else None."""
    if not argv or argv[-1] not in HELP_FLAGS:
        return None
    stream = sys.stdout if stdout is None else stdout
    if "TYPER_USE_RICH" in environ or _isatty(stream) or (getattr(stream, "encoding", "") or "").lower() != "utf-8":
        return None
    try:
        table = pages if pages is not None else _read_json(PAGES_PATH)
    except (OSError, ValueError):  # a broken install: the full CLI still helps
        return None
    page = table["pages"].get(" ".join(argv[:-1]))
    if page is None or help_width(environ) != table["width"] or installed_typer_version() != table["typer"]:
        return None
    if len(argv) > 1 and not _root_environment_is_harmless(environ, table["root_env"]):
        return None
    return page, 0


def help_width(environ: dict[str, str]) -> int:
    """The width Click's help formatter wraps at when stdout is not a terminal (typer/_click/formatting.py)."""
    try:
        columns = int(environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:  # shutil.get_terminal_size: no terminal on stdout -> the fallback, 80
        columns = 80
    return max(min(columns, 80) - 2, 50)


def installed_typer_version() -> str | None:
    """Typer's __version__, read from its source without importing it (which takes longer than a page)."""
    from importlib.util import find_spec

    spec = find_spec("typer")
    if spec is None or spec.origin is None:
        return None
    try:
        with open(spec.origin, encoding="utf-8") as source:
            lines = source.read().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("__version__ = "):
            return line.split("=", 1)[1].strip().strip("\"'")
    return None


def _read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _root_environment_is_harmless(environ: dict[str, str], root_env: list[str]) -> bool:
    for name in root_env:
        if name not in environ or name in HARMLESS_ROOT_ENV:
            continue
        if name != CONFIG_DIR_ENV or not _config_dir_is_accepted(environ[name]):
            return False
    return True


def _config_dir_is_accepted(value: str) -> bool:
    """Whether --config-dir's checks (a directory or nothing yet, readable) pass for this value."""
    if not value:
        return True  # an empty variable is no value
    try:
        mode = os.stat(value).st_mode
    except OSError:
        return True  # not there (yet): accepted, the config is made on first write
    except ValueError:
        return False
    return stat.S_ISDIR(mode) and os.access(value, os.R_OK)


# -- the generator (imports the full CLI) --------------------------------------------------------------------

_CAPTURE = """
import sys
import mediactl.cli
for line in sys.stdin.read().splitlines():
    sys.argv = ["mediactl", *line.split(), "--help"]
    try:
        mediactl.cli.main()
        code = 0
    except SystemExit as exc:
        code = exc.code
    sys.stdout.write(f"\\0{code}\\0")
    sys.stdout.flush()
"""


def command_paths() -> list[str]:
    """Every command of the live tree whose help the launcher may print, as the words that name it ("" for
    the root), depth first: not those under a group with a callback or options of its own (code of its own
    runs before a subcommand's help)."""
    from mediactl.cli import app
    from mediactl.typer_compat import walk_commands

    docs = list(walk_commands(app, "mediactl"))
    runs_first = {doc.path for doc in docs if doc.path and (doc.has_callback or any(
        p.is_option and p.name != "help" for p in doc.params))}
    return [" ".join(doc.path) for doc in docs
            if not any(doc.path[:n] in runs_first for n in range(1, len(doc.path)))]


def capture_pages(paths: list[str], environ: dict[str, str] | None = None) -> tuple[dict[str, tuple[int, str]], str]:
    """(path -> (exit code, stdout), all of stderr) of `mediactl PATH --help` run by the full CLI
    (mediactl.cli.main, as the launcher runs it) with stdout a pipe, all in one process; in `environ`, by
    default this process's environment without what changes the pages or could stop them (COLUMNS,
    TYPER_USE_RICH, NO_COLOR, MEDIACTL_*)."""
    import subprocess

    if environ is None:
        environ = {name: value for name, value in os.environ.items() if not name.startswith(("MEDIACTL_", "_MEDIACTL"))
                   and name not in ("COLUMNS", "TYPER_USE_RICH", "NO_COLOR")}
    env = {**environ, "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run([sys.executable, "-c", _CAPTURE], input="\n".join(paths) + "\n", capture_output=True,
                          text=True, encoding="utf-8", env=env, check=True)
    parts = proc.stdout.split("\0")
    if len(parts) != 2 * len(paths) + 1:
        raise RuntimeError(f"capturing the help pages failed: {proc.stderr[-2000:]}")
    return {path: (int(parts[2 * n + 1]), parts[2 * n]) for n, path in enumerate(paths)}, proc.stderr


def build_pages() -> dict:
    """The table: every command's page, the width and Typer they were rendered with, what the root reads."""
    from mediactl.app.options import GLOBAL_OPTIONS

    captured, stderr = capture_pages(command_paths())
    if stderr:
        raise RuntimeError(f"the full CLI complained while printing its help: {stderr[-2000:]}")
    pages = {path: page for path, (code, page) in captured.items() if code == 0}
    root_env = sorted({name for option in GLOBAL_OPTIONS for name in (option.typer_env, option.env) if name})
    return {"pages": pages, "root_env": root_env, "typer": installed_typer_version(), "width": help_width({})}


def pages_text() -> str:
    return json.dumps(build_pages(), indent=0, ensure_ascii=False, sort_keys=True) + "\n"


def write_pages(path: str = PAGES_PATH) -> str:
    with open(path, "w", encoding="utf-8") as file:
        file.write(pages_text())
    return path


if __name__ == "__main__":
    print(write_pages())
