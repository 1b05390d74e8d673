"""The floor of an upload on this machine: what each step the client must take costs per GiB, alone.

    python bench/floor.py [--size-mib 256] [--runs 5]

Steps, each over a generated file already in the page cache, in 1 MiB blocks (the size mediactl reads and
writes): reading it (into new bytes objects, as `read()` does, and into one reused buffer), MD5 (S3's ETag
check), SHA-256 (the journal's record), both one after the other and both on two threads at once, base64
(pybase64), a copy of every block, and writing the blocks to a loopback socket whose reader (another
process) discards them; then coreutils' `md5sum` and `sha256sum` of the file for comparison. Each figure
is the median of --runs, in seconds per GiB, wall and CPU; compare bench/transfer.py's CPU column to see
how far a path is above the sum of the steps it needs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BLOCK = 1 << 20

DISCARD = """
import socket, sys
srv = socket.create_server(("127.0.0.1", 0))
print(srv.getsockname()[1], flush=True)
buf = bytearray(1 << 20)
while True:
    conn, _ = srv.accept()
    with conn:
        while conn.recv_into(buf):
            pass
        conn.sendall(b"k")
"""


def blocks(path: Path) -> list[bytes]:
    with open(path, "rb") as fh:
        return list(iter(lambda: fh.read(BLOCK), b""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mediactl-floor-"))
    path = work / "data.bin"
    with open(path, "wb") as fh:
        for _ in range(args.size_mib):
            fh.write(os.urandom(BLOCK))
    data = blocks(path)  # also brings the file into the page cache
    receiver = subprocess.Popen([sys.executable, "-c", DISCARD], stdout=subprocess.PIPE, text=True)
    port = int(receiver.stdout.readline())

    def read_new() -> None:
        with open(path, "rb", buffering=0) as fh:
            while fh.read(BLOCK):
                pass

    def read_into() -> None:
        buf = bytearray(BLOCK)
        with open(path, "rb", buffering=0) as fh:
            while fh.readinto(buf):
                pass

    def md5() -> None:
        h = hashlib.md5(usedforsecurity=False)
        for b in data:
            h.update(b)

    def sha256() -> None:
        h = hashlib.sha256()
        for b in data:
            h.update(b)

    def both() -> None:
        md5()
        sha256()

    def both_threads() -> None:
        other = threading.Thread(target=sha256)
        other.start()
        md5()
        other.join()

    def b64() -> None:
        from pybase64 import b64encode

        for b in data:
            b64encode(b)

    def copy() -> None:
        for b in data:
            bytearray(b)

    def send() -> None:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            for b in data:
                sock.sendall(b)
            sock.shutdown(socket.SHUT_WR)
            sock.recv(1)

    def tool(name: str):
        def run() -> float:
            proc = subprocess.Popen([name, str(path)], stdout=subprocess.DEVNULL)
            _, _, usage = os.wait4(proc.pid, 0)
            return usage.ru_utime + usage.ru_stime
        return run

    steps = [("read, into new bytes (fh.read)", read_new), ("read, into one reused buffer (readinto)", read_into),
             ("MD5", md5), ("SHA-256", sha256), ("MD5 then SHA-256, one thread", both),
             ("MD5 and SHA-256 on two threads", both_threads), ("base64 (pybase64)", b64),
             ("copy of each block", copy), ("socket writes to a discarding reader", send),
             ("for comparison: `md5sum` (coreutils)", tool("md5sum")),
             ("for comparison: `sha256sum` (coreutils)", tool("sha256sum"))]
    gib = args.size_mib / 1024
    print(f"`python bench/floor.py --size-mib {args.size_mib} --runs {args.runs}`: {os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f}")
    print()
    print("| step | s per GiB (median) | MiB/s | CPU s per GiB |")
    print("|---|---|---|---|")
    try:
        for name, step in steps:
            walls, cpus = [], []
            for _ in range(args.runs):
                cpu0, started = time.process_time(), time.perf_counter()
                child_cpu = step()  # a command reports its own CPU time
                walls.append(time.perf_counter() - started)
                cpus.append(child_cpu if child_cpu is not None else time.process_time() - cpu0)
            wall, cpu = statistics.median(walls) / gib, statistics.median(cpus) / gib
            print(f"| {name} | {wall:.3f} | {1024 / wall:.0f} | {cpu:.3f} |")
    finally:
        receiver.kill()
        path.unlink()
        work.rmdir()


if __name__ == "__main__":
    main()
