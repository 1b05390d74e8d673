"""Provider packages, one per platform. Each defines `SPEC` in its `__init__.py` (kept free of heavy imports)
and is listed once in `mediactl.registry`; shared code reaches a provider only through the registry."""
