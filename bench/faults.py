"""Reliability under faults: N files per provider at -j 8 against `mediactl sandbox serve --fail-rate 0.2
--drop-rate 0.1 --seed S`, for several seeds. For each run it reports the share uploaded in one run, the
share after one `mediactl resume`, the duplicates found on the server afterwards, and (Other Page, whose API
cannot be asked whether a lost create landed) the file records left without bytes.

    python bench/faults.py [--files 200] [--seeds 1 2 3] [--providers otherpage nationbuilder ofauth bitbadges]

It prints the README's markdown table with machine, Python and date. Nothing here is a timing assertion:
the figures are counts read back from the sandbox's own state.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

FAULTS = ["--fail-rate", "0.2", "--drop-rate", "0.1"]
PAGE = {"metadata": {"name": "", "description": "bench", "image": "https://example.com/a.png"},
        "content": [{"type": "text", "label": "About", "content": ""}], "links": [{"url": "https://example.com"}],
        "type": "utility", "visibility": "public", "categories": ["tools"]}
UPLOAD_ARGS = {
    "otherpage": ["otherpage", "upload", "--community", "bench"],
    "nationbuilder": ["nationbuilder", "upload", "--page", "bench"],
    "ofauth": ["ofauth", "upload"],
    "bitbadges": ["bitbadges", "upload"],
}


def mediactl(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mediactl", *args], env=env, capture_output=True, text=True,
                          timeout=1800)


def make_files(provider: str, folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for n in range(count):
        if provider == "bitbadges":
            doc = json.loads(json.dumps(PAGE))
            doc["metadata"]["name"] = f"Bench page {n}"
            doc["content"][0]["content"] = f"page {n}"
            (folder / f"page{n:04}.json").write_text(json.dumps(doc))
        else:
            (folder / f"file{n:04}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + f"bench file {n}".encode() * 40)


def server_counts(provider: str, state: dict) -> tuple[int, int, int]:
    """(distinct items on the server, duplicates, records left without bytes) for this provider."""
    if provider == "otherpage":
        objects = state["otherpage"]["objects"].values()
        by_content = Counter(o["etag"] for o in objects)
        orphans = len(state["otherpage"]["files"]) - len(state["otherpage"]["objects"])
        return len(by_content), sum(c - 1 for c in by_content.values()), orphans
    if provider == "nationbuilder":
        names = Counter(a["filename"] for a in state["nationbuilder"]["attachments"].values() if a["page"] == "bench")
    elif provider == "ofauth":
        names = Counter(m["etag"] for m in state["ofauth"]["media"].values())
    else:
        names = Counter(p["metadata"]["name"] for p in state["bitbadges"]["pages"].values())
    return len(names), sum(c - 1 for c in names.values()), 0


def one_run(provider: str, seed: int, files: int, work: Path) -> dict:
    import requests

    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACTL_")}
    env.update(MEDIACTL_CONFIG_DIR=str(work / "config"), MEDIACTL_DATA_DIR=str(work / "data"),
               MEDIACTL_NO_PROGRESS="1")
    server = subprocess.Popen([sys.executable, "-m", "mediactl", "-o", "json", "sandbox", "serve", "--port", "0",
                               *FAULTS, "--seed", str(seed)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(server.stdout.readline())
        env.update(info["env"])
        folder = work / "files"
        make_files(provider, folder, files)
        first = mediactl("-o", "jsonl", *UPLOAD_ARGS[provider], "-r", str(folder), "-j", "8", env=env)
        done_first = sum(1 for line in first.stdout.splitlines() if line.strip() and "error" not in json.loads(line))
        resumed = mediactl("-o", "jsonl", "resume", "-j", "8", env=env)
        state = requests.get(info["base_url"] + "/_sandbox/state", timeout=30).json()
        present, duplicates, orphans = server_counts(provider, state)
        return {"provider": provider, "seed": seed, "first": done_first, "after_resume": present,
                "duplicates": duplicates, "orphans": orphans, "exit": first.returncode,
                "resume_exit": resumed.returncode, "faults": len(state["faults"])}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--providers", nargs="+", default=list(UPLOAD_ARGS), choices=list(UPLOAD_ARGS))
    args = parser.parse_args()
    rows = []
    for provider in args.providers:
        for seed in args.seeds:
            with tempfile.TemporaryDirectory(prefix="mediactl-faults-") as tmp:
                row = one_run(provider, seed, args.files, Path(tmp))
            rows.append(row)
            print(f"# {json.dumps(row)}", file=sys.stderr, flush=True)
    n = args.files
    print(f"Reliability under `--fail-rate 0.2 --drop-rate 0.1`, {n} files per provider at -j 8, seeds "
          f"{', '.join(map(str, args.seeds))} ({platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {dt.date.today().isoformat()}; `python bench/faults.py`):\n")
    print("| provider | seed | faults injected | done in one run | after one `resume` | duplicates on the server "
          "| records left without bytes |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['provider']} | {r['seed']} | {r['faults']} | {r['first']}/{n} ({100 * r['first'] / n:.1f} %) "
              f"| {r['after_resume']}/{n} | {r['duplicates']} | "
              f"{r['orphans'] if r['provider'] == 'otherpage' else '—'} |")


if __name__ == "__main__":
    main()
