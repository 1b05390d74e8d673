"""The help of the built-in verb groups, kept apart so that `mediactl --help` can list them without importing
them (cli.MediactlGroup). Providers' help comes from their specs (mediactl.registry).

GROUP_EXAMPLES: the example every group's `--help` shows (its epilog), as every leaf command's help does;
cli._load_subapp attaches it when the group is loaded."""

GROUP_HELP = {
    "config": "Read and write settings (config.toml; secrets go to credentials.toml, mode 0600).",
    "auth": "Store, check and remove provider credentials.",
    "sandbox": "A local emulator of the four APIs (and an S3 presigned-POST endpoint), for demos and tests.",
}

GROUP_EXAMPLES = {
    "config": "Examples:  mediactl config set otherpage.community my-community  ·  mediactl config list",
    "auth": "Examples:  mediactl auth login otherpage  ·  mediactl auth status -o json",
    "sandbox": "Examples:  mediactl sandbox demo  ·  eval \"$(mediactl sandbox env)\"",
    "otherpage": "Examples:  mediactl otherpage upload logo.png -o json  ·  mediactl otherpage list",
    "nationbuilder": "Examples:  mediactl nationbuilder upload a.png --page gallery  ·  "
                     "mediactl nationbuilder list --page gallery --all",
    "ofauth": "Examples:  mediactl ofauth upload clip.mp4  ·  mediactl ofauth list --limit 20 -o json",
    "bitbadges": "Examples:  mediactl bitbadges sync pages/  ·  mediactl bitbadges list -o json",
}
