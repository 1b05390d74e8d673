import typer

app = typer.Typer(help="Other Page community files.", no_args_is_help=True)
