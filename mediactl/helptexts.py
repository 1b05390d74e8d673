"""The help of each verb group, kept apart so that `mediactl --help` can list the groups without
importing them (cli.MediactlGroup)."""

GROUP_HELP = {
    "otherpage": "Other Page community files: upload (file record + presigned S3 POST), CDN URLs, and the local "
                 "record of uploads (the API has no listing).",
    "nationbuilder": "NationBuilder page attachments: upload, list, show, delete; sites and pages to find slugs.",
    "ofauth": "OFAuth vault media: upload (init, PUT single or parts, complete), complete, list, show.",
    "bitbadges": "BitBadges utility pages: create or update from JSON/YAML documents, list, show, delete. Images "
                 "are URLs in the document: BitBadges has no public media upload endpoint.",
    "config": "Read and write settings (config.toml; secrets go to credentials.toml, mode 0600).",
    "auth": "Store, check and remove provider credentials.",
    "sandbox": "A local emulator of the four APIs (and an S3 presigned-POST endpoint), for demos and tests.",
}
