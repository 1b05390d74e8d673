"""The root command's verb groups and commands, in the order `mediactl --help` and completion list them:
the registered providers first, then the built-ins. Kept free of Typer so listing them loads no verb group."""

from __future__ import annotations

# "module:app" is a Typer app, "module:function" a single command.
BUILTIN_SUBAPPS = {
    "config": "mediactl.commands.config_cmd:app",
    "auth": "mediactl.commands.auth_cmd:app",
    "sandbox": "mediactl.commands.sandbox_cmd:app",
    "history": "mediactl.commands.journal_cmd:history_app",
    "resume": "mediactl.commands.journal_cmd:resume",
    "completion": "mediactl.cli:completion",
}


def subapps() -> dict[str, str]:
    """Every lazily loaded verb group or command: the registered providers first, then the built-ins."""
    from mediactl.registry import PROVIDERS

    return {**{name: spec.commands for name, spec in PROVIDERS.items()}, **BUILTIN_SUBAPPS}
