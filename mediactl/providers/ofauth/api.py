"""OFAuth Access API vault uploads: init, then one PUT (single, which finalizes) or part PUTs and
complete; the dedupe check; the vault listing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests

from mediactl import pagination
from mediactl.errors import LocalError, NotFoundError, RejectedError, UsageError
from mediactl.http import excerpt, parse_json
from mediactl.lifecycle import TrackedUpload, check_unchanged, file_size, reopen, track
from mediactl.providers.ofauth import NAME
from mediactl.providers.roundtrip import Check, LocalFile, PlanRow, Remote
from mediactl.runtime import no_progress
from mediactl.services import Factory, ProviderService, ServiceContext
from mediactl.transfer.files import Digests, FileState, WholeFileSha256, file_digests
from mediactl.transfer.receiving import remote_sha256
from mediactl.transfer.sending import put_file, send_parts

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


def already_completed(exc: RejectedError) -> bool:
    return exc.status == 409 and "UPLOAD_ALREADY_COMPLETED" in exc.message


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
        raise RejectedError("OFAuth init answered without a mediaUploadId", provider=NAME)
    total, part_size = body.get("totalParts"), body.get("partSize")
    if total is None or part_size is None:
        try:
            total = int(headers.get("x-ofauth-upload-total-parts", "1"))
            part_size = int(headers.get("x-ofauth-upload-part-size", str(max(size, 1))))
        except ValueError:
            raise RejectedError("OFAuth init sent an unreadable upload plan in its headers",
                                provider=NAME) from None
    kind = body.get("uploadType") or ("single" if int(total) <= 1 else "multipart")
    total, part_size = int(total), int(part_size)
    if kind == "single":
        return Plan(upload_id, "single", [Part(1, 0, size, upload_path(upload_id))])
    if part_size <= 0 or total * part_size < size or (total - 1) * part_size >= max(size, 1):
        raise RejectedError(f"OFAuth's plan ({total} parts of {part_size} bytes) does not fit {size} bytes",
                            provider=NAME)
    urls = {p.get("partNumber"): p.get("uploadUrl") for p in body.get("parts") or [] if isinstance(p, dict)}
    parts = [Part(n, (n - 1) * part_size, min(part_size, size - (n - 1) * part_size),
                  urls.get(n) or f"{upload_path(upload_id)}/parts/{n}") for n in range(1, total + 1)]
    return Plan(upload_id, "multipart", parts)


class OFAuth(ProviderService):
    def __init__(self, ctx: ServiceContext, connection_id: str) -> None:
        super().__init__(ctx)
        self.target = connection_id

    def check(self, md5: str, size: int) -> dict:
        return self.client.json("POST", f"{UPLOADS}/check", json_body={"etag": md5, "size": size},
                                idempotent=True, expect=("exists",))

    def upload(self, path: Path, name: str, *, content_type: str, size: int, progress=None,
               sha256: str | None = None, complete: bool = True, part_concurrency: int = 1,
               entry: str | None = None) -> dict:
        with track(self.journal, provider=NAME, profile=self.profile, target=self.target, path=path, name=name,
                   size=size, sha256=sha256, entry=entry) as up:
            # init is safe to repeat: a lost answer leaves at most an unused pending upload behind
            resp = self.client.request("POST", f"{UPLOADS}/init", idempotent=True,
                                       json_body={"filename": name, "size": size, "contentType": content_type})
            plan = read_plan(parse_json(resp, expect=("mediaUploadId",), provider=NAME), resp.headers, size)
            if plan.kind == "single" and not complete:
                raise UsageError(f"OFAuth planned {name} as a single PUT, which finishes the upload by itself: "
                                 "--no-complete applies only to multipart plans (files larger than a part)",
                                 hint="upload it without --no-complete")
            up.created(plan.upload_id, resume=_resume_state(plan, [], content_type))
            return self._send(up, plan, content_type, progress, complete, part_concurrency)

    def _send(self, up: TrackedUpload, plan: Plan, content_type: str, progress, complete: bool,
              part_concurrency: int, done: set[int] | None = None) -> dict:
        progress = progress or no_progress
        if plan.kind == "single":
            self.journal.mark_sending(up.entry)  # the finishing request: from here its outcome may be unknown
            try:
                resp, digests = put_file(self.client, plan.parts[0].url, up.path, content_type=content_type,
                                         progress=progress)
            except RejectedError as exc:  # a retried PUT whose first answer was lost finds it finished
                return self._adopt_finished(up, plan.upload_id, exc)
            body = parse_json(resp, expect=("media",), provider=NAME)
            return self._finish(up, plan.upload_id, body.get("media"), digests)
        done = set(done or ())
        todo = [p for p in plan.parts if p.number not in done]
        lock = threading.Lock()
        expected = FileState.at(up.path)
        whole = WholeFileSha256(up.path, expected)  # fed by the parts: no second read of the file

        def send(part: Part) -> None:
            put_file(self.client, part.url, up.path, offset=part.offset, length=part.length, progress=progress,
                     expected=expected, whole=whole)
            with lock:
                done.add(part.number)
                up.save_resume(_resume_state(plan, sorted(done), content_type))

        try:
            send_parts(send, todo, part_concurrency)
        except BaseException:
            whole.abandon()
            raise
        digests = Digests(expected.size, "", whole.hexdigest())
        if not complete:
            return up.sent(up.result({"mediaUploadId": plan.upload_id, "media": None}, digests))
        self.journal.mark_sending(up.entry)
        try:
            body = self.finalize(plan.upload_id)
        except RejectedError as exc:  # a complete whose answer was lost, or finished by an earlier run
            return self._adopt_finished(up, plan.upload_id, exc, digests)
        return self._finish(up, plan.upload_id, body.get("media"), digests)

    def _adopt_finished(self, up: TrackedUpload, upload_id: str, exc: RejectedError, digests=None) -> dict:
        """A finishing request (single PUT, complete) was refused. When it was a repeat (its first answer was
        lost, in this run or one before) or says "already completed", ask, don't parse: the vault is looked
        up by content (md5 + size), whatever status or wording the refusal had, and what is there adopted."""
        repeated = (exc.attempts or 1) > 1 or up.prior_unanswered > 0
        if not (repeated or already_completed(exc)):
            raise exc
        digests = digests if digests is not None and digests.md5 else file_digests(up.path)
        found = self.check(digests.md5, digests.size)
        if not found.get("exists"):
            if not already_completed(exc):
                raise exc
            raise RejectedError(f"OFAuth says upload {upload_id} is already completed, but no media with this "
                                "file's content is in the vault", provider=NAME, status=exc.status) from None
        up.note("adopted: OFAuth had already finished the upload")
        return self._finish(up, upload_id, found.get("media"), digests)

    def _finish(self, up: TrackedUpload, upload_id: str, media, digests) -> dict:
        url = ((media or {}).get("files") or {}).get("full", {}).get("url")
        return up.completed({"mediaUploadId": upload_id, "media": media}, digests, url=url)

    def finalize(self, upload_id: str) -> dict:
        # Repeating a complete is safe: it either completes or answers UPLOAD_ALREADY_COMPLETED.
        return self.client.json("POST", f"{UPLOADS}/complete", json_body={"mediaUploadId": upload_id},
                                idempotent=True, expect=("media",))

    def complete(self, upload_id: str, progress=None, part_concurrency: int = 1) -> dict:
        """Finish an upload: send the parts the journal says are missing (if it knows the file), then
        complete. An id the journal does not know is completed as it is."""
        entry = self.journal.get(NAME, upload_id)
        if entry is not None and entry["phase"] == "completed" and entry.get("result"):
            return {**entry["result"], "alreadyCompleted": True}
        if entry is None or not entry.get("resume"):
            try:
                body = self.finalize(upload_id)
            except RejectedError as exc:
                if not already_completed(exc):
                    raise
                # not in this journal: nothing local to look the media up by, but it is finished
                return {"mediaUploadId": upload_id, "media": None, "alreadyCompleted": True, "provider": NAME}
            return {"mediaUploadId": body.get("mediaUploadId", upload_id), "media": body.get("media"),
                    "provider": NAME}
        check_unchanged(entry, Path(entry["path"]))  # parts of another version of the file would not fit
        resume_state = entry["resume"]
        plan = Plan.from_json(resume_state["plan"])
        with reopen(self.journal, entry) as up:
            return self._send(up, plan, resume_state.get("content_type") or "application/octet-stream", progress,
                              True, part_concurrency, set(resume_state.get("parts_done") or ()))

    def vault(self, *, limit: int, offset: int, media_type: str | None, query: str | None,
              follow: bool) -> Iterator[list[dict]]:
        def fetch(at: int) -> tuple[list[dict], int | None]:
            params = {"limit": limit, "offset": at, "mediaType": media_type, "query": query}
            body = self.client.json("GET", "/v2/access/vault/media", params=params, expect=("list",))
            rows = list(body.get("list") or [])
            return rows, (at + len(rows) if body.get("hasMore") and rows else None)

        return pagination.pages(fetch, offset, follow=follow)


def _resume_state(plan: Plan, parts_done: list[int], content_type: str) -> dict:
    return {"plan": plan.to_json(), "parts_done": parts_done, "content_type": content_type}


def build(factory: Factory) -> OFAuth:
    settings = factory.settings
    api_key = settings.require(NAME, "api_key")
    connection = settings.require(NAME, "connection_id")
    ctx = factory.context(NAME, base_url=settings.require(NAME, "base_url"), error_message=error_message,
                          auth_headers={"apiKey": api_key, "x-connection-id": connection})
    return OFAuth(ctx, connection)


def resume(service: OFAuth, entry: dict) -> dict:
    """Send the missing parts and complete; an upload OFAuth never planned is uploaded afresh. One whose
    finishing request went out unanswered (a run killed mid-PUT) is looked up in the vault first."""
    if entry.get("remote_id") and entry.get("unanswered"):
        found = reconcile(service, entry)
        if found is not None:
            return found
    if entry.get("remote_id") and entry.get("resume"):
        return service.complete(entry["remote_id"])
    if entry.get("remote_id"):
        raise LocalError("no upload plan was recorded; upload the file again")
    from mediactl.engine.items import guess_type

    path = Path(entry["path"])
    return service.upload(path, entry["name"], content_type=guess_type(entry["name"], path), size=file_size(path),
                          entry=entry["id"])


def exists(service: OFAuth, entry: dict, digests) -> bool:
    """Whether the vault still holds these bytes (/uploads/check by MD5 and size)."""
    return bool(service.check(digests.md5, digests.size).get("exists"))


def reconcile(service: OFAuth, entry: dict) -> dict | None:
    """Whether an upload whose finishing request's answer was lost landed: the vault, asked by content
    (/uploads/check, md5 + size); what is there is adopted. None: not there."""
    path = Path(entry["path"])
    check_unchanged(entry, path)
    digests = file_digests(path)
    found = service.check(digests.md5, digests.size)
    if not found.get("exists"):
        return None
    with reopen(service.journal, entry) as up:
        up.note("adopted: the upload had landed in the vault although its answer was lost")
        return service._finish(up, entry.get("remote_id") or "", found.get("media"), digests)


# -- round trip: download, verify, sync (mediactl/providers/roundtrip.py) -----------------------------------


class OFAuthRoundTrip:
    """Vault media: downloaded from `files.full.url`; verified and synced through `/uploads/check` (MD5 and
    size). Media carry no file name: the journal's name for media it uploaded, else the URL's last segment.
    Sync is copy only (the Access API has no delete)."""

    provider = NAME
    copy_only = True
    PAGE = 40  # the vault's largest page

    def __init__(self, service: OFAuth, media_type: str | None = None) -> None:
        self.service, self.media_type = service, media_type
        self.target = service.target
        self._names: dict[str, str] | None = None

    def _journal_names(self) -> dict[str, str]:
        if self._names is None:
            self._names = {}
            for e in self.service.journal.list(provider=NAME, phase="completed"):
                media_id = (((e.get("result") or {}).get("media")) or {}).get("id")
                if media_id is not None and e.get("name"):
                    self._names.setdefault(str(media_id), str(e["name"]))
        return self._names

    def _remote(self, media: dict) -> Remote:
        full = ((media.get("files") or {}).get("full") or {})
        url = full.get("url")
        media_id = str(media.get("id"))
        from mediactl.transfer.receiving import name_from_url

        name = self._journal_names().get(media_id) or (name_from_url(url) if url else None) or media_id
        return Remote(media_id, name, media, url=url, size=full.get("size"))

    def remote_files(self) -> list[Remote]:
        return [self._remote(m) for rows in self.service.vault(limit=self.PAGE, offset=0, media_type=self.media_type,
                                                                query=None, follow=True) for m in rows]

    def lookup(self, ids) -> list[Remote]:
        """Media by id: the vault has no get, so its listing is read until every id is found."""
        wanted = [str(i) for i in ids]
        found: dict[str, Remote] = {}
        for rows in self.service.vault(limit=self.PAGE, offset=0, media_type=None, query=None, follow=True):
            found.update((r.id, r) for r in map(self._remote, rows) if r.id in wanted)
            if len(found) == len(set(wanted)):
                break
        missing = [i for i in wanted if i not in found]
        if missing:
            raise NotFoundError(f"no vault media with id {', '.join(missing)}", provider=NAME)
        return [found[i] for i in wanted]

    def fetch_sha256(self, remote: Remote, *, trust_journal: bool = False) -> str:
        if not remote.url:
            raise RejectedError(f"media {remote.id} has no files.full.url", provider=NAME)
        return remote_sha256(self.service.client, remote.url)[1]

    def check(self, local: LocalFile) -> Check:
        answer = self.service.check(local.digests.md5 or file_digests(local.path).md5, local.digests.size)
        if answer.get("exists"):
            return Check("match", self._remote(answer.get("media") or {}))
        uploaded = [e for e in self.service.journal.list(provider=NAME, phase="completed", target=self.target)
                    if e.get("name") == local.name]
        if uploaded:
            return Check("differs", None, why="uploaded before under this name, but the vault holds no media with "
                                              "these bytes")
        return Check("missing", why="no media with these bytes (MD5 and size) in the vault")

    def plan(self, files, *, delete: bool) -> list[PlanRow]:
        rows = []
        for local in files:
            found = self.check(local)
            if found.status == "match":
                rows.append(PlanRow("unchanged", local.name, "the vault holds these bytes (/uploads/check)", local,
                                    found.remote))
            else:
                rows.append(PlanRow("create", local.name, found.why, local))
        return rows

    def upload(self, local: LocalFile, *, progress, entry: str | None = None, row: PlanRow | None = None) -> dict:
        from mediactl.engine.items import guess_type

        return self.service.upload(local.path, local.name, content_type=guess_type(local.name, local.path),
                                   size=local.digests.size, sha256=local.digests.sha256, progress=progress,
                                   entry=entry)

    def remove(self, remote: Remote) -> None:
        raise RejectedError("the OFAuth Access API offers no delete", provider=NAME)


def roundtrip(service: OFAuth, target: dict) -> OFAuthRoundTrip:
    """`target`: {"type"}: the vault's media type for download --all (photo, video, audio, gif)."""
    return OFAuthRoundTrip(service, target.get("type"))
