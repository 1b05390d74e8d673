"""Write man pages for mediactl and every subcommand, from the same help the CLI prints.

    pip install -e '.[man]' && python scripts/gen_man.py man/      # then: man -l man/mediactl.1
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import typer
from click_man.core import write_man_pages

from mediactl import __version__
from mediactl.cli import app


def full_command() -> click.Command:
    """The root command with every lazily loaded verb group loaded, so each gets its page."""
    command = typer.main.get_command(app)
    ctx = click.Context(command)
    for name in command.list_commands(ctx):
        command.get_command(ctx, name)
    return command


def main(target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    write_man_pages("mediactl", full_command(), version=__version__, target_dir=str(target))
    return sorted(target.glob("*.1"))


if __name__ == "__main__":
    pages = main(Path(sys.argv[1] if len(sys.argv) > 1 else "man"))
    print(f"wrote {len(pages)} man pages")
