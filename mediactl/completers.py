"""The values TAB completion looks up at run time (profile names, setting keys, providers, journal ids).

Kept free of Typer, Rich and Pydantic so the launcher can answer them from the completion table without
building the CLI (mediactl/fast_completion.py); the commands hand the same functions to Typer as their
`autocompletion`, so both paths give the same answers. A completer the launcher may call carries
`light_call = (function name in this module, leading arguments)`, which the table records; a completer
whose parameters start with `ctx` gets Click's context from Typer and the launcher's `LineContext` (the
values of the options given on the command line, as `params`) from the launcher.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def _light(function: Callable[..., list[str]]) -> Callable[..., list[str]]:
    function.light_call = (function.__name__, ())  # type: ignore[attr-defined]
    return function


@_light
def profile_names(ctx, incomplete: str) -> list[str]:
    """`--profile <TAB>`: `default` and the profiles of the config files (of `--config-dir` if it was given
    before on the command line), each once. `ctx` is Click's context, or the launcher's `LineContext`."""
    from mediactl.config import ConfigStore
    from mediactl.runtime import Runtime

    given = (getattr(ctx, "params", None) or {}).get("config_dir")
    try:
        names = ConfigStore(Path(given).expanduser() if given else Runtime().resolved_config_dir()).profiles()
    except Exception:
        names = []
    return [n for n in dict.fromkeys(["default", *names]) if n.startswith(incomplete)]


@_light
def setting_keys(incomplete: str) -> list[str]:
    from mediactl.registry import setting_keys as keys

    return [k for k in keys() if k.startswith(incomplete)]


@_light
def provider_names(incomplete: str) -> list[str]:
    from mediactl.registry import PROVIDERS

    return [p for p in PROVIDERS if p.startswith(incomplete)]


def journal_ids(provider: str, incomplete: str) -> list[str]:
    """The remote ids (or journal ids) of `provider`'s 50 latest recorded uploads."""
    try:
        from mediactl.journal import Journal
        from mediactl.runtime import Runtime

        entries = Journal(Runtime().data_dir).list(provider=provider, limit=50)
    except Exception:
        return []
    ids = [e["remote_id"] or e["id"] for e in entries]
    return [i for i in ids if i.startswith(incomplete)]


def journal_id_completer(provider: str) -> Callable[[str], list[str]]:
    def complete(incomplete: str) -> list[str]:
        return journal_ids(provider, incomplete)

    complete.light_call = ("journal_ids", (provider,))  # type: ignore[attr-defined]
    return complete
