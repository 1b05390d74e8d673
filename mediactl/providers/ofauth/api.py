"""OFAuth Access API vault uploads: init, then one PUT (single, which finalizes) or part PUTs and
complete; the dedupe check; the vault listing."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests

from mediactl.errors import RejectedError
from mediactl.http import ApiClient, excerpt, parse_json
from mediactl.journal import Journal
from mediactl.runtime import Runtime
from mediactl.transfer.files import FileState, WholeFileSha256, local_info
from mediactl.transfer.sending import put_file, send_parts

PROVIDER = "ofauth"
UPLOADS = "/v2/access/uploads"
MEDIA_TYPES = ("photo", "video", "audio", "gif")


def error_message(resp: requests.Response) -> str:
    """OFAuth errors come as {error, type, requestId}, {error, code, details} or {message, code}."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return excerpt(resp.text) or f"HTTP {resp.status_code}"
    message = body.get("error") if isinstance(body.get("error"), str) else body.get("message")
    if not isinstance(message, str):
        message = excerpt(resp.text)
    kind = body.get("type") or body.get("code")
    text = f"{kind}: {message}" if isinstance(kind, str) and kind else message
    details = body.get("details")
    if isinstance(details, dict) and details:
        text += " (" + ", ".join(f"{k}={v}" for k, v in details.items()) + ")"
    request_id = body.get("requestId") or resp.headers.get("x-request-id")
    return f"{text} [requestId {request_id}]" if request_id else text


def upload_path(upload_id: str) -> str:
    return f"{UPLOADS}/{quote(upload_id, safe='')}"  # ids look like upload:<uuid>; ':' must be encoded


@dataclass
class Part:
    number: int
    offset: int
    length: int
    url: str


@dataclass
class Plan:
    upload_id: str
    kind: str  # single | multipart
    parts: list[Part]

    def to_json(self) -> dict:
        return {"uploadId": self.upload_id, "kind": self.kind,
                "parts": [[p.number, p.offset, p.length, p.url] for p in self.parts]}

    @classmethod
    def from_json(cls, data: dict) -> Plan:
        return cls(data["uploadId"], data["kind"], [Part(*p) for p in data["parts"]])


def read_plan(body: dict, headers, size: int) -> Plan:
    """The upload plan from init's body, or (older API versions) from the x-ofauth-upload-* headers."""
    upload_id = body.get("mediaUploadId")
    if not isinstance(upload_id, str) or not upload_id:
        raise RejectedError("OFAuth init answered without a mediaUploadId", provider=PROVIDER)
    total, part_size = body.get("totalParts"), body.get("partSize")
    if total is None or part_size is None:
        try:
            total = int(headers.get("x-ofauth-upload-total-parts", "1"))
            part_size = int(headers.get("x-ofauth-upload-part-size", str(max(size, 1))))
        except ValueError:
            raise RejectedError("OFAuth init sent an unreadable upload plan in its headers",
                                provider=PROVIDER) from None
    kind = body.get("uploadType") or ("single" if int(total) <= 1 else "multipart")
    total, part_size = int(total), int(part_size)
    if kind == "single":
        return Plan(upload_id, "single", [Part(1, 0, size, upload_path(upload_id))])
    if part_size <= 0 or total * part_size < size or (total - 1) * part_size >= max(size, 1):
        raise RejectedError(f"OFAuth's plan ({total} parts of {part_size} bytes) does not fit {size} bytes",
                            provider=PROVIDER)
    urls = {p.get("partNumber"): p.get("uploadUrl") for p in body.get("parts") or [] if isinstance(p, dict)}
    parts = [Part(n, (n - 1) * part_size, min(part_size, size - (n - 1) * part_size),
                  urls.get(n) or f"{upload_path(upload_id)}/parts/{n}") for n in range(1, total + 1)]
    return Plan(upload_id, "multipart", parts)


class OFAuth:
    def __init__(self, rt: Runtime, client: ApiClient, journal: Journal, profile: str, connection_id: str) -> None:
        self.rt = rt
        self.client = client
        self.journal = journal
        self.profile = profile
        self.target = connection_id

    def check(self, md5: str, size: int) -> dict:
        return self.client.json("POST", f"{UPLOADS}/check", json_body={"etag": md5, "size": size},
                                idempotent=True, expect=("exists",))

    def upload(self, path: Path, name: str, *, content_type: str, size: int, progress=None,
               sha256: str | None = None, complete: bool = True, part_concurrency: int = 1,
               entry: str | None = None) -> dict:
        st = os.stat(path)
        entry = self.journal.start(provider=PROVIDER, profile=self.profile, target=self.target, path=path,
                                   name=name, size=size, mtime_ns=st.st_mtime_ns, sha256=sha256, entry=entry)
        with self.journal.recording(entry):
            resp = self.client.request("POST", f"{UPLOADS}/init",
                                       json_body={"filename": name, "size": size, "contentType": content_type})
            plan = read_plan(parse_json(resp, expect=("mediaUploadId",), provider=PROVIDER), resp.headers, size)
            self.journal.update(entry, phase="created", remote_id=plan.upload_id,
                                resume={"plan": plan.to_json(), "parts_done": [], "content_type": content_type})
            return self._send(entry, path, plan, content_type, progress, complete, part_concurrency)

    def _send(self, entry: str, path: Path, plan: Plan, content_type: str, progress, complete: bool,
              part_concurrency: int, done: set[int] | None = None) -> dict:
        progress = progress or (lambda n: None)
        if plan.kind == "single":
            resp, digests = put_file(self.client, plan.parts[0].url, path, content_type=content_type,
                                     progress=progress)
            body = parse_json(resp, expect=("media",), provider=PROVIDER)
            return self._finish(entry, path, plan.upload_id, body.get("media"), digests.size, digests.sha256)
        done = set(done or ())
        todo = [p for p in plan.parts if p.number not in done]
        lock = threading.Lock()
        expected = FileState.at(path)
        whole = WholeFileSha256(path, expected)  # fed by the parts: no second read of the file

        def send(part: Part) -> None:
            put_file(self.client, part.url, path, offset=part.offset, length=part.length, progress=progress,
                     expected=expected, whole=whole)
            with lock:
                done.add(part.number)
                self.journal.update(entry, resume={"plan": plan.to_json(), "parts_done": sorted(done),
                                                   "content_type": content_type})

        try:
            send_parts(send, todo, part_concurrency)
        except BaseException:
            whole.abandon()
            raise
        sha256 = whole.hexdigest()
        self.journal.update(entry, phase="sent")
        if not complete:
            out = {"mediaUploadId": plan.upload_id, "media": None,
                   "local": local_info(path, expected.size, sha256), "provider": PROVIDER}
            self.journal.update(entry, sha256=sha256, result=out)
            return out
        body = self.finalize(plan.upload_id)
        return self._finish(entry, path, plan.upload_id, body.get("media"), expected.size, sha256)

    def _finish(self, entry: str, path: Path, upload_id: str, media, size: int, sha256: str) -> dict:
        out = {"mediaUploadId": upload_id, "media": media, "local": local_info(path, size, sha256),
               "provider": PROVIDER}
        self.journal.update(entry, phase="completed", sha256=sha256, result=out, error=None,
                            url=((media or {}).get("files") or {}).get("full", {}).get("url"))
        return out

    def finalize(self, upload_id: str) -> dict:
        return self.client.json("POST", f"{UPLOADS}/complete", json_body={"mediaUploadId": upload_id},
                                expect=("media",))

    def complete(self, upload_id: str, progress=None, part_concurrency: int = 1) -> dict:
        """Finish an upload: send the parts the journal says are missing (if it knows the file), then
        complete. An id the journal does not know is completed as it is."""
        entry = self.journal.get(PROVIDER, upload_id)
        if entry is None or not entry.get("resume") or entry["phase"] == "completed":
            body = self.finalize(upload_id)
            return {"mediaUploadId": body.get("mediaUploadId", upload_id), "media": body.get("media"),
                    "provider": PROVIDER}
        resume = entry["resume"]
        plan = Plan.from_json(resume["plan"])
        with self.journal.recording(entry["id"]):
            return self._send(entry["id"], Path(entry["path"]), plan, resume.get("content_type")
                              or "application/octet-stream", progress, True, part_concurrency,
                              set(resume.get("parts_done") or ()))

    def vault(self, *, limit: int, offset: int, media_type: str | None, query: str | None,
              follow: bool) -> Iterator[list[dict]]:
        while True:
            params = {"limit": limit, "offset": offset, "mediaType": media_type, "query": query}
            body = self.client.json("GET", "/v2/access/vault/media", params=params, expect=("list",))
            rows = list(body.get("list") or [])
            yield rows
            if not follow or not body.get("hasMore") or not rows:
                return
            offset += len(rows)
