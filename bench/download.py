"""Round-trip benchmark: a download against `curl -o` from the same sandbox, and the time a sync takes to plan
when nothing changed.

    python bench/download.py [--size-mib 256] [--runs 3] [--files 1000] [--workdir DIR] [--only download|plan]

(a) download: a generated file of --size-mib MiB is uploaded to the sandbox's OFAuth vault once, then
    fetched from its `files.full.url` by `mediactl ofauth download ID --force`, by `curl -o`, and by
    `curl -o` followed by `sync FILE` (mediactl fsyncs a download before it renames it, curl does not),
    runs alternating; the median wall time of each, mediactl's peak RSS (highest run).
    Goals: <= 1.1x curl, <= 64 MiB.
(b) sync plan: --files small files are synced to a NationBuilder page once, then
    `mediactl nationbuilder sync DIR --dry-run` is timed (median of --runs): the journal knows every file,
    so the plan reads the page's listing and hashes the local files, and fetches no attachment's bytes.
    Goal: <= 2 s.
Prints a markdown table (machine, Python, date) for the README's "Round trip" section.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _measure import ROOT, compile_bytecode, measure

from tests.sandbox_fixtures import start_sandbox


def mediactl(*args: str) -> list[str]:
    return [sys.executable, "-m", "mediactl", "--no-progress", *args]


def run_json(cmd: list[str], env: dict) -> list:
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[2:5])}... exited {out.returncode}: {out.stderr[-2000:]}")
    return json.loads(out.stdout)


def bench_download(work: Path, env: dict, size_mib: int, runs: int) -> dict:
    src = work / "big.png"  # OFAuth takes image/video/audio: a PNG signature, then random bytes
    with open(src, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n")
        for _ in range(size_mib):
            fh.write(os.urandom(1024 * 1024))
    [uploaded] = run_json(mediactl("-o", "json", "ofauth", "upload", str(src), "--part-concurrency", "4"), env)
    media = uploaded["media"]
    url = media["files"]["full"]["url"]
    src.unlink()
    walls: dict[str, list[float]] = {"mediactl": [], "curl": [], "curl+sync": []}
    rss = 0.0
    curl = ["curl", "-sS", "--fail", "-o", str(work / "curl.out"), url]
    for n in range(runs):
        order = ("curl", "curl+sync", "mediactl") if n % 2 == 0 else ("mediactl", "curl+sync", "curl")
        for who in order:
            if who == "curl":
                result = measure(curl, env)
            elif who == "curl+sync":  # the durability mediactl gives: the file's data on disk before it counts
                result = measure(["sh", "-c", f'"$@" && sync "{work / "curl.out"}"', "sh", *curl], env)
            else:
                result = measure(mediactl("ofauth", "download", str(media["id"]), "-d", str(work / "m"), "--force"),
                                 env)
                rss = max(rss, result["rss_mib"])
            walls[who].append(result["wall"])
    got = work / "m" / Path(url).name
    assert got.stat().st_size == (work / "curl.out").stat().st_size, "the two downloads differ in size"
    m, c, cs = (statistics.median(walls[k]) for k in ("mediactl", "curl", "curl+sync"))
    return {"mediactl": m, "curl": c, "ratio": m / c, "curl_sync": cs, "ratio_sync": m / cs, "rss": rss}


def bench_sync_plan(work: Path, env: dict, files: int, runs: int) -> dict:
    site = work / "site"
    site.mkdir()
    for n in range(files):
        (site / f"file-{n:04d}.txt").write_bytes(os.urandom(512))
    page = f"bench-{os.getpid()}"
    out = subprocess.run(mediactl("nationbuilder", "sync", str(site), "--page", page, "-j", "8"), env=env,
                         capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"the first sync failed: {out.stderr[-2000:]}")
    walls = []
    for _ in range(runs):
        result = measure(mediactl("-o", "json", "nationbuilder", "sync", str(site), "--page", page, "--dry-run"),
                         env)
        walls.append(result["wall"])
    plan = run_json(mediactl("-o", "json", "nationbuilder", "sync", str(site), "--page", page, "--dry-run"), env)
    assert plan["totals"]["unchanged"] == files, plan["totals"]
    return {"plan": statistics.median(walls), "files": files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--only", choices=("download", "plan"), default=None)
    args = parser.parse_args()
    compile_bytecode()
    if shutil.which("curl") is None:
        raise SystemExit("bench/download.py needs curl")
    work = Path(tempfile.mkdtemp(prefix="mediactl-bench-download-", dir=args.workdir))
    box = start_sandbox("--ofauth-part-size", str(64 * 1024 * 1024))
    try:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("MEDIACTL_")}, **box.env,
               "MEDIACTL_CONFIG_DIR": str(work / "config"), "MEDIACTL_DATA_DIR": str(work / "data")}
        down = bench_download(work, env, args.size_mib, args.runs) if args.only != "plan" else None
        plan = bench_sync_plan(work, env, args.files, args.runs) if args.only != "download" else None
    finally:
        box.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; Python {platform.python_version()}; "
          f"{dt.date.today().isoformat()}; median of {args.runs} runs")
    print()
    print("| what | mediactl | reference | ratio | peak RSS | goal |")
    print("|---|---|---|---|---|---|")
    if down:
        print(f"| download {args.size_mib} MiB (sandbox OFAuth media) | {down['mediactl']:.2f} s | curl -o "
              f"{down['curl']:.2f} s | {down['ratio']:.2f}x | {down['rss']:.0f} MiB | <= 1.1x, <= 64 MiB |")
        print(f"| the same, against curl -o then `sync FILE` (fsynced, as mediactl does) | {down['mediactl']:.2f} s "
              f"| {down['curl_sync']:.2f} s | {down['ratio_sync']:.2f}x | | |")
    if plan:
        print(f"| sync --dry-run of {plan['files']} unchanged files (NationBuilder) | {plan['plan']:.2f} s | | | "
              "| <= 2 s |")


if __name__ == "__main__":
    main()
