import typer

app = typer.Typer(help="BitBadges utility pages.", no_args_is_help=True)
