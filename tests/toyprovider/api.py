"""The toy API: PUT /files/<name> stores a file; GET /files lists them. No terminal here."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from mediactl.http import parse_json
from mediactl.lifecycle import file_size, track
from mediactl.services import Factory, ProviderService
from mediactl.transfer.sending import put_file
from tests.toyprovider import NAME


class Toy(ProviderService):
    def upload(self, path: Path, name: str, *, size: int, progress=None, sha256: str | None = None,
               entry: str | None = None) -> dict:
        with track(self.journal, provider=NAME, profile=self.profile, target="files", path=path, name=name,
                   size=size, sha256=sha256, entry=entry) as up:
            resp, digests = put_file(self.client, f"/files/{quote(name, safe='')}", path,
                                     progress=progress or (lambda n: None))
            record = parse_json(resp, expect=("id",), provider=NAME)
            return up.completed(record, digests, remote_id=record["id"])

    def files(self) -> list[dict]:
        return self.client.json("GET", "/files", expect=("files",))["files"]


def build(factory: Factory) -> Toy:
    settings = factory.settings
    return Toy(factory.context(NAME, base_url=settings.require(NAME, "base_url"),
                               auth_headers={"X-Toy-Key": settings.require(NAME, "api_key")}))


def resume(service: Toy, entry: dict) -> dict:
    path = Path(entry["path"])
    return service.upload(path, entry["name"], size=file_size(path), entry=entry["id"])
