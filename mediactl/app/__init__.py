"""The application layer: the root command's context (context.py) and the one table of global options (options.py)."""
