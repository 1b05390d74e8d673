"""BitBadges utility pages: create/update from a JSON (or YAML) document validated against the OpenAPI
request schemas, search with bookmarks, get/fetch, delete; one token refresh on an expired access token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import requests

from mediactl.errors import AuthError, LocalError, MediactlError
from mediactl.http import ApiClient, default_error_message
from mediactl.providers.bitbadges.schema import problems

PROVIDER = "bitbadges"
UPDATE_ONLY_DROPS = ("type",)  # in the create schema but not the update one


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
        schema = "iUpdateUtilityPagePayload"
    else:
        schema = "iCreateUtilityPagePayload"
    found = problems(schema, payload)
    if found:
        shown = "; ".join(f"{path}: {msg}" for path, msg in found[:10])
        more = f" (and {len(found) - 10} more)" if len(found) > 10 else ""
        hint = "an update needs listingId (in the file or --listing-id)" if is_update and "listingId" not in \
            payload else None
        raise LocalError(f"{source}: invalid {'update' if is_update else 'create'} document: {shown}{more}",
                         hint=hint)
    return schema, payload


class BitBadges:
    def __init__(self, client: ApiClient, *, access_token: str | None, refresher=None) -> None:
        self.client = client
        self.access_token = access_token
        self.refresher = refresher  # () -> new access token, or None when refresh is not configured
        self._refreshed = False

    def _bearer(self) -> dict[str, str]:
        if not self.access_token:
            raise LocalError("bitbadges.access_token is not set (writes and search need it)",
                             hint="run `mediactl auth login bitbadges --with-token --secret access_token`",
                             provider=PROVIDER)
        return {"Authorization": f"Bearer {self.access_token}"}

    def _call(self, method: str, path: str, *, bearer: bool, expect=(), **kwargs):
        try:
            return self.client.json(method, path, expect=expect, auth=self._bearer() if bearer else None, **kwargs)
        except AuthError as exc:
            if not bearer or self._refreshed or self.refresher is None or "expired" not in exc.message.lower():
                raise
            self._refreshed = True
            self.access_token = self.refresher()
            return self.client.json(method, path, expect=expect, auth=self._bearer(), **kwargs)

    def create(self, payload: dict) -> dict:
        return self._call("POST", "/utilityPages", bearer=True, json_body=payload, expect=("doc",))["doc"]

    def update(self, payload: dict) -> dict:
        return self._call("PUT", "/utilityPages", bearer=True, json_body=payload, expect=("doc",))["doc"]

    def delete(self, listing_id: str) -> None:
        self._call("DELETE", "/utilityPages", bearer=True, json_body={"listingId": listing_id})

    def get(self, listing_id: str) -> dict:
        return self._call("GET", f"/utilityPage/{quote(listing_id, safe='')}", bearer=False,
                          expect=("listing",))["listing"]

    def fetch(self, listing_ids: list[str]) -> list[dict]:
        return self._call("POST", "/utilityPages/fetch", bearer=False, json_body={"listingIds": listing_ids},
                          idempotent=True, expect=("docs",))["docs"]

    def search(self, bookmark: str | None, follow: bool) -> Iterator[list[dict]]:
        seen: set[str] = set()
        while True:
            body = self._call("GET", "/utilityPages/search", bearer=True,
                              params={"bookmark": bookmark} if bookmark else None, expect=("docs",))
            yield list(body.get("docs") or [])
            pagination = body.get("pagination") or {}
            bookmark = pagination.get("bookmark")
            if not follow or not pagination.get("hasMore") or not bookmark or bookmark in seen:
                return
            seen.add(bookmark)


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
                        hint="run `mediactl auth login bitbadges` with new tokens", provider=PROVIDER) from None
    for key in ("access_token", "refresh_token"):
        client.redactor.add(answer.get(key))
    return answer
