"""Phase 2 of every upload: the bytes, streamed, hashed on the way, never read whole into memory. Import from the
module that does the job:

- `files`: opening local files, their digests, the `local` result object, the changed-file guard;
- `bodies`: request bodies (file slices, base64 inside JSON, a multipart form) and how they are handed to
  the HTTP client (large chunks, produced ahead on another thread, a fresh body per attempt);
- `sending`: a raw PUT of a file or a range, and a JSON document carrying a file's base64;
- `s3post`: the S3 presigned POST.
"""
