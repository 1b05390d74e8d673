import typer

app = typer.Typer(help="A local emulator of the four APIs, for demos and tests.", no_args_is_help=True)
