"""The shell completion scripts (what `mediactl completion SHELL` prints and completions/ holds). A leaf the
CLI imports; mediactl/completions_gen.py, which builds on the CLI, writes them out with the completion table."""

from __future__ import annotations

SHELLS = {"bash": "mediactl.bash", "zsh": "_mediactl", "fish": "mediactl.fish"}
COMPLETE_VAR = "_MEDIACTL_COMPLETE"


def script(shell: str) -> str:
    from mediactl.typer_compat import completion_script

    text = completion_script(prog_name="mediactl", complete_var=COMPLETE_VAR, shell=shell)
    return text if text.endswith("\n") else text + "\n"
