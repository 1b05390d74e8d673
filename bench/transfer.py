"""Transfer benchmark: wall time and peak RSS of mediactl's streamed upload paths against curl, and the README
table that shows them.

    python bench/transfer.py [--size-mib 1024] [--runs 3] [--part-mib 16] [--workdir DIR] [--only PATH]
                             [--profile]

Paths, each against one server for all of its runs:
  (a) presigned S3 POST of the file: mediactl (s3post.presigned_post, which checks S3's ETag against the
      file's MD5) vs `curl -F` of an equivalent form followed by `md5sum` of the file (the careful script
      that checks the ETag), and vs bare `curl -F`, to SeaweedFS and to the sandbox's S3 endpoint
      (`mediactl sandbox serve`);
  (b) base64 in JSON: mediactl (sending.send_base64_json) vs curl posting the pre-encoded body, to a local
      receiver that reads and discards;
  (c) single PUT (OFAuth's small files): mediactl (sending.put_file of the whole file) vs `curl -T`, to the
      receiver;
  (d) PUT parts (OFAuth's multipart): mediactl (sending.put_file of each range, one connection) vs one curl
      `-T` per range (the ranges pre-split into files, outside the timing), one curl process, to the receiver.
curl always gets `-H 'Expect:'`, so it never waits for a 100-continue. Runs alternate between the clients
(curl first on odd runs, mediactl first on even runs); each figure is the median of --runs runs, peak RSS
the highest, CPU (user + sys of the process) the median. Goals (issue 29): (a) <= 1.0x curl + md5sum and
<= 1.3x bare curl, (b) <= 1.2x, (c) <= 1.15x, (d) <= 1.0x, every mediactl path <= 48 MiB peak RSS
(at 512 MiB). --profile then runs each mediactl path once more under cProfile and prints where its main
thread spent the time, and the CPU of its other threads (the reader, the hashing thread).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _measure import ROOT, compile_bytecode, measure

NO_EXPECT = ["-H", "Expect:"]
PATHS = ("seaweedfs", "sandbox", "base64", "put", "parts")
RSS_GOAL_MIB = 48

RECEIVER = """
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else the body after the headers waits ~40 ms for a delayed ACK per request
    def log_message(self, *a): pass
    def _drain(self):
        left = int(self.headers.get("Content-Length") or 0)
        while left:
            left -= len(self.rfile.read(min(left, 1 << 20)))
        body = b'{"attachment": {"id": 1}}'
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    do_POST = do_PUT = _drain
srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""

MEDIACTL_POST = """
import json, sys
from pathlib import Path
from mediactl.runtime import Runtime
from mediactl.transfer.s3post import presigned_post
url, fields, path = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3])
presigned_post(Runtime(retries=0, timeout=300), url, [tuple(f) for f in fields], path, filename=path.name,
               content_type="application/octet-stream")
"""

MEDIACTL_B64 = """
import sys
from pathlib import Path
from mediactl.http import ApiClient
from mediactl.runtime import Runtime
from mediactl.transfer.sending import send_base64_json
client = ApiClient(Runtime(retries=0, timeout=300), provider="bench", base_url=sys.argv[1])
path = Path(sys.argv[2])
doc = {"attachment": {"filename": path.name, "content_type": "application/octet-stream", "content": None}}
send_base64_json(client, "POST", "/attachments", path, doc, ["attachment", "content"])
"""

MEDIACTL_PUT = """
import sys
from pathlib import Path
from mediactl.http import ApiClient
from mediactl.runtime import Runtime
from mediactl.transfer.sending import put_file
client = ApiClient(Runtime(retries=0, timeout=300), provider="bench", base_url=sys.argv[1])
put_file(client, "/upload", Path(sys.argv[2]))
"""

MEDIACTL_PARTS = """
import sys
from pathlib import Path
from mediactl.http import ApiClient
from mediactl.runtime import Runtime
from mediactl.transfer.files import FileState, WholeFileSha256
from mediactl.transfer.sending import put_file
client = ApiClient(Runtime(retries=0, timeout=300), provider="bench", base_url=sys.argv[1])
path, part = Path(sys.argv[2]), int(sys.argv[3])
expected = FileState.at(path)
whole = WholeFileSha256(path, expected)  # as OFAuth computes the journal's SHA-256
for n, offset in enumerate(range(0, expected.size, part), start=1):
    put_file(client, f"/parts/{n}", path, offset=offset, length=part, expected=expected, whole=whole)
whole.hexdigest()
"""

PROFILER = """
import cProfile, os, sys, time
source = sys.argv.pop(1)
started, cpu_started = time.perf_counter(), os.times()
profile = cProfile.Profile()
scope = {"__name__": "__main__"}
profile.runctx(compile(source, "<bench>", "exec"), scope, scope)
wall, cpu, main_cpu = time.perf_counter() - started, os.times(), time.thread_time()
process_cpu = cpu.user + cpu.system - cpu_started.user - cpu_started.system
profile.create_stats()

def label(key):
    path, line, name = key
    return name if path == "~" else f"{os.path.basename(path)}:{line}({name})"

def cumulative(name):
    return max((v[3] for k, v in profile.stats.items() if k[2] == name), default=0.0)

print(f"wall {wall:.2f} s; CPU: process {process_cpu:.2f} s, main thread {main_cpu:.2f} s, "
      f"other threads {process_cpu - main_cpu:.2f} s; main thread: imports {cumulative('_find_and_load'):.2f} s, "
      f"the upload call(s) {max(cumulative(n) for n in ('presigned_post', 'send_base64_json', 'put_file')):.2f} s")
print("main thread, by own time:")
top = sorted(profile.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:8]
for key, (_, calls, own, cum, _) in top:
    print(f"  {own:6.3f} s own {cum:6.3f} s cumulative {calls:6d} calls  {label(key)}")
"""


def alternate(commands: dict, runs: int, env: dict) -> dict[str, dict]:
    """Run each client `runs` times, alternating which goes first; the median wall time and the peak RSS.
    A command may be a function returning the argv, called before each run (outside the timing)."""
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    rss: dict[str, float] = {name: 0.0 for name in commands}
    names = list(commands)
    for run in range(runs):
        for name in names if run % 2 == 0 else reversed(names):
            cmd = commands[name]() if callable(commands[name]) else commands[name]
            result = measure(cmd, env)
            walls[name].append(result["wall"])
            cpus[name].append(result["cpu"])
            rss[name] = max(rss[name], result["rss_mib"])
    return {name: {"wall": statistics.median(walls[name]), "cpu": statistics.median(cpus[name]),
                   "rss_mib": rss[name], "walls": walls[name]} for name in names}


def profiled(cmd: list[str], env: dict) -> str:
    """Run a mediactl command `[python, "-c", source, *args]` once under cProfile; PROFILER's report."""
    python, _, source, *rest = cmd
    out = subprocess.run([python, "-c", PROFILER, source, *rest], capture_output=True, text=True, env=env,
                         check=True)
    return out.stdout


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores{f' ({model})' if model else ''}, {platform.system()} {platform.release()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--part-mib", type=int, default=16, help="part size of the PUT-parts comparison")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--only", choices=PATHS, action="append",
                        help="run only these paths (repeatable)")
    parser.add_argument("--profile", action="store_true",
                        help="then profile one more run of each mediactl path (cProfile of its main thread)")
    args = parser.parse_args()
    compile_bytecode()
    if args.runs < 3:
        parser.error("--runs must be at least 3 (the median of fewer is not stable)")
    only = set(args.only or PATHS)
    work = Path(tempfile.mkdtemp(prefix="mediactl-bench-", dir=args.workdir))
    py = sys.executable
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rows: list[tuple] = []
    profiles: list[tuple[str, str]] = []
    load_start = os.getloadavg()[0]

    def profile(path: str, cmd: list[str]) -> None:
        if args.profile:
            profiles.append((path, profiled(cmd, env)))

    try:
        big = work / "big.bin"
        with open(big, "wb") as fh:
            for _ in range(args.size_mib):
                fh.write(os.urandom(1 << 20))
        size = f"{args.size_mib} MiB"

        def post_rows(server: str, form) -> None:
            def curl():
                url, fields = form()  # a fresh form (and object key) per run, outside the timing
                return ["curl", "-sS", "-f", "-o", "/dev/null", *NO_EXPECT,
                        *[a for k, v in fields for a in ("-F", f"{k}={v}")], "-F", f"file=@{big}", url]

            def careful():  # what a script that checks S3's ETag does: the upload, then the file's MD5
                command = " ".join(shlex.quote(a) for a in curl())
                return ["bash", "-c", f"{command} && md5sum {shlex.quote(str(big))} >/dev/null"]

            def mediactl():
                url, fields = form()
                return [py, "-c", MEDIACTL_POST, url, json.dumps(fields), str(big)]

            res = alternate({"curl": careful, "bare": curl, "mediactl": mediactl}, args.runs, env)
            add_rows(rows, f"presigned POST, {server}", "`curl -F` + `md5sum`", res, 1.0)
            add_rows(rows, "", "bare `curl -F`", {**res, "curl": res["bare"]}, 1.3)
            profile(f"presigned POST, {server}", mediactl())

        if "seaweedfs" in only:
            from mediactl.sandbox.s3 import sign_form
            from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY

            s3 = _start_seaweed(work)
            counter = iter(range(10**6))

            def seaweed_form():
                key = f"bench/{next(counter)}"
                if key != "bench/0":  # keep one object at a time on disk
                    s3.client.delete_object(Bucket=s3.bucket, Key=f"bench/{int(key[6:]) - 1}")
                fields = sign_form(access_key=ACCESS_KEY, secret_key=SECRET_KEY, session_token=None,
                                   bucket=s3.bucket, key=key, leading=[("success_action_status", "201"),
                                                                       ("key", key)],
                                   trailing=[], ttl=3600, max_size=8 << 30, region=REGION)
                return f"{s3.endpoint}/{s3.bucket}", fields

            try:
                post_rows("SeaweedFS", seaweed_form)
            finally:
                _stop_seaweed(s3)

        if "sandbox" in only:
            import requests

            from tests.sandbox_fixtures import start_sandbox

            sandbox = start_sandbox()
            try:
                sandbox.control(otherpage_max_size=8 << 30)
                base = sandbox.env["MEDIACTL_OTHERPAGE_BASE_URL"]
                headers = {"X-Api-Key": sandbox.env["MEDIACTL_OTHERPAGE_API_KEY"]}

                def sandbox_form():
                    record = requests.post(f"{base}/community/bench/file", json={"name": "big.bin"},
                                           headers=headers, timeout=30).json()
                    return record["upload"]["url"], list(record["upload"]["body"].items())

                post_rows("sandbox S3", sandbox_form)
            finally:
                sandbox.stop()

        if only & {"base64", "put", "parts"}:
            receiver = subprocess.Popen([py, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
            try:
                base = f"http://127.0.0.1:{int(receiver.stdout.readline())}"
                if "base64" in only:
                    encoded = work / "body.json"
                    with open(big, "rb") as src, open(encoded, "wb") as out:
                        out.write(b'{"attachment":{"filename":"big.bin","content_type":"application/octet-stream",'
                                  b'"content":"')
                        while chunk := src.read(3 << 20):
                            out.write(base64.b64encode(chunk))
                        out.write(b'"}}')
                    # -T streams the file (--data-binary @file would read it whole into memory)
                    ours = [py, "-c", MEDIACTL_B64, base, str(big)]
                    res = alternate({
                        "curl": ["curl", "-sS", "-f", "-o", "/dev/null", *NO_EXPECT, "-X", "POST", "-H",
                                 "Content-Type: application/json", "-T", str(encoded), f"{base}/attachments"],
                        "mediactl": ours,
                    }, args.runs, env)
                    encoded.unlink()
                    add_rows(rows, "base64 in JSON, local receiver", "curl, pre-encoded file", res, 1.2)
                    profile("base64 in JSON, local receiver", ours)
                if "put" in only:
                    ours = [py, "-c", MEDIACTL_PUT, base, str(big)]
                    res = alternate({
                        "curl": ["curl", "-sS", "-f", "-o", "/dev/null", *NO_EXPECT, "-T", str(big), f"{base}/upload"],
                        "mediactl": ours,
                    }, args.runs, env)
                    add_rows(rows, "single PUT, local receiver", "`curl -T`", res, 1.15)
                    profile("single PUT, local receiver", ours)
                if "parts" in only:
                    part = args.part_mib << 20
                    pieces = _split(big, part, work / "parts")
                    curl = ["curl", "-sS", "-f", *NO_EXPECT]
                    for n, piece in enumerate(pieces, start=1):
                        curl += ["-o", "/dev/null", "-T", str(piece), f"{base}/parts/{n}"]
                    ours = [py, "-c", MEDIACTL_PARTS, base, str(big), str(part)]
                    res = alternate({"curl": curl, "mediactl": ours}, args.runs, env)
                    shutil.rmtree(work / "parts")
                    add_rows(rows, f"PUT parts of {args.part_mib} MiB, local receiver", "`curl -T` per range",
                             res, 1.0)
                    profile(f"PUT parts of {args.part_mib} MiB, local receiver", ours)
            finally:
                receiver.terminate()
        print(f"`python bench/transfer.py --size-mib {args.size_mib} --runs {args.runs}`: a {size} file, median "
              f"of {args.runs} alternating runs; {machine()}; Python {platform.python_version()}; "
              f"{dt.date.today().isoformat()}; load average {load_start:.1f} at the start, "
              f"{os.getloadavg()[0]:.1f} at the end\n")
        print("| path | client | wall (median) | runs | CPU (median) | peak RSS | ratio vs curl | goal |")
        print("|---|---|---|---|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        for path, report in profiles:
            print(f"\nmediactl, {path}, one run under cProfile:\n\n```\n{report.rstrip()}\n```")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def add_rows(rows: list[tuple], path: str, reference: str, res: dict, goal: float) -> None:
    curl, ours = res["curl"], res["mediactl"]
    ratio = ours["wall"] / curl["wall"]
    met = ratio <= goal and ours["rss_mib"] <= RSS_GOAL_MIB
    runs = lambda r: " / ".join(f"{w:.2f}" for w in r["walls"])  # noqa: E731
    rows.append((path, reference, f"{curl['wall']:.2f} s", runs(curl), f"{curl['cpu']:.2f} s",
                 f"{curl['rss_mib']:.0f} MiB", "1.00", ""))
    rows.append(("", "mediactl", f"{ours['wall']:.2f} s", runs(ours), f"{ours['cpu']:.2f} s",
                 f"{ours['rss_mib']:.0f} MiB", f"**{ratio:.2f}**",
                 f"≤ {goal:.2f}×, ≤ {RSS_GOAL_MIB} MiB: {'met' if met else 'MISSED'}"))


def _split(path: Path, part: int, into: Path) -> list[Path]:
    into.mkdir()
    pieces = []
    with open(path, "rb") as src:
        n = 0
        while True:
            target = into / f"part{n:05d}"
            copied = 0
            with open(target, "wb") as out:
                while copied < part and (chunk := src.read(min(1 << 20, part - copied))):
                    out.write(chunk)
                    copied += len(chunk)
            if not copied:
                target.unlink()
                return pieces
            pieces.append(target)
            n += 1


def _start_seaweed(work: Path):
    """SeaweedFS as the tests start it (tests/s3_server.py), outside pytest."""
    import tests.s3_server as s3mod

    class Factory:
        def mktemp(self, name):
            path = work / name
            path.mkdir()
            return path

    gen = s3mod.s3_server.__wrapped__(Factory())
    server = next(gen)
    server.stop = lambda: next(gen, None)
    time.sleep(0.2)
    return server


def _stop_seaweed(server) -> None:
    server.stop()


if __name__ == "__main__":
    main()
