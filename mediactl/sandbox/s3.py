"""An S3-compatible presigned-POST endpoint: SigV4 form signing and a verifier as strict as S3.

The verifier checks, in S3's order: the signature fields are present, the credential is ours, the
signature matches the policy, the policy has not expired, every condition holds (eq / starts-with /
content-length-range), no field is outside the conditions, and — stricter than S3, which ignores what
follows it — the file is the last field. Errors are S3's XML `<Error>` documents.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import tempfile
from collections.abc import Sequence
from xml.sax.saxutils import escape

from werkzeug.http import parse_options_header
from werkzeug.routing import Rule
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData
from werkzeug.wrappers import Request, Response

REGION = "us-west-2"
ALGORITHM = "AWS4-HMAC-SHA256"
# Form fields S3 does not require to be covered by a policy condition.
EXEMPT = {"policy", "x-amz-signature", "file"}


def rules() -> list[Rule]:
    return [Rule("/s3/<bucket>", endpoint="s3_post", methods=["POST"]),
            Rule("/s3/<bucket>/<path:key>", endpoint="s3_get", methods=["GET"])]


def handlers(sandbox) -> dict:
    return {"s3_post": lambda req, bucket: handle_post(sandbox, req, bucket),
            "s3_get": lambda req, bucket, key: serve_object(sandbox, key)}


def s3_error(status: int, code: str, message: str, resource: str = "") -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<Resource>{escape(resource)}</Resource><RequestId>{os.urandom(8).hex().upper()}</RequestId></Error>"
    )
    return Response(body, status=status, mimetype="application/xml")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


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
    signature = hmac.new(signing_key(secret_key, date, region), policy_b64.encode(), hashlib.sha256).hexdigest()
    return [*leading, *sig_fields, ("Policy", policy_b64), ("X-Amz-Signature", signature), *trailing]


class _Form:
    """The form as received: ordered fields, the file part (spooled to disk) and where it stood."""

    def __init__(self) -> None:
        self.fields: list[tuple[str, str]] = []
        self.file_path: str | None = None
        self.filename: str | None = None
        self.file_size = 0
        self.file_md5 = ""
        self.fields_after_file: list[str] = []
        self.files = 0


def _parse(request: Request, spool_dir: str) -> _Form | Response:
    ctype, opts = parse_options_header(request.headers.get("Content-Type", ""))
    boundary = opts.get("boundary")
    if ctype != "multipart/form-data" or not boundary:
        return s3_error(400, "PreconditionFailed", "Bucket POST must be of the enclosure-type multipart/form-data")
    decoder = MultipartDecoder(boundary.encode(), max_form_memory_size=1024 * 1024)
    form = _Form()
    stream = request.stream
    current: dict | None = None
    eof = False
    try:
        while True:
            event = decoder.next_event()
            if isinstance(event, NeedData):
                if eof:
                    return s3_error(400, "MalformedPOSTRequest",
                                    "The body of your POST request is not well-formed multipart/form-data.")
                chunk = stream.read(256 * 1024)
                eof = not chunk
                decoder.receive_data(chunk or None)
                continue
            if isinstance(event, Field):
                current = {"kind": "field", "name": event.name, "buf": bytearray()}
                if form.files:
                    form.fields_after_file.append(event.name)
            elif isinstance(event, File):
                form.files += 1
                fd, path = tempfile.mkstemp(dir=spool_dir, prefix=".upload.")
                current = {"kind": "file", "fh": os.fdopen(fd, "wb"), "md5": hashlib.md5(), "size": 0}
                form.file_path, form.filename = path, event.filename
            elif isinstance(event, Data):
                if current is None:
                    continue
                if current["kind"] == "field":
                    current["buf"] += event.data
                    if not event.more_data:
                        form.fields.append((current["name"], current["buf"].decode("utf-8", "replace")))
                        current = None
                else:
                    current["fh"].write(event.data)
                    current["md5"].update(event.data)
                    current["size"] += len(event.data)
                    if not event.more_data:
                        current["fh"].close()
                        form.file_size, form.file_md5 = current["size"], current["md5"].hexdigest()
                        current = None
            elif isinstance(event, Epilogue):
                break
    except ValueError as exc:
        return s3_error(400, "MalformedPOSTRequest", f"The body of your POST request is not well-formed: {exc}")
    finally:
        if current is not None and current.get("kind") == "file":
            current["fh"].close()
    return form


def verify(sandbox, bucket: str, form: _Form) -> Response | None:
    """None when the form is valid for `bucket`; otherwise S3's error response."""
    fields = {k.lower(): v for k, v in form.fields}
    resource = f"/{bucket}"
    for required in ("policy", "x-amz-signature", "x-amz-credential", "x-amz-algorithm", "x-amz-date", "key"):
        if required not in fields:
            return s3_error(400, "InvalidArgument", f"Bucket POST must contain a field named '{required}'.",
                            resource)
    if form.files != 1:
        return s3_error(400, "InvalidArgument", "POST requires exactly one file upload per request.", resource)
    if fields["x-amz-algorithm"] != ALGORITHM:
        return s3_error(400, "InvalidArgument", "Only AWS4-HMAC-SHA256 is supported.", resource)
    try:
        access_key, date, region, service, terminal = fields["x-amz-credential"].split("/")
    except ValueError:
        return s3_error(400, "InvalidArgument", "Error parsing the X-Amz-Credential parameter.", resource)
    if access_key != sandbox.creds["s3_access_key"]:
        return s3_error(403, "InvalidAccessKeyId",
                        "The AWS Access Key Id you provided does not exist in our records.", resource)
    expected = hmac.new(signing_key(sandbox.creds["s3_secret_key"], date, region), fields["policy"].encode(),
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["x-amz-signature"]):
        return s3_error(403, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided. "
                        "Check your key and signing method.", resource)
    try:
        policy = json.loads(base64.b64decode(fields["policy"], validate=True))
        expiration = dt.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        conditions = policy["conditions"]
    except (ValueError, KeyError, TypeError):
        return s3_error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.", resource)
    if expiration < dt.datetime.now(dt.UTC):
        return s3_error(403, "AccessDenied", "Invalid according to Policy: Policy expired.", resource)
    covered = set(EXEMPT)
    all_fields = {**fields, "bucket": fields.get("bucket", bucket)}
    for cond in conditions:
        if isinstance(cond, dict):
            ((name, value),) = cond.items()
            cond = ["eq", f"${name}", value]
        op = str(cond[0]).lower()
        if op == "content-length-range":
            low, high = int(cond[1]), int(cond[2])
            if form.file_size > high:
                return s3_error(400, "EntityTooLarge",
                                "Your proposed upload exceeds the maximum allowed size", resource)
            if form.file_size < low:
                return s3_error(400, "EntityTooSmall",
                                "Your proposed upload is smaller than the minimum allowed size", resource)
            continue
        name = str(cond[1]).lstrip("$").lower()
        covered.add(name)
        actual = all_fields.get(name)
        ok = (actual == cond[2]) if op == "eq" else (actual is not None and actual.startswith(str(cond[2])))
        if op not in ("eq", "starts-with") or not ok:
            return s3_error(403, "AccessDenied",
                            f"Invalid according to Policy: Policy Condition failed: {json.dumps(cond)}", resource)
    extra = [k for k, _ in form.fields if k.lower() not in covered and not k.lower().startswith("x-ignore-")]
    if extra:
        return s3_error(403, "AccessDenied",
                        f"Invalid according to Policy: Extra input fields: {', '.join(extra)}", resource)
    if form.fields_after_file:
        return s3_error(400, "InvalidArgument",
                        "The file must be the last field in the form; found after it: "
                        + ", ".join(form.fields_after_file), resource)
    return None


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
        key = fields["key"].replace("${filename}", form.filename or "")
        blob = "s3-" + hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()
        assert form.file_path is not None  # the parser spooled the file field
        os.replace(form.file_path, sandbox.state.blob_path(blob))
        form.file_path = None
        record = {
            "bucket": bucket, "key": key, "blob": blob, "size": form.file_size, "etag": form.file_md5,
            "content_type": fields.get("content-type", "binary/octet-stream"),
            "metadata": {k[len("x-amz-meta-"):]: v for k, v in fields.items() if k.startswith("x-amz-meta-")},
        }
        sandbox.modules["otherpage"].object_stored(sandbox, record)
    finally:
        if form.file_path and os.path.exists(form.file_path):
            os.unlink(form.file_path)
    etag = f'"{record["etag"]}"'
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


def serve_object(sandbox, key: str) -> Response:
    with sandbox.state.lock:
        record = sandbox.state.data["otherpage"]["objects"].get(key)
    if record is None:
        return s3_error(404, "NoSuchKey", "The specified key does not exist.", key)
    return Response(open(sandbox.state.blob_path(record["blob"]), "rb"), mimetype=record["content_type"],
                    direct_passthrough=True)
