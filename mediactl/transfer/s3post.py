"""The S3 presigned POST: multipart/form-data with the form's fields in the given order and the file last,
through a client that carries no provider credentials (the form is its own authorization)."""

from __future__ import annotations

import base64
import json
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mediactl.errors import RejectedError, TransientError
from mediactl.http import SECRET_NAMES, ApiClient, Body, Redactor, excerpt
from mediactl.runtime import ProgressFn, Runtime, no_progress
from mediactl.transfer.bodies import FileSlice, MultipartFormBody, Resendable
from mediactl.transfer.files import Digests, FileState

# S3 asks for a retry of any 5xx (InternalError included); re-posting the same form is safe.
S3_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class PostResult:
    status: int
    location: str | None
    bucket: str | None
    key: str | None
    etag: str | None
    digests: Digests


def policy_expiration(fields: Sequence[tuple[str, str]]):
    """When a presigned form's policy expires (a timezone-aware datetime), or None if it cannot tell."""
    import datetime as dt

    try:
        expiration = (_policy(fields) or {})["expiration"]
        return dt.datetime.fromisoformat(expiration.replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _policy(fields: Sequence[tuple[str, str]]) -> dict | None:
    value = next((v for k, v in fields if k.lower() == "policy"), None)
    try:
        policy = json.loads(base64.b64decode(value)) if value else None
    except (ValueError, TypeError):
        return None
    return policy if isinstance(policy, dict) else None


def policy_size_range(fields: Sequence[tuple[str, str]]) -> tuple[int, int] | None:
    """The `content-length-range` a presigned form's policy allows, or None if it sets none (or is unreadable):
    a file outside it can be refused before a byte is sent, instead of after S3 read it all."""
    for condition in (_policy(fields) or {}).get("conditions") or ():
        if isinstance(condition, list) and len(condition) == 3 and str(condition[0]).lower() == "content-length-range":
            try:
                return int(condition[1]), int(condition[2])
            except (TypeError, ValueError):
                return None
    return None


def s3_error(body: bytes | str) -> tuple[str, str] | None:
    """(Code, Message) of an S3 XML <Error>, or None when the body is not one."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    if root.tag.split("}")[-1] != "Error":
        return None

    def text(name: str) -> str:
        el = next((c for c in root if c.tag.split("}")[-1] == name), None)
        return (el.text or "").strip() if el is not None else ""

    return text("Code") or "Error", text("Message")


def _s3_message(resp) -> str:
    parsed = s3_error(resp.content)
    if parsed:
        code, message = parsed
        return f"{code}: {message}" if message else code
    return excerpt(resp.text) or f"HTTP {resp.status_code}"


_per_thread = threading.local()


def _s3_client(rt: Runtime, url: str, provider: str | None, redactor: Redactor) -> ApiClient:
    """This thread's client for S3 forms at `url`'s origin, kept from one file to the next so a batch reuses
    its pooled connection instead of opening one per file."""
    parts = urlsplit(url)
    key = (id(rt), id(redactor), provider, parts.scheme, parts.netloc)
    cached = getattr(_per_thread, "client", None)
    if cached is not None and cached[0] == key and cached[1].rt is rt and cached[1].redactor is redactor:
        return cached[1]
    if cached is not None:
        cached[1].session.close()
    client = ApiClient(rt, provider=provider, base_url=f"{parts.scheme}://{parts.netloc}", redactor=redactor,
                       error_message=_s3_message, retry_statuses=S3_RETRY_STATUSES)
    _per_thread.client = (key, client)
    return client


def presigned_post(
    rt: Runtime,
    url: str,
    fields: Sequence[tuple[str, str]],
    file: Path,
    *,
    filename: str,
    content_type: str,
    progress: ProgressFn = no_progress,
    provider: str | None = None,
    redactor: Redactor | None = None,
    check_etag: bool = True,
) -> PostResult:
    """POST `file` to a presigned S3 form; the same form is re-posted on 5xx and connection errors."""
    redactor = redactor or Redactor()
    for name, value in fields:
        if name.lower() in SECRET_NAMES:
            redactor.add(value)
    client = _s3_client(rt, url, provider, redactor)
    boundary = uuid.uuid4().hex  # fixed across attempts, so Content-Type and Content-Length are too
    expected = FileState.at(file)

    def make_form(report: ProgressFn) -> MultipartFormBody:
        part = FileSlice(file, progress=report, expected=expected)
        return MultipartFormBody(fields, "file", filename, content_type, part, boundary)

    attempts = Resendable(make_form, progress)
    sizing = MultipartFormBody(fields, "file", filename, content_type, FileSlice(file, expected=expected), boundary)
    sizing.close()
    described = "multipart form: " + ", ".join(
        f"{k}={'***' if k.lower() in SECRET_NAMES else v}" for k, v in fields
    ) + f", file=<{filename}, {content_type}>"
    body = Body(attempts, sizing.total, sizing.content_type, description=described)
    resp = client.request("POST", url, body=body, idempotent=True, ok=range(200, 500), send_auth=False,
                          headers={"Accept": "*/*"})
    if resp.status_code not in (200, 201, 204):
        # 4xx answers are S3's verdict on the form (policy, size, expiry): rejected. A 429 that outlasted the
        # retries is a transient failure like any other (exit 7, README "Exit codes"), not a verdict.
        error = TransientError if resp.status_code == 429 else RejectedError
        raise error(f"S3 {'rate-limited' if resp.status_code == 429 else 'rejected'} the upload: "
                    f"{redactor.text(_s3_message(resp))}", status=resp.status_code, provider=provider)
    digests = attempts.digests()
    location = bucket = key = None
    etag = resp.headers.get("ETag")
    if resp.status_code == 201 and resp.content:
        try:
            root = ET.fromstring(resp.content)
        except ET.ParseError:
            raise TransientError(f"S3 answered 201 with a body that is not XML: {resp.text[:200]}",
                                 provider=provider) from None
        values = {c.tag.split("}")[-1]: (c.text or "") for c in root}
        location, bucket, key = values.get("Location"), values.get("Bucket"), values.get("Key")
        etag = values.get("ETag") or etag
    if etag:
        etag = etag.strip().strip('"')
    if check_etag and etag and "-" not in etag and etag != digests.md5:
        raise TransientError(
            f"checksum mismatch: S3 stored ETag {etag} but the file's MD5 is {digests.md5}",
            hint="the bytes were corrupted on the way; upload again", provider=provider,
        )
    return PostResult(resp.status_code, location, bucket, key, etag, digests)
