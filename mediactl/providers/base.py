"""The provider contract: what a provider can do (`Capabilities`) and the typed shapes shared code relies on.

A verb (mediactl/verbs/) is written once against `Provider`; the registry's `ProviderSpec` carries the
provider's `Capabilities`, from which the per-provider commands are generated. A verb the provider lacks
still answers, in one place (mediactl/verbs/__init__.py), with the provider's reason, exit 2. Each verb
method returns the provider's part of the verb (an `UploadJob`, a `Listing`, ...): the verb does the rest
(files, plan, batch, output) the same way for every provider.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from mediactl.spec import Capabilities

if TYPE_CHECKING:
    from mediactl.app.context import AppContext
    from mediactl.engine.items import Item
    from mediactl.journal import JournalEntry
    from mediactl.providers.roundtrip import RoundTrip


def __getattr__(name: str) -> Any:
    # re-exported without importing the journal (sqlite3) when a provider's spec is read for --help
    if name == "JournalEntry":
        from mediactl.journal import JournalEntry

        return JournalEntry
    raise AttributeError(name)


__all__ = ["Capabilities", "Completion", "Deletion", "JournalEntry", "Listing", "Lookup", "Provider", "UploadJob"]


Columns = list[tuple[str, str]]  # (header, dotted path into a result), as mediactl/output.py renders them


@dataclass
class UploadJob:
    """A provider's part of an `upload`: where the files go, how one is sent, and its own checks."""

    target: str  # the journal's target (community, site/page, ...): --skip-existing compares within it
    send: Callable[..., dict]  # send(item, size=, sha256=, progress=, entry=) -> the item's result
    columns: Columns
    primary: str = "url"  # what -q prints
    validate: Callable[[Item], None] | None = None  # a name or document check, run on every item first
    precheck: Callable[[Item, int, Any], dict | None] | None = None  # the provider already has these bytes
    check_name: Callable[[str], None] | None = None  # refuse a name before a pipe is copied
    include: Sequence[str] | None = None  # the effective --include (a provider may default it)
    name_is_file_name: bool = True  # --name names the single file (False: the provider reads it itself)
    collected: Callable[[Sequence[Item]], None] = lambda items: None  # checks across the whole batch


@dataclass
class Listing:
    """A provider's part of `list`: pages of rows as they arrive."""

    pages: Iterable[Sequence[dict]]
    columns: Columns
    primary: str = "id"
    empty_note: str = "nothing listed"


@dataclass
class Lookup:
    """A provider's part of `show` (and of `delete --dry-run`): ids, and how one is found."""

    ids: Sequence[str]
    find: Callable[[str], dict]
    columns: Columns
    primary: str = "id"


@dataclass
class Deletion:
    """A provider's part of `delete`: ids, what the prompt calls them, and how one is deleted."""

    ids: Sequence[str]
    what: str  # "2 attachment(s) from mysite/events"
    key: str  # the result's id field
    header: str  # its column header
    find: Callable[[str], Any]  # a read, for --dry-run
    delete: Callable[[str], None]


@dataclass
class Completion:
    """A provider's part of `complete`: ids, and how one is finished."""

    ids: Sequence[str]
    finish: Callable[[str, Any], dict]  # finish(id, progress) -> result
    columns: Columns
    primary: str = "id"
    progress: bool = False  # show byte progress (the bytes are sent again)


class ProviderVerbs:
    """What a provider's `<package>/verbs.py` class starts from: the run's context (its settings, journal and
    services). The module names the class `VERBS`."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx


class Provider(Protocol):
    """What the verbs call: one method per verb the provider's Capabilities offer, in `<package>/verbs.py`
    (a `ProviderVerbs` subclass the module names `VERBS`). `opts` holds every option of the verb, shared and
    the provider's own (`<package>/options.py`)."""

    def upload(self, opts: Mapping[str, Any]) -> UploadJob: ...

    def list(self, opts: Mapping[str, Any]) -> Listing: ...

    def show(self, opts: Mapping[str, Any]) -> Lookup: ...

    def delete(self, opts: Mapping[str, Any]) -> Deletion: ...

    def complete(self, opts: Mapping[str, Any]) -> Completion: ...

    def roundtrip(self, opts: Mapping[str, Any]) -> RoundTrip:
        """download, verify and sync: the provider's calls for the verb's target (mediactl/providers/roundtrip.py)."""
        ...
