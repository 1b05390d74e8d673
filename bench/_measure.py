"""Shared by the benchmarks: run a command in a child process and report its wall time and peak RSS."""

from __future__ import annotations

import compileall
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for the tests' SeaweedFS and sandbox launchers


def compile_bytecode(*trees: Path) -> None:
    """Write the .pyc files of `trees` (mediactl's package, the bench's own reference app) before anything is
    timed, as installing a wheel does for site-packages, where Typer's already are. Otherwise a checkout whose
    caches are stale, or that runs with PYTHONDONTWRITEBYTECODE set, compiles every changed module from source
    on every run of mediactl, and only of mediactl."""
    for tree in trees or (ROOT / "mediactl", ROOT / "bench"):
        compileall.compile_dir(str(tree), quiet=1)

_WRAPPER = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # this child only
print(json.dumps({"wall": wall, "rss_kib": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime,
                  "code": proc.returncode, "stderr": proc.stderr.decode()[-2000:]}))
"""


def measure(cmd: list[str], env: dict | None = None) -> dict:
    """Wall seconds, CPU seconds (user + sys) and peak RSS (MiB) of `cmd`, measured from a wrapper so that
    only `cmd` is counted."""
    out = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], capture_output=True, text=True, env=env,
                         check=True)
    result = json.loads(out.stdout)
    if result["code"] != 0:
        raise RuntimeError(f"{cmd[:3]}... exited {result['code']}: {result['stderr']}")
    return {"wall": result["wall"], "cpu": result["cpu"], "rss_mib": result["rss_kib"] / 1024}


def table(rows: list[tuple], headers: tuple) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)
