"""OFAuth's part of each verb it offers (mediactl/providers/base.py `Provider`): vault media."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mediactl.errors import NotFoundError
from mediactl.providers.base import Completion, Listing, Lookup, ProviderVerbs, UploadJob
from mediactl.providers.ofauth import NAME

UPLOAD_COLUMNS = [("MEDIA UPLOAD ID", "mediaUploadId"), ("MEDIA ID", "media.id"), ("TYPE", "media.type"),
                  ("SIZE", "local.size")]
MEDIA_COLUMNS = [("ID", "id"), ("TYPE", "type"), ("READY", "isReady"), ("CREATED", "createdAt"),
                 ("URL", "files.full.url")]


class OFAuthVerbs(ProviderVerbs):
    def upload(self, opts: Mapping[str, Any]) -> UploadJob:
        from mediactl.engine.items import guess_type
        from mediactl.transfer.files import local_info

        service = self.ctx.service(NAME)

        def send(item, **kw) -> dict:
            return service.upload(item.path, item.name, content_type=guess_type(item.name, item.path),
                                  complete=not opts.get("no_complete"), part_concurrency=opts["part_concurrency"],
                                  **kw)

        def already_in_vault(item, size, digests) -> dict | None:
            found = service.check(digests.md5, size)
            if found.get("exists"):
                return {"mediaUploadId": None, "media": found.get("media"),
                        "local": local_info(item.path, size, digests.sha256), "provider": NAME, "skipped": True}
            return None

        return UploadJob(target=service.target, send=send, columns=UPLOAD_COLUMNS, primary="mediaUploadId",
                         precheck=already_in_vault)

    def complete(self, opts: Mapping[str, Any]) -> Completion:
        service = self.ctx.service(NAME)
        return Completion(opts["upload_ids"],
                          lambda uid, progress: service.complete(uid, part_concurrency=opts["part_concurrency"]),
                          UPLOAD_COLUMNS, primary="mediaUploadId")

    def list(self, opts: Mapping[str, Any]) -> Listing:
        from mediactl.providers.ofauth.api import MEDIA_TYPES

        media_type = opts.get("media_type")
        if media_type is not None and media_type not in MEDIA_TYPES:
            import typer

            raise typer.BadParameter(f"must be one of {', '.join(MEDIA_TYPES)}", param_hint="--type")
        pages = self.ctx.service(NAME).vault(limit=opts["limit"], offset=opts["offset"], media_type=media_type,
                                             query=opts.get("query"), follow=opts.get("all_pages"))
        return Listing(pages, MEDIA_COLUMNS, empty_note="no media")

    def show(self, opts: Mapping[str, Any]) -> Lookup:
        service = self.ctx.service(NAME)

        def find(media_id: str) -> dict:
            upload = service.journal.get(NAME, media_id)
            if upload is not None and upload.get("remote_id") == media_id:  # a mediaUploadId: show its media
                media = (upload.get("result") or {}).get("media") or {}
                if media.get("id") is None:
                    raise NotFoundError(f"upload {media_id} has no vault media yet ({upload['phase']})",
                                        provider=NAME, hint=f"finish it with `mediactl ofauth complete {media_id}`")
                media_id = str(media["id"])
            for rows in service.vault(limit=40, offset=0, media_type=None, query=None, follow=True):
                for row in rows:
                    if str(row.get("id")) == media_id:
                        return row
            for entry in service.journal.list(provider=NAME, phase="completed"):
                media = (entry.get("result") or {}).get("media") or {}
                if str(media.get("id")) == media_id:
                    return {**media, "source": "journal"}
            raise NotFoundError(f"media {media_id} is neither in the vault listing nor in the local journal",
                                provider=NAME)

        return Lookup([opts["media_id"]], find, MEDIA_COLUMNS)

    def roundtrip(self, opts: Mapping[str, Any]):
        from mediactl.providers.ofauth.api import MEDIA_TYPES, roundtrip

        media_type = opts.get("media_type")
        if media_type is not None and media_type not in MEDIA_TYPES:
            import typer

            raise typer.BadParameter(f"must be one of {', '.join(MEDIA_TYPES)}", param_hint="--type")
        return roundtrip(self.ctx.service(NAME), {"type": media_type})


VERBS = OFAuthVerbs
