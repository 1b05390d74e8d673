"""BitBadges utility-page emulator: get, fetch, search (bookmark), create, update, delete, token refresh,
with API-key and bearer-token checks, 402 when out of credits. Requests are checked against the same
OpenAPI schemas the client validates with."""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from mediactl.providers.bitbadges.schema import problems
from mediactl.sandbox.core import json_response

ADDRESS = "bb1sandboxuser0000000000000000000000000000"



# -- what the sandbox core needs to mount this emulator (mediactl/sandbox/core.py) --------------------------
PREFIX = "/bitbadges/api/v0"
CREDENTIALS = {"api_key": "bbk", "access_token": "bbat", "refresh_token": "bbrt", "client_id": "bbcid",
               "client_secret": "bbcs"}


def initial_state() -> dict:
    return {"pages": {}, "order": [], "credits": None, "expired_tokens": []}


def exports(sandbox) -> dict[str, str]:
    return {}


def control(sandbox, body: dict) -> None:
    """Test controls: {"bitbadges_credits": N} and {"expire_bitbadges_token": true}."""
    if "bitbadges_credits" in body:
        sandbox.state.data["bitbadges"]["credits"] = body["bitbadges_credits"]
    if body.get("expire_bitbadges_token"):
        sandbox.state.data["bitbadges"]["expired_tokens"].append(sandbox.creds["bitbadges_access_token"])


def rules() -> list[Rule]:
    return [
        Rule("/utilityPage/<page_id>", endpoint="bb_get", methods=["GET"]),
        Rule("/utilityPages", endpoint="bb_pages", methods=["POST", "PUT", "DELETE"]),
        Rule("/utilityPages/fetch", endpoint="bb_fetch", methods=["POST"]),
        Rule("/utilityPages/search", endpoint="bb_search", methods=["GET"]),
        Rule("/siwbb/token", endpoint="bb_token", methods=["POST"]),
    ]


def error(status: int, message: str, **extra) -> Response:
    return json_response({"errorMessage": message, **extra}, status)


def not_found() -> Response:
    return error(404, "Route not found")


def handlers(sandbox) -> dict:
    def guarded(fn, needs_token: bool):
        def run(req, **kw):
            key = req.headers.get("x-api-key")
            if not key or not hmac.compare_digest(key, sandbox.creds["bitbadges_api_key"]):
                return error(401, "Unauthorized. Please provide a valid x-api-key header.", unauthorized=True)
            state = sandbox.state.data["bitbadges"]
            with sandbox.state.lock:
                if state["credits"] is not None:
                    if state["credits"] <= 0:
                        return error(402, "Out of API credits. Please purchase more credits to continue.")
                    state["credits"] -= 1
            if needs_token:
                auth = req.headers.get("Authorization", "")
                token = auth[7:] if auth.startswith("Bearer ") else ""
                if token in state["expired_tokens"]:
                    return error(401, "Access token expired", error="token_expired", unauthorized=True)
                if not token or not hmac.compare_digest(token, sandbox.creds["bitbadges_access_token"]):
                    return error(401, "Unauthorized. Invalid or missing access token.", unauthorized=True)
            return fn(sandbox, req, **kw)
        return run

    return {
        "bb_get": guarded(get_page, False),
        "bb_pages": guarded(write_page, True),
        "bb_fetch": guarded(fetch_pages, False),
        "bb_search": guarded(search_pages, True),
        "bb_token": lambda req: token(sandbox, req),
    }


def _invalid(schema: str, body) -> Response | None:
    found = problems(schema, body)
    if found:
        path, message = found[0]
        return error(400, f"Invalid request body: {path}: {message}", error="validation_error")
    return None


def get_page(sandbox, request: Request, page_id: str) -> Response:
    with sandbox.state.lock:
        doc = sandbox.state.data["bitbadges"]["pages"].get(page_id)
    if doc is None:
        return error(404, f"Utility page {page_id} not found")
    return json_response({"listing": doc})


def write_page(sandbox, request: Request) -> Response:
    body: Any = request.get_json(silent=True)  # _invalid() refuses what is not an object
    state = sandbox.state.data["bitbadges"]
    schema = {"POST": "iCreateUtilityPagePayload", "PUT": "iUpdateUtilityPagePayload",
              "DELETE": "iDeleteUtilityPagePayload"}[request.method]
    invalid = _invalid(schema, body)
    if invalid is not None:
        return invalid
    now = str(int(time.time() * 1000))
    with sandbox.state.lock:
        if request.method == "POST":
            listing_id = "util-" + secrets.token_hex(8)
            doc = {"_docId": listing_id, "listingId": listing_id, "createdBy": ADDRESS, "managedBy": ADDRESS,
                   "createdAt": now, "lastUpdated": now, "viewCount": 0,
                   "approvalStatus": {"isApproved": True, "isFeatured": False}, **body}
            state["pages"][listing_id] = doc
            state["order"].append(listing_id)
            sandbox.state.save()
            return json_response({"doc": doc})
        listing_id = body["listingId"]
        doc = state["pages"].get(listing_id)
        if doc is None:
            return error(404, f"Utility page {listing_id} not found")
        if request.method == "PUT":
            doc.update({k: v for k, v in body.items() if k != "listingId"}, lastUpdated=now)
            sandbox.state.save()
            return json_response({"doc": doc})
        del state["pages"][listing_id]
        state["order"].remove(listing_id)
        sandbox.state.save()
        return json_response({})


def fetch_pages(sandbox, request: Request) -> Response:
    body: Any = request.get_json(silent=True)  # _invalid() refuses what is not an object
    invalid = _invalid("iGetUtilityPagesPayload", body)
    if invalid is not None:
        return invalid
    with sandbox.state.lock:
        pages = sandbox.state.data["bitbadges"]["pages"]
        docs = [pages[i] for i in body["listingIds"] if i in pages]
    return json_response({"docs": docs, "pagination": {"bookmark": "", "hasMore": False}})


def search_pages(sandbox, request: Request) -> Response:
    bookmark = request.args.get("bookmark") or "0"
    if not bookmark.isdigit():
        return error(400, "Invalid bookmark")
    start, size = int(bookmark), int(sandbox.options.page_size)
    with sandbox.state.lock:
        state = sandbox.state.data["bitbadges"]
        ids = state["order"][start:start + size]
        docs = [state["pages"][i] for i in ids]
        more = start + size < len(state["order"])
    return json_response({"docs": docs, "pagination": {"bookmark": str(start + size) if more else "",
                                                        "hasMore": more}})


def token(sandbox, request: Request) -> Response:
    body: Any = request.get_json(silent=True)  # _invalid() refuses what is not an object
    invalid = _invalid("iExchangeSIWBBAuthorizationCodePayload", body)
    if invalid is not None:
        return invalid
    creds = sandbox.creds
    if body.get("grant_type") != "refresh_token":
        return error(400, "Only grant_type refresh_token is supported by the sandbox")
    if (body.get("refresh_token") != creds["bitbadges_refresh_token"]
            or body.get("client_id") != creds["bitbadges_client_id"]
            or body.get("client_secret") != creds["bitbadges_client_secret"]):
        return error(401, "Invalid refresh token or client credentials", unauthorized=True)
    with sandbox.state.lock:
        creds["bitbadges_access_token"] = "bbat_" + secrets.token_urlsafe(18)
        creds["bitbadges_refresh_token"] = "bbrt_" + secrets.token_urlsafe(18)
        sandbox.state.data["bitbadges"]["refreshes"] = sandbox.state.data["bitbadges"].get("refreshes", 0) + 1
        sandbox.state.save()
    now_ms = int(time.time() * 1000)
    return json_response({
        "address": ADDRESS, "chain": "Cosmos", "bitbadgesAddress": ADDRESS, "token_type": "Bearer",
        "access_token": creds["bitbadges_access_token"], "access_token_expires_at": now_ms + 3600_000,
        "refresh_token": creds["bitbadges_refresh_token"], "refresh_token_expires_at": now_ms + 30 * 86400_000,
    })
