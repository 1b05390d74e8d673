"""Write a man page for mediactl and one for every subcommand, from the same command tree (and so the same
help text) that `--help` prints and tests/test_help_and_completions.py walks.

    python scripts/gen_man.py man/      # then: man -l man/mediactl.1

Pages are named like click-man's (mediactl-otherpage-upload.1). SOURCE_DATE_EPOCH, when set, dates them.
"""

from __future__ import annotations

import inspect
import os
import sys
import time
from pathlib import Path

from mediactl import __version__
from mediactl.cli import app
from mediactl.typer_compat import CommandDoc, walk_commands

PROG = "mediactl"


def roff(text: str) -> str:
    """Text safe in a roff line: backslashes and hyphens escaped, no line read as a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line for line in text.splitlines())


def paragraphs(text: str) -> list[str]:
    """The help text's paragraphs, each on one line (roff fills them)."""
    blocks = inspect.cleandoc(text).split("\n\n")
    return [" ".join(line.strip() for line in block.splitlines()) for block in blocks if block.strip()]


def page(command: CommandDoc, children: list[CommandDoc], date: str) -> str:
    words = (PROG, *command.path)
    name = "-".join(words)
    title = " ".join(words)
    lines = [f'.TH "{name.upper()}" "1" "{date}" "{PROG} {__version__}" "{PROG} manual"',
             ".SH NAME", f"{roff(name)} \\- {roff(command.short_help)}",
             ".SH SYNOPSIS", f".B {roff(title)}", roff(command.usage.removeprefix(title).strip()),
             ".SH DESCRIPTION"]
    for i, text in enumerate(paragraphs(command.help) + paragraphs(command.epilog)):
        lines.extend([".PP"] if i else [])
        lines.append(roff(text))
    for heading, is_option in (("ARGUMENTS", False), ("OPTIONS", True)):
        params = [p for p in command.params if p.is_option == is_option]
        if params:
            lines.append(f".SH {heading}")
            for param in params:
                lines.extend([".TP", f"\\fB{roff(param.label)}\\fR", roff(" ".join(param.details.split()))])
    if children:
        lines.append(".SH COMMANDS")
        for child in children:
            lines.extend([".TP", f"\\fB{roff(child.path[-1])}\\fR", roff(child.short_help),
                          f"See \\fB{roff('-'.join((PROG, *child.path)))}\\fR(1)."])
    return "\n".join(lines) + "\n"


def main(target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    date = time.strftime("%Y-%m-%d", time.gmtime(int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))))
    commands = list(walk_commands(app, PROG))
    written = []
    for command in commands:
        children = [c for c in commands if len(c.path) == len(command.path) + 1 and c.path[:-1] == command.path]
        path = target / ("-".join((PROG, *command.path)) + ".1")
        path.write_text(page(command, children, date))
        written.append(path)
    return sorted(written)


if __name__ == "__main__":
    pages = main(Path(sys.argv[1] if len(sys.argv) > 1 else "man"))
    print(f"wrote {len(pages)} man pages")
