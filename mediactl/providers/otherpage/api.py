"""Other Page: create a community file record (phase 1), then POST the bytes to its presigned S3 form
(phase 2). No terminal here: progress is a callback, results are dicts, failures are MediactlErrors."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from mediactl.errors import LocalError, MediactlError, RejectedError
from mediactl.http import ApiClient
from mediactl.journal import Journal
from mediactl.runtime import Runtime
from mediactl.transfer.files import file_digests, local_info
from mediactl.transfer.s3post import policy_expiration, presigned_post

PROVIDER = "otherpage"
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


class OtherPage:
    def __init__(self, rt: Runtime, client: ApiClient, journal: Journal, profile: str) -> None:
        self.rt = rt
        self.client = client
        self.journal = journal
        self.profile = profile

    def create_file(self, community: str, name: str) -> dict:
        record = self.client.json("POST", f"/community/{quote(community, safe='')}/file",
                                  json_body={"name": name}, expect=("id", "upload"))
        upload = record.get("upload")
        if not isinstance(upload, dict) or not upload.get("url") or not isinstance(upload.get("body"), dict):
            raise RejectedError("Other Page answered without an upload form (upload.url / upload.body)",
                                provider=PROVIDER)
        return record

    def upload(self, path: Path, name: str, community: str, *, size: int, progress=None,
               sha256: str | None = None, entry: str | None = None) -> dict:
        require_extension(name)
        st = os.stat(path)
        entry = self.journal.start(provider=PROVIDER, profile=self.profile, target=community, path=path,
                                   name=name, size=size, mtime_ns=st.st_mtime_ns, sha256=sha256, entry=entry)
        with self.journal.recording(entry):
            record = self.create_file(community, name)
        try:
            form = record["upload"]
            expires = policy_expiration(list(form["body"].items()))
            self.journal.stash(entry, {"url": form["url"], "fields": list(form["body"].items())})
            self.journal.update(entry, phase="created", remote_id=str(record["id"]), url=record.get("url"),
                                resume={"form_expires": expires.isoformat() if expires else None,
                                        "mime": record.get("mime")},
                                result=public_record(record))
            return self._send(entry, path, name, record, form["url"], list(form["body"].items()), progress)
        except KeyboardInterrupt:
            self.journal.update(entry, phase="interrupted", error="interrupted")
            raise

    def _send(self, entry: str, path: Path, name: str, record: dict, url: str, fields: list, progress) -> dict:
        content_type = dict((k.lower(), v) for k, v in fields).get("content-type") or record.get("mime") \
            or "application/octet-stream"
        try:
            result = presigned_post(self.rt, url, fields, path, filename=name, content_type=content_type,
                                    progress=progress or (lambda n: None), provider=PROVIDER,
                                    redactor=self.client.redactor)
        except MediactlError as exc:
            self._record_failure(entry, path, exc)
            exc.hint = exc.hint or (f"the file record {record['id']} exists; finish it with "
                                    f"`mediactl otherpage complete {record['id']}`")
            raise
        out = {**public_record(record), "local": local_info(path, result.digests.size, result.digests.sha256),
               "provider": PROVIDER}
        self.journal.update(entry, phase="completed", sha256=result.digests.sha256, result=out, error=None)
        self.journal.drop_stash(entry)
        return out

    def _record_failure(self, entry: str, path: Path, exc: MediactlError) -> None:
        """Keep a truthful record; hash the file now so `complete` can tell whether it changed."""
        sha = None
        try:
            sha = file_digests(path).sha256
        except MediactlError:
            pass
        self.journal.update(entry, phase="failed", error=exc.message, **({"sha256": sha} if sha else {}))

    def complete(self, key: str, progress=None) -> dict:
        """Re-send a recorded upload's bytes with its stored form, while the form is valid."""
        entry = self.journal.get(PROVIDER, key)
        if entry is None:
            raise LocalError(f"no recorded Other Page upload '{key}' in the journal",
                             hint="`mediactl otherpage list` shows recorded uploads")
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
                hint=f"run `mediactl otherpage upload {entry['path']}` again", provider=PROVIDER)
        path = Path(entry["path"])
        self._check_unchanged(entry, path)
        return self._send(entry["id"], path, entry["name"], entry["result"], stash["url"], stash["fields"],
                          progress)

    def _check_unchanged(self, entry: dict, path: Path) -> None:
        try:
            st = path.stat()
        except FileNotFoundError:
            raise LocalError(f"{path}: no such file (it was uploaded from there)") from None
        if entry.get("sha256"):
            if file_digests(path).sha256 != entry["sha256"]:
                raise LocalError(f"{path} changed since the upload started (SHA-256 differs); refusing to send it",
                                 hint="upload it again as a new file")
        elif st.st_size != entry["size"] or st.st_mtime_ns != entry["mtime_ns"]:
            raise LocalError(f"{path} changed since the upload started (size or mtime differs)",
                             hint="upload it again as a new file")


def journal_record(entry: dict, cdn_base: str) -> dict[str, Any]:
    """What `list` and `show` print for a journal entry: the file record, its status and CDN URLs."""
    record = dict(entry.get("result") or {})
    record.setdefault("id", entry.get("remote_id") or entry["id"])
    record.setdefault("name", entry.get("name"))
    record.setdefault("communityId", entry.get("target"))
    record.setdefault("url", entry.get("url"))
    record.setdefault("local", {"path": entry["path"], "size": entry["size"], "sha256": entry["sha256"]})
    record["provider"] = PROVIDER
    record["status"] = entry["phase"]
    if entry.get("error") and entry["phase"] != "completed":
        record["error"] = entry["error"]
    record["journalId"] = entry["id"]
    record["createdAt"] = record.get("createdAt") or entry["created_at"]
    if record.get("key"):
        record["cdn"] = {fmt: cdn_url(cdn_base, record["key"], fmt) for fmt in CDN_FORMATS}
    return record

