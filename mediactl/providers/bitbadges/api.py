"""BitBadges utility pages: create/update from a JSON (or YAML) document validated against the OpenAPI
request schemas, search with bookmarks, get/fetch, delete; one token refresh on an expired access token."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import requests

from mediactl import pagination
from mediactl.errors import AuthError, LocalError, MediactlError, NotFoundError
from mediactl.http import ApiClient, default_error_message
from mediactl.lifecycle import file_size, reopen, track
from mediactl.providers.bitbadges import NAME
from mediactl.providers.bitbadges.schema import problems
from mediactl.providers.roundtrip import Check, LocalFile, PlanRow, Remote
from mediactl.services import Factory, ProviderService, ServiceContext
from mediactl.transfer.files import Digests, file_digests

UPDATE_ONLY_DROPS = ("type",)  # in the create schema but not the update one
CREATE_SCHEMA, UPDATE_SCHEMA = "iCreateUtilityPagePayload", "iUpdateUtilityPagePayload"
TARGET = "utilityPages"  # the journal's target for every page (pages belong to the signed-in user)


def error_message(resp: requests.Response) -> str:
    """BitBadges errors are {errorMessage, error?, unauthorized?}; 402 means out of API credits."""
    message = default_error_message(resp)
    try:
        body = resp.json()
    except ValueError:
        body = {}
    detail = body.get("error") if isinstance(body, dict) else None
    if isinstance(detail, str) and detail and detail not in message:
        message = f"{message} ({detail})"
    if resp.status_code == 402:
        message = f"out of BitBadges API credits (HTTP 402): {message}"
    return message


def load_document(path: Path) -> dict:
    """A page document from JSON, or YAML when PyYAML (the `yaml` extra) is installed."""
    from mediactl.transfer.files import open_for_upload

    try:
        with open_for_upload(path) as fh:  # non-blocking, regular files only: a FIFO cannot hang it
            text = fh.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalError(f"{path}: cannot read: {exc}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise LocalError(f"{path}: reading YAML needs PyYAML: pip install 'mediactl[yaml]'",
                             hint="or write the page as JSON") from None
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise LocalError(f"{path}: not valid YAML: {exc}") from None
        except RecursionError:
            raise LocalError(f"{path}: YAML nested too deep to read") from None
    else:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LocalError(f"{path}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
        except RecursionError:
            raise LocalError(f"{path}: JSON nested too deep to read") from None
    if not isinstance(doc, dict):
        raise LocalError(f"{path}: a utility page document must be a JSON object")
    return doc


def prepare(doc: dict, *, update: bool, overrides: dict, source: str) -> tuple[str, dict]:
    """Apply overrides, pick create or update, and validate locally; returns (schema name, payload)."""
    payload = json.loads(json.dumps(doc))
    meta_overrides = {k: v for k, v in overrides.items() if k in ("name", "image") and v is not None}
    if meta_overrides:
        payload.setdefault("metadata", {})
        if isinstance(payload["metadata"], dict):
            payload["metadata"].update(meta_overrides)
    if overrides.get("visibility") is not None:
        payload["visibility"] = overrides["visibility"]
    if overrides.get("listing_id") is not None:
        payload["listingId"] = overrides["listing_id"]
    is_update = update or "listingId" in payload
    if is_update:
        for key in UPDATE_ONLY_DROPS:
            payload.pop(key, None)
        schema = UPDATE_SCHEMA
    else:
        schema = CREATE_SCHEMA
    found = problems(schema, payload)
    if found:
        shown = "; ".join(f"{path}: {msg}" for path, msg in found[:10])
        more = f" (and {len(found) - 10} more)" if len(found) > 10 else ""
        hint = "an update needs listingId (in the file or --listing-id)" if is_update and "listingId" not in \
            payload else None
        raise LocalError(f"{source}: invalid {'update' if is_update else 'create'} document: {shown}{more}",
                         hint=hint)
    return schema, payload


class BitBadges(ProviderService):
    def __init__(self, ctx: ServiceContext, *, access_token: str | None, refresher=None) -> None:
        super().__init__(ctx)
        self.access_token = access_token
        self.refresher = refresher  # () -> new access token, or None when refresh is not configured
        self._refreshed = False
        self._refresh_lock = threading.Lock()
        self._claim_lock = threading.Lock()
        self._claimed: set[str] = set()  # listing ids this run created or adopted

    def _bearer(self, token: str | None) -> dict[str, str]:
        if not token:
            raise LocalError("bitbadges.access_token is not set (writes and search need it)",
                             hint="run `mediactl auth login bitbadges --with-token --secret access_token`",
                             provider=NAME)
        return {"Authorization": f"Bearer {token}"}

    def _call(self, method: str, path: str, *, bearer: bool, expect=(), **kwargs):
        token = self.access_token
        try:
            return self.client.json(method, path, expect=expect, auth=self._bearer(token) if bearer else None,
                                    **kwargs)
        except AuthError as exc:
            if not bearer or self.refresher is None or "expired" not in exc.message.lower():
                raise
            self._refresh(token, exc)
            return self.client.json(method, path, expect=expect, auth=self._bearer(self.access_token), **kwargs)

    def _refresh(self, expired: str | None, exc: AuthError) -> None:
        """Single-flight: the first worker to see the expired token refreshes it once; the others wait for
        the lock and use the new token."""
        with self._refresh_lock:
            if self.access_token != expired:
                return  # another worker refreshed it meanwhile
            if self._refreshed:
                raise exc  # refreshed once already and still expired: refreshing again will not help
            self._refreshed = True
            self.access_token = self.refresher()

    def create(self, payload: dict) -> dict:
        return self._call("POST", "/utilityPages", bearer=True, json_body=payload, expect=("doc",))["doc"]

    def update(self, payload: dict) -> dict:
        return self._call("PUT", "/utilityPages", bearer=True, json_body=payload, expect=("doc",))["doc"]

    def upload(self, path: Path, name: str, schema: str, payload: dict, *, size: int, sha256: str | None = None,
               progress=None, entry: str | None = None, target: str = TARGET) -> dict:
        """Create or update one page from a validated document, recorded in the journal like any upload
        (under `target`: a sync journals its pages under its DIR, see BitBadgesRoundTrip)."""
        with track(self.journal, provider=NAME, profile=self.profile, target=target, path=path, name=name,
                   size=size, sha256=sha256, entry=entry) as up:
            up.save_resume({"schema": schema, "payload": payload})
            if schema == UPDATE_SCHEMA:
                doc = self.update(payload)  # a PUT: repeating it is safe
            else:
                doc = up.create_once(lambda: self.create(payload), lambda: self.find_landed(payload),
                                     retries=self.client.policy.retries, what="page create")
            with self._claim_lock:
                self._claimed.add(str(doc.get("listingId")))
            if progress is not None:
                progress(size)
            digests = Digests(size, "", sha256) if sha256 else file_digests(path)
            return up.completed(doc, digests, remote_id=doc.get("listingId"))

    def find_landed(self, payload: dict) -> dict | None:
        """A page a create whose answer was lost made: among your pages (bookmarks followed), one with the
        document's name and content that no other upload (this run, or the journal) accounts for."""
        accounted = {e["remote_id"] for e in self.journal.list(provider=NAME) if e.get("remote_id")}
        for docs in self.search(None, True):
            for doc in docs:
                listing_id = str(doc.get("listingId"))
                if listing_id in accounted or not same_page(doc, payload):
                    continue
                with self._claim_lock:
                    if listing_id in self._claimed:
                        continue
                    self._claimed.add(listing_id)
                return doc
        return None

    def delete(self, listing_id: str) -> None:
        try:
            self._call("DELETE", "/utilityPages", bearer=True, json_body={"listingId": listing_id})
        except NotFoundError:
            self.journal.mark_deleted(NAME, listing_id, "not found when deleting it")
            raise
        self.journal.mark_deleted(NAME, listing_id, "deleted with `mediactl bitbadges delete`")

    def get(self, listing_id: str) -> dict:
        return self._call("GET", f"/utilityPage/{quote(listing_id, safe='')}", bearer=False,
                          expect=("listing",))["listing"]

    def fetch(self, listing_ids: list[str]) -> list[dict]:
        return self._call("POST", "/utilityPages/fetch", bearer=False, json_body={"listingIds": listing_ids},
                          idempotent=True, expect=("docs",))["docs"]

    def search(self, bookmark: str | None, follow: bool) -> Iterator[list[dict]]:
        def fetch(at: str | None) -> tuple[list[dict], str | None]:
            body = self._call("GET", "/utilityPages/search", bearer=True,
                              params={"bookmark": at} if at else None, expect=("docs",))
            pagination_info = body.get("pagination") or {}
            following = pagination_info.get("bookmark") if pagination_info.get("hasMore") else None
            return list(body.get("docs") or []), following or None

        return pagination.pages(fetch, bookmark, follow=follow)


def same_page(doc: dict, payload: dict) -> bool:
    """Whether a page holds the document: its name and every field the document sets."""
    name = (payload.get("metadata") or {}).get("name")
    if (doc.get("metadata") or {}).get("name") != name:
        return False
    return all(doc.get(key) == value for key, value in payload.items() if key != "listingId")


def build(factory: Factory) -> BitBadges:
    settings = factory.settings
    rt = factory.rt
    ctx = factory.context(NAME, base_url=settings.require(NAME, "base_url"), error_message=error_message,
                          auth_headers={"x-api-key": settings.require(NAME, "api_key")}, pool_size=8)
    refresh = settings.value(NAME, "refresh_token")

    def refresher() -> str:
        """New tokens from the refresh grant, written back to credentials.toml once."""
        assert refresh is not None  # the refresher is used only with a refresh_token
        tokens = refresh_tokens(ctx.client, refresh_token=refresh, client_id=settings.value(NAME, "client_id"),
                                client_secret=settings.value(NAME, "client_secret"))
        changes = {"access_token": tokens["access_token"]}
        if tokens.get("refresh_token"):
            changes["refresh_token"] = tokens["refresh_token"]
        settings.store.update(True, rt.profile, NAME, changes)
        if settings.resolve(NAME, "access_token").source == "env":
            rt.warn("refreshed the BitBadges access token and saved it to credentials.toml, but "
                    "MEDIACTL_BITBADGES_ACCESS_TOKEN (still the old token) takes precedence there")
        else:
            rt.info("refreshed the BitBadges access token (saved to credentials.toml)")
        return tokens["access_token"]

    return BitBadges(ctx, access_token=settings.value(NAME, "access_token"),
                     refresher=refresher if refresh else None)


def resume(service: BitBadges, entry: dict) -> dict:
    """Send the document the journal kept (overrides applied); one that never started is read from its file."""
    found = reconcile(service, entry) if entry["phase"] != "pending" else None
    if found is not None:
        return found
    path = Path(entry["path"])
    kept = entry.get("resume") or {}
    if kept.get("payload"):
        schema, payload = kept["schema"], kept["payload"]
    else:
        schema, payload = prepare(load_document(path), update=False, overrides={}, source=str(path))
    return service.upload(path, entry["name"], schema, payload, size=file_size(path), entry=entry["id"],
                          target=entry.get("target") or TARGET)


def exists(service: BitBadges, entry: dict, digests: Digests) -> bool:
    """Whether a journalled page is still there (fetched by its listingId)."""
    listing_id = str(entry.get("remote_id"))
    return any(str(doc.get("listingId")) == listing_id for doc in service.fetch([listing_id]))


def reconcile(service: BitBadges, entry: dict) -> dict | None:
    """Look a page create whose outcome is unknown up among your pages; adopt it if it landed."""
    kept = entry.get("resume") or {}
    if kept.get("schema") != CREATE_SCHEMA or not kept.get("payload"):
        return None  # an update is a PUT: sending it again is the way to finish it
    doc = service.find_landed(kept["payload"])
    if doc is None:
        return None
    path = Path(entry["path"])
    with reopen(service.journal, entry) as up:
        up.note("adopted: the page had been created although its answer was lost")
        return up.completed(doc, file_digests(path), remote_id=doc.get("listingId"))


def refresh_tokens(client: ApiClient, *, refresh_token: str, client_id: str | None,
                   client_secret: str | None) -> dict:
    """Exchange the refresh token for new tokens (POST /siwbb/token, grant_type refresh_token)."""
    body = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if client_id:
        body["client_id"] = client_id
    if client_secret:
        body["client_secret"] = client_secret
    try:
        answer = client.json("POST", "/siwbb/token", json_body=body, expect=("access_token",))
    except MediactlError as exc:
        raise AuthError(f"the access token expired and refreshing it failed: {exc.message}",
                        hint="run `mediactl auth login bitbadges` with new tokens", provider=NAME) from None
    for key in ("access_token", "refresh_token"):
        client.redactor.add(answer.get(key))
    return answer


# -- round trip: download, verify, sync (mediactl/providers/roundtrip.py) -----------------------------------

SYNC_TARGET = "sync:"  # journal target of pages a sync of a DIR created or updated: "sync:<absolute DIR>"
DOCUMENT_FIELDS = tuple(sorted(set(("listingId", "type", "metadata", "content", "links", "visibility",
                                    "categories", "directLink", "displayTimes", "estimatedCost", "estimatedTime",
                                    "inheritMetadataFrom", "linkedTo", "locale"))))


def page_document(page: dict) -> dict:
    """A page as the document `upload` takes (the create schema's fields) with its `listingId`, so that
    download -> edit -> `upload --update` / `sync` round-trips."""
    return {key: page[key] for key in DOCUMENT_FIELDS if key in page}


def differing_fields(page: dict, payload: dict) -> list[str]:
    """The fields `upload` would send whose value differs on the page."""
    return [key for key, value in payload.items() if key != "listingId" and page.get(key) != value]


class BitBadgesRoundTrip:
    """Your utility pages as documents: a document with `listingId` is that page, otherwise the page of
    its `metadata.name`. sync --delete removes only pages an earlier sync of the same DIR (and profile)
    created or updated, as the journal recorded them."""

    provider = NAME
    copy_only = False
    local_patterns = ("*.json", "*.yaml", "*.yml")  # what a DIR of page documents holds

    def __init__(self, service: BitBadges, sync_dir: str | None = None) -> None:
        self.service = service
        self.target = SYNC_TARGET + sync_dir if sync_dir else TARGET
        self._pages: list[Remote] | None = None

    def _remote(self, page: dict) -> Remote:
        listing_id = str(page.get("listingId"))
        name = (page.get("metadata") or {}).get("name")
        return Remote(listing_id, name, page, document=page_document(page))

    def remote_files(self) -> list[Remote]:
        if self._pages is None:
            self._pages = [self._remote(p) for docs in self.service.search(None, True) for p in docs]
        return self._pages

    def lookup(self, ids) -> list[Remote]:
        pages = {str(p.get("listingId")): p for p in self.service.fetch(list(ids))}
        missing = [i for i in ids if i not in pages]
        if missing:
            raise NotFoundError(f"no utility page {', '.join(missing)}", provider=NAME)
        return [self._remote(pages[i]) for i in ids]

    def fetch_sha256(self, remote: Remote, *, trust_journal: bool = False) -> str:
        import hashlib

        return hashlib.sha256(json.dumps(remote.document, sort_keys=True).encode()).hexdigest()

    def _payload(self, local: LocalFile) -> tuple[str, dict]:
        return prepare(load_document(local.path), update=False, overrides={}, source=str(local.path))

    def _page_for(self, payload: dict) -> Remote | None:
        listing_id = payload.get("listingId")
        if listing_id:
            return next((r for r in self.remote_files() if r.id == str(listing_id)), None)
        name = (payload.get("metadata") or {}).get("name")
        return next((r for r in self.remote_files() if r.name == name), None)

    def check(self, local: LocalFile) -> Check:
        _, payload = self._payload(local)
        remote = self._page_for(payload)
        if remote is None:
            how = f"listingId {payload['listingId']}" if payload.get("listingId") else "this metadata.name"
            return Check("missing", why=f"no page with {how} among your pages")
        fields = differing_fields(remote.record, payload)
        if fields:
            return Check("differs", remote, why="the page differs in " + ", ".join(fields))
        return Check("match", remote)

    def managed(self) -> set[str]:
        """Pages an earlier sync of this DIR and profile created or updated (still there, per the journal)."""
        return {str(e["remote_id"]) for e in self.service.journal.list(provider=NAME, phase="completed",
                                                                      target=self.target)
                if e.get("remote_id") and e.get("profile") == self.service.profile}

    def plan(self, files, *, delete: bool) -> list[PlanRow]:
        rows, matched = [], set()
        for local in files:
            schema, payload = self._payload(local)
            remote = self._page_for(payload)
            if remote is None:
                if payload.get("listingId"):
                    rows.append(PlanRow("create", local.name, f"page {payload['listingId']} is gone: created "
                                        "anew from the document", local, extra={"drop_listing_id": True}))
                else:
                    rows.append(PlanRow("create", local.name, "no page with this metadata.name", local))
                continue
            matched.add(remote.id)
            fields = differing_fields(remote.record, {k: v for k, v in payload.items() if k != "type"})
            if fields:
                rows.append(PlanRow("update", local.name, "differs in " + ", ".join(fields), local, remote))
            else:
                rows.append(PlanRow("unchanged", local.name, "the page holds the document", local, remote))
        if delete:
            managed = self.managed()
            rows += [PlanRow("delete", r.name or r.id, "created by an earlier sync of this DIR; its document is "
                             "gone", None, r) for r in self.remote_files() if r.id in managed and r.id not in matched]
        return rows

    def upload(self, local: LocalFile, *, progress, entry: str | None = None, row: PlanRow | None = None) -> dict:
        """Create, or update the page the plan matched (`row.remote`)."""
        doc = load_document(local.path)
        remote = row.remote if row is not None and row.action == "update" else None
        if row is not None and row.extra.get("drop_listing_id"):
            doc.pop("listingId", None)
        overrides = {"listing_id": remote.id} if remote is not None else {}
        schema, payload = prepare(doc, update=remote is not None, overrides=overrides, source=str(local.path))
        return self.service.upload(local.path, local.name, schema, payload, size=local.digests.size,
                                   sha256=local.digests.sha256, progress=progress, entry=entry, target=self.target)

    def remove(self, remote: Remote) -> None:
        self.service.delete(remote.id)


def roundtrip(service: BitBadges, target: dict) -> BitBadgesRoundTrip:
    """`target`: {"sync_dir"}: the absolute DIR of a sync (its pages are journalled under it)."""
    return BitBadgesRoundTrip(service, target.get("sync_dir"))
