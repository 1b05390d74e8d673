"""Batch benchmark: many tiny files through the sandbox's Other Page flow (create the record, then POST the
form), mediactl at -j 8 against a shell loop of curl doing the same two phases one file after another.

    python bench/batch.py [--files 10000] [--size-kib 1] [--jobs 8] [--runs 3] [--ref-files 200] [--src DIR]

Both run against the same sandbox in the same run, alternating (the curl loop first on odd runs); curl gets
`-H 'Expect:'`. The sandbox keeps HTTP/1.1 connections alive (mediactl/sandbox/serving.py), which
mediactl's workers use (two per worker: its API client's and its S3 client's); the curl loop reuses
nothing whatever the server offers (each request is a new curl process, so a new connection), as a shell
script would.
The curl loop does --ref-files files per run (at about 10 files/s, all 10,000 would take a
quarter of an hour), so the comparison is in files per second. For mediactl the figures are the median of
--runs: files/s end to end; peak RSS, and the peak it had reached by its last result; when the last result
line came out (results are written and flushed as each file finishes) and how long the process ran after
it (the end-of-batch work: the journal summary); and the CPU each side spent, mediactl's process and the
sandbox's (read from /proc), so it is clear which side the time is on. Goal (issue 29): >= 300 files/s end
to end at -j 8, <= 100 MiB.
`--src` measures the mediactl package of another source tree (e.g. `git archive OLD mediactl | tar -x -C
/tmp/old`), for before/after figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _measure import ROOT, compile_bytecode, measure, table

GOAL_FILES_PER_S = 300
GOAL_RSS_MIB = 100

CURL_LOOP = r"""
set -euo pipefail
for f in "$1"/*; do
  name=$(basename "$f")
  resp=$(curl -sS -f -H 'Expect:' -X POST -H "X-Api-Key: $MEDIACTL_OTHERPAGE_API_KEY" \
         -H 'Content-Type: application/json' \
         -d "{\"name\": \"$name\"}" "$MEDIACTL_OTHERPAGE_BASE_URL/community/$2/file")
  url=$(jq -r .upload.url <<<"$resp")
  mapfile -t form < <(jq -r '.upload.body | to_entries[] | "-F", "\(.key)=\(.value)"' <<<"$resp")
  curl -sS -f -H 'Expect:' -o /dev/null "${form[@]}" -F "file=@$f" "$url"
done
"""


def process_cpu(pid: int) -> float:
    """CPU seconds (user + sys) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float | None:
    """A running process's peak RSS so far (VmHWM), or None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_batch(argv: list[str], env: dict, sandbox_pid: int, cwd: Path) -> dict:
    """One mediactl batch: wall, when its last result came out, peak RSS, its CPU and the sandbox's.
    `cwd` is not a source tree: `python -m` puts the working directory first on sys.path, where a
    checkout's own mediactl would shadow the one --src names on PYTHONPATH."""
    server_before = process_cpu(sandbox_pid)
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    results, last_result, peak_by_last = 0, started, 0.0
    for _ in proc.stdout:
        results += 1
        last_result = time.perf_counter()
        peak_by_last = peak_rss_mib(proc.pid) or peak_by_last
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"{argv[:6]}... exited {status}: {stderr[-2000:]!r}")
    return {"wall": wall, "results": results, "last_result": last_result - started,
            "after_last": wall - (last_result - started), "rss_mib": usage.ru_maxrss / 1024,
            "rss_by_last_mib": peak_by_last,
            "cpu": usage.ru_utime + usage.ru_stime, "server_cpu": process_cpu(sandbox_pid) - server_before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10000)
    parser.add_argument("--size-kib", type=int, default=1)
    parser.add_argument("--jobs", type=int, action="append", help="mediactl -j (repeatable; default 8)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ref-files", type=int, default=200, help="files the curl loop sends per run")
    parser.add_argument("--src", type=Path, default=ROOT, help="source tree whose mediactl package to measure")
    args = parser.parse_args()
    compile_bytecode(args.src / "mediactl", Path(__file__).resolve().parent)
    jobs_list = args.jobs or [8]
    for tool in ("curl", "jq", "bash"):
        if not shutil.which(tool):
            sys.exit(f"bench/batch.py needs {tool}")
    from tests.sandbox_fixtures import start_sandbox

    work = Path(tempfile.mkdtemp(prefix="mediactl-bench-"))
    server = start_sandbox()
    try:
        files, ref_files = work / "files", work / "ref-files"
        files.mkdir()
        ref_files.mkdir()
        for n in range(args.files):
            (files / f"f{n:05d}.bin").write_bytes(os.urandom(args.size_kib * 1024))
        for n in range(args.ref_files):
            (ref_files / f"f{n:05d}.bin").write_bytes(os.urandom(args.size_kib * 1024))
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACTL_")}
        env.update(server.env, PYTHONPATH=str(ROOT), MEDIACTL_CONFIG_DIR=str(work / "config"))
        curl_runs: list[dict] = []
        ours: dict[int, list[dict]] = {jobs: [] for jobs in jobs_list}
        load_start = os.getloadavg()[0]
        for run in range(args.runs):
            def curl(run=run):
                curl_runs.append(measure(["bash", "-c", CURL_LOOP, "curl-loop", str(ref_files),
                                          f"bench-curl-{run}"], env))

            def mediactl(run=run):
                for jobs in jobs_list:
                    run_env = {**env, "MEDIACTL_DATA_DIR": str(work / f"data-j{jobs}-{run}"),
                               "PYTHONPATH": str(args.src)}
                    ours[jobs].append(run_batch(
                        [sys.executable, "-m", "mediactl", "--no-progress", "-q", "otherpage", "upload", "-r",
                         str(files), "-j", str(jobs), "--community", f"bench-j{jobs}-{run}"],
                        run_env, server.process.pid, work))

            for step in ((curl, mediactl) if run % 2 else (mediactl, curl)):
                step()
        curl_wall = statistics.median(r["wall"] for r in curl_runs)
        curl_rate = args.ref_files / curl_wall
        rows = [("curl loop (sequential)", f"{args.ref_files}", f"{curl_wall:.2f}s", f"{curl_rate:.0f}", "", "",
                 f"{max(r['rss_mib'] for r in curl_runs):.0f} MiB", "", "1.0")]
        missed = []
        for jobs, runs in ours.items():
            wall = statistics.median(r["wall"] for r in runs)
            rate = args.files / wall
            rss = max(r["rss_mib"] for r in runs)
            rss_by_last = max(r["rss_by_last_mib"] for r in runs)
            last = statistics.median(r["last_result"] for r in runs)
            after = statistics.median(r["after_last"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            server_cpu = statistics.median(r["server_cpu"] for r in runs)
            if any(r["results"] != args.files for r in runs):
                missed.append(f"-j {jobs} printed {[r['results'] for r in runs]} results for {args.files} files")
            rows.append((f"mediactl -j {jobs}", f"{args.files}", f"{wall:.2f}s", f"{rate:.0f}",
                         f"{last:.2f}s", f"{after:.2f}s", f"{rss:.0f} MiB ({rss_by_last:.0f} by the last result)",
                         f"{cpu:.1f}s / {server_cpu:.1f}s",
                         f"{rate / curl_rate:.1f}"))
            if jobs == 8 and (rate < GOAL_FILES_PER_S or rss > GOAL_RSS_MIB):
                missed.append(f"-j 8: {rate:.0f} files/s (goal >= {GOAL_FILES_PER_S}), {rss:.0f} MiB "
                              f"(goal <= {GOAL_RSS_MIB})")
        print(f"`python bench/batch.py --files {args.files} --size-kib {args.size_kib} --runs {args.runs}` "
              f"({args.src}); {os.cpu_count()} cores; Python {platform.python_version()}; "
              f"{dt.date.today().isoformat()}; load average {load_start:.1f} at the start, "
              f"{os.getloadavg()[0]:.1f} at the end; median of {args.runs} alternating runs")
        print(table(rows, ("client", "files", "wall", "files/s", "last result at", "after it", "peak RSS",
                           "CPU client / sandbox", "files/s vs curl")))
        print("goal: mediactl -j 8 >= 300 files/s end to end, <= 100 MiB: "
              + ("met" if not missed else "MISSED (" + "; ".join(missed) + ")"))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
