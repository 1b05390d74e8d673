"""Other Page: create a community file record (phase 1), then POST the bytes to its presigned S3 form
(phase 2). No terminal here: progress is a callback, results are dicts, failures are MediactlErrors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from mediactl.errors import LocalError, MediactlError, NotFoundError, RejectedError
from mediactl.lifecycle import TrackedUpload, check_unchanged, file_size, reopen, track
from mediactl.providers.otherpage import NAME
from mediactl.providers.roundtrip import Check, LocalFile, PlanRow, Remote
from mediactl.runtime import no_progress
from mediactl.services import Factory, ProviderService
from mediactl.transfer.receiving import remote_sha256
from mediactl.transfer.s3post import policy_expiration, policy_size_range, presigned_post

# --skip-existing needs the same name too: the name is part of the file's key and URL (providers/skipping.py)
SKIP_NEEDS_SAME_NAME = True

if TYPE_CHECKING:
    from mediactl.journal import JournalEntry

CDN_FORMATS = ("auto", "png", "jpg", "webp")


def require_extension(name: str) -> None:
    """The server derives the mime type from the extension, so a name without one is refused up front."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem.strip(".") or not ext:
        raise LocalError(f"'{name}' has no file extension; Other Page needs one (e.g. photo.jpg)",
                         hint="pass --name NAME.EXT")


def cdn_url(cdn_base: str, key: str, fmt: str | None = None, size: int | None = None) -> str:
    query = {k: v for k, v in (("format", fmt), ("size", size)) if v is not None}
    url = f"{cdn_base.rstrip('/')}/{quote(key, safe='/')}"
    return url + ("?" + urlencode(query) if query else "")


def public_record(record: dict) -> dict:
    """The file record without the presigned form (its fields are credentials)."""
    return {k: v for k, v in record.items() if k != "upload"}


class OtherPage(ProviderService):
    def create_file(self, community: str, name: str) -> dict:
        record = self.client.json("POST", f"/community/{quote(community, safe='')}/file",
                                  json_body={"name": name}, expect=("id", "upload"))
        upload = record.get("upload")
        if not isinstance(upload, dict) or not upload.get("url") or not isinstance(upload.get("body"), dict):
            raise RejectedError("Other Page answered without an upload form (upload.url / upload.body)",
                                provider=NAME)
        return record

    def upload(self, path: Path, name: str, community: str, *, size: int, progress=None,
               sha256: str | None = None, entry: str | None = None) -> dict:
        require_extension(name)
        with track(self.journal, provider=NAME, profile=self.profile, target=community, path=path, name=name,
                   size=size, sha256=sha256, entry=entry) as up:
            # The API has no listing to ask whether a create whose answer was lost landed: create again, and
            # note the record that may be left without bytes.
            record = up.create_once(lambda: self.create_file(community, name), None,
                                    retries=self.client.policy.retries, what="file record")
            form = record["upload"]
            fields = list(form["body"].items())
            expires = policy_expiration(fields)
            self.journal.stash(up.entry, {"url": form["url"], "fields": fields})
            up.created(str(record["id"]), url=record.get("url"), result=public_record(record),
                       resume={"form_expires": expires.isoformat() if expires else None, "mime": record.get("mime")})
            return self._send(up, name, record, form["url"], fields, progress)

    def _send(self, up: TrackedUpload, name: str, record: dict, url: str, fields: list, progress) -> dict:
        content_type = dict((k.lower(), v) for k, v in fields).get("content-type") or record.get("mime") \
            or "application/octet-stream"
        allowed = policy_size_range(fields)
        size = up.path.stat().st_size
        if allowed is not None and not allowed[0] <= size <= allowed[1]:
            raise RejectedError(f"{up.path}: {size} bytes is outside what Other Page's upload form allows "
                                f"({allowed[0]}..{allowed[1]} bytes); nothing was sent",
                                provider=NAME, hint="the file record exists but cannot take these bytes")
        try:
            result = presigned_post(self.rt, url, fields, up.path, filename=name, content_type=content_type,
                                    progress=progress or no_progress, provider=NAME,
                                    redactor=self.client.redactor)
        except MediactlError as exc:
            exc.hint = exc.hint or (f"the file record {record['id']} exists; finish it with "
                                    f"`mediactl otherpage complete {record['id']}`")
            raise
        out = up.completed(public_record(record), result.digests)
        self.journal.drop_stash(up.entry)
        return out

    def complete(self, key: str, progress=None) -> dict:
        """Re-send a recorded upload's bytes with its stored form, while the form is valid."""
        entry = self.journal.get(NAME, key)
        if entry is None:
            raise NotFoundError(f"no recorded Other Page upload '{key}' in the journal",
                                hint="`mediactl otherpage list` shows recorded uploads", provider=NAME)
        if entry["phase"] == "completed":
            return {**entry["result"], "alreadyCompleted": True}
        stash = self.journal.unstash(entry["id"])
        if stash is None or not entry.get("result"):
            raise LocalError(f"upload {key} never got a file record from Other Page; nothing to complete",
                             hint=f"upload it again: mediactl otherpage upload {entry['path']}")
        expires = policy_expiration(stash["fields"])
        if expires is not None and expires <= dt.datetime.now(dt.UTC):
            raise RejectedError(
                f"the upload form of {key} expired at {expires.isoformat()}",
                hint=f"run `mediactl otherpage upload {entry['path']}` again", provider=NAME)
        check_unchanged(entry, Path(entry["path"]))
        with reopen(self.journal, entry) as up:
            return self._send(up, str(entry["name"]), entry["result"], stash["url"], stash["fields"], progress)


def build(factory: Factory) -> OtherPage:
    settings = factory.settings
    api_key = settings.require(NAME, "api_key")
    return OtherPage(factory.context(NAME, base_url=settings.require(NAME, "base_url"),
                                     auth_headers={"X-Api-Key": api_key}))


def resume(service: OtherPage, entry: dict) -> dict:
    """Re-send the bytes to a still-valid form; upload afresh when no record was made, or when the record's
    form expired or was not kept (that record stays without bytes: the API has no delete)."""
    stash = service.journal.unstash(entry["id"]) if entry.get("remote_id") else None
    if stash is not None:
        expires = policy_expiration(stash["fields"])
        if expires is None or expires > dt.datetime.now(dt.UTC):
            return service.complete(entry["id"])
    path = Path(entry["path"])
    check_unchanged(entry, path)
    orphans = entry.get("orphans") or 0
    if entry.get("remote_id"):
        service.journal.update(entry["id"], note=f"file record {entry['remote_id']} left without bytes (its "
                                                 "upload form expired or was not kept); uploaded as a new record",
                               orphans=orphans + 1, outcome="possibly_orphaned")
        service.journal.drop_stash(entry["id"])
    elif entry.get("unanswered"):  # a run ended while its create was out: the record may exist, unreachable
        service.journal.update(entry["id"], orphans=orphans + entry["unanswered"], unanswered=0,
                               outcome="possibly_orphaned")
    return service.upload(path, entry["name"], entry["target"], size=file_size(path), entry=entry["id"])


def reconcile(service: OtherPage, entry: dict) -> dict | None:
    """Other Page has no endpoint to list or get file records: whether a lost create landed cannot be asked."""
    return None


def journal_record(entry: Mapping[str, Any], cdn_base: str) -> dict[str, Any]:
    """What `list` and `show` print for a journal entry: the file record, its status and CDN URLs."""
    record = dict(entry.get("result") or {})
    record.setdefault("id", entry.get("remote_id") or entry["id"])
    record.setdefault("name", entry.get("name"))
    record.setdefault("communityId", entry.get("target"))
    record.setdefault("url", entry.get("url"))
    record.setdefault("local", {"path": entry["path"], "size": entry["size"], "sha256": entry["sha256"]})
    record["provider"] = NAME
    record["status"] = entry["phase"]
    if entry.get("error") and entry["phase"] != "completed":
        record["error"] = entry["error"]
    record["journalId"] = entry["id"]
    record["createdAt"] = record.get("createdAt") or entry["created_at"]
    if record.get("key"):
        record["cdn"] = {fmt: cdn_url(cdn_base, record["key"], fmt) for fmt in CDN_FORMATS}
    return record



# -- round trip: download, verify, sync (mediactl/providers/roundtrip.py) -----------------------------------


class OtherPageRoundTrip:
    """The API has no listing or get: what a community holds is what the journal recorded, and its bytes
    are the CDN original `{cdn_url}/{key}` (hashed for verify). Sync is copy only (no delete in the API)."""

    provider = NAME
    copy_only = True

    def __init__(self, service: OtherPage, community: str, cdn_base: str) -> None:
        self.service, self.target, self.cdn_base = service, community, cdn_base

    def _remote(self, entry: Mapping[str, Any]) -> Remote:
        record = journal_record(entry, self.cdn_base)
        key = record.get("key")
        return Remote(str(record.get("id")), entry.get("name"), record,
                      url=cdn_url(self.cdn_base, key) if key else None, size=entry.get("size"),
                      sha256=entry.get("sha256"))

    def _entries(self) -> list[JournalEntry]:
        """Completed uploads to this community, newest first."""
        return self.service.journal.list(provider=NAME, phase="completed", target=self.target,
                                         profile=self.service.profile)

    def remote_files(self) -> list[Remote]:
        return [self._remote(e) for e in self._entries()]

    def lookup(self, ids) -> list[Remote]:
        found = []
        for key in ids:
            entry = self.service.journal.get(NAME, key)
            if entry is None or entry["phase"] != "completed":
                raise NotFoundError(f"{key}: no completed Other Page upload with this file id or journal id in "
                                    "the journal (the API cannot list files)", provider=NAME,
                                    hint="`mediactl otherpage list` shows recorded uploads")
            found.append(self._remote(entry))
        return found

    def fetch_sha256(self, remote: Remote, *, trust_journal: bool = False) -> str:
        if trust_journal and remote.sha256:
            return remote.sha256
        if not remote.url:
            raise RejectedError(f"file {remote.id} has no CDN key to read it from", provider=NAME)
        return remote_sha256(self.service.client, remote.url)[1]

    def _latest(self, name: str) -> Remote | None:
        entry = next((e for e in self._entries() if e.get("name") == name), None)
        return self._remote(entry) if entry is not None else None

    def check(self, local: LocalFile) -> Check:
        remote = self._latest(local.name)
        if remote is None:
            return Check("missing", why="the journal has no upload of this name to the community")
        if self.fetch_sha256(remote) == local.digests.sha256:
            return Check("match", remote)
        return Check("differs", remote, why="the CDN serves other bytes for the last upload of this name")

    def plan(self, files, *, delete: bool) -> list[PlanRow]:
        rows = []
        for local in files:
            remote = self._latest(local.name)
            if remote is None:
                rows.append(PlanRow("create", local.name, "never uploaded to this community", local))
            elif remote.sha256 == local.digests.sha256:
                rows.append(PlanRow("unchanged", local.name, "the journal's SHA-256 of the last upload matches",
                                    local, remote))
            else:
                rows.append(PlanRow("create", local.name, "changed since its last upload (Other Page files "
                                    "cannot be replaced: a new file record is made)", local, remote))
        return rows

    def upload(self, local: LocalFile, *, progress, entry: str | None = None, row: PlanRow | None = None) -> dict:
        return self.service.upload(local.path, local.name, self.target, size=local.digests.size,
                                   sha256=local.digests.sha256, progress=progress, entry=entry)

    def remove(self, remote: Remote) -> None:
        raise RejectedError("the Other Page API offers no delete", provider=NAME)


def roundtrip(service: OtherPage, target: dict) -> OtherPageRoundTrip:
    """`target`: {"community", "cdn_url"} (resolved by the command from options and settings)."""
    return OtherPageRoundTrip(service, target["community"], target["cdn_url"])
