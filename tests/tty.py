"""Running mediactl in a pseudo-terminal of a given size, as a person's terminal would."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios


def on_a_terminal(args: list[str], *, env: dict[str, str], columns: int = 80, rows: int = 40,
                  timeout: float = 60) -> tuple[int, bytes]:
    """Run `python -m mediactl ARGS` (in exactly `env`) with stdout and stderr on a pty of `columns` x
    `rows` (COLUMNS/LINES are dropped, so the terminal's own size counts); the exit code and everything the
    terminal received."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen([sys.executable, "-m", "mediactl", *args], stdin=subprocess.DEVNULL, stdout=follower,
                            stderr=follower, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    code = proc.wait(timeout=timeout)
    os.close(leader)
    return code, b"".join(chunks)


def run_in_tty(args: list[str], *, env: dict[str, str], columns: int = 80) -> tuple[int, str]:
    """`on_a_terminal` without colours, its output as text (CRLF turned back into LF)."""
    code, output = on_a_terminal(args, env={**env, "NO_COLOR": "1", "TERM": "xterm"}, columns=columns)
    return code, output.decode("utf-8", "replace").replace("\r\n", "\n")
