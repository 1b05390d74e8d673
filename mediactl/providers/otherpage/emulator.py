"""Other Page emulator: create a community file record with a presigned S3 POST form; the image CDN."""

from __future__ import annotations

import datetime as dt
import mimetypes
import re

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from mediactl.sandbox.core import json_response
from mediactl.sandbox.s3 import sign_form

BUCKET = "other-page-files"
CDN_FORMATS = {"auto", "png", "jpg", "jpeg", "webp", "gif", "avif"}



# -- what the sandbox core needs to mount this emulator (mediactl/sandbox/core.py) --------------------------
PREFIX = "/otherpage/v1"
CREDENTIALS = {"api_key": "op"}  # settings the sandbox issues, with the prefix of their random value


def initial_state() -> dict:
    return {"files": {}, "objects": {}}


def exports(sandbox) -> dict[str, str]:
    """The provider's non-secret settings that point mediactl at this emulator (besides base_url)."""
    return {"community": "sandbox-community", "cdn_url": sandbox.url("/cdn")}


def rules() -> list[Rule]:
    return [Rule("/community/<community>/file", endpoint="op_create_file", methods=["POST"])]


def extra_rules() -> list[Rule]:
    return [Rule("/cdn/<path:key>", endpoint="op_cdn", methods=["GET"])]


def handlers(sandbox) -> dict:
    return {
        "op_create_file": lambda req, community: create_file(sandbox, req, community),
        "op_cdn": lambda req, key: cdn(sandbox, req, key),
    }


def error(status: int, message: str) -> Response:
    names = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}
    return json_response({"statusCode": status, "message": message, "error": names.get(status, "Error")}, status)


def not_found() -> Response:
    return error(404, "Cannot find the requested resource")


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def create_file(sandbox, request: Request, community: str) -> Response:
    if request.headers.get("X-Api-Key") != sandbox.creds["otherpage_api_key"]:
        return error(401, "Invalid or missing API key")
    body = request.get_json(silent=True)
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        return error(400, "name must be a non-empty string")
    if "." not in name.strip(".") or not name.rsplit(".", 1)[1]:
        return error(400, "name must include a file extension")
    file_id = sandbox.new_id()
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "file"
    key = f"{file_id}/{slug}"
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    account = "sandbox-account"
    external = sandbox.options.external_s3
    if external:
        signer = {"access_key": external["access_key"], "secret_key": external["secret_key"],
                  "session_token": None, "region": external.get("region", "us-east-1")}
        bucket, post_url = external["bucket"], f"{external['endpoint'].rstrip('/')}/{external['bucket']}"
    else:
        signer = {"access_key": sandbox.creds["s3_access_key"], "secret_key": sandbox.creds["s3_secret_key"],
                  "session_token": "SANDBOXSESSION" + sandbox.creds["s3_secret_key"][:16]}
        bucket, post_url = BUCKET, sandbox.url(f"/s3/{BUCKET}")
    fields = sign_form(
        **signer, bucket=bucket, key=key,
        leading=[("success_action_status", "201"), ("key", key), ("Content-Type", mime),
                 ("x-amz-meta-account", account), ("bucket", bucket)],
        trailing=[("x-amz-meta-file", file_id), ("x-amz-meta-community", community)],
        ttl=int(sandbox.options.form_ttl), max_size=int(sandbox.options.otherpage_max_size),
    )
    record = {
        "name": slug, "key": key, "mime": mime, "url": sandbox.url(f"/cdn/{key}?format=auto&size=600"),
        "communityId": community, "thumbnail": None, "uploadedAt": None, "id": file_id, "createdAt": now_iso(),
    }
    with sandbox.state.lock:
        sandbox.state.data["otherpage"]["files"][file_id] = record
        # The name as the client sent it (the record's is a slug), for the dashboard only.
        sandbox.state.data["otherpage"].setdefault("sent_names", {})[file_id] = name
        sandbox.state.save()
    return json_response({**record, "upload": {"method": "POST", "url": post_url, "body": dict(fields)}}, 201)


def object_stored(sandbox, obj: dict) -> None:
    """Called by the S3 endpoint: keep the object and mark its file record uploaded."""
    with sandbox.state.lock:
        data = sandbox.state.data["otherpage"]
        obj["uploads"] = data["objects"].get(obj["key"], {}).get("uploads", 0) + 1
        data["objects"][obj["key"]] = obj
        file_id = obj["metadata"].get("file")
        if file_id in data["files"]:
            data["files"][file_id]["uploadedAt"] = now_iso()
        sandbox.state.save()


def cdn(sandbox, request: Request, key: str) -> Response:
    fmt = request.args.get("format", "auto")
    size = request.args.get("size", "600")
    if fmt not in CDN_FORMATS or not size.isdigit() or not 1 <= int(size) <= 4096:
        return error(400, "format must be one of auto, png, jpg, webp, gif, avif and size 1..4096")
    with sandbox.state.lock:
        obj = sandbox.state.data["otherpage"]["objects"].get(key)
    if obj is None:
        return error(404, "image not found")
    return sandbox.serve_download(request, sandbox.state.blob_path(obj["blob"]), obj["content_type"],
                                  headers={"X-Sandbox-Format": fmt, "X-Sandbox-Size": size})


def control(sandbox, body: dict) -> None:
    """Test control {"otherpage_replace": {"key": KEY, "content_b64": ...}}: the stored object gets other
    bytes (as if overwritten behind mediactl's back), so verify must say `differs`."""
    replace = body.get("otherpage_replace")
    if replace:
        import base64

        obj = sandbox.state.data["otherpage"]["objects"][replace["key"]]
        sandbox.state.blob_path(obj["blob"]).write_bytes(base64.b64decode(replace["content_b64"]))
