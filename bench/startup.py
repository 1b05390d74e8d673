"""Start-up time of mediactl against a minimal two-command Typer app, measured in the same run.

    python bench/startup.py [--runs 10]

Each case runs in a fresh interpreter; the figure is the median wall time of --runs runs, and the
ratio is against the minimal app's median for the same kind of call (--help / a completion request);
the cpu column is mediactl's median CPU time (user + sys), steadier than wall time on a shared machine.
Targets: --version and the completion <= 1.0 (issue 17), the rest <= 1.15. Also prints which heavy modules
each call imported (there should be none).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEAVY = ("requests", "urllib3", "requests_toolbelt", "sqlite3", "werkzeug", "jsonschema", "mediactl.sandbox",
         "mediactl.http", "mediactl.transfer", "mediactl.providers.otherpage.api")


def timed(argv: list[str], env: dict, runs: int) -> float:
    return timed_with_cpu(argv, env, runs)[0]


def timed_with_cpu(argv: list[str], env: dict, runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + sys) of the process; CPU time barely moves when other
    work shares the machine, so it is the figure to compare across runs on a busy host."""
    walls, cpus = [], []
    for _ in range(runs):
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(proc.pid, 0)
        walls.append(time.perf_counter() - started)
        cpus.append(usage.ru_utime + usage.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def imported(argv_tail: list[str], env: dict) -> list[str]:
    code = ("import sys, runpy; sys.argv=['mediactl', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('mediactl', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "import json; print(json.dumps(sorted(sys.modules)), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, *argv_tail], env=env, capture_output=True, text=True)
    modules = json.loads(proc.stderr.strip().splitlines()[-1])
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    py = sys.executable
    # Both programs start the way users start them: a console-script-like launcher that imports the app.
    reference = [py, "-c", f"import sys; sys.path.insert(0, {str(HERE)!r}); from minimal_app import app; "
                 "app(prog_name='minimal')"]
    ours_cmd = [str(Path(py).parent / "mediactl")] if (Path(py).parent / "mediactl").exists() else [py, "-m",
                                                                                                     "mediactl"]
    ref_help = timed([*reference, "--help"], env, args.runs)
    # mediactl prints plain help when stdout is not a terminal (as here); the same reference, plain:
    ref_help_plain = timed([*reference, "--help"], {**env, "TYPER_USE_RICH": "0"}, args.runs)
    complete_env = {**env, "_MINIMAL_COMPLETE": "complete_bash", "COMP_WORDS": "minimal he", "COMP_CWORD": "1"}
    ref_complete = timed(reference, complete_env, args.runs)
    cases = [
        ("mediactl --version", ["--version"], env, ref_help),
        ("mediactl --help", ["--help"], env, ref_help),
        ("mediactl otherpage --help", ["otherpage", "--help"], env, ref_help),
        ("completion: mediactl oth<TAB>", [], {**env, "_MEDIACTL_COMPLETE": "complete_bash",
                                               "COMP_WORDS": "mediactl oth", "COMP_CWORD": "1"}, ref_complete),
    ]
    from importlib.metadata import version

    print(f"python {sys.version.split()[0]}, typer {version('typer')}, {os.cpu_count()} cores, "
          f"median of {args.runs} runs")
    print(f"{'case':34} {'mediactl':>9} {'reference':>10} {'ratio':>6} {'cpu':>6}  heavy imports")
    worst = 0.0
    for name, argv, case_env, ref in cases:
        ours, cpu = timed_with_cpu([*ours_cmd, *argv], case_env, args.runs)
        heavy = imported(argv, case_env)
        ratio = ours / ref
        worst = max(worst, ratio)
        print(f"{name:34} {ours * 1000:7.0f}ms {ref * 1000:8.0f}ms {ratio:6.2f} {cpu * 1000:4.0f}ms  "
              f"{', '.join(heavy) or 'none'}")
    print(f"worst ratio {worst:.2f} (target <= 1.15)")
    ours_help = timed([*ours_cmd, "--help"], env, args.runs)
    print(f"help is plain text when piped: mediactl --help {ours_help * 1000:.0f}ms vs the reference's plain help "
          f"{ref_help_plain * 1000:.0f}ms = {ours_help / ref_help_plain:.2f}x (rich panels on a terminal)")


if __name__ == "__main__":
    main()
