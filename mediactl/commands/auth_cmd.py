"""`mediactl auth`: store, check and remove each provider's credentials."""

from typing import Annotated

import typer

from mediactl.app.context import AppContext
from mediactl.errors import UsageError
from mediactl.helptexts import GROUP_HELP
from mediactl.registry import PROVIDERS

app = typer.Typer(
    add_completion=False, help=GROUP_HELP["auth"], no_args_is_help=True)


def _complete_provider(incomplete: str) -> list[str]:
    return [p for p in PROVIDERS if p.startswith(incomplete)]


ProviderArg = Annotated[str, typer.Argument(
    help=f"One of: {', '.join(PROVIDERS)}.", autocompletion=_complete_provider, show_default=False)]


def _provider(name: str):
    if name not in PROVIDERS:
        raise UsageError(f"unknown provider '{name}': choose one of {', '.join(PROVIDERS)}")
    return PROVIDERS[name]


@app.command("login")
def login(
    ctx: typer.Context,
    provider: ProviderArg,
    with_token: Annotated[bool, typer.Option(
        "--with-token", help="Read one secret from stdin instead of prompting (for CI).")] = False,
    secret: Annotated[str | None, typer.Option(
        "--secret", help="Which secret --with-token sets (default: the provider's first, e.g. api_key).")] = None,
) -> None:
    """Store a provider's secrets in credentials.toml (0600), prompting with hidden input.

    Examples: mediactl auth login otherpage  ·  echo "$TOKEN" | mediactl auth login nationbuilder --with-token
    """
    from mediactl.config import Settings

    rt = AppContext.of(ctx)
    spec = _provider(provider)
    store = Settings(rt).store
    changes: dict[str, str | None] = {}
    if with_token:
        names = [s.name for s in spec.secrets]
        name = secret or names[0]
        if name not in names:
            raise UsageError(f"{provider} has no secret '{name}': choose one of {', '.join(names)}")
        value = rt.stdin.readline().strip()
        if not value:
            raise UsageError("--with-token read an empty secret from stdin")
        changes[name] = value
    else:
        if not rt.stdin_isatty:
            raise UsageError("no terminal to prompt; use --with-token",
                             hint=f'echo "$TOKEN" | mediactl auth login {provider} --with-token')
        for setting in spec.secrets:
            required = setting is spec.secrets[0]
            value = _prompt_secret(rt, f"{spec.title} {setting.name}" + ("" if required else " (Enter to skip)"))
            if value:
                changes[setting.name] = value
        if not changes:
            raise UsageError("no secret entered")
    store.update(True, rt.profile, provider, changes)
    rt.info(f"saved {', '.join(changes)} for {provider} in {store.credentials_path} (profile {rt.profile})")


def _prompt_secret(rt, label: str) -> str:
    """Hidden input from the terminal. Ctrl-C reaches the error boundary (exit 130); end of input (Ctrl-D)
    is a usage error (exit 2): nothing is saved either way."""
    import getpass

    try:
        return getpass.getpass(f"{label}: ", stream=rt.stderr).strip()
    except EOFError:
        rt.stderr.write("\n")
        raise UsageError("no secret entered (end of input); nothing saved") from None


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Show, per provider, whether its secrets are configured and where they come from (never the values).

    Example: mediactl auth status -o json
    """
    from mediactl.config import Settings
    from mediactl.output import ResultWriter

    rt = AppContext.of(ctx)
    settings = Settings(rt)
    settings.check_profile()
    columns = [("PROVIDER", "provider"), ("CONFIGURED", "configured"), ("SOURCES", "summary")]
    with ResultWriter(rt, columns, primary="provider") as out:
        for name, spec in PROVIDERS.items():
            sources = {s.name: settings.resolve(name, s.name).source for s in spec.secrets}
            configured = sources[spec.secrets[0].name] != "unset"
            summary = ", ".join(f"{k}: {v}" for k, v in sources.items())
            out.add({"provider": name, "configured": configured, "sources": sources, "summary": summary})


@app.command("logout")
def logout(ctx: typer.Context, provider: ProviderArg) -> None:
    """Remove a provider's secrets from credentials.toml for the active profile.

    Example: mediactl auth logout otherpage
    """
    from mediactl.config import Settings

    rt = AppContext.of(ctx)
    spec = _provider(provider)
    store = Settings(rt).store
    store.update(True, rt.profile, provider, {s.name: None for s in spec.secrets})
    rt.info(f"removed {provider} credentials from {store.credentials_path} (profile {rt.profile})")
