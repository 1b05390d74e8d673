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
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LocalError(f"{path}: no such file") from None
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
    else:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LocalError(f"{path}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
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
               progress=None, entry: str | None = None) -> dict:
        """Create or update one page from a validated document, recorded in the journal like any upload."""
        with track(self.journal, provider=NAME, profile=self.profile, target=TARGET, path=path, name=name,
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
    return service.upload(path, entry["name"], schema, payload, size=file_size(path), entry=entry["id"])


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
