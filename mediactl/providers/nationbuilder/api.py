"""NationBuilder v1 page attachments: base64-in-JSON upload (streamed), paged index, show, destroy."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from mediactl import pagination
from mediactl.http import parse_json
from mediactl.lifecycle import file_size, track
from mediactl.providers.nationbuilder import NAME
from mediactl.services import Factory, ServiceContext
from mediactl.transfer import send_base64_json

API_ROOT = "/api/v1"
PAGE_TYPES = ("basic_pages", "blogs", "events", "calendars", "petitions", "surveys", "donations")


def base_url_for(nation: str | None, base_url: str | None) -> str | None:
    if base_url:
        return base_url
    return f"https://{nation}.nationbuilder.com{API_ROOT}" if nation else None


def _seg(value: str) -> str:
    return quote(str(value), safe="")


def attachments_path(site: str, page: str) -> str:
    return f"/sites/{_seg(site)}/pages/{_seg(page)}/attachments"


class NationBuilder:
    def __init__(self, ctx: ServiceContext) -> None:
        self.rt = ctx.rt
        self.client = ctx.client
        self.journal = ctx.journal
        self.profile = ctx.profile

    def upload(self, path: Path, name: str, site: str, page: str, *, content_type: str, size: int,
               progress=None, sha256: str | None = None, entry: str | None = None) -> dict:
        with track(self.journal, provider=NAME, profile=self.profile, target=f"{site}/{page}", path=path,
                   name=name, size=size, sha256=sha256, entry=entry) as up:
            mtime = os.stat(path).st_mtime
            updated_at = dt.datetime.fromtimestamp(mtime).astimezone().isoformat(timespec="seconds")
            document = {"attachment": {"filename": name, "content_type": content_type, "updated_at": updated_at,
                                       "content": None}}
            resp, digests = send_base64_json(self.client, "POST", attachments_path(site, page), path, document,
                                             ["attachment", "content"], progress=progress or (lambda n: None))
            attachment = parse_json(resp, expect=("attachment",), provider=NAME)["attachment"]
            return up.completed(attachment, digests, remote_id=str(attachment.get("id")),
                                url=attachment.get("url"))

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
        self.client.request("DELETE", f"{attachments_path(site, page)}/{_seg(attachment_id)}", ok=(200, 204))

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
    return NationBuilder(factory.context(NAME, base_url=base, api_root=API_ROOT,
                                         auth_headers={"Authorization": f"Bearer {token}"}))


def resume(service: NationBuilder, entry: dict) -> dict:
    """An upload that never started is uploaded; one whose create may have landed is looked up first."""
    if entry["phase"] != "pending":
        found = reconcile(service, entry)
        if found is not None:
            return found
    from mediactl.providers.common import guess_type

    site, _, page = entry["target"].partition("/")
    path = Path(entry["path"])
    return service.upload(path, entry["name"], site, page, content_type=guess_type(entry["name"], path),
                          size=file_size(path), entry=entry["id"])


def reconcile(service: NationBuilder, entry: dict) -> dict | None:
    """Whether an upload whose answer was lost landed (issue 16 fills this in); None: not found."""
    return None
