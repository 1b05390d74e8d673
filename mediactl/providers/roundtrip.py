"""What a provider supplies for the round-trip verbs (download, verify, sync: README "Round trip").

Each provider's api.py has `roundtrip(service, target) -> RoundTrip`, `target` being the verb's target
options (`{"site": ..., "page": ...}` for NationBuilder). The verbs in `mediactl/verbs/` are written once
against this protocol; the provider answers in its own terms (its listing, its content check, its upload).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from mediactl.transfer.files import Digests

ACTIONS = ("create", "replace", "update", "delete", "unchanged")


@dataclass
class Remote:
    """One item the provider holds: what to call it locally, and where its bytes (or document) are."""

    id: str
    name: str | None
    record: dict  # the provider's own record, printed with the result
    url: str | None = None  # bytes to download (None: a document, see `document`)
    document: dict | None = None  # BitBadges: the page as a document `upload` takes
    size: int | None = None
    sha256: str | None = None  # when the journal knows it


@dataclass
class LocalFile:
    """A file of the local side: its path, the name it has on the provider, its digests."""

    path: Path
    name: str
    digests: Digests


@dataclass
class Check:
    """verify's answer for one local file."""

    status: str  # match | differs | missing
    remote: Remote | None = None
    why: str = ""


@dataclass
class PlanRow:
    """One step of a sync plan: what is done to which item, and why."""

    action: str
    name: str
    why: str
    local: LocalFile | None = None
    remote: Remote | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # provider data for carrying the row out

    def to_json(self, provider: str) -> dict:
        out: dict[str, Any] = {"action": self.action, "name": self.name, "why": self.why, "provider": provider}
        if self.local is not None:
            out["path"] = str(self.local.path)
            out["local"] = {"size": self.local.digests.size, "sha256": self.local.digests.sha256}
        if self.remote is not None:
            out["remote"] = {"id": self.remote.id, "name": self.remote.name}
        return out


class RoundTrip(Protocol):
    provider: str
    target: str  # the journal's target (a page, a community, a connection, the user's pages)
    copy_only: bool  # no delete in the API: sync --delete is refused
    # optional `local_patterns`: the globs a directory's files must match (BitBadges: page documents)

    def lookup(self, ids: Sequence[str]) -> list[Remote]:
        """The items `download ID...` names (an unknown id raises NotFoundError)."""

    def remote_files(self) -> Iterable[Remote]:
        """Everything at the target (download --all, verify --extra, sync)."""

    def fetch_sha256(self, remote: Remote, *, trust_journal: bool = False) -> str:
        """The SHA-256 of an item's bytes on the provider (streamed, never whole in memory); with
        `trust_journal`, the journal's record of an upload stands for the bytes where it can (sync)."""

    def check(self, local: LocalFile) -> Check:
        """Whether the provider holds this file as it is here."""

    def plan(self, files: Sequence[LocalFile], *, delete: bool) -> list[PlanRow]:
        """The sync plan for DIR's files."""

    def upload(self, local: LocalFile, *, progress, entry: str | None = None, row: PlanRow | None = None) -> dict:
        """Send one file through the provider's upload (journal, reconcile, resume); `row` is the plan's
        step when a sync sends it (an update names its page)."""

    def remove(self, remote: Remote) -> None:
        """Delete one item (sync --delete, replace)."""


def by_name(remotes: Iterable[Remote]) -> dict[str, list[Remote]]:
    out: dict[str, list[Remote]] = {}
    for remote in remotes:
        out.setdefault(remote.name or "", []).append(remote)
    return out
