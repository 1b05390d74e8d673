"""The toy API's emulator, mounted by the sandbox like the real providers' emulators."""

from __future__ import annotations

import hmac

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from mediactl.sandbox.core import json_response

PREFIX = "/toy/v1"
CREDENTIALS = {"api_key": "toy"}


def initial_state() -> dict:
    return {"files": {}}


def exports(sandbox) -> dict[str, str]:
    return {}


def rules() -> list[Rule]:
    return [Rule("/files", endpoint="toy_list", methods=["GET"]),
            Rule("/files/<name>", endpoint="toy_put", methods=["PUT"])]


def not_found() -> Response:
    return json_response({"error": "not found"}, 404)


def handlers(sandbox) -> dict:
    def authorized(request: Request) -> bool:
        return hmac.compare_digest(request.headers.get("X-Toy-Key", ""), sandbox.creds["toy_api_key"])

    def put(request: Request, name: str) -> Response:
        if not authorized(request):
            return json_response({"error": "unauthorized"}, 401)
        data = request.get_data()
        with sandbox.state.lock:
            record = {"id": f"toy-{name}", "name": name, "size": len(data)}
            sandbox.state.data["toy"]["files"][name] = record
        return json_response(record, 201)

    def listing(request: Request) -> Response:
        if not authorized(request):
            return json_response({"error": "unauthorized"}, 401)
        return json_response({"files": list(sandbox.state.data["toy"]["files"].values())})

    return {"toy_put": put, "toy_list": listing}
