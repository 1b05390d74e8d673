"""A real S3-compatible server (SeaweedFS) for the transfer tests (filled in by the transfer work)."""
