"""NationBuilder v1 page attachments: base64-in-JSON upload (streamed), paged index, show, destroy."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from mediactl import pagination
from mediactl.errors import NotFoundError, RejectedError, UsageError
from mediactl.http import parse_json
from mediactl.lifecycle import check_unchanged, file_size, reopen, track
from mediactl.providers.nationbuilder import NAME
from mediactl.providers.roundtrip import Check, LocalFile, PlanRow, Remote, by_name
from mediactl.runtime import no_progress
from mediactl.services import Factory, ProviderService, ServiceContext
from mediactl.transfer.files import Digests, file_digests
from mediactl.transfer.receiving import remote_sha256
from mediactl.transfer.sending import send_base64_json

# --skip-existing needs the same name too: a page shows each attachment's filename (providers/skipping.py)
SKIP_NEEDS_SAME_NAME = True
API_ROOT = "/api/v1"
MAX_KEPT_SNAPSHOT = 5000  # page snapshots up to this many ids are kept in the journal for a resume
PAGE_TYPES = ("basic_pages", "blogs", "events", "calendars", "petitions", "surveys", "donations")


def base_url_for(nation: str | None, base_url: str | None) -> str | None:
    if base_url:
        return base_url
    return f"https://{nation}.nationbuilder.com{API_ROOT}" if nation else None


def _seg(value: str) -> str:
    return quote(str(value), safe="")


def attachments_path(site: str, page: str) -> str:
    return f"/sites/{_seg(site)}/pages/{_seg(page)}/attachments"


class NationBuilder(ProviderService):
    def __init__(self, ctx: ServiceContext) -> None:
        super().__init__(ctx)
        self._lock = threading.Lock()
        self._page_locks: dict[tuple[str, str], threading.Lock] = {}
        self._snapshots: dict[tuple[str, str], frozenset[str]] = {}
        self._claimed: set[str] = set()  # attachment ids this run created or adopted
        self._journal_ids: dict[str, frozenset[str]] = {}

    def upload(self, path: Path, name: str, site: str, page: str, *, content_type: str, size: int,
               progress=None, sha256: str | None = None, entry: str | None = None,
               known: frozenset[str] | None = None) -> dict:
        """Attach one file. A create whose answer was lost is looked up among the page's attachments that
        were not there before (`known`, by default this run's snapshot of the page) and adopted if found."""
        with track(self.journal, provider=NAME, profile=self.profile, target=f"{site}/{page}", path=path,
                   name=name, size=size, sha256=sha256, entry=entry) as up:
            if known is None:
                known = self.snapshot(site, page)
                if len(known) <= MAX_KEPT_SNAPSHOT:
                    up.save_resume({"known_ids": sorted(known)})  # so a resume can reconcile the same way
            mtime = os.stat(path).st_mtime
            updated_at = dt.datetime.fromtimestamp(mtime).astimezone().isoformat(timespec="seconds")
            document = {"attachment": {"filename": name, "content_type": content_type, "updated_at": updated_at,
                                       "content": None}}

            def create() -> tuple[dict, Digests]:
                resp, digests = send_base64_json(self.client, "POST", attachments_path(site, page), path, document,
                                                 ["attachment", "content"], progress=progress or no_progress)
                return parse_json(resp, expect=("attachment",), provider=NAME)["attachment"], digests

            def landed() -> tuple[dict, Digests] | None:
                return self.find_landed(site, page, name, path, known)

            attachment, digests = up.create_once(create, landed, retries=self.client.policy.retries,
                                                 what="attachment create")
            with self._lock:
                self._claimed.add(str(attachment.get("id")))
            return up.completed(attachment, digests, remote_id=str(attachment.get("id")),
                                url=attachment.get("url"))

    def snapshot(self, site: str, page: str) -> frozenset[str]:
        """The page's attachment ids before this run's first create on it (taken once per page)."""
        key = (site, page)
        with self._lock:
            page_lock = self._page_locks.setdefault(key, threading.Lock())
        with page_lock:
            if key not in self._snapshots:
                self._snapshots[key] = frozenset(
                    str(a.get("id")) for rows in self.attachments(site, page, 100, True) for a in rows)
            return self._snapshots[key]

    def find_landed(self, site: str, page: str, name: str, path: Path,
                    known: frozenset[str] | None) -> tuple[dict, Digests] | None:
        """The attachment an upload whose answer was lost created, if any: same filename, not among the
        `known` ids from before, not claimed by another upload. Several candidates (or no snapshot to go
        by) are told apart by content, fetched through their `url`."""
        rows = [a for page_rows in self.attachments(site, page, 100, True) for a in page_rows]
        taken = (known if known is not None else frozenset()) | self._accounted(f"{site}/{page}")
        candidates = [a for a in rows if a.get("filename") == name and str(a.get("id")) not in taken]
        if not candidates:
            return None
        digests = file_digests(path)
        with self._lock:
            candidates = [a for a in candidates if str(a.get("id")) not in self._claimed]
        if len(candidates) != 1 or known is None:  # fetched outside the lock: other workers go on meanwhile
            candidates = [a for a in candidates if self._content_sha256(a) == digests.sha256]
        with self._lock:  # claim one no other worker claimed while the contents were fetched
            chosen = next((a for a in candidates if str(a.get("id")) not in self._claimed), None)
            if chosen is None:
                return None
            self._claimed.add(str(chosen.get("id")))
        return chosen, digests

    def _accounted(self, target: str) -> frozenset[str]:
        """Attachment ids the journal gives to uploads (of any run): never adopted by another one. Read once
        per page and run (a resume of thousands of entries must not read the journal for each), plus the
        ids this run has claimed since."""
        with self._lock:
            cached = self._journal_ids.get(target)
        if cached is None:
            cached = frozenset(str(e["remote_id"]) for e in self.journal.list(provider=NAME, target=target)
                               if e.get("remote_id"))
            with self._lock:
                self._journal_ids[target] = cached
        with self._lock:
            return cached | frozenset(self._claimed)

    def _content_sha256(self, attachment: dict) -> str | None:
        url = attachment.get("url")
        if not url:
            return None
        resp = self.client.request("GET", url, ok=(200,))
        return hashlib.sha256(resp.content).hexdigest()

    def index(self, path: str, limit: int | None, follow: bool) -> Iterator[list[dict]]:
        """Each page of an index; with `follow`, `next` is followed (same host, same token) until null."""

        def fetch(cursor: str | None) -> tuple[list[dict], str | None]:
            if cursor is None:
                body = self.client.json("GET", path, params={"limit": limit} if limit else None, expect=("results",))
            else:
                body = self.client.json("GET", cursor, expect=("results",))
            return list(body["results"] or []), body.get("next") or None

        return pagination.pages(fetch, None, follow=follow)

    def attachments(self, site: str, page: str, limit: int | None, follow: bool) -> Iterator[list[dict]]:
        return self.index(attachments_path(site, page), limit, follow)

    def show(self, site: str, page: str, attachment_id: str) -> dict:
        body = self.client.json("GET", f"{attachments_path(site, page)}/{_seg(attachment_id)}",
                                expect=("attachment",))
        return body["attachment"]

    def delete(self, site: str, page: str, attachment_id: str) -> None:
        try:
            self.client.request("DELETE", f"{attachments_path(site, page)}/{_seg(attachment_id)}", ok=(200, 204))
        except NotFoundError:
            self.journal.mark_deleted(NAME, attachment_id, "not found when deleting it")
            raise
        self.journal.mark_deleted(NAME, attachment_id, "deleted with `mediactl nationbuilder delete`")

    def sites(self, limit: int | None, follow: bool) -> Iterator[list[dict]]:
        return self.index("/sites", limit, follow)

    def pages(self, site: str, page_type: str, limit: int | None, follow: bool) -> Iterator[list[dict]]:
        return self.index(f"/sites/{_seg(site)}/pages/{_seg(page_type)}", limit, follow)


def build(factory: Factory) -> NationBuilder:
    settings = factory.settings
    token = settings.require(NAME, "access_token")
    base = base_url_for(settings.value(NAME, "nation"), settings.value(NAME, "base_url"))
    if base is None:
        settings.require(NAME, "nation")
    assert base is not None  # require() raised: neither nation nor base_url is set
    return NationBuilder(factory.context(NAME, base_url=base, api_root=API_ROOT,
                                         auth_headers={"Authorization": f"Bearer {token}"}))


def _known_ids(service: NationBuilder, entry: dict) -> frozenset[str] | None:
    """What a resume can go by: the page snapshot the upload kept, plus the ids other journal entries got."""
    kept = (entry.get("resume") or {}).get("known_ids")
    if kept is None:
        return None
    others = service._accounted(entry["target"]) - {str(entry.get("remote_id"))}
    return frozenset(map(str, kept)) | others


def resume(service: NationBuilder, entry: dict) -> dict:
    """An upload that never started is uploaded; one whose create may have landed is looked up first and
    adopted, so nothing is attached twice."""
    known = _known_ids(service, entry)
    if entry["phase"] != "pending":
        found = reconcile(service, entry)
        if found is not None:
            return found
    from mediactl.engine.items import guess_type

    site, _, page = entry["target"].partition("/")
    path = Path(entry["path"])
    return service.upload(path, entry["name"], site, page, content_type=guess_type(entry["name"], path),
                          size=file_size(path), entry=entry["id"], known=known)


def exists(service: NationBuilder, entry: dict, digests: Digests) -> bool:
    """Whether a journalled attachment is still on its page: the page's listing, read once per run, and for
    an id not in it (attached since, e.g. by another run going on at the same time) the attachment itself."""
    site, _, page = entry["target"].partition("/")
    if str(entry.get("remote_id")) in service.snapshot(site, page):
        return True
    try:
        service.show(site, page, str(entry.get("remote_id")))
    except NotFoundError:
        return False
    return True


def reconcile(service: NationBuilder, entry: dict) -> dict | None:
    """Look an upload whose outcome is unknown up among its page's attachments; adopt it if it landed."""
    site, _, page = entry["target"].partition("/")
    path = Path(entry["path"])
    check_unchanged(entry, path)
    found = service.find_landed(site, page, entry["name"], path, _known_ids(service, entry))
    if found is None:
        return None
    attachment, digests = found
    with reopen(service.journal, entry) as up:
        up.note("adopted: the attachment had landed although its answer was lost")
        return up.completed(attachment, digests, remote_id=str(attachment.get("id")), url=attachment.get("url"))


# -- round trip: download, verify, sync (mediactl/providers/roundtrip.py) -----------------------------------


class NationBuilderRoundTrip:
    """A page's attachments: downloaded from their `url`, verified and synced by file name (bytes hashed;
    the journal's SHA-256 of an attachment it uploaded stands for the bytes)."""

    provider = NAME
    copy_only = False

    def __init__(self, service: NationBuilder, site: str, page: str) -> None:
        self.service, self.site, self.page = service, site, page
        self.target = f"{site}/{page}"
        self._listing: list | None = None
        self._journalled: dict[str, str] | None = None

    def _remote(self, attachment: dict) -> Remote:
        return Remote(str(attachment.get("id")), attachment.get("filename"), attachment, url=attachment.get("url"))

    def _journal_sha256(self, remote: Remote) -> str | None:
        """The SHA-256 the journal recorded when mediactl uploaded this attachment (they cannot be edited)."""
        if self._journalled is None:
            self._journalled = {str(e["remote_id"]): str(e["sha256"]) for e in
                                self.service.journal.list(provider=NAME, phase="completed", target=self.target)
                                if e.get("remote_id") and e.get("sha256")}
        return self._journalled.get(remote.id)

    def remote_files(self) -> list[Remote]:
        if self._listing is None:
            self._listing = [self._remote(a) for rows in self.service.attachments(self.site, self.page, 100, True)
                             for a in rows]
        return self._listing

    def lookup(self, ids) -> list[Remote]:
        return [self._remote(self.service.show(self.site, self.page, one)) for one in ids]

    def fetch_sha256(self, remote: Remote, *, trust_journal: bool = False) -> str:
        if remote.sha256 is None and trust_journal:
            remote.sha256 = self._journal_sha256(remote)
        if remote.sha256 is None:
            if not remote.url:
                raise RejectedError(f"attachment {remote.id} has no url to read it from", provider=NAME)
            remote.sha256 = remote_sha256(self.service.client, remote.url)[1]
        return remote.sha256

    def check(self, local: LocalFile) -> Check:
        named = by_name(self.remote_files()).get(local.name, [])
        if not named:
            return Check("missing", why="no attachment with this name on the page")
        for remote in named:
            if self.fetch_sha256(remote) == local.digests.sha256:
                return Check("match", remote)
        return Check("differs", named[0], why="an attachment of this name holds other bytes")

    def plan(self, files, *, delete: bool) -> list[PlanRow]:
        remotes = by_name(self.remote_files())
        rows = []
        for local in files:
            named = remotes.pop(local.name, [])
            same = [r for r in named if self.fetch_sha256(r, trust_journal=True) == local.digests.sha256]
            if same:
                rows.append(PlanRow("unchanged", local.name, "same name and bytes", local, same[0]))
                rows += [PlanRow("delete", local.name, "a second attachment of this name", None, r)
                         for r in named if r is not same[0]] if delete else []
            elif named:
                rows.append(PlanRow("replace", local.name, "other bytes under this name: attach the file, "
                                    "then delete the old attachment", local, named[0],
                                    extra={"old": named}))
            else:
                rows.append(PlanRow("create", local.name, "no attachment of this name", local))
        if delete:
            rows += [PlanRow("delete", name, "no file of this name in DIR", None, r)
                     for name, named in remotes.items() for r in named]
        return rows

    def upload(self, local: LocalFile, *, progress, entry: str | None = None, row: PlanRow | None = None) -> dict:
        from mediactl.engine.items import guess_type

        return self.service.upload(local.path, local.name, self.site, self.page,
                                   content_type=guess_type(local.name, local.path), size=local.digests.size,
                                   sha256=local.digests.sha256, progress=progress, entry=entry)

    def remove(self, remote: Remote) -> None:
        self.service.delete(self.site, self.page, remote.id)


def roundtrip(service: NationBuilder, target: dict) -> NationBuilderRoundTrip:
    """`target`: {"site", "page"} (the command resolved the site's default)."""
    if not target.get("page"):
        raise UsageError("--page is required", hint="`mediactl nationbuilder pages` lists the page slugs")
    return NationBuilderRoundTrip(service, target["site"], target["page"])
