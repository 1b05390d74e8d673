"""Start-up, TAB completion and time to first byte of mediactl against a minimal Typer app, in the same run.

    python bench/startup.py [--runs 15] [--only TEXT]

Every case runs in a fresh process, alternating with its reference (the minimal two-command Typer app of
bench/minimal_app.py doing the same kind of call in the same shell), ours first on even runs and the
reference first on odd ones; each figure is the median of --runs, the ratio is ours / reference, and the cpu
column is mediactl's median CPU time (user + sys), steadier than wall time on a shared machine.

Cases and goals (issue 29):
- completion of static words (commands, options, fixed values) in bash, zsh and fish: <= 0.5x the
  reference's completion in the same shell, with no Typer, Rich or Pydantic imported;
- completion of values looked up at run time (profile names, journal ids): <= 1.0x;
- time to first byte of `mediactl nationbuilder upload` (a loopback receiver notes when the first byte of
  the first request arrives, then hangs up): <= 0.6x the reference's whole start-up (`minimal hello`);
  the launcher's fast path parses that line without Typer (mediactl/fast_upload.py); next to it the same
  upload with `-j4`, a line the fast path leaves to the full CLI, and, for scale, the first byte of a bare
  `python -c "import requests; requests.get(...)"`;
- --version <= 1.0x, --help <= 1.15x (issue 17); for scale, a help the full CLI prints (COLUMNS=60: not the
  width of the pre-rendered pages) and `mediactl history` against the reference's `minimal hello`.
The last column lists the heavy modules each call imported (one extra run with sys.modules printed).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _measure import compile_bytecode  # noqa: E402

HEAVY = ("typer", "rich", "pydantic", "requests", "urllib3", "requests_toolbelt", "sqlite3", "werkzeug",
         "jsonschema", "mediactl.sandbox", "mediactl.http", "mediactl.transfer")
NEVER_FOR_COMPLETION = ("typer", "rich", "pydantic")


def run_once(argv: list[str], env: dict) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


class FirstByteReceiver:
    """A loopback TCP server that notes when the first byte of a connection arrives, then hangs up."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]

    def time_to_first_byte(self, argv: list[str], env: dict) -> tuple[float, float]:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.server.settimeout(30)
        conn, _ = self.server.accept()
        with conn:
            if not conn.recv(1):
                raise RuntimeError("the upload connected but sent nothing")
            first = time.perf_counter() - started
        proc.kill()
        _, _, usage = os.wait4(proc.pid, 0)
        return first, usage.ru_utime + usage.ru_stime


def imported(argv_tail: list[str], env: dict) -> list[str]:
    code = ("import sys, runpy; sys.argv=['mediactl', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('mediactl', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "import json; print(json.dumps(sorted(sys.modules)), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, *argv_tail], env=env, capture_output=True, text=True)
    modules = json.loads(proc.stderr.strip().splitlines()[-1])
    return sorted({h for m in modules for h in HEAVY if m == h or m.startswith(h + ".")})


def completion_env(shell: str, line: str, prog: str) -> dict:
    """The variables the scripts in completions/ set (Typer's own scripts for the reference)."""
    var = f"_{prog.upper()}_COMPLETE"
    if shell == "bash":
        words = line.split(" ")
        return {var: "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(len(words) - 1)}
    extra = {"_TYPER_COMPLETE_FISH_ACTION": "get-args"} if shell == "fish" else {}
    return {var: f"complete_{shell}", "_TYPER_COMPLETE_ARGS": line, **extra}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", default="", help="run only the cases whose name contains this text")
    args = parser.parse_args()
    compile_bytecode()
    work = Path(tempfile.mkdtemp(prefix="mediactl-startup-"))
    receiver = FirstByteReceiver()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "MEDIACTL_CONFIG_DIR": str(work / "config"),
           "MEDIACTL_DATA_DIR": str(work / "data"),
           "MEDIACTL_NATIONBUILDER_BASE_URL": f"http://127.0.0.1:{receiver.port}/api/v1",
           "MEDIACTL_NATIONBUILDER_ACCESS_TOKEN": "bench-token", "MEDIACTL_NATIONBUILDER_NATION": "bench"}
    for name in ("MEDIACTL_OUTPUT", "MEDIACTL_PROFILE", "NO_COLOR"):
        env.pop(name, None)
    py = sys.executable
    # Both programs start the way users start them: a console-script-like launcher that imports the app.
    reference = [py, "-c", f"import sys; sys.path.insert(0, {str(HERE)!r}); from minimal_app import app; "
                 "app(prog_name='minimal')"]
    ours = [str(Path(py).parent / "mediactl")] if (Path(py).parent / "mediactl").exists() else [py, "-m", "mediactl"]
    upload_file = work / "first-byte.bin"
    upload_file.write_bytes(os.urandom(64 * 1024))
    subprocess.run([*ours, "--profile", "bench", "config", "set", "otherpage.community", "c"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    cases = []  # (name, our argv tail, our env, reference argv tail, reference env, goal, kind)
    ref_plain = {**env, "TYPER_USE_RICH": "0"}
    cases.append(("mediactl --version", ["--version"], env, ["--help"], env, 1.0, "run"))
    cases.append(("mediactl --help (piped: plain)", ["--help"], env, ["--help"], ref_plain, 1.15, "run"))
    cases.append(("mediactl otherpage --help", ["otherpage", "--help"], env, ["--help"], ref_plain, 1.15, "run"))
    # For scale, what the full CLI takes: the same kind of help at a width the pages were not rendered at, and a
    # real command (history reads the journal) next to the reference's real command.
    narrow, ref_narrow = {**env, "COLUMNS": "60"}, {**ref_plain, "COLUMNS": "60"}
    cases.append(("mediactl otherpage list --help (full CLI: COLUMNS=60)", ["otherpage", "list", "--help"], narrow,
                  ["--help"], ref_narrow, None, "run"))
    cases.append(("mediactl history (full CLI)", ["history"], env, ["hello"], env, None, "run"))
    for shell in ("bash", "zsh", "fish"):
        ref_env = {**env, **completion_env(shell, "minimal he", "minimal")}
        for line in ("mediactl otherpage up", "mediactl otherpage upload --", "mediactl -o "):
            cases.append((f"{shell}: {line.removeprefix('mediactl ')}<TAB>", [],
                          {**env, **completion_env(shell, line, "mediactl")}, [], ref_env, 0.5, "static"))
        for line in ("mediactl --profile ", "mediactl otherpage show "):
            cases.append((f"{shell}: {line.removeprefix('mediactl ')}<TAB>", [],
                          {**env, **completion_env(shell, line, "mediactl")}, [], ref_env, 1.0, "dynamic"))
    bash_ref = {**env, **completion_env("bash", "minimal he", "minimal")}
    cases.append(("bash: otherpage upload a -o <TAB> (full CLI)", [],
                  {**env, **completion_env("bash", "mediactl otherpage upload a -o ", "mediactl")}, [], bash_ref,
                  None, "fallback"))
    upload = ["--retries", "0", "nationbuilder", "upload", str(upload_file), "--site", "s", "--page", "p"]
    cases.append(("first byte of nationbuilder upload", upload, env, ["hello"], env, 0.6, "first-byte"))
    # The same upload through the other door: `-j4` (a short option with its value attached) is a line the
    # launcher's fast path leaves to the full CLI (Typer), so both doors are visible.
    cases.append(("first byte of the same upload, full CLI (`-j4`)", [*upload, "-j4"], env, ["hello"], env, None,
                  "first-byte"))
    # The floor under that figure: the HTTP library alone, imported and sending its first request.
    bare = [py, "-c", f"import requests; requests.get('http://127.0.0.1:{receiver.port}/', timeout=30)"]
    cases.append(("first byte of a bare `requests.get` (floor)", bare, env, ["hello"], env, None, "first-byte-raw"))

    from importlib.metadata import version

    print(f"`python bench/startup.py --runs {args.runs}`: python {sys.version.split()[0]}, typer {version('typer')}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start; median of {args.runs} runs, "
          "each alternating with its reference")
    print()
    print("| case | mediactl | reference | ratio | goal | cpu | heavy imports |")
    print("|---|---|---|---|---|---|---|")
    missed = []
    for name, argv, case_env, ref_argv, ref_env, goal, kind in cases:
        if args.only not in name:
            continue
        walls, cpus, refs = [], [], []
        for run in range(args.runs):
            def measure_ours(argv=argv, case_env=case_env, kind=kind):
                if kind == "first-byte":
                    return receiver.time_to_first_byte([*ours, *argv], case_env)
                if kind == "first-byte-raw":
                    return receiver.time_to_first_byte(argv, case_env)
                return run_once([*ours, *argv], case_env)

            def measure_ref(ref_argv=ref_argv, ref_env=ref_env):
                return run_once([*reference, *ref_argv], ref_env)

            if run % 2:
                refs.append(measure_ref()[0])
                wall, cpu = measure_ours()
            else:
                wall, cpu = measure_ours()
                refs.append(measure_ref()[0])
            walls.append(wall)
            cpus.append(cpu)
        wall, ref, cpu = statistics.median(walls), statistics.median(refs), statistics.median(cpus)
        ratio = wall / ref
        heavy = [] if kind.startswith("first-byte") else imported(argv, case_env)
        if kind in ("static", "dynamic") and set(heavy) & set(NEVER_FOR_COMPLETION):
            missed.append(f"{name} imported {heavy}")
        verdict = "" if goal is None else (f"≤ {goal}: met" if ratio <= goal else f"≤ {goal}: MISSED")
        if goal is not None and ratio > goal:
            missed.append(f"{name}: {ratio:.2f}x (goal {goal}x)")
        print(f"| {name} | {wall * 1000:.0f} ms | {ref * 1000:.0f} ms | **{ratio:.2f}** | {verdict} | "
              f"{cpu * 1000:.0f} ms | {', '.join(heavy) or 'none'} |")
    print()
    print(f"load average {os.getloadavg()[0]:.1f} at the end; "
          + ("every goal met" if not missed else "missed: " + "; ".join(missed)))
    receiver.server.close()


if __name__ == "__main__":
    main()
