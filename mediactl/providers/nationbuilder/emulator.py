"""NationBuilder v1 emulator: sites, pages, and page attachments with base64 content and paging."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import mimetypes
import secrets
from urllib.parse import quote, urlencode

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from mediactl.sandbox.core import AnyNameRule, json_response

API_ROOT = "/api/v1"  # the root NationBuilder's own `next`/`prev` paths start with
PAGE_TYPES = ("basic_pages", "blogs", "events", "calendars", "petitions", "surveys", "donations")
DEFAULT_SITE = "sandbox"  # the site `sandbox serve` exports (MEDIACTL_NATIONBUILDER_SITE)



# -- what the sandbox core needs to mount this emulator (mediactl/sandbox/core.py) --------------------------
PREFIX = "/nationbuilder/api/v1"
CREDENTIALS = {"access_token": "nb"}


def initial_state() -> dict:
    return {"sites": {}, "attachments": {}, "next_id": 1}


def exports(sandbox) -> dict[str, str]:
    return {"nation": "sandbox", "site": DEFAULT_SITE}


def rules() -> list[Rule]:
    return [
        Rule("/sites", endpoint="nb_sites", methods=["GET"]),
        Rule("/sites/<site>/pages/<page>/attachments", endpoint="nb_attachments", methods=["GET", "POST"]),
        Rule("/sites/<site>/pages/<page>/attachments/<att_id>", endpoint="nb_attachment",
             methods=["GET", "DELETE"]),
        Rule("/sites/<site>/pages/<any(" + ",".join(PAGE_TYPES) + "):page_type>", endpoint="nb_pages",
             methods=["GET"]),
    ]


def extra_rules() -> list[Rule]:
    return [AnyNameRule("/files/nationbuilder/<att_id>/<path:filename>", endpoint="nb_file", methods=["GET"])]


def handlers(sandbox) -> dict:
    def guarded(fn):
        def run(req, **kw):
            if not authorized(sandbox, req):
                return error(401, "unauthorized", "You are not authorized to access this content. Your access "
                             "token may be missing or invalid.")
            return fn(sandbox, req, **kw)
        return run

    return {
        "nb_sites": guarded(list_sites),
        "nb_pages": guarded(list_pages),
        "nb_attachments": guarded(attachments),
        "nb_attachment": guarded(attachment),
        "nb_file": lambda req, att_id, filename: serve_file(sandbox, att_id, req),
    }


def error(status: int, code: str, message: str) -> Response:
    return json_response({"code": code, "message": message}, status)


def not_found() -> Response:
    return error(404, "not_found", "Record not found")


def authorized(sandbox, request: Request) -> bool:
    token = sandbox.creds["nationbuilder_access_token"]
    header = request.headers.get("Authorization", "")
    given = header[7:] if header.startswith("Bearer ") else request.args.get("access_token")
    return given is not None and hmac.compare_digest(given, token)


def _make_site(sandbox, slug: str) -> dict:
    """A site, made with a basic page 'welcome' and a blog 'news' if it is new."""
    sites = sandbox.state.data["nationbuilder"]["sites"]
    if slug not in sites:
        sites[slug] = {"slug": slug, "name": slug.replace("-", " ").title(), "domain": f"{slug}.example.org",
                       "pages": {"welcome": "basic_pages", "news": "blogs"}}
    return sites[slug]


def _declared(sandbox) -> None:
    """Make the default site and the sites and pages given by `--site` / `--page` (or the test control) exist."""
    _make_site(sandbox, DEFAULT_SITE)
    for slug in sandbox.options.nationbuilder_sites:
        _make_site(sandbox, slug)
    for spec in sandbox.options.nationbuilder_pages:
        site, _, page = spec.rpartition("/")
        _make_site(sandbox, site or DEFAULT_SITE)["pages"].setdefault(page, "basic_pages")


def _site(sandbox, slug: str) -> dict | None:
    """A site: made on first use, or with --strict only one that exists (None otherwise, a 404 for the caller)."""
    _declared(sandbox)
    if sandbox.options.strict:
        return sandbox.state.data["nationbuilder"]["sites"].get(slug)
    return _make_site(sandbox, slug)


def _page(sandbox, site: str, page: str) -> bool:
    """Whether a page exists; without --strict it is made on first use, as a basic page."""
    found = _site(sandbox, site)
    if found is None or (sandbox.options.strict and page not in found["pages"]):
        return False
    found["pages"].setdefault(page, "basic_pages")
    return True


def control(sandbox, body: dict) -> None:
    """Test controls: {"nationbuilder_sites": [SLUG...], "nationbuilder_pages": ["[SITE/]PAGE"...]} make
    them exist (with --strict, or the control {"strict": true}, nothing else does)."""
    sandbox.options.nationbuilder_sites.extend(body.get("nationbuilder_sites") or [])
    sandbox.options.nationbuilder_pages.extend(body.get("nationbuilder_pages") or [])


def _token(sandbox, nonce: str, offset: int) -> str:
    mac = hmac.new(sandbox.creds["nationbuilder_access_token"].encode(), f"{nonce}:{offset}".encode(),
                   hashlib.sha256).hexdigest()[:20]
    return f"{offset}.{mac}"


def paginate(sandbox, request: Request, rows: list, path: str) -> Response:
    raw_limit = request.args.get("limit", "10")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        return error(400, "validation_failed", "limit must be an integer from 1 to 100")
    limit = int(raw_limit)
    offset = 0
    nonce, token = request.args.get("__nonce"), request.args.get("__token")
    if nonce or token:
        try:
            offset = int((token or "").split(".", 1)[0])
        except ValueError:
            offset = -1
        if offset < 0 or not nonce or not hmac.compare_digest(token or "", _token(sandbox, nonce, offset)):
            return error(400, "invalid_pagination", "pagination token is invalid or expired")

    def link(at: int) -> str:
        n = secrets.token_hex(8)
        return f"{API_ROOT}{path}?" + urlencode({"__nonce": n, "__token": _token(sandbox, n, at), "limit": limit})

    page = rows[offset:offset + limit]
    return json_response({
        "results": page,
        "next": link(offset + limit) if offset + limit < len(rows) else None,
        "prev": link(max(0, offset - limit)) if offset > 0 else None,
    })


def list_sites(sandbox, request: Request) -> Response:
    with sandbox.state.lock:
        _declared(sandbox)
        rows = [{"id": i + 1, "name": s["name"], "slug": s["slug"], "domain": s["domain"]}
                for i, s in enumerate(sandbox.state.data["nationbuilder"]["sites"].values())]
    return paginate(sandbox, request, rows, "/sites")


def list_pages(sandbox, request: Request, site: str, page_type: str) -> Response:
    with sandbox.state.lock:
        found = _site(sandbox, site)
        if found is None:
            return not_found()
        pages = found["pages"]
        rows = [{"id": i + 1, "slug": slug, "name": slug.replace("-", " ").title(), "status": "published",
                 "site_slug": site} for i, (slug, kind) in enumerate(pages.items()) if kind == page_type]
    return paginate(sandbox, request, rows, f"/sites/{site}/pages/{page_type}")


def _public(att: dict) -> dict:
    return {k: att[k] for k in ("id", "filename", "content_type", "updated_at", "url")}


def attachments(sandbox, request: Request, site: str, page: str) -> Response:
    data = sandbox.state.data["nationbuilder"]
    if request.method == "GET":
        with sandbox.state.lock:
            if not _page(sandbox, site, page):
                return not_found()
            rows = [_public(a) for a in data["attachments"].values() if a["site"] == site and a["page"] == page]
        return paginate(sandbox, request, rows, f"/sites/{site}/pages/{page}/attachments")
    with sandbox.state.lock:
        if not _page(sandbox, site, page):  # the route is checked before the body, as the real API does
            return not_found()
    try:
        body = json.loads(request.get_data())
    except ValueError:
        return error(400, "invalid_json", "request body is not valid JSON")
    att = body.get("attachment") if isinstance(body, dict) else None
    if not isinstance(att, dict):
        return error(400, "validation_failed", "Validation Failed: attachment is required")
    problems = [f"{key} is required" for key in ("filename", "content")
                if not isinstance(att.get(key), str) or (key == "filename" and not att[key])]
    if problems:
        return error(400, "validation_failed", "Validation Failed: " + ", ".join(problems))
    try:
        content = base64.b64decode(att["content"], validate=True)
        if len(att["content"]) % 4:
            raise binascii.Error("length is not a multiple of 4")
    except (binascii.Error, ValueError):
        return error(400, "validation_failed", "Validation Failed: content is not valid base64 (RFC 4648)")
    with sandbox.state.lock:
        att_id = data["next_id"]
        data["next_id"] += 1
        blob = f"nb-{att_id}"
        sandbox.state.blob_path(blob).write_bytes(content)
        record = {
            "id": att_id, "filename": att["filename"],
            "content_type": att.get("content_type") or mimetypes.guess_type(att["filename"])[0]
            or "application/octet-stream",
            "updated_at": att.get("updated_at") or "",
            "url": sandbox.download_url(f"/files/nationbuilder/{att_id}/{_url_segment(att['filename'])}"),
            "site": site, "page": page, "blob": blob, "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
        }
        data["attachments"][str(att_id)] = record
        sandbox.state.save()
    return json_response({"attachment": _public(record)}, 200)


def _url_segment(name: str) -> str:
    """A file name as the last URL path segment, as a storage key would have it: what follows its last `/`,
    `.` and `..` escaped (so no client resolves them away); the API's `filename` keeps the name as given."""
    name = name.rsplit("/", 1)[-1] or "file"
    return quote(name, safe="") if name.strip(".") else name.replace(".", "%2E")


def attachment(sandbox, request: Request, site: str, page: str, att_id: str) -> Response:
    data = sandbox.state.data["nationbuilder"]
    with sandbox.state.lock:
        record = data["attachments"].get(att_id)
        if record is None or record["site"] != site or record["page"] != page:
            return not_found()
        if request.method == "DELETE":
            del data["attachments"][att_id]
            sandbox.state.blob_path(record["blob"]).unlink(missing_ok=True)
            sandbox.state.save()
            return Response(status=204)
    return json_response({"attachment": _public(record)})


def serve_file(sandbox, att_id: str, request: Request | None = None) -> Response:
    record = sandbox.state.data["nationbuilder"]["attachments"].get(att_id)
    if record is None:
        return not_found()
    if request is None:
        return Response(sandbox.state.blob_path(record["blob"]).read_bytes(), mimetype=record["content_type"])
    return sandbox.serve_download(request, sandbox.state.blob_path(record["blob"]), record["content_type"])
