import typer

app = typer.Typer(help="NationBuilder page attachments.", no_args_is_help=True)
