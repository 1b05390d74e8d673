"""The help of the built-in verb groups, kept apart so that `mediactl --help` can list them without importing
them (cli.MediactlGroup). Providers' help comes from their specs (mediactl.registry)."""

GROUP_HELP = {
    "config": "Read and write settings (config.toml; secrets go to credentials.toml, mode 0600).",
    "auth": "Store, check and remove provider credentials.",
    "sandbox": "A local emulator of the four APIs (and an S3 presigned-POST endpoint), for demos and tests.",
}
