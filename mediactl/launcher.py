"""The console entry point. Answers the calls that must be instant — `mediactl --version` and TAB
completion of every static word (commands, verbs, options, fixed option values) plus the values looked
up at run time by mediactl/completers.py — without importing Typer, Rich or Pydantic (the completion
table, mediactl/fast_completion.py), and plain `--help` from pre-rendered pages (mediactl/help_pages.py);
so does `mediactl [GLOBAL OPTIONS] PROVIDER upload ...` for the lines mediactl/fast_upload.py parses exactly
(the same verb and error boundary, parsed without Typer); everything else goes to the CLI (mediactl.cli).
See bench/startup.py."""

from __future__ import annotations

import os
import sys


def fast_answer(argv: list[str], environ: dict[str, str]) -> tuple[str, int] | None:
    """(what to print, exit code) for a call that needs no command tree, or None for the full CLI."""
    if "_MEDIACTL_COMPLETE" in environ:
        from mediactl.fast_completion import answer

        return answer(environ)
    if argv == ["--version"]:
        from mediactl import __version__

        return f"mediactl {__version__}\n", 0
    if argv[-1:] in (["--help"], ["-h"]):  # plain help, pre-rendered (mediactl/help_pages.py)
        from mediactl.help_pages import answer as help_page

        return help_page(argv, environ)
    return None


def main() -> None:
    answer = fast_answer(sys.argv[1:], dict(os.environ))
    if answer is not None:
        text, code = answer
        sys.stdout.write(text)
        sys.stdout.flush()
        if code:
            sys.exit(code)
        return
    # Everything else runs under the process's signal handling from here on, imports included: a Ctrl-C or a
    # SIGTERM while the CLI loads ends in 130 / 143 with a message, not a traceback (mediactl/interrupts.py)
    from mediactl.interrupts import run_as_process

    run_as_process(_command)


def _command() -> None:
    """The command line's run: an upload line the fast path parses (mediactl/fast_upload.py), else the CLI."""
    if "upload" in sys.argv:
        from mediactl.fast_upload import main as fast_upload

        fast_upload(sys.argv[1:])  # ends the run, unless the line is one for the full CLI
    from mediactl.cli import main as cli_main

    cli_main()
