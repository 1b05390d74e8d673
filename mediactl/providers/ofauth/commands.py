import typer

app = typer.Typer(help="OFAuth vault media.", no_args_is_help=True)
