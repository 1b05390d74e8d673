"""OFAuth Access API emulator: init / single PUT / part PUTs / complete, dedupe check, vault listing."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import uuid
from urllib.parse import quote

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from mediactl.sandbox.core import AnyNameRule, json_response

MEDIA_TYPES = ("photo", "video", "audio", "gif")



# -- what the sandbox core needs to mount this emulator (mediactl/sandbox/core.py) --------------------------
PREFIX = "/ofauth"
CREDENTIALS = {"api_key": "ofk", "connection_id": "conn"}


def initial_state() -> dict:
    return {"uploads": {}, "media": {}, "next_id": 1000}


def exports(sandbox) -> dict[str, str]:
    return {}


def rules() -> list[Rule]:
    return [
        Rule("/v2/access/uploads/init", endpoint="of_init", methods=["POST"]),
        Rule("/v2/access/uploads/complete", endpoint="of_complete", methods=["POST"]),
        Rule("/v2/access/uploads/check", endpoint="of_check", methods=["POST"]),
        Rule("/v2/access/uploads/<upload_id>", endpoint="of_single", methods=["PUT"]),
        Rule("/v2/access/uploads/<upload_id>/parts/<int:part>", endpoint="of_part", methods=["PUT"]),
        Rule("/v2/access/vault/media", endpoint="of_vault", methods=["GET"]),
    ]


def extra_rules() -> list[Rule]:
    return [Rule("/files/ofauth/<int:media_id>", endpoint="of_file", methods=["GET"]),
            AnyNameRule("/files/ofauth/<int:media_id>/<path:filename>", endpoint="of_file", methods=["GET"])]


def request_id() -> str:
    return "req_" + uuid.uuid4().hex[:16]


def err_type(status: int, message: str, kind: str) -> Response:
    return json_response({"error": message, "type": kind, "requestId": request_id()}, status)


def err_code(status: int, message: str, code: str, details: dict | None = None) -> Response:
    return json_response({"error": message, "code": code, "details": details or {}}, status)


def err_message(status: int, message: str, code: str) -> Response:
    return json_response({"message": message, "code": code}, status)


def not_found() -> Response:
    return err_type(404, "Route not found", "not_found")


def handlers(sandbox) -> dict:
    def guarded(fn):
        def run(req, **kw):
            key = req.headers.get("apiKey")
            if not key or not hmac.compare_digest(key, sandbox.creds["ofauth_api_key"]):
                return err_type(401, "Invalid or missing API key", "authentication_error")
            conn = req.headers.get("x-connection-id")
            if not conn:
                return err_code(400, "Missing x-connection-id header", "CONNECTION_REQUIRED",
                                {"header": "x-connection-id"})
            if conn != sandbox.creds["ofauth_connection_id"]:
                return err_message(401, "Connection not found or not active", "CONNECTION_NOT_FOUND")
            return fn(sandbox, req, **kw)
        return run

    return {
        "of_init": guarded(init), "of_complete": guarded(complete), "of_check": guarded(check),
        "of_single": guarded(put_single), "of_part": guarded(put_part), "of_vault": guarded(vault),
        "of_file": lambda req, media_id, filename=None: serve_file(sandbox, media_id, req),
    }


def _media_type(content_type: str) -> str | None:
    if content_type == "image/gif":
        return "gif"
    return {"image": "photo", "video": "video", "audio": "audio"}.get(content_type.split("/", 1)[0])


def init(sandbox, request: Request) -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return err_code(400, "Request body must be JSON", "VALIDATION_ERROR")
    filename = body.get("filename")
    size = body.get("size", body.get("filesize"))
    ctype = body.get("contentType", body.get("mimeType"))
    if not isinstance(filename, str) or not filename:
        return err_code(400, "filename is required", "VALIDATION_ERROR", {"field": "filename"})
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        return err_code(400, "size must be a non-negative integer", "VALIDATION_ERROR", {"field": "size"})
    if size == 0:
        return err_code(400, "File is empty", "VALIDATION_ERROR", {"field": "size"})
    if not isinstance(ctype, str) or _media_type(ctype) is None:
        return err_code(400, f"Unsupported content type: {ctype}", "UNSUPPORTED_MEDIA_TYPE",
                        {"allowed": ["image/*", "video/*", "audio/*"]})
    part_size = int(sandbox.options.ofauth_part_size)
    total = max(1, math.ceil(size / part_size))
    kind = "single" if total == 1 else "multipart"
    upload_id = f"upload:{uuid.uuid4()}"
    encoded = quote(upload_id, safe="")
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    with sandbox.state.lock:
        sandbox.state.data["ofauth"]["uploads"][upload_id] = {
            "filename": filename, "size": size, "contentType": ctype, "uploadType": kind, "totalParts": total,
            "partSize": part_size, "parts": {}, "status": "pending", "mediaId": None,
        }
        sandbox.state.save()
    headers = {"x-ofauth-upload-total-parts": str(total), "x-ofauth-upload-part-size": str(part_size)}
    if sandbox.options.ofauth_legacy_init:
        return json_response({"mediaUploadId": upload_id}, 200, headers)
    parts = [{"partNumber": n, "uploadUrl": f"/v2/access/uploads/{encoded}/parts/{n}",
              "byteRange": {"start": (n - 1) * part_size, "end": min(size, n * part_size) - 1}}
             for n in range(1, total + 1)] if kind == "multipart" else []
    return json_response({
        "mediaUploadId": upload_id, "uploadType": kind, "totalParts": total, "partSize": part_size,
        "expiresAt": expires, "parts": parts,
        "uploadUrl": f"/v2/access/uploads/{encoded}", "completeUrl": "/v2/access/uploads/complete",
    }, 200, headers)


def _upload(sandbox, upload_id: str):
    return sandbox.state.data["ofauth"]["uploads"].get(upload_id)


def _pending_upload(sandbox, upload_id: str) -> tuple[dict | None, Response | None]:
    """The upload bytes may still be sent to, or the provider's refusal."""
    with sandbox.state.lock:
        upload = _upload(sandbox, upload_id)
    if upload is None:
        return None, err_type(404, "Upload not found", "not_found")
    if upload["status"] != "pending":
        return None, already_completed(sandbox)
    return upload, None


def already_completed(sandbox) -> Response:
    """The answer to bytes or a complete for a finished upload: 409 `{message, code}` by default, or, with
    `--ofauth-already-completed 400`, the 400 `{error, code, details}` some API versions send."""
    if int(sandbox.options.ofauth_already_completed) == 400:
        return err_code(400, "Upload already completed", "BAD_REQUEST")
    return err_message(409, "Upload already completed", "UPLOAD_ALREADY_COMPLETED")


def _read_body(request: Request, path) -> tuple[int, str]:
    md5 = hashlib.md5()
    size = 0
    with open(path, "wb") as fh:
        while chunk := request.stream.read(256 * 1024):
            fh.write(chunk)
            md5.update(chunk)
            size += len(chunk)
    return size, md5.hexdigest()


def _create_media(sandbox, upload_id: str, upload: dict, blob: str, size: int, etag: str) -> dict:
    data = sandbox.state.data["ofauth"]
    media_id = data["next_id"]
    data["next_id"] += 1
    url = sandbox.download_url(f"/files/ofauth/{media_id}/{quote(upload['filename'], safe='')}")
    media = {
        "id": media_id, "type": _media_type(upload["contentType"]), "convertedToVideo": False, "canView": True,
        "hasError": False, "createdAt": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        "isReady": True, "releaseForms": [], "duration": 0, "hasCustomPreview": False, "videoSources": {},
        "files": {"full": {"url": url, "sources": [], "width": None, "height": None, "size": size},
                  "thumb": {"url": url, "width": None, "height": None, "size": size}},
    }
    data["media"][str(media_id)] = {"media": media, "etag": etag, "size": size, "blob": blob,
                                   "filename": upload["filename"], "uploadId": upload_id}
    upload["status"] = "completed"
    upload["mediaId"] = media_id
    sandbox.state.save()
    return media


def put_single(sandbox, request: Request, upload_id: str) -> Response:
    upload, refused = _pending_upload(sandbox, upload_id)
    if refused is not None or upload is None:
        return refused or not_found()
    if upload["uploadType"] != "single":
        return err_code(400, "This upload is multipart: PUT its parts, then complete", "WRONG_UPLOAD_TYPE")
    blob = "of-" + upload_id.split(":", 1)[1]
    size, etag = _read_body(request, sandbox.state.blob_path(blob))
    if size != upload["size"]:
        return err_code(400, f"Size mismatch: declared {upload['size']}, received {size}", "SIZE_MISMATCH")
    with sandbox.state.lock:
        if upload["status"] != "pending":
            return already_completed(sandbox)
        media = _create_media(sandbox, upload_id, upload, blob, size, etag)
    return json_response({"mediaUploadId": upload_id, "media": media})


def put_part(sandbox, request: Request, upload_id: str, part: int) -> Response:
    upload, refused = _pending_upload(sandbox, upload_id)
    if refused is not None or upload is None:
        return refused or not_found()
    if not 1 <= part <= upload["totalParts"]:
        return err_code(400, f"partNumber must be 1..{upload['totalParts']}", "INVALID_PART")
    expected = min(upload["partSize"], upload["size"] - (part - 1) * upload["partSize"])
    blob = f"of-{upload_id.split(':', 1)[1]}-part{part}"
    size, etag = _read_body(request, sandbox.state.blob_path(blob))
    if size != expected:
        return err_code(400, f"Part {part} must be {expected} bytes, got {size}", "PART_SIZE_MISMATCH")
    with sandbox.state.lock:
        upload["parts"][str(part)] = {"etag": etag, "size": size, "blob": blob}
        sandbox.state.save()
    return json_response({"mediaUploadId": upload_id, "partNumber": part, "etag": etag})


def complete(sandbox, request: Request) -> Response:
    body = request.get_json(silent=True)
    upload_id = body.get("mediaUploadId") if isinstance(body, dict) else None
    if not isinstance(upload_id, str) or not upload_id:
        return err_code(400, "mediaUploadId is required", "VALIDATION_ERROR", {"field": "mediaUploadId"})
    with sandbox.state.lock:
        upload = _upload(sandbox, upload_id)
        if upload is None:
            return err_type(404, f"Upload {upload_id} not found", "not_found")
        if upload["status"] != "pending":
            return already_completed(sandbox)
        missing = [n for n in range(1, upload["totalParts"] + 1) if str(n) not in upload["parts"]]
        if upload["uploadType"] == "single" or missing:
            what = "the file was not uploaded" if upload["uploadType"] == "single" else f"missing parts {missing}"
            return err_code(400, f"Upload is incomplete: {what}", "INCOMPLETE_UPLOAD", {"missing": missing})
        blob = "of-" + upload_id.split(":", 1)[1]
        md5 = hashlib.md5()
        size = 0
        with open(sandbox.state.blob_path(blob), "wb") as out:
            for n in range(1, upload["totalParts"] + 1):
                part_path = sandbox.state.blob_path(upload["parts"][str(n)]["blob"])
                with open(part_path, "rb") as fh:
                    while chunk := fh.read(256 * 1024):
                        out.write(chunk)
                        md5.update(chunk)
                        size += len(chunk)
                part_path.unlink(missing_ok=True)
        media = _create_media(sandbox, upload_id, upload, blob, size, md5.hexdigest())
    return json_response({"mediaUploadId": upload_id, "media": media})


def check(sandbox, request: Request) -> Response:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("etag"), str) or not isinstance(body.get("size"), int):
        return err_code(400, "etag (string) and size (integer) are required", "VALIDATION_ERROR")
    with sandbox.state.lock:
        found = next((m["media"] for m in sandbox.state.data["ofauth"]["media"].values()
                      if m["etag"] == body["etag"].strip('"') and m["size"] == body["size"]), None)
    return json_response({"exists": found is not None, "media": found})


def vault(sandbox, request: Request) -> Response:
    raw_limit, raw_offset = request.args.get("limit", "10"), request.args.get("offset", "0")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 40:
        return err_code(400, "limit must be an integer from 1 to 40", "VALIDATION_ERROR", {"field": "limit"})
    if not raw_offset.isdigit():
        return err_code(400, "offset must be a non-negative integer", "VALIDATION_ERROR", {"field": "offset"})
    # `mediaType` is what the API reference documents, `type` what the official Python SDK sends.
    media_type = request.args.get("mediaType") or request.args.get("type")
    if media_type and media_type not in MEDIA_TYPES:
        return err_code(400, f"mediaType must be one of {', '.join(MEDIA_TYPES)}", "VALIDATION_ERROR")
    query = (request.args.get("query") or "").lower()
    limit, offset = int(raw_limit), int(raw_offset)
    with sandbox.state.lock:
        rows = [m for m in reversed(list(sandbox.state.data["ofauth"]["media"].values()))
                if (not media_type or m["media"]["type"] == media_type) and query in m["filename"].lower()]
    page = [vault_item(m["media"]) for m in rows[offset:offset + limit]]
    return json_response({"list": page, "hasMore": offset + limit < len(rows)})


def vault_item(media: dict) -> dict:
    """A media record as the vault listing shows it: with its counters and the vault lists it is in."""
    return {**media, "counters": {"likesCount": 0, "tipsSumm": 0}, "lists": [], "hasPosts": False}


def serve_file(sandbox, media_id: int, request: Request) -> Response:
    record = sandbox.state.data["ofauth"]["media"].get(str(media_id))
    if record is None:
        return not_found()
    return sandbox.serve_download(request, sandbox.state.blob_path(record["blob"]), "application/octet-stream")


def control(sandbox, body: dict) -> None:
    """Test control {"ofauth_replace": {"id": MEDIA_ID, "content_b64": ...}}: the vault's media gets other
    bytes (as if replaced behind mediactl's back), so verify must say `differs`."""
    replace = body.get("ofauth_replace")
    if replace:
        import base64

        record = sandbox.state.data["ofauth"]["media"][str(replace["id"])]
        content = base64.b64decode(replace["content_b64"])
        sandbox.state.blob_path(record["blob"]).write_bytes(content)
        record["etag"], record["size"] = hashlib.md5(content).hexdigest(), len(content)
