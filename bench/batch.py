"""Batch benchmark: 500 files of 10 KiB through the sandbox's Other Page flow (create record, then POST the
form), mediactl at -j 8 against a shell loop of curl doing the same two phases one file after another.

    python bench/batch.py [--files 500] [--size-kib 10] [--src DIR]

Both run against the same sandbox in the same run; curl gets `-H 'Expect:'`. Goal: mediactl -j 8 <= 0.08x
the curl loop's wall time. Also reports files/s at -j 1, 4, 8, 16 and mediactl's peak RSS. `--src` measures
the mediactl package of another source tree (e.g. `git archive OLD mediactl | tar -x -C /tmp/old`), for
before/after figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

from _measure import ROOT, measure, table

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--size-kib", type=int, default=10)
    parser.add_argument("--src", type=Path, default=ROOT, help="source tree whose mediactl package to measure")
    args = parser.parse_args()
    for tool in ("curl", "jq", "bash"):
        if not shutil.which(tool):
            sys.exit(f"bench/batch.py needs {tool}")
    from tests.sandbox_fixtures import start_sandbox

    work = Path(tempfile.mkdtemp(prefix="mediactl-bench-"))
    server = start_sandbox()
    try:
        files = work / "files"
        files.mkdir()
        for n in range(args.files):
            (files / f"f{n:04d}.bin").write_bytes(os.urandom(args.size_kib * 1024))
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACTL_")}
        env.update(server.env, PYTHONPATH=str(ROOT), MEDIACTL_CONFIG_DIR=str(work / "config"))
        curl = measure(["bash", "-c", CURL_LOOP, "curl-loop", str(files), "bench-curl"], env)
        results = {}
        for jobs in (1, 4, 8, 16):
            run_env = {**env, "MEDIACTL_DATA_DIR": str(work / f"data-j{jobs}"), "PYTHONPATH": str(args.src)}
            results[jobs] = measure([sys.executable, "-m", "mediactl", "--no-progress", "-q", "otherpage", "upload",
                                     "-r", str(files), "-j", str(jobs), "--community", f"bench-j{jobs}"], run_env)
        rows = [("curl loop (sequential)", f"{curl['wall']:.2f}s", f"{args.files / curl['wall']:.0f}",
                 f"{curl['rss_mib']:.0f} MiB", "1.00")]
        for jobs, r in results.items():
            rows.append((f"mediactl -j {jobs}", f"{r['wall']:.2f}s", f"{args.files / r['wall']:.0f}",
                         f"{r['rss_mib']:.0f} MiB", f"{r['wall'] / curl['wall']:.2f}"))
        print(f"`python bench/batch.py --files {args.files} --size-kib {args.size_kib}` ({args.src}); "
              f"{os.cpu_count()} cores; Python {platform.python_version()}; {dt.date.today().isoformat()}")
        print(table(rows, ("client", "wall", "files/s", "peak RSS", "ratio")))
        print(f"goal: mediactl -j 8 <= 0.08x the curl loop; measured {results[8]['wall'] / curl['wall']:.2f}x")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
