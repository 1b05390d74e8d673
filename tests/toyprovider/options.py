"""The toy provider's part of its commands: no target options, the help of its verbs."""

HELP = {
    "upload": """Upload files to the toy API.

    Example: mediactl toy upload a.png
    """,
    "list": """List the toy API's files.

    Example: mediactl toy list -o json
    """,
}
