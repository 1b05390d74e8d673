"""`mediactl toy ...`: the toy provider's verbs."""

import typer

from mediactl.app.context import AppContext
from mediactl.providers.options import Concurrency, Files
from tests.toyprovider import NAME, SPEC

app = typer.Typer(add_completion=False, help=SPEC.help, no_args_is_help=True)


@app.command("upload")
def upload(ctx: typer.Context, files: Files, concurrency: Concurrency = 2) -> None:
    """Upload files to the toy API.

    Example: mediactl toy upload a.png
    """
    from mediactl.engine.batch import upload_batch
    from mediactl.engine.items import collect_items

    factory = AppContext.of(ctx)
    rt, service = factory, factory.service(NAME)
    items = collect_items(rt, files)
    upload_batch(rt, factory.settings, NAME, items, target="files", journal=service.journal,
                 upload=lambda item, **kw: service.upload(item.path, item.name, **kw),
                 columns=[("ID", "id"), ("NAME", "name")], concurrency=concurrency, primary="id")


@app.command("list")
def list_cmd(ctx: typer.Context) -> None:
    """List the toy API's files.

    Example: mediactl toy list -o json
    """
    from mediactl.output import ResultWriter

    factory = AppContext.of(ctx)
    with ResultWriter(factory, [("ID", "id"), ("NAME", "name")], primary="id", empty_note="no files") as out:
        out.extend({**row, "provider": NAME} for row in factory.service(NAME).files())
