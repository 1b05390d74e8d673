"""The console entry point. Answers the two calls that must be instant — `mediactl --version` and bash's
completion of the first word (`mediactl oth<TAB>`) — without importing Typer or building any verb group;
everything else goes to the CLI (mediactl.cli). See bench/startup.py."""

from __future__ import annotations

import os
import sys


def fast_answer(argv: list[str], environ: dict[str, str]) -> str | None:
    """What to print for a call that needs no command tree, or None for the full CLI."""
    if environ.get("_MEDIACTL_COMPLETE") == "complete_bash":
        words = environ.get("COMP_WORDS", "").split(" ")
        if environ.get("COMP_CWORD") == "1" and len(words) == 2 and not words[1].startswith("-"):
            from mediactl.cli_names import top_level_names

            return "\n".join(name for name in top_level_names() if name.startswith(words[1])) + "\n"
        return None
    if argv == ["--version"] and "_MEDIACTL_COMPLETE" not in environ:
        from mediactl import __version__

        return f"mediactl {__version__}\n"
    return None


def main() -> None:
    answer = fast_answer(sys.argv[1:], dict(os.environ))
    if answer is not None:
        sys.stdout.write(answer)
        sys.stdout.flush()
        return
    from mediactl.cli import main as cli_main

    cli_main()
