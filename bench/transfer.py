"""Transfer engine benchmark: wall time and peak RSS of mediactl's streamed paths against curl.

    python bench/transfer.py [--size-mib 1024] [--workdir DIR]

(a) presigned S3 POST of the file: mediactl (transfer.presigned_post) vs `curl -F` of the same form, both to
    a local SeaweedFS; (b) base64-in-JSON upload: mediactl (transfer.send_base64_json) vs curl posting the
    pre-encoded body, both to the same local receiver; (c) naive `requests.post(files=...)` of the form.
Targets: peak RSS <= 64 MiB for every mediactl path; wall <= 1.3x curl for (a), <= 1.5x for (b).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _measure import ROOT, measure, table

RECEIVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        left = int(self.headers.get("Content-Length") or 0)
        while left:
            left -= len(self.rfile.read(min(left, 1 << 20)))
        body = b'{"attachment": {"id": 1}}'
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
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

NAIVE = """
import json, sys, requests
url, fields, path = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
with open(path, "rb") as fh:
    resp = requests.post(url, data=dict(fields), files={"file": (path, fh.read(), "application/octet-stream")})
resp.raise_for_status()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mediactl-bench-", dir=args.workdir))
    py = sys.executable
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        big = work / "big.bin"
        with open(big, "wb") as fh:
            for _ in range(args.size_mib):
                fh.write(os.urandom(1 << 20))
        print(f"file: {args.size_mib} MiB; python {sys.version.split()[0]}, {os.cpu_count()} cores", flush=True)

        from tests.s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server, free_ports, weed_binary  # noqa: F401

        s3 = _start_seaweed(work)
        from mediactl.sandbox.s3 import sign_form

        def form(key: str):
            fields = sign_form(access_key=ACCESS_KEY, secret_key=SECRET_KEY, session_token=None, bucket=s3.bucket,
                               key=key, leading=[("success_action_status", "201"), ("key", key)], trailing=[],
                               ttl=3600, max_size=8 << 30, region=REGION)
            return f"{s3.endpoint}/{s3.bucket}", fields

        rows = []
        url, fields = form("bench/curl")
        curl_args = ["curl", "-sS", "-f", "-o", "/dev/null", url]
        for k, v in fields:
            curl_args += ["-F", f"{k}={v}"]
        a_curl = measure([*curl_args, "-F", f"file=@{big}"], env)
        url, fields = form("bench/mediactl")
        a_ours = measure([py, "-c", MEDIACTL_POST, url, json.dumps(fields), str(big)], env)
        url, fields = form("bench/naive")
        c_naive = measure([py, "-c", NAIVE, url, json.dumps(fields), str(big)], env)
        s3.process.terminate()

        receiver = subprocess.Popen([py, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
        port = int(receiver.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        encoded = work / "body.json"
        with open(big, "rb") as src, open(encoded, "wb") as out:
            out.write(b'{"attachment":{"filename":"big.bin","content_type":"application/octet-stream","content":"')
            while chunk := src.read(3 << 20):
                out.write(base64.b64encode(chunk))
            out.write(b'"}}')
        # -T streams the file (--data-binary @file would read it whole into memory)
        b_curl = measure(["curl", "-sS", "-f", "-o", "/dev/null", "-X", "POST", "-H", "Content-Type: application/json",
                          "-T", str(encoded), f"{base}/attachments"], env)
        b_ours = measure([py, "-c", MEDIACTL_B64, base, str(big)], env)
        receiver.terminate()

        rows = [
            ("(a) presigned POST", "curl -F", f"{a_curl['wall']:.2f}s", f"{a_curl['rss_mib']:.0f} MiB", "1.00", ""),
            ("", "mediactl", f"{a_ours['wall']:.2f}s", f"{a_ours['rss_mib']:.0f} MiB",
             f"{a_ours['wall'] / a_curl['wall']:.2f}", "<= 1.30x, <= 64 MiB"),
            ("", "requests files=", f"{c_naive['wall']:.2f}s", f"{c_naive['rss_mib']:.0f} MiB",
             f"{c_naive['wall'] / a_curl['wall']:.2f}", "(c) naive"),
            ("(b) base64 JSON", "curl pre-encoded", f"{b_curl['wall']:.2f}s", f"{b_curl['rss_mib']:.0f} MiB", "1.00",
             ""),
            ("", "mediactl", f"{b_ours['wall']:.2f}s", f"{b_ours['rss_mib']:.0f} MiB",
             f"{b_ours['wall'] / b_curl['wall']:.2f}", "<= 1.50x, <= 64 MiB"),
        ]
        print(table(rows, ("path", "client", "wall", "peak RSS", "ratio", "target")))
    finally:
        shutil.rmtree(work, ignore_errors=True)


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
    time.sleep(0.2)
    return server


if __name__ == "__main__":
    main()
