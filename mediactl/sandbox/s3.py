"""An S3-compatible presigned-POST endpoint: SigV4 form signing and a verifier that answers as S3 does.

`POST /s3/<bucket>` (browser-based upload, SigV4 or anonymous), `GET /s3/<bucket>/<key>` (the object, or its
tags with `?tagging`), and, for tests, `PUT /_sandbox/s3/bucket/<bucket>` (create a bucket; body
`{"acl": "public-read-write"}` allows anonymous POSTs). The emulators' own buckets (a module's `BUCKET`)
always exist.

The verifier checks, in S3's order: the bucket exists; anonymous forms only on a public-read-write bucket;
the signature fields are present, the credential (key, date, region) is ours, the signature matches the
policy; the policy is well formed (ISO 8601 UTC `expiration`, a `conditions` list of well-formed
conditions) and has not expired; every condition holds against the form and the URL's bucket (`key`
after `${filename}` substitution); no field is outside the conditions; `Content-MD5` / `x-amz-checksum-*`
match the bytes. Stricter than S3, which ignores what follows it, the file must be the last field (a
field after it would be silently dropped by S3). Errors are S3's XML `<Error>` documents, never a 500.
The README's "The sandbox's S3 endpoint" lists where it still differs from S3.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import hmac
import itertools
import json
import os
import re
import secrets
import zlib
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_options_header
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from mediactl.sandbox.multipart import CHUNK as MULTIPART_CHUNK
from mediactl.sandbox.multipart import MalformedMultipart, read_parts

REGION = "us-west-2"
ALGORITHM = "AWS4-HMAC-SHA256"
# Form fields S3 does not require to be covered by a policy condition.
EXEMPT = {"policy", "x-amz-signature", "file"}
SIGNATURE_FIELDS = ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "policy")
MAX_PRE_DATA = 20 * 1024  # S3: the fields before the file, 20 KB at most
ISO_8601_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
PUBLIC_WRITE = "public-read-write"


def rules() -> list[Rule]:
    return [Rule("/s3/<bucket>", endpoint="s3_post", methods=["POST"]),
            Rule("/s3/<bucket>/<path:key>", endpoint="s3_get", methods=["GET"]),
            Rule("/_sandbox/s3/bucket/<bucket>", endpoint="s3_create_bucket", methods=["PUT"])]


def handlers(sandbox) -> dict:
    return {"s3_post": lambda req, bucket: handle_post(sandbox, req, bucket),
            "s3_get": lambda req, bucket, key: serve_object(sandbox, req, bucket, key),
            "s3_create_bucket": lambda req, bucket: create_bucket(sandbox, req, bucket)}


def s3_error(status: int, code: str, message: str, resource: str = "") -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<Resource>{escape(resource)}</Resource><RequestId>{os.urandom(8).hex().upper()}</RequestId></Error>"
    )
    return Response(body, status=status, mimetype="application/xml")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


@functools.lru_cache(maxsize=64)  # one key per secret and day: four HMACs saved on each form and each POST
def signing_key(secret: str, date: str, region: str = REGION) -> bytes:
    k = _hmac(("AWS4" + secret).encode(), date)
    k = _hmac(k, region)
    k = _hmac(k, "s3")
    return _hmac(k, "aws4_request")


def sign_form(
    *, access_key: str, secret_key: str, session_token: str | None, bucket: str, key: str,
    leading: Sequence[tuple[str, str]], trailing: Sequence[tuple[str, str]], ttl: int, max_size: int,
    now: dt.datetime | None = None, region: str = REGION,
) -> list[tuple[str, str]]:
    """A presigned POST form, fields in Other Page's order: `leading`, the signature block, `trailing`."""
    now = now or dt.datetime.now(dt.UTC)
    date = now.strftime("%Y%m%d")
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    credential = f"{access_key}/{date}/{region}/s3/aws4_request"
    sig_fields = [("X-Amz-Algorithm", ALGORITHM), ("X-Amz-Credential", credential), ("X-Amz-Date", amz_date)]
    if session_token:
        sig_fields.append(("X-Amz-Security-Token", session_token))
    conditions: list = [{"bucket": bucket}]
    for name, value in [*leading, *trailing, *sig_fields]:
        if name.lower() != "bucket":
            conditions.append({name: value})
    conditions.append(["content-length-range", 0, max_size])
    policy = {
        "expiration": (now + dt.timedelta(seconds=ttl)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conditions": conditions,
    }
    policy_b64 = base64.b64encode(json.dumps(policy).encode()).decode()
    signature = hmac.digest(signing_key(secret_key, date, region), policy_b64.encode(), "sha256").hex()
    return [*leading, *sig_fields, ("Policy", policy_b64), ("X-Amz-Signature", signature), *trailing]


# -- buckets and objects -----------------------------------------------------------------------------------


def _store(sandbox) -> dict:
    """The endpoint's own state (callers hold the state lock): created buckets and every stored object."""
    return sandbox.state.data.setdefault("s3", {"buckets": {}, "objects": {}})


def _owner(sandbox, bucket: str):
    """The emulator whose own bucket this is (it is told about each object stored there), or None."""
    for module in sandbox.modules.values():
        if getattr(module, "BUCKET", None) == bucket:
            return module
    return None


def _bucket(sandbox, bucket: str) -> dict | None:
    """The bucket's settings ({"acl": ...}) when it exists."""
    if _owner(sandbox, bucket) is not None:
        return {"acl": "private"}
    return _store(sandbox)["buckets"].get(bucket)


def create_bucket(sandbox, request: Request, bucket: str) -> Response:
    body = request.get_json(silent=True) or {}
    acl = body.get("acl", "private") if isinstance(body, dict) else "private"
    if not BUCKET_NAME.fullmatch(bucket) or ".." in bucket:
        return s3_error(400, "InvalidBucketName", "The specified bucket is not valid.", f"/{bucket}")
    with sandbox.state.lock:
        _store(sandbox)["buckets"][bucket] = {"acl": str(acl)}
        sandbox.state.save()
    return Response(b"", status=200, headers={"Location": f"/{bucket}"})


# -- the form as received ----------------------------------------------------------------------------------


class _Crc32:
    """hashlib-like CRC32, for `x-amz-checksum-crc32` (big-endian, as S3 encodes it)."""

    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes) -> None:
        self.value = zlib.crc32(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")


# Form field -> (hash, the name S3 gives it in a BadDigest message, digest size).
DIGESTS: dict[str, tuple[Callable[[], Any], str, int]] = {
    "content-md5": (hashlib.md5, "Content-MD5", 16),
    "x-amz-checksum-sha256": (hashlib.sha256, "SHA256", 32),
    "x-amz-checksum-sha1": (hashlib.sha1, "SHA1", 20),
    "x-amz-checksum-crc32": (_Crc32, "CRC32", 4),
}
UNSUPPORTED_CHECKSUMS = ("x-amz-checksum-crc32c", "x-amz-checksum-crc64nvme")


class _Form:
    """The form as received: ordered fields, the file part (spooled to disk) and where it stood."""

    def __init__(self) -> None:
        self.fields: list[tuple[str, str]] = []
        self.file_path: str | None = None
        self.filename: str | None = None
        self.file_size = 0
        self.file_md5 = ""
        self.digests: dict[str, bytes] = {}  # form field (content-md5, x-amz-checksum-*) -> digest of the bytes
        self.fields_after_file: list[str] = []
        self.files = 0


# Spool files: names of this process's own (pid and a random part, then a counter), opened as mkstemp opens
# its (exclusive, 0600, not inherited), without mkstemp's random name per file.
_SPOOL_PREFIX = f".upload.{os.getpid()}.{secrets.token_hex(4)}."
_SPOOL_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0) \
    | getattr(os, "O_BINARY", 0)
_spool_numbers = itertools.count()


def _spool_file(spool_dir: str) -> tuple[int, str]:
    while True:
        path = os.path.join(spool_dir, f"{_SPOOL_PREFIX}{next(_spool_numbers)}")
        try:
            return os.open(path, _SPOOL_FLAGS, 0o600), path
        except FileExistsError:  # left by an earlier process that drew the same name: the next number
            continue


def _hashers(fields: list[tuple[str, str]]) -> dict:
    """MD5 always (the ETag), and the checksums the form asks to be checked."""
    asked = {name.lower() for name, _ in fields}
    hashers: dict[str, Any] = {"content-md5": hashlib.md5()}
    hashers.update({name: make() for name, (make, _, _) in DIGESTS.items() if name in asked and name != "content-md5"})
    return hashers


def _parse(request: Request, spool_dir: str) -> _Form | Response:
    """Stream the multipart body: fields into memory (20 KB before the file, as S3), the part named `file`
    to disk. A part is a field or the file by its name, not by whether it carries `filename=` (browsers and
    `requests files=` send a filename on every part)."""
    ctype, opts = parse_options_header(request.headers.get("Content-Type", ""))
    boundary = opts.get("boundary")
    if ctype != "multipart/form-data" or not boundary:
        return s3_error(412, "PreconditionFailed", "Bucket POST must be of the enclosure-type multipart/form-data")
    form = _Form()
    current: dict | None = None
    field_bytes = 0
    # Reads of no more than the body: a read allocates the buffer it asks for (256 KiB for a 1 KiB form).
    length = request.content_length
    chunk = MULTIPART_CHUNK if length is None else max(1, min(MULTIPART_CHUNK, length))
    try:
        for event in read_parts(request.stream.read, boundary.encode(), max_parts=1000, chunk=chunk):
            if event[0] == "part":
                _, name, filename = event
                if name.lower() != "file":
                    current = {"kind": "field", "name": name, "buf": bytearray()}
                    if form.files:
                        form.fields_after_file.append(name)
                    continue
                form.files += 1
                if form.files > 1:
                    current = {"kind": "ignored"}
                    continue
                fd, path = _spool_file(spool_dir)
                current = {"kind": "file", "fh": os.fdopen(fd, "wb"), "hashers": _hashers(form.fields)}
                form.file_path, form.filename = path, filename
                continue
            _, data, more_data = event
            if current is None or current["kind"] == "ignored":
                continue
            if current["kind"] == "field":
                current["buf"] += data
                field_bytes += len(data)
                if field_bytes > MAX_PRE_DATA:
                    return s3_error(400, "MaxPostPreDataLengthExceeded",
                                    "Your POST request fields preceeding the upload file was too large.")
                if not more_data:
                    form.fields.append((current["name"], current["buf"].decode("utf-8", "replace")))
                    current = None
            else:
                current["fh"].write(data)
                for hasher in current["hashers"].values():
                    hasher.update(data)
                form.file_size += len(data)
                if not more_data:
                    current["fh"].close()
                    form.digests = {name: h.digest() for name, h in current["hashers"].items()}
                    form.file_md5 = form.digests["content-md5"].hex()
                    current = None
    except (MalformedMultipart, HTTPException) as exc:
        return s3_error(400, "MalformedPOSTRequest", f"The body of your POST request is not well-formed: {exc}")
    finally:
        if current is not None and current.get("kind") == "file":
            current["fh"].close()
    return form


# -- the policy ------------------------------------------------------------------------------------------


class PolicyError(Exception):
    """The policy document is not one S3 accepts: 400 InvalidPolicyDocument with this message."""


def parse_policy(policy_b64: str) -> tuple[dt.datetime, list[tuple]]:
    """The expiration and the conditions as ("eq" | "starts-with", field, value) or
    ("content-length-range", low, high); field names lower-cased without the `$`."""
    try:
        doc = json.loads(base64.b64decode(policy_b64, validate=True))
    except (ValueError, binascii.Error, RecursionError):  # RecursionError: arrays nested thousands deep
        raise PolicyError("Invalid Policy: Invalid JSON.") from None
    if not isinstance(doc, dict):
        raise PolicyError("Invalid Policy: Invalid JSON.")
    if "expiration" not in doc:
        raise PolicyError("Invalid Policy: Policy missing expiration.")
    expiration = doc["expiration"]
    if not isinstance(expiration, str) or not ISO_8601_UTC.fullmatch(expiration):
        raise PolicyError(f"Invalid Policy: Invalid 'expiration' value: '{expiration}' (ISO 8601 UTC, "
                          "e.g. 2030-01-01T12:00:00.000Z)")
    try:  # what strptime("%Y-%m-%dT%H:%M:%S") gives for what the pattern let through, without its cost
        expires = dt.datetime(int(expiration[0:4]), int(expiration[5:7]), int(expiration[8:10]),
                              int(expiration[11:13]), int(expiration[14:16]), int(expiration[17:19]), tzinfo=dt.UTC)
    except ValueError:
        raise PolicyError(f"Invalid Policy: Invalid 'expiration' value: '{expiration}'") from None
    if "conditions" not in doc:
        raise PolicyError("Invalid Policy: Policy missing conditions.")
    if not isinstance(doc["conditions"], list):
        raise PolicyError("Invalid Policy: Invalid 'conditions' value: must be a list.")
    return expires, [_condition(cond) for cond in doc["conditions"]]


def _condition(cond) -> tuple:
    if isinstance(cond, dict):
        if len(cond) != 1:
            raise PolicyError("Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly "
                              "one property specified.")
        ((name, value),) = cond.items()
        if not isinstance(value, str):
            raise PolicyError(f"Invalid Policy: Invalid Simple-Condition: the value of '{name}' must be a string.")
        return ("eq", name.lower().removeprefix("$"), value)
    if not isinstance(cond, list) or not cond or not isinstance(cond[0], str):
        raise PolicyError(f"Invalid Policy: Invalid Condition: {json.dumps(cond)}")
    op = cond[0].lower()
    if op == "content-length-range":
        bounds = cond[1:]
        if len(bounds) != 2 or not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
            raise PolicyError("Invalid Policy: Invalid content-length-range: expected "
                              '["content-length-range", min, max] with two integers.')
        if bounds[0] < 0 or bounds[1] < 0:
            raise PolicyError("Invalid Policy: Invalid content-length-range: the bounds must not be negative.")
        return (op, bounds[0], bounds[1])
    if op not in ("eq", "starts-with"):
        raise PolicyError(f"Invalid Policy: Invalid Condition: unknown operation '{cond[0]}'.")
    if len(cond) != 3 or not isinstance(cond[1], str) or not cond[1].startswith("$") or not isinstance(cond[2], str):
        raise PolicyError(f'Invalid Policy: Invalid Condition: expected ["{cond[0]}", "$field", "value"], '
                          f"got {json.dumps(cond)}")
    return (op, cond[1][1:].lower(), cond[2])


# -- the verdict -------------------------------------------------------------------------------------------


def object_key(form: _Form) -> str:
    fields = {k.lower(): v for k, v in form.fields}
    return fields.get("key", "").replace("${filename}", os.path.basename(form.filename or ""))


def verify(sandbox, bucket: str, form: _Form) -> Response | None:
    """None when the form is valid for `bucket`; otherwise S3's error response."""
    fields = {k.lower(): v for k, v in form.fields}
    resource = f"/{bucket}"
    with sandbox.state.lock:
        settings = _bucket(sandbox, bucket)
    if settings is None:
        return s3_error(404, "NoSuchBucket", "The specified bucket does not exist", resource)
    if form.files != 1:
        return s3_error(400, "InvalidArgument", "POST requires exactly one file upload per request.", resource)
    if "key" not in fields:
        return s3_error(400, "InvalidArgument", "Bucket POST must contain a field named 'key'.  If it is "
                        "specified, please check the order of the fields.", resource)
    if not any(name in fields for name in SIGNATURE_FIELDS):
        if "awsaccesskeyid" in fields or "signature" in fields:
            return s3_error(400, "InvalidArgument", "The sandbox verifies SigV4 forms only (X-Amz-Algorithm, "
                            "X-Amz-Credential, X-Amz-Date, X-Amz-Signature, Policy).", resource)
        if settings.get("acl") != PUBLIC_WRITE:
            return s3_error(403, "AccessDenied", "Access Denied", resource)
        return _after_policy(form, fields, resource)
    error = _check_signature(sandbox, fields, resource)
    if error is not None:
        return error
    try:
        expires, conditions = parse_policy(fields["policy"])
    except PolicyError as exc:
        return s3_error(400, "InvalidPolicyDocument", str(exc), resource)
    if expires < dt.datetime.now(dt.UTC):
        return s3_error(403, "AccessDenied", "Invalid according to Policy: Policy expired.", resource)
    error = _check_conditions(conditions, fields, bucket, object_key(form), form.file_size, resource)
    if error is not None:
        return error
    extra = [k for k, _ in form.fields if k.lower() not in _covered(conditions)
             and not k.lower().startswith("x-ignore-")]
    if "bucket" not in _covered(conditions) and "bucket" not in fields:
        extra.append("bucket")  # the URL's bucket is a field of the form too
    if extra:
        return s3_error(403, "AccessDenied",
                        f"Invalid according to Policy: Extra input fields: {', '.join(extra)}", resource)
    return _after_policy(form, fields, resource)


def _check_signature(sandbox, fields: dict[str, str], resource: str) -> Response | None:
    for required in SIGNATURE_FIELDS:
        if required not in fields:
            return s3_error(400, "InvalidArgument", f"Bucket POST must contain a field named '{required}'.  If "
                            "it is specified, please check the order of the fields.", resource)
    if fields["x-amz-algorithm"] != ALGORITHM:
        return s3_error(400, "InvalidArgument", "Only AWS4-HMAC-SHA256 is supported.", resource)
    parts = fields["x-amz-credential"].split("/")
    if len(parts) != 5 or parts[3] != "s3" or parts[4] != "aws4_request":
        return s3_error(400, "AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter; "
                        "it must be <key>/<YYYYMMDD>/<region>/s3/aws4_request.", resource)
    access_key, date, region = parts[:3]
    if access_key != sandbox.creds["s3_access_key"]:
        return s3_error(403, "InvalidAccessKeyId",
                        "The AWS Access Key Id you provided does not exist in our records.", resource)
    if region != REGION:
        return s3_error(400, "AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter; "
                        f"the region '{region}' is wrong; expecting '{REGION}'", resource)
    if fields["x-amz-date"][:8] != date:
        return s3_error(400, "AuthorizationQueryParametersError", "Error parsing the X-Amz-Credential parameter; "
                        f"the date '{date}' does not match X-Amz-Date '{fields['x-amz-date']}'.", resource)
    expected = hmac.digest(signing_key(sandbox.creds["s3_secret_key"], date, region), fields["policy"].encode(),
                           "sha256").hex()
    if not hmac.compare_digest(expected, fields["x-amz-signature"]):
        return s3_error(403, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided. "
                        "Check your key and signing method.", resource)
    return None


def _covered(conditions: list[tuple]) -> set[str]:
    return EXEMPT | {name for op, name, _ in conditions if op != "content-length-range"}


def _check_conditions(conditions: list[tuple], fields: dict[str, str], bucket: str, key: str, size: int,
                      resource: str) -> Response | None:
    """Every condition against the form; `bucket` against the URL's bucket (and the form's, if it has one),
    `key` after `${filename}` substitution, as S3 checks them."""
    values = {**fields, "bucket": bucket, "key": key}
    for op, name, expected in conditions:
        if op == "content-length-range":
            continue
        actual = values.get(name)
        ok = actual is not None and (actual == expected if op == "eq" else actual.startswith(expected))
        if name == "bucket" and fields.get("bucket", bucket) != bucket:
            ok = False
        if not ok:
            return s3_error(403, "AccessDenied", "Invalid according to Policy: Policy Condition failed: "
                            f'["{op}", "${name}", {json.dumps(expected)}]', resource)
    for op, low, high in conditions:
        if op != "content-length-range":
            continue
        if size > high:
            return s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", resource)
        if size < low:
            return s3_error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size",
                            resource)
    return None


def _after_policy(form: _Form, fields: dict[str, str], resource: str) -> Response | None:
    """What S3 checks once the form is authorised: the field order the sandbox insists on, the tag set and
    the digests of the bytes."""
    if form.fields_after_file:
        after = ", ".join(form.fields_after_file)
        return s3_error(400, "InvalidArgument",
                        f"The file must be the last field in the form; found after it: {after}. Real S3 would "
                        f"accept this form but silently ignore {after}; the sandbox refuses it so the mistake "
                        "shows before production.", resource)
    if "tagging" in fields:
        try:
            parse_tagging(fields["tagging"])
        except ValueError:
            return s3_error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate "
                            "against our published schema", resource)
    return _check_digests(form, fields, resource)


def _check_digests(form: _Form, fields: dict[str, str], resource: str) -> Response | None:
    unsupported = [name for name in UNSUPPORTED_CHECKSUMS if name in fields]
    if unsupported:
        return s3_error(501, "NotImplemented", f"The sandbox does not compute {unsupported[0]}; S3 does. Use "
                        "x-amz-checksum-sha256, -sha1, -crc32 or Content-MD5 against the sandbox.", resource)
    checksums = [name for name in fields if name.startswith("x-amz-checksum-") and name != "x-amz-checksum-algorithm"]
    if len(checksums) > 1:
        return s3_error(400, "InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum "
                        "Types are not allowed.", resource)
    for name, (_, label, size) in DIGESTS.items():
        if name not in fields:
            continue
        try:
            claimed = base64.b64decode(fields[name], validate=True)
        except (ValueError, binascii.Error):
            claimed = b""
        if len(claimed) != size:
            if name == "content-md5":
                return s3_error(400, "InvalidDigest", "The Content-MD5 you specified was invalid.", resource)
            return s3_error(400, "InvalidRequest", f"Value for {name} header is invalid.", resource)
        if not hmac.compare_digest(claimed, form.digests.get(name, b"")):
            if name == "content-md5":
                return s3_error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.",
                                resource)
            return s3_error(400, "BadDigest", f"The {label} you specified did not match the calculated checksum.",
                            resource)
    return None


def parse_tagging(document: str) -> list[tuple[str, str]]:
    """The (key, value) pairs of a `<Tagging><TagSet><Tag>...` document; ValueError when it is not one."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError as exc:
        raise ValueError(str(exc)) from None
    tag_set = root.find("TagSet") if root.tag == "Tagging" else None
    if tag_set is None:
        raise ValueError("not a Tagging document")
    tags = []
    for tag in tag_set:
        key, value = tag.findtext("Key"), tag.findtext("Value")
        if tag.tag != "Tag" or key is None or value is None:
            raise ValueError("malformed Tag")
        tags.append((key, value))
    return tags


def handle_post(sandbox, request: Request, bucket: str) -> Response:
    with sandbox.state.lock:
        outage = sandbox.options.s3_fail_next > 0
        if outage:
            sandbox.options.s3_fail_next -= 1
    if outage:
        request.stream.read()
        return s3_error(503, "ServiceUnavailable", "Please reduce your request rate.", f"/{bucket}")
    parsed = _parse(request, str(sandbox.state.blob_dir))
    if isinstance(parsed, Response):
        return parsed
    form = parsed
    try:
        error = verify(sandbox, bucket, form)
        if error is not None:
            return error
        fields = {k.lower(): v for k, v in form.fields}
        key = object_key(form)
        record = _store_object(sandbox, bucket, key, form, fields)
    finally:
        if form.file_path and os.path.exists(form.file_path):
            os.unlink(form.file_path)
    return _success(sandbox, bucket, key, f'"{record["etag"]}"', fields)


def _store_object(sandbox, bucket: str, key: str, form: _Form, fields: dict[str, str]) -> dict:
    blob = "s3-" + hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()
    assert form.file_path is not None  # verify() saw exactly one file field, which the parser spooled
    os.replace(form.file_path, sandbox.state.blob_path(blob))
    form.file_path = None
    record = {
        "bucket": bucket, "key": key, "blob": blob, "size": form.file_size, "etag": form.file_md5,
        "content_type": fields.get("content-type", "binary/octet-stream"),
        "metadata": {k[len("x-amz-meta-"):]: v for k, v in fields.items() if k.startswith("x-amz-meta-")},
        "tags": parse_tagging(fields["tagging"]) if "tagging" in fields else [],
    }
    owner = _owner(sandbox, bucket)
    with sandbox.state.lock:
        _store(sandbox)["objects"][f"{bucket}/{key}"] = record
        if owner is not None:
            owner.object_stored(sandbox, dict(record))  # saves the state
        else:
            sandbox.state.save()
    return record


def _success(sandbox, bucket: str, key: str, etag: str, fields: dict[str, str]) -> Response:
    """S3's answer to a stored object: a 303 to `success_action_redirect` (with bucket, key and etag in its
    query), else `success_action_status` 200 / 201 (a PostResponse document) / 204 (the default, and what any
    other value gets)."""
    redirect = fields.get("success_action_redirect") or fields.get("redirect")
    if redirect and urlsplit(redirect).scheme in ("http", "https"):
        query = urlencode({"bucket": bucket, "key": key, "etag": etag})
        location = f"{redirect}{'&' if '?' in redirect else '?'}{query}"
        return Response(b"", status=303, headers={"Location": location, "ETag": etag})
    status = fields.get("success_action_status", "204")
    if status == "201":
        location = sandbox.url(f"/s3/{bucket}/{key}")
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<PostResponse><Location>{escape(location)}</Location><Bucket>{escape(bucket)}</Bucket>"
            f"<Key>{escape(key)}</Key><ETag>{escape(etag)}</ETag></PostResponse>"
        )
        return Response(body, status=201, mimetype="application/xml", headers={"ETag": etag})
    return Response(b"", status=200 if status == "200" else 204, headers={"ETag": etag})


def serve_object(sandbox, request: Request, bucket: str, key: str) -> Response:
    """GET of an object: 404 NoSuchBucket / NoSuchKey as S3; `?tagging` answers its tag set."""
    with sandbox.state.lock:
        if _bucket(sandbox, bucket) is None:
            return s3_error(404, "NoSuchBucket", "The specified bucket does not exist", f"/{bucket}")
        record = _store(sandbox)["objects"].get(f"{bucket}/{key}")
    if record is None:
        return s3_error(404, "NoSuchKey", "The specified key does not exist.", f"/{bucket}/{key}")
    if "tagging" in request.args:
        tags = "".join(f"<Tag><Key>{escape(k)}</Key><Value>{escape(v)}</Value></Tag>" for k, v in record["tags"])
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Tagging><TagSet>{tags}</TagSet></Tagging>'
        return Response(body, mimetype="application/xml")
    headers = {"ETag": f'"{record["etag"]}"', "Content-Length": str(record["size"]),
               **{f"x-amz-meta-{k}": v for k, v in record["metadata"].items()}}
    return Response(open(sandbox.state.blob_path(record["blob"]), "rb"), mimetype=record["content_type"],
                    headers=headers, direct_passthrough=True)
