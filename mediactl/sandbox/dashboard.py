"""The sandbox's read-only dashboard at `/`: per provider what landed (names, sizes, ids, image previews,
Other Page records whose bytes never came), and the recent request log with injected faults marked.

One self-contained page: no CDN, no external asset; previews come from the sandbox's own blobs through
`/_sandbox/preview/...`, and a small script polls `/_sandbox/dashboard` (the same HTML fragment the page
was rendered with) every two seconds. Every text that came from a client or a provider record goes
through html.escape: a file named `<script>` shows as text. Nothing here changes state.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from html import escape
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Response

REQUESTS_SHOWN = 60
REFRESH_MS = 2000
PREVIEW_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp")


def rules() -> list[Rule]:
    return [Rule("/", endpoint="dashboard", methods=["GET"]),
            Rule("/_sandbox/dashboard", endpoint="dashboard_fragment", methods=["GET"]),
            Rule("/_sandbox/preview/<provider>/<path:item_id>", endpoint="dashboard_preview", methods=["GET"]),
            Rule("/_sandbox/favicon.svg", endpoint="dashboard_icon", methods=["GET"])]


def handlers(sandbox) -> dict:
    return {
        "dashboard": lambda req: page(sandbox),
        "dashboard_fragment": lambda req: fragment_response(sandbox),
        "dashboard_preview": lambda req, provider, item_id: preview(sandbox, provider, item_id),
        "dashboard_icon": lambda req: Response(ICON, mimetype="image/svg+xml"),
    }


ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" '
        'fill="#1d2330"/><path d="M4 11V5l4 3 4-3v6" stroke="#7fd1c7" stroke-width="1.6" fill="none"/></svg>')


# -- what landed, per provider ---------------------------------------------------------------------------------


def _item(name: Any, size: Any, item_id: Any, where: str, state: str, preview_of: tuple[str, str] | None,
          content_type: str | None) -> dict:
    url = None
    if preview_of is not None and content_type in PREVIEW_TYPES:
        url = f"/_sandbox/preview/{preview_of[0]}/{preview_of[1]}"
    return {"name": str(name), "size": size, "id": str(item_id), "where": where, "state": state, "preview": url}


def landed(sandbox) -> list[tuple[str, str, list[dict]]]:
    """(provider, title, items) for the four providers, newest first."""
    with sandbox.state.lock:
        data = sandbox.state.data
        op = data.get("otherpage", {})
        objects = op.get("objects", {})
        op_items = []
        for file_id, record in op.get("files", {}).items():
            obj = objects.get(record.get("key"))
            name = op.get("sent_names", {}).get(file_id) or record.get("name")
            op_items.append(_item(name, obj and obj.get("size"), file_id,
                                  f"community {record.get('communityId')}",
                                  "uploaded" if obj else "record only: no bytes posted to S3",
                                  ("otherpage", file_id) if obj else None, obj and obj.get("content_type")))
        nb_items = [_item(a.get("filename"), a.get("size"), att_id, f"{a.get('site')}/{a.get('page')}", "attached",
                          ("nationbuilder", att_id), a.get("content_type"))
                    for att_id, a in data.get("nationbuilder", {}).get("attachments", {}).items()]
        of = data.get("ofauth", {})
        uploads = of.get("uploads", {})
        of_items = []
        for media_id, m in of.get("media", {}).items():
            ctype = uploads.get(m.get("uploadId"), {}).get("contentType")
            of_items.append(_item(m.get("filename"), m.get("size"), media_id, f"vault ({m['media'].get('type')})",
                                  "in the vault", ("ofauth", media_id), ctype))
        for upload_id, u in uploads.items():
            if u.get("status") == "pending":
                of_items.append(_item(u.get("filename"), u.get("size"), upload_id, u.get("uploadType", ""),
                                      f"upload pending: {len(u.get('parts', {}))} of {u.get('totalParts')} parts",
                                      None, None))
        bb = data.get("bitbadges", {})
        bb_items = [_item((doc.get("metadata") or {}).get("name"), None, listing_id, str(doc.get("visibility")),
                          "page (no bytes: images are URLs)", None, None)
                    for listing_id, doc in bb.get("pages", {}).items()]
    return [("otherpage", "Other Page", op_items[::-1]), ("nationbuilder", "NationBuilder", nb_items[::-1]),
            ("ofauth", "OFAuth", of_items[::-1]), ("bitbadges", "BitBadges", bb_items[::-1])]


def preview(sandbox, provider: str, item_id: str) -> Response:
    """The bytes of an image that landed, for the dashboard's <img> (images only; not logged as a request)."""
    with sandbox.state.lock:
        data = sandbox.state.data
        blob = ctype = None
        if provider == "otherpage":
            record = data["otherpage"]["files"].get(item_id) or {}
            obj = data["otherpage"]["objects"].get(record.get("key")) or {}
            blob, ctype = obj.get("blob"), obj.get("content_type")
        elif provider == "nationbuilder":
            att = data["nationbuilder"]["attachments"].get(item_id) or {}
            blob, ctype = att.get("blob"), att.get("content_type")
        elif provider == "ofauth":
            media = data["ofauth"]["media"].get(item_id) or {}
            blob = media.get("blob")
            ctype = data["ofauth"]["uploads"].get(media.get("uploadId"), {}).get("contentType")
    path = sandbox.state.blob_path(blob) if blob else None
    if path is None or ctype not in PREVIEW_TYPES or not path.is_file():
        return Response("no preview", status=404, mimetype="text/plain")
    return Response(path.read_bytes(), mimetype=ctype, headers={"Cache-Control": "no-store",
                                                                "X-Content-Type-Options": "nosniff"})


# -- rendering ---------------------------------------------------------------------------------------------------


def human_size(size: Any) -> str:
    if not isinstance(size, int | float):
        return "—"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _provider_section(provider: str, title: str, items: list[dict]) -> str:
    rows = []
    for it in items:
        img = (f'<img class="preview" src="{escape(it["preview"])}" alt="preview of {escape(it["name"])}" '
               f'width="48" height="48">' if it["preview"] else "")
        rows.append(
            f'<tr class="item" data-provider="{provider}" data-id="{escape(it["id"])}">'
            f'<td class="thumb">{img}</td><td class="name">{escape(it["name"])}</td>'
            f'<td class="size" title="{escape(str(it["size"]))} bytes">{human_size(it["size"])}</td>'
            f'<td class="id"><code>{escape(it["id"])}</code></td><td>{escape(it["where"])}</td>'
            f'<td class="state">{escape(it["state"])}</td></tr>')
    body = "".join(rows) or '<tr><td colspan="6" class="empty">nothing yet</td></tr>'
    return (f'<section class="provider" id="{provider}"><h2>{escape(title)} <span class="count">{len(items)}</span>'
            f'</h2><table><thead><tr><th></th><th>name</th><th>size</th><th>id</th><th>where</th><th>state</th>'
            f'</tr></thead><tbody>{body}</tbody></table></section>')


def _requests_section(log: list[dict]) -> str:
    recent = log[-REQUESTS_SHOWN:][::-1]
    faults = sum(1 for r in log if r.get("fault"))
    rows = []
    for r in recent:
        fault = r.get("fault")
        when = dt.datetime.fromtimestamp(r["at"], dt.UTC).strftime("%H:%M:%S") if r.get("at") else ""
        tag = f'<span class="fault-tag">injected {escape(str(fault))}</span>' if fault else ""
        status = r.get("status")
        rows.append(
            f'<tr class="request{" fault" if fault else ""}"><td>#{r.get("n")}</td><td>{when}</td>'
            f'<td>{escape(str(r.get("method")))}</td><td class="path">{escape(str(r.get("path")))}</td>'
            f'<td class="status">{escape(str(status)) if status is not None else "…"}</td><td>{tag}</td></tr>')
    body = "".join(rows) or '<tr><td colspan="6" class="empty">no request yet</td></tr>'
    return (f'<section id="requests"><h2>Requests <span class="count">{len(log)}</span> '
            f'<span class="faults">{faults} with an injected fault</span></h2><table><thead><tr><th>#</th>'
            f'<th>UTC</th><th>method</th><th>path</th><th>status</th><th>fault</th></tr></thead>'
            f'<tbody>{body}</tbody></table></section>')


def fragment(sandbox) -> str:
    log = sandbox.recent_requests()
    sections = [_provider_section(*group) for group in landed(sandbox)]
    return '<div class="providers">' + "".join(sections) + "</div>" + _requests_section(log)


def _version(html: str) -> str:
    return hashlib.sha256(html.encode()).hexdigest()[:16]


def fragment_response(sandbox) -> Response:
    html = fragment(sandbox)
    return Response(html, mimetype="text/html", headers={"X-Dashboard-Version": _version(html),
                                                         "Cache-Control": "no-store"})


STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:10px 18px}header h1{font-size:18px;margin:0}
header p{margin:2px 0 0;color:#c4c9d4;font-size:12px}main{padding:12px 18px}
.providers{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:12px}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:8px 12px;margin-bottom:12px}
h2{font-size:15px;margin:4px 0 8px}.count{background:#e4e8ef;border-radius:9px;padding:0 7px;font-size:12px}
.faults{color:#a4262c;font-size:12px;font-weight:normal;margin-left:8px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #eef0f3;
vertical-align:middle}th{font-size:12px;color:#5b6475;font-weight:600}code{font-size:12px}
.size,.status{white-space:nowrap}.name{min-width:7em;overflow-wrap:break-word}.thumb{width:52px}img.preview{object-fit:cover;border-radius:3px;background:#eee;display:block}
.empty{color:#8a92a3;font-style:italic}.path{font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
tr.fault{background:#fdecec}.fault-tag{background:#a4262c;color:#fff;border-radius:3px;padding:0 5px;font-size:12px}
"""

# Polls the fragment, swaps it in only when it changed (no image flicker), and marks each preview image
# data-loaded="yes" once the browser has decoded it (what the browser test checks).
SCRIPT = """
(function () {
  var live = document.getElementById("live"), note = document.getElementById("updated");
  function mark() {
    live.querySelectorAll("img.preview").forEach(function (img) {
      function set() { img.dataset.loaded = img.naturalWidth > 0 ? "yes" : "no"; }
      if (img.complete) { set(); } else { img.addEventListener("load", set); img.addEventListener("error", set); }
    });
  }
  function refresh() {
    fetch("/_sandbox/dashboard", {cache: "no-store"}).then(function (r) {
      var version = r.headers.get("X-Dashboard-Version");
      return r.text().then(function (html) {
        if (version && version !== live.dataset.version) {
          live.innerHTML = html; live.dataset.version = version; mark();
        }
        note.textContent = "updated " + new Date().toLocaleTimeString();
      });
    }).catch(function () { note.textContent = "the sandbox does not answer"; });
  }
  mark();
  setInterval(refresh, REFRESH_MS);
})();
""".replace("REFRESH_MS", str(REFRESH_MS))


def page(sandbox) -> Response:
    html = fragment(sandbox)
    nonce = secrets.token_urlsafe(16)
    base = escape(sandbox.base_url or "")
    doc = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mediactl sandbox</title>'
           f'<meta name="viewport" content="width=device-width,initial-scale=1">'
           f'<link rel="icon" href="/_sandbox/favicon.svg" type="image/svg+xml"><style>{STYLE}</style></head>'
           f'<body><header><h1>mediactl sandbox</h1><p>{base} · read-only · refreshes every {REFRESH_MS // 1000} s'
           f' · <span id="updated">loaded</span></p></header>'
           f'<main id="live" data-version="{_version(html)}">{html}</main>'
           f'<script nonce="{nonce}">{SCRIPT}</script></body></html>')
    return Response(doc, mimetype="text/html", headers={
        "Cache-Control": "no-store",
        # Only the sandbox's own page, styles, script and images: nothing from elsewhere can load.
        "Content-Security-Policy": f"default-src 'self'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; "
                                   "img-src 'self'; connect-src 'self'",
    })
