"""Batch benchmark: 500 files of 10 KiB through the sandbox's Other Page flow (create record, then POST the
form), mediactl at -j 8 against a shell loop of curl doing the same two phases one file after another.

    python bench/batch.py [--files 500] [--size-kib 10]

Both run against the same sandbox in the same run. Target: mediactl -j 8 <= 0.3x the curl loop's wall
time. Also reports files/s at -j 1, 4, 8, 16 and mediactl's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from _measure import ROOT, measure, table

CURL_LOOP = r"""
set -euo pipefail
for f in "$1"/*; do
  name=$(basename "$f")
  resp=$(curl -sS -f -X POST -H "X-Api-Key: $MEDIACTL_OTHERPAGE_API_KEY" -H 'Content-Type: application/json' \
         -d "{\"name\": \"$name\"}" "$MEDIACTL_OTHERPAGE_BASE_URL/community/$2/file")
  url=$(jq -r .upload.url <<<"$resp")
  mapfile -t form < <(jq -r '.upload.body | to_entries[] | "-F", "\(.key)=\(.value)"' <<<"$resp")
  curl -sS -f -o /dev/null "${form[@]}" -F "file=@$f" "$url"
done
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--size-kib", type=int, default=10)
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
        mediactl = str(Path(sys.executable).parent / "mediactl")
        results = {}
        for jobs in (1, 4, 8, 16):
            run_env = {**env, "MEDIACTL_DATA_DIR": str(work / f"data-j{jobs}")}
            results[jobs] = measure([mediactl, "--no-progress", "-q", "otherpage", "upload", "-r", str(files),
                                     "-j", str(jobs), "--community", f"bench-j{jobs}"], run_env)
        rows = [("curl loop (sequential)", f"{curl['wall']:.2f}s", f"{args.files / curl['wall']:.0f}",
                 f"{curl['rss_mib']:.0f} MiB", "1.00")]
        for jobs, r in results.items():
            rows.append((f"mediactl -j {jobs}", f"{r['wall']:.2f}s", f"{args.files / r['wall']:.0f}",
                         f"{r['rss_mib']:.0f} MiB", f"{r['wall'] / curl['wall']:.2f}"))
        print(f"{args.files} files of {args.size_kib} KiB; python {sys.version.split()[0]}, {os.cpu_count()} cores")
        print(table(rows, ("client", "wall", "files/s", "peak RSS", "ratio")))
        print(f"target: mediactl -j 8 <= 0.30x the curl loop; measured {results[8]['wall'] / curl['wall']:.2f}x")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
