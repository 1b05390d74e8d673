"""`mediactl config`: read and write settings of the active profile."""

from pathlib import Path
from typing import Annotated

import typer

from mediactl.app.context import AppContext
from mediactl.helptexts import GROUP_HELP
from mediactl.registry import PROVIDERS, all_settings, setting_keys

app = typer.Typer(
    add_completion=False,
    help=GROUP_HELP["config"],
    no_args_is_help=True,
)

ShowSecrets = Annotated[bool, typer.Option("--show-secrets", help="Print secret values instead of a mask.")]


def _complete_key(incomplete: str) -> list[str]:
    return [k for k in setting_keys() if k.startswith(incomplete)]


Key = Annotated[str, typer.Argument(
    help="PROVIDER.SETTING, e.g. otherpage.community", autocompletion=_complete_key, show_default=False)]


@app.command("path")
def path_cmd(ctx: typer.Context) -> None:
    """Show where the config, credentials and upload journal live.

    Example: mediactl config path
    """
    from mediactl.config import Settings
    from mediactl.output import emit_one

    rt = AppContext.of(ctx)
    store = Settings(rt).store
    emit_one(rt, {
        "config_dir": str(store.directory),
        "config_file": str(store.config_path),
        "credentials_file": str(store.credentials_path),
        "data_dir": str(rt.data_dir),
    }, primary="config_dir")


@app.command("list")
def list_cmd(
    ctx: typer.Context,
    provider: Annotated[str | None, typer.Option("--provider", help="Only this provider's settings.")] = None,
    show_secrets: ShowSecrets = False,
) -> None:
    """List every setting of the active profile with its value and where it comes from.

    Example: mediactl config list --provider otherpage
    """
    from mediactl.config import MASK, Settings
    from mediactl.output import ResultWriter

    rt = AppContext.of(ctx)
    settings = Settings(rt)
    settings.check_profile()
    if provider is not None and provider not in PROVIDERS:
        raise typer.BadParameter(f"must be one of {', '.join(PROVIDERS)}", param_hint="--provider")
    with ResultWriter(rt, [("KEY", "key"), ("VALUE", "value"), ("SOURCE", "source")], primary="key") as out:
        for name in [provider] if provider else PROVIDERS:
            for setting in all_settings(name):
                resolved = settings.resolve(name, setting.name)
                value = resolved.value
                if value is not None and setting.secret and not show_secrets:
                    value = MASK
                out.add({"key": f"{name}.{setting.name}", "value": value, "source": resolved.source,
                         "secret": setting.secret})


@app.command("get")
def get_cmd(ctx: typer.Context, key: Key, show_secrets: ShowSecrets = False) -> None:
    """Print one setting's value (secrets masked unless --show-secrets); exit 3 when it is not set.

    Example: mediactl config get otherpage.community
    """
    from mediactl.config import MASK, Settings, parse_key
    from mediactl.errors import LocalError
    from mediactl.output import emit_one

    rt = AppContext.of(ctx)
    provider, setting = parse_key(key)
    settings = Settings(rt)
    settings.check_profile()
    resolved = settings.resolve(provider, setting.name)
    if resolved.value is None:
        raise LocalError(f"{key} is not set")
    value = MASK if setting.secret and not show_secrets else resolved.value
    if rt.machine_output:
        emit_one(rt, {"key": key, "value": value, "source": resolved.source}, primary="value")
    else:
        rt.stdout.write(f"{value}\n")


@app.command("set")
def set_cmd(
    ctx: typer.Context,
    key: Key,
    value: Annotated[str, typer.Argument(help="The value; '-' reads it from stdin (keeps secrets out of "
                                              "shell history).", show_default=False)],
) -> None:
    """Set a setting in the active profile (secrets go to credentials.toml, mode 0600).

    Example: mediactl config set otherpage.community c-123
    """
    from mediactl.config import Settings, parse_key

    rt = AppContext.of(ctx)
    provider, setting = parse_key(key)
    if value == "-":
        value = rt.stdin.readline().strip()
    if not value:
        raise typer.BadParameter("must not be empty", param_hint="VALUE")
    _check_value(rt, setting.name, value)
    store = Settings(rt).store
    store.update(setting.secret, rt.profile, provider, {setting.name: value})
    where = store.credentials_path if setting.secret else store.config_path
    rt.info(f"set {key} in {where} (profile {rt.profile})")


def _check_value(rt, name: str, value: str) -> None:
    """Refuse now what would be refused at every use."""
    from mediactl.config import SIZE_EXAMPLES, parse_size
    from mediactl.errors import LocalError, UsageError

    if name in ("base_url", "cdn_url"):
        from mediactl.http import check_url_scheme

        try:
            check_url_scheme(value, what=name)
        except LocalError as exc:
            raise UsageError(exc.message, hint=exc.hint) from None
    elif name == "max_size" and parse_size(value) is None:
        raise UsageError(f"max_size must be {SIZE_EXAMPLES}, not '{value}'")
    elif name == "ca_bundle" and not Path(value).expanduser().is_file():
        rt.warn(f"{value} is not a file (yet); TLS verification will fail until it is")


@app.command("unset")
def unset_cmd(ctx: typer.Context, key: Key) -> None:
    """Remove a setting from the active profile.

    Example: mediactl config unset otherpage.community
    """
    from mediactl.config import Settings, parse_key

    rt = AppContext.of(ctx)
    provider, setting = parse_key(key)
    store = Settings(rt).store
    store.update(setting.secret, rt.profile, provider, {setting.name: None})
    rt.info(f"unset {key} (profile {rt.profile})")
