"""`mediactl sandbox demo`: every provider's verbs, through the real CLI code, against an in-process sandbox.

It needs no network and no configuration: a throw-away profile in a temporary config directory points
at the sandbox, and the user's own MEDIACTL_* variables are set aside while it runs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import struct
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediactl.config import ConfigStore
from mediactl.errors import ExitCode, MediactlError
from mediactl.runtime import Runtime
from mediactl.sandbox.core import Options, RunningSandbox, Sandbox

PROFILE = "demo"


def draw_png(path: Path, size: int = 64) -> None:
    """A small gradient PNG, drawn without any imaging library."""
    rows = b"".join(
        b"\x00" + bytes(v for x in range(size) for v in (x * 4 % 256, y * 4 % 256, (x + y) * 2 % 256))
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
                     + chunk(b"IEND", b""))


@dataclass
class Step:
    title: str
    args: list[str]
    expect: int = 0
    capture: bool = False


class Demo:
    def __init__(self, rt: Runtime, work: Path, running: RunningSandbox) -> None:
        self.rt = rt
        self.work = work
        self.running = running
        self.failures: list[str] = []
        self.steps = 0

    def say(self, text: str) -> None:
        print(text, file=self.rt.stdout, flush=True)

    def run(self, title: str, *args: str, expect: int = 0, capture: bool = False):
        """Run one mediactl command; with `capture`, return its JSON output instead of showing a table."""
        from mediactl.cli import app

        self.steps += 1
        shown = " ".join(a if " " not in a else repr(a) for a in args)
        self.say(f"\n── {title}\n$ mediactl {shown}")
        out: Any = io.StringIO() if capture else self.rt.stdout
        sub = Runtime(stdout=out, stderr=self.rt.stderr, stdin=io.StringIO(), stdin_isatty=False,
                      stdout_isatty=self.rt.stdout_isatty, stderr_isatty=self.rt.stderr_isatty)
        argv = ["--config-dir", str(self.work / "config"), "--profile", PROFILE, "--no-progress", *args]
        if capture:
            argv = ["-o", "json", *argv]
        code = app(args=argv, prog_name="mediactl", obj=sub, standalone_mode=False) or 0
        if capture:
            text = out.getvalue()
            self.say(text.rstrip())
        if code != expect:
            self.failures.append(f"{title}: exit {code}, expected {expect}")
            self.say(f"✗ exit {code} (expected {expect})")
            return None
        if expect:
            self.say(f"✓ failed as expected (exit {code})")
        return json.loads(text) if capture and text.strip() else None

    def files(self) -> dict[str, Path]:
        files = self.work / "files"
        files.mkdir()
        draw_png(files / "logo.png")
        (files / "notes.txt").write_text("mediactl sandbox demo\nstreamed, retried, journalled.\n")
        clip = files / "clip.mp4"
        with open(clip, "wb") as fh:  # large enough for a multipart OFAuth plan (256 KiB parts)
            fh.write(b"\x00\x00\x00\x18ftypmp42" + os.urandom(900 * 1024))
        return {p.name: p for p in files.iterdir()}

    def otherpage(self, f: dict[str, Path]) -> str | None:
        self.say("\n━━ Other Page: file record + presigned S3 POST")
        done = self.run("upload two files", "otherpage", "upload", str(f["logo.png"]), str(f["notes.txt"]),
                        capture=True)
        self.run("list the local record of uploads (the API has no listing)", "otherpage", "list")
        if not done:
            return None
        logo = done[0]
        self.run("show one, with its CDN URLs", "otherpage", "show", logo["id"])
        self.run("an image CDN URL, as PNG at 100 px", "otherpage", "url", logo["key"], "--format", "png",
                 "--size", "100")
        self.running.sandbox.options.s3_fail_next = 2
        self.run("an upload whose S3 POST fails (the sandbox answers 503)", "--retries", "0", "otherpage",
                 "upload", str(f["notes.txt"]), expect=int(ExitCode.TRANSIENT))
        failed = next((e for e in self._journal().list(provider="otherpage", phase="failed")), None)
        if failed is None:
            self.failures.append("no failed Other Page upload in the journal")
            return logo["url"]
        self.run("finish it with complete (same bytes, same form)", "otherpage", "complete", failed["remote_id"])
        return logo["url"]

    def nationbuilder(self, f: dict[str, Path]) -> None:
        self.say("\n━━ NationBuilder: page attachments, base64 inside JSON")
        done = self.run("attach two files to a page", "nationbuilder", "upload", str(f["notes.txt"]),
                        str(f["logo.png"]), "--page", "demo", capture=True)
        self.run("list the page's attachments", "nationbuilder", "list", "--page", "demo", "--all")
        if done:
            att = str(done[0]["id"])
            self.run("show one", "nationbuilder", "show", att, "--page", "demo")
            self.run("delete it", "--yes", "nationbuilder", "delete", att, "--page", "demo")

    def ofauth(self, f: dict[str, Path]) -> None:
        self.say("\n━━ OFAuth: init, PUT parts, complete")
        done = self.run("send a video's parts without completing", "ofauth", "upload", str(f["clip.mp4"]),
                        "--no-complete", capture=True)
        if not done:
            return
        finished = self.run("complete the upload", "ofauth", "complete", done[0]["mediaUploadId"], capture=True)
        self.run("upload a photo (single PUT, which finalizes)", "ofauth", "upload", str(f["logo.png"]))
        self.run("list the vault", "ofauth", "list", "--all")
        if finished:
            self.run("show the video", "ofauth", "show", str(finished[0]["media"]["id"]))

    def bitbadges(self, image_url: str | None) -> None:
        self.say("\n━━ BitBadges: a utility page from a JSON document")
        page = {
            "metadata": {"name": "mediactl demo", "description": "Made by `mediactl sandbox demo`.",
                         "image": image_url or "https://example.com/logo.png"},
            "content": [{"type": "text", "label": "About", "content": "Uploaded with one CLI."}],
            "links": [{"url": "https://example.com"}], "type": "tool", "visibility": "public",
            "categories": ["demo"],
        }
        path = self.work / "files" / "page.json"
        path.write_text(json.dumps(page, indent=2))
        done = self.run("create the page", "bitbadges", "upload", str(path), capture=True)
        self.run("list pages", "bitbadges", "list", "--all")
        if done:
            listing = done[0]["listingId"]
            self.run("update its visibility", "bitbadges", "upload", str(path), "--update", "--listing-id",
                     listing, "--visibility", "unlisted")
            self.run("show it", "bitbadges", "show", listing)
            self.run("delete it", "--yes", "bitbadges", "delete", listing)

    def roundtrip(self, f: dict[str, Path]) -> None:
        """upload -> verify -> download -> sync --dry-run on each provider: what is there is what was sent."""
        self.say("\n━━ Round trip: upload, verify, download, sync --dry-run")
        local = self.work / "roundtrip"
        local.mkdir()
        for name in ("logo.png", "notes.txt"):
            shutil.copy(f[name], local / name)
        out = self.work / "downloads"
        for provider, target, only in (("nationbuilder", ["--page", "roundtrip"], []),
                                       ("otherpage", [], []), ("ofauth", [], ["--include", "*.png"])):
            done = self.run(f"{provider}: upload a folder", provider, "upload", "-r", str(local), *only, *target,
                            capture=True)
            self.run(f"{provider}: verify it against what landed", provider, "verify", "-r", str(local), *only,
                     *target)
            ids = [str(r.get("id") or (r.get("media") or {}).get("id")) for r in done or []]
            self.run(f"{provider}: download it back", provider, "download", *ids, "-d", str(out / provider),
                     *target)
            self.run(f"{provider}: sync --dry-run plans nothing but `unchanged`", provider, "sync", str(local),
                     *only, *target, "--dry-run")
        pages = self.work / "pages"
        pages.mkdir()
        doc = {"metadata": {"name": "mediactl round trip", "description": "download, edit, sync",
                            "image": "https://example.com/logo.png"},
               "content": [], "links": [], "type": "tool", "visibility": "public", "categories": ["demo"]}
        (pages / "page.json").write_text(json.dumps(doc, indent=2))
        done = self.run("bitbadges: create a page from a document", "bitbadges", "upload", str(pages / "page.json"),
                        capture=True)
        self.run("bitbadges: verify the page against the document", "bitbadges", "verify", str(pages / "page.json"))
        if done:
            self.run("bitbadges: download it as a document (with its listingId)", "bitbadges", "download",
                     done[0]["listingId"], "-d", str(out / "bitbadges"))
        self.run("bitbadges: sync --dry-run plans nothing but `unchanged`", "bitbadges", "sync", str(pages),
                 "--delete", "--dry-run")

    def _journal(self):
        from mediactl.journal import Journal

        return Journal(self.work / "data")


def _profile(store: ConfigStore, env: dict[str, str]) -> None:
    from mediactl.registry import PROVIDERS

    for provider, spec in PROVIDERS.items():
        prefix = f"MEDIACTL_{provider.upper()}_"
        values = {k[len(prefix):].lower(): v for k, v in env.items() if k.startswith(prefix)}
        secret = {s.name for s in spec.secrets}
        store.update(False, PROFILE, provider, {k: v for k, v in values.items() if k not in secret})
        store.update(True, PROFILE, provider, {k: v for k, v in values.items() if k in secret})


@contextlib.contextmanager
def _environment(work: Path):
    """Set the user's MEDIACTL_* variables aside, so the demo profile alone decides."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("MEDIACTL_")}
    for key in saved:
        del os.environ[key]
    os.environ["MEDIACTL_DATA_DIR"] = str(work / "data")
    try:
        yield
    finally:
        os.environ.pop("MEDIACTL_DATA_DIR", None)
        os.environ.update(saved)


def run_demo(rt: Runtime, *, keep: bool = False) -> None:
    work = Path(tempfile.mkdtemp(prefix="mediactl-demo-"))
    options = Options(data_dir=work / "sandbox", ofauth_part_size=256 * 1024)
    try:
        with RunningSandbox(Sandbox(options)) as running, _environment(work):
            rt.info(f"sandbox running on {running.sandbox.base_url}; demo files in {work}")
            _profile(ConfigStore(work / "config"), running.sandbox.env_settings())
            demo = Demo(rt, work, running)
            files = demo.files()
            image = demo.otherpage(files)
            demo.nationbuilder(files)
            demo.ofauth(files)
            demo.bitbadges(image)
            demo.roundtrip(files)
    finally:
        if keep:
            rt.info(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if demo.failures:
        for failure in demo.failures:
            print(f"✗ {failure}", file=rt.stderr)
        raise MediactlError(f"{len(demo.failures)} of {demo.steps} demo steps failed")
    print(f"\n✓ all {demo.steps} steps succeeded on Other Page, NationBuilder, OFAuth and BitBadges",
          file=rt.stdout, flush=True)
