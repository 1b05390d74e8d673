"""One iterator over an API's pages, whatever its cursor: NationBuilder's `next` path, OFAuth's offset,
BitBadges' bookmark."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import TypeVar

Cursor = TypeVar("Cursor", bound=Hashable)


def pages(fetch: Callable[[Cursor], tuple[list[dict], Cursor | None]], first: Cursor, *,
          follow: bool) -> Iterator[list[dict]]:
    """Yield each page's rows. `fetch(cursor)` returns the rows and the next page's cursor (None at the
    end); with `follow`, pages are fetched until there is no next cursor, or one repeats (a server loop)."""
    cursor, seen = first, {first}
    while True:
        rows, following = fetch(cursor)
        yield rows
        if not follow or following is None or following in seen:
            return
        seen.add(following)
        cursor = following
