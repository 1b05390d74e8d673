"""The batch engine, shared by every verb and provider: items (paths, walks, manifests, stdin spools), plan
(one plan for the dry run and the real run), batch (workers, signals, second pass), summary. Nothing here
imports Typer or rich, or a provider package."""
