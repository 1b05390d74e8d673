"""NationBuilder v1 page attachments: base64-in-JSON upload (streamed), paged index, show, destroy."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from mediactl.http import ApiClient, parse_json
from mediactl.journal import Journal
from mediactl.runtime import Runtime
from mediactl.transfer.files import local_info
from mediactl.transfer.sending import send_base64_json

PROVIDER = "nationbuilder"
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
    def __init__(self, rt: Runtime, client: ApiClient, journal: Journal, profile: str) -> None:
        self.rt = rt
        self.client = client
        self.journal = journal
        self.profile = profile

    def upload(self, path: Path, name: str, site: str, page: str, *, content_type: str, size: int,
               progress=None, sha256: str | None = None, entry: str | None = None) -> dict:
        st = os.stat(path)
        updated_at = dt.datetime.fromtimestamp(st.st_mtime).astimezone().isoformat(timespec="seconds")
        document = {"attachment": {"filename": name, "content_type": content_type, "updated_at": updated_at,
                                   "content": None}}
        entry = self.journal.start(provider=PROVIDER, profile=self.profile, target=f"{site}/{page}", path=path,
                                   name=name, size=size, mtime_ns=st.st_mtime_ns, sha256=sha256, entry=entry)
        with self.journal.recording(entry):
            resp, digests = send_base64_json(self.client, "POST", attachments_path(site, page), path, document,
                                             ["attachment", "content"], progress=progress or (lambda n: None))
            body = parse_json(resp, expect=("attachment",), provider=PROVIDER)
        attachment = body["attachment"]
        out = {**attachment, "local": local_info(path, digests.size, digests.sha256), "provider": PROVIDER}
        self.journal.update(entry, phase="completed", sha256=digests.sha256, remote_id=str(attachment.get("id")),
                            url=attachment.get("url"), result=out)
        return out

    def pages_of(self, path: str, limit: int | None, follow: bool) -> Iterator[list[dict]]:
        """Each page of an index; with `follow`, `next` is followed (same host, same token) until null."""
        params = {"limit": limit} if limit else None
        seen: set[str] = set()
        while True:
            body = self.client.json("GET", path, params=params, expect=("results",))
            yield list(body["results"] or [])
            nxt = body.get("next")
            if not follow or not nxt or nxt in seen:
                return
            seen.add(nxt)
            path, params = nxt, None

    def attachments(self, site: str, page: str, limit: int | None, follow: bool) -> Iterator[list[dict]]:
        return self.pages_of(attachments_path(site, page), limit, follow)

    def show(self, site: str, page: str, attachment_id: str) -> dict:
        body = self.client.json("GET", f"{attachments_path(site, page)}/{_seg(attachment_id)}",
                                expect=("attachment",))
        return body["attachment"]

    def delete(self, site: str, page: str, attachment_id: str) -> None:
        self.client.request("DELETE", f"{attachments_path(site, page)}/{_seg(attachment_id)}", ok=(200, 204))

    def sites(self, limit: int | None, follow: bool) -> Iterator[list[dict]]:
        return self.pages_of("/sites", limit, follow)

    def pages(self, site: str, page_type: str, limit: int | None, follow: bool) -> Iterator[list[dict]]:
        return self.pages_of(f"/sites/{_seg(site)}/pages/{_seg(page_type)}", limit, follow)
