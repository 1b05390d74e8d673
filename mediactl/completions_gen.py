"""Shell completion scripts for mediactl, and the generator of the files in completions/.

    python -m mediactl.completions_gen            # rewrite completions/ (tests fail when it is stale)

The scripts call `mediactl` back with _MEDIACTL_COMPLETE set; the answers come from the Typer app
itself, including dynamic ones (profile names, setting keys, journal ids).
"""

from __future__ import annotations

import sys
from pathlib import Path

SHELLS = {"bash": "mediactl.bash", "zsh": "_mediactl", "fish": "mediactl.fish"}
COMPLETE_VAR = "_MEDIACTL_COMPLETE"


def script(shell: str) -> str:
    from mediactl.typer_compat import completion_script

    text = completion_script(prog_name="mediactl", complete_var=COMPLETE_VAR, shell=shell)
    return text if text.endswith("\n") else text + "\n"


def write_all(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for shell, filename in SHELLS.items():
        path = directory / filename
        path.write_text(script(shell))
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "completions"
    for path in write_all(target):
        print(path)
