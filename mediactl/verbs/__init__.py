"""The verbs, each written once (upload, list, show, delete, complete), and the per-provider Typer commands
generated from them.

A verb module (`mediactl/verbs/<verb>.py`) declares:
- `HELP`: its help text (a provider may replace it, in its `options.py`);
- `params(spec)`: its shared parameters (`Param`s), if it has any;
- `run(opts, ctx)`: the verb itself, given a `VerbOptions` and the run's `AppContext`; it calls the
  provider's method of the same name (`Provider`, mediactl/providers/base.py). Tests call it directly.

A provider declares, in `<package>/options.py`, its target and extra parameters per verb (`PARAMS`), help
overrides (`HELP`) and extra commands of its own (`EXTRA_COMMANDS`), and implements the verbs it offers in
`<package>/verbs.py`. `group(name)` builds `mediactl NAME ...` from those: a verb the provider's
`Capabilities` lack answers with the provider's reason and exit 2 (`missing`), in this one place.

Adding a verb = a module here, listed in `VERB_MODULES` (or registered with `register_verb`), and one
method per provider that offers it.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

    from mediactl.app.context import AppContext
    from mediactl.spec import ProviderSpec

# verb -> the module that writes it once, in the order help lists them
VERB_MODULES: dict[str, str] = {
    "upload": "mediactl.verbs.upload",
    "list": "mediactl.verbs.list",
    "show": "mediactl.verbs.show",
    "delete": "mediactl.verbs.delete",
    "complete": "mediactl.verbs.complete",
    "download": "mediactl.verbs.download",
    "verify": "mediactl.verbs.verify",
    "sync": "mediactl.verbs.sync",
}


def register_verb(name: str, module: str) -> None:
    """Add a verb at run time (tests, and a future plugin mechanism)."""
    VERB_MODULES[name] = module


@dataclass(frozen=True)
class Param:
    """One parameter of a generated command: its Python name, its `Annotated[type, typer.Option(...)]`, and
    its default (`REQUIRED`: none)."""

    name: str
    annotation: Any
    default: Any = inspect.Parameter.empty

    def parameter(self) -> inspect.Parameter:
        return inspect.Parameter(self.name, inspect.Parameter.KEYWORD_ONLY, default=self.default,
                                 annotation=self.annotation)


@dataclass
class VerbOptions(Mapping[str, Any]):
    """A verb's options: the provider it runs for and every parameter's value (shared and the provider's
    own), read as `opts["name"]` or `opts.get("name")`."""

    provider: str
    given: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.given[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.given)

    def __len__(self) -> int:
        return len(self.given)


def verb_module(verb: str) -> ModuleType:
    return importlib.import_module(VERB_MODULES[verb])


def provider_options(spec: ProviderSpec) -> ModuleType:
    """The provider's `options.py` (its target, extra parameters, help and extra commands)."""
    return importlib.import_module(f"{spec.package}.options")


def provider_verbs(ctx: AppContext, name: str) -> Any:
    """The provider's implementation of the verbs (`<package>/verbs.py`'s `VERBS` class), once per run."""
    from mediactl.registry import PROVIDERS

    return ctx.once(f"verbs:{name}", lambda: importlib.import_module(f"{PROVIDERS[name].package}.verbs").VERBS(ctx))


def missing(spec: ProviderSpec, verb: str) -> str:
    """What `mediactl NAME VERB` says for a verb the provider does not offer."""
    reason = spec.capabilities.why_not.get(verb) or f"the {spec.title} API offers no {verb}"
    offered = [v for v in VERB_MODULES if spec.capabilities.offers(v)]
    return f"{reason}; `mediactl {spec.name}` offers {', '.join(offered)}"


def run_verb(provider: str, verb: str, values: dict[str, Any], app: AppContext) -> None:
    """Run one verb for one provider with its parsed options: what the generated Typer command does, and what
    the launcher's fast upload path (mediactl/fast_upload.py) does for the lines it parses itself."""
    from mediactl.runtime import reports_wanted

    module, opts = verb_module(verb), VerbOptions(provider, values)
    if not reports_wanted(app.options.report, app.env):  # reports.py is not imported (start-up of an upload)
        module.run(opts, app)
        return
    from mediactl.reports import BATCH_VERBS, batch_reported

    if verb not in BATCH_VERBS:
        module.run(opts, app)
        return
    with batch_reported(app, f"mediactl {provider} {verb}"):  # --report / GitHub Actions (reports.py)
        module.run(opts, app)


def _command(spec: ProviderSpec, verb: str) -> Callable[..., None]:
    """The generated command function of one verb for one provider (its signature is what Typer reads)."""
    import typer

    from mediactl.app.context import AppContext

    module, extras = verb_module(verb), provider_options(spec)
    shared = module.params(spec) if hasattr(module, "params") else []
    params: list[Param] = [*shared, *getattr(extras, "PARAMS", {}).get(verb, [])]
    overrides: Mapping[str, Param] = getattr(extras, "OVERRIDES", {}).get(verb, {})
    params = [overrides.get(p.name, p) for p in params]
    order: Sequence[str] = getattr(extras, "ORDER", {}).get(verb, ())
    params.sort(key=lambda p: order.index(p.name) if p.name in order else len(order))

    def command(ctx: typer.Context, **values: Any) -> None:
        run_verb(spec.name, verb, values, AppContext.of(ctx))

    command.__name__ = f"{spec.name}_{verb}"
    command.__doc__ = getattr(extras, "HELP", {}).get(verb) or module.HELP
    ctx_param = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    command.__signature__ = inspect.Signature([ctx_param, *(p.parameter() for p in params)])  # type: ignore[attr-defined]
    command.__annotations__ = {"ctx": typer.Context, **{p.name: p.annotation for p in params}}
    return command


def _not_offered(spec: ProviderSpec, verb: str) -> Callable[..., None]:
    import typer

    from mediactl.errors import UsageError

    def command(ctx: typer.Context) -> None:
        from mediactl.app.context import AppContext
        from mediactl.runtime import reports_wanted

        app = AppContext.of(ctx)
        if reports_wanted(app.options.report, app.env):  # refused like `sync --delete`: the report's one error
            from mediactl.reports import BATCH_VERBS, batch_reported

            if verb in BATCH_VERBS:
                with batch_reported(app, f"mediactl {spec.name} {verb}"):
                    raise UsageError(missing(spec, verb))
        raise UsageError(missing(spec, verb))

    command.__annotations__ = {"ctx": typer.Context}  # typer is not a module global here (start-up)
    command.__doc__ = (f"Not offered: {spec.capabilities.why_not.get(verb) or 'the API has no ' + verb}.\n\n"
                       f"Example: mediactl {spec.name} --help (the verbs {spec.title} offers)")
    return command


def group(name: str) -> typer.Typer:
    """`mediactl NAME ...` for one registered provider, generated from its spec and options."""
    import typer

    from mediactl.registry import PROVIDERS

    spec = PROVIDERS[name]
    app = typer.Typer(add_completion=False, help=spec.help, no_args_is_help=True)
    for verb in VERB_MODULES:
        if spec.capabilities.offers(verb):
            app.command(verb)(_command(spec, verb))
        else:
            app.command(verb, hidden=True, context_settings={"ignore_unknown_options": True,
                                                             "allow_extra_args": True})(_not_offered(spec, verb))
    for command_name, function in getattr(provider_options(spec), "EXTRA_COMMANDS", {}).items():
        app.command(command_name)(function)
    return app


def __getattr__(name: str) -> Any:
    # `mediactl.verbs:<provider>` is what a spec's `commands` names: the provider's generated group
    from mediactl.registry import PROVIDERS

    if name in PROVIDERS:
        return group(name)
    raise AttributeError(name)
