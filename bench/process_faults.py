"""Reliability under process faults (issue 24): for each provider and seed, against `mediactl sandbox serve
--latency-ms 100`, several batches are killed with SIGTERM or SIGKILL at a random moment of their work (from
their registration on) and each is then resumed; then two `--skip-existing` runs of the same files overlap,
with a `resume` started beside them; a last `resume` finishes whatever is left. It prints, per provider and
seed, the files missing from the server, the duplicates on it, and (Other Page, whose API cannot be asked
whether a lost create landed) the records left without bytes on the server next to the number mediactl's
`note:` lines counted.

    python bench/process_faults.py [--files 30] [--kills 3] [--seeds 1 2 3] [--providers ...]

Nothing here is a timing assertion: the figures are counts read back from the sandbox's own state. The
signals' moments are drawn from the seed; the outcome may still differ run to run (threads, scheduling).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faults import PAGE, UPLOAD_ARGS  # noqa: E402  (bench/faults.py: the same files and commands)

LATENCY = ["--latency-ms", "100"]


def make_files(provider: str, folder: Path, count: int, tag: str) -> dict[str, str]:
    """Files the provider takes; returns name -> what identifies it on the server (md5, sha256 or page name)."""
    import hashlib

    folder.mkdir(parents=True)
    out = {}
    for n in range(count):
        if provider == "bitbadges":
            doc = json.loads(json.dumps(PAGE))
            doc["metadata"]["name"] = f"{tag} page {n}"
            doc["content"][0]["content"] = f"{tag} {n}"
            (folder / f"page{n:04}.json").write_text(json.dumps(doc))
            out[f"page{n:04}.json"] = doc["metadata"]["name"]
        else:
            data = b"\x89PNG\r\n\x1a\n" + f"{tag} file {n} ".encode() * 40
            (folder / f"file{n:04}.png").write_bytes(data)
            digest = hashlib.sha256 if provider == "nationbuilder" else hashlib.md5
            out[f"file{n:04}.png"] = digest(data).hexdigest()
    return out


def on_server(provider: str, state: dict) -> Counter:
    if provider == "otherpage":
        return Counter(o["etag"].strip('"') for o in state["otherpage"]["objects"].values())
    if provider == "nationbuilder":
        return Counter(a["sha256"] for a in state["nationbuilder"]["attachments"].values() if a["page"] == "bench")
    if provider == "ofauth":
        return Counter(m["etag"] for m in state["ofauth"]["media"].values())
    return Counter(p["metadata"]["name"] for p in state["bitbadges"]["pages"].values())


def counted_orphans(stderr: str) -> int:
    return sum(int(n) for n in re.findall(r"note: (\d+) records? may have been left", stderr))


def journal_entries(data_dir: Path) -> int:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{data_dir / 'journal.sqlite3'}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM uploads").fetchone()[0]
    except sqlite3.Error:
        return 0


def start(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "mediactl", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def one_run(provider: str, seed: int, files: int, kills: int, work: Path) -> dict:
    import requests

    rng = random.Random(seed)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACTL_")}
    env.update(MEDIACTL_CONFIG_DIR=str(work / "config"), MEDIACTL_DATA_DIR=str(work / "data"),
               MEDIACTL_NO_PROGRESS="1")
    server = subprocess.Popen([sys.executable, "-m", "mediactl", "-o", "json", "sandbox", "serve", "--port", "0",
                               *LATENCY], env=env, stdout=subprocess.PIPE, text=True)
    stderr, signals, exits = [], Counter(), []
    expected: dict[str, str] = {}
    try:
        info = json.loads(server.stdout.readline())
        env.update(info["env"])
        for k in range(kills):  # batches killed at a random moment, each then resumed
            folder = work / f"batch{k}"
            expected.update({f"{k}/{n}": v for n, v in make_files(provider, folder, files, f"b{k}s{seed}").items()})
            proc = start(env, "-o", "jsonl", *UPLOAD_ARGS[provider], "-r", str(folder), "-j", "4")
            # a random moment of the batch's work: from its registration (one transaction: before it, nothing
            # is known and nothing was sent) to past its end
            registered = (k + 1) * files
            while journal_entries(work / "data") < registered and proc.poll() is None:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 2.0))
            signum = rng.choice([signal.SIGTERM, signal.SIGKILL])
            proc.send_signal(signum)
            signals[signal.Signals(signum).name] += 1
            stderr.append(proc.communicate(timeout=120)[1])
            resumed = start(env, "-o", "jsonl", "resume", "-j", "4")
            stderr.append(resumed.communicate(timeout=300)[1])
            exits.append(resumed.returncode)
        folder = work / "overlap"  # two --skip-existing runs of the same files, and a resume beside them
        expected.update({f"o/{n}": v for n, v in make_files(provider, folder, files, f"os{seed}").items()})
        args = ["-o", "jsonl", *UPLOAD_ARGS[provider], "-r", str(folder), "-j", "4", "--skip-existing"]
        first = start(env, *args)
        time.sleep(rng.uniform(0.1, 1.0))
        second = start(env, *args)
        time.sleep(rng.uniform(0.1, 1.0))
        beside = start(env, "-o", "jsonl", "resume")
        for proc in (first, second, beside):
            stderr.append(proc.communicate(timeout=300)[1])
        last = start(env, "-o", "jsonl", "resume", "-j", "4")
        stderr.append(last.communicate(timeout=300)[1])
        exits.append(last.returncode)
        state = requests.get(info["base_url"] + "/_sandbox/state", timeout=60).json()
    finally:
        server.terminate()
        server.wait(timeout=30)
    present = on_server(provider, state)
    wanted = Counter(expected.values())
    text = "".join(stderr)
    return {
        "provider": provider, "seed": seed, "files": len(expected), "signals": dict(signals),
        "missing": sum(1 for key in wanted if present[key] == 0),
        "duplicates": sum(max(0, present[key] - 1) for key in wanted),
        "orphans_on_server": (sum(1 for f in state["otherpage"]["files"].values() if not f.get("uploadedAt"))
                              if provider == "otherpage" else 0),
        "orphans_counted": counted_orphans(text) if provider == "otherpage" else 0,
        "locked": text.count("database is locked"), "resume_exits": exits,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=30, help="files per batch")
    parser.add_argument("--kills", type=int, default=3, help="batches killed (and resumed) per provider and seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--providers", nargs="+", default=list(UPLOAD_ARGS), choices=list(UPLOAD_ARGS))
    args = parser.parse_args()
    rows = []
    for provider in args.providers:
        for seed in args.seeds:
            with tempfile.TemporaryDirectory(prefix="mediactl-process-faults-") as tmp:
                row = one_run(provider, seed, args.files, args.kills, Path(tmp))
            rows.append(row)
            print(f"# {json.dumps(row)}", file=sys.stderr, flush=True)
    print(f"Process faults: per provider and seed, {args.kills} batches of {args.files} files killed "
          f"(SIGTERM or SIGKILL at a random moment) and each resumed, then two overlapping `--skip-existing` runs "
          f"of {args.files} more with a `resume` beside them ({platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {dt.date.today().isoformat()}; `python bench/process_faults.py`):\n")
    print("| provider | seed | files | signals | missing | duplicates | records without bytes: on the server / "
          "counted | `database is locked` | resume exits |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        signals = ", ".join(f"{n} {name}" for name, n in sorted(r["signals"].items()))
        orphans = f"{r['orphans_on_server']} / {r['orphans_counted']}" if r["provider"] == "otherpage" else "—"
        print(f"| {r['provider']} | {r['seed']} | {r['files']} | {signals} | {r['missing']} | {r['duplicates']} | "
              f"{orphans} | {r['locked']} | {' '.join(map(str, r['resume_exits']))} |")


if __name__ == "__main__":
    main()
