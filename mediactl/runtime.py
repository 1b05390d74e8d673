"""Small things every layer shares about a run: the progress callback type, and `Runtime`, the older name
of the run's context (`mediactl.app.context.AppContext`), kept for the modules that take one as `rt`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mediactl.app.context import AppContext as Runtime

ProgressFn = Callable[[int], None]  # told each count of bytes sent (negative: taken back for a retry)


def no_progress(_: int) -> None:
    """The progress callback that reports nothing."""
    return None


def __getattr__(name: str) -> Any:
    # `Runtime` and `to_devnull` are found in mediactl/app/context.py, imported on first use so that this
    # module stays a leaf (the transfer layer imports it; the context imports the config and journal lazily).
    if name in ("Runtime", "to_devnull"):
        from mediactl.app import context

        return context.AppContext if name == "Runtime" else context.to_devnull
    raise AttributeError(name)


__all__ = ["ProgressFn", "Runtime", "no_progress"]
