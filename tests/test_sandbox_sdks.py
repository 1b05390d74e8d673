"""The sandbox driven by the providers' official Python SDKs, which nobody here wrote: OFAuth's `onlyfans-sdk`
and BitBadges' generated `bitbadgespy-sdk` (test dependencies in pyproject.toml). Every answer is validated
against the SDK's own pydantic models, and BitBadges' also against the vendored OpenAPI spec
(tests/data/bitbadges_openapi.excerpt.json), so a sandbox answer the real clients could not parse fails here.

Both SDKs take a base URL (OFAuthClient(base_url=...), bitbadgespy_sdk.Configuration(host=...)), so they
are pointed at the sandbox's mount points as they are; no patching.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import bitbadgespy_sdk as bb
import httpx
import onlyfans_sdk
import pytest
from bitbadgespy_sdk.api.utility_pages_api import UtilityPagesApi
from jsonschema import Draft202012Validator
from onlyfans_sdk import models as of_models
from onlyfans_sdk import upload as of_upload
from onlyfans_sdk import vault as of_vault

from tests.test_bitbadges import PAGE

SPEC = Path(__file__).resolve().parent / "data" / "bitbadges_openapi.excerpt.json"
PART_SIZE = 1000

# Each OFAuth route's success answer, as the SDK's models.py names it.
OFAUTH_MODELS = [
    ("POST", r"/uploads/init$", of_models.V2AccessUploadsInitPostResponse),
    ("PUT", r"/uploads/[^/]+/parts/\d+$", of_models.V2AccessUploadsMediaUploadIdPartsPartNumberPutResponse),
    ("PUT", r"/uploads/[^/]+$", of_models.V2AccessUploadsMediaUploadIdPutResponse),
    ("POST", r"/uploads/complete$", of_models.V2AccessUploadsCompletePostResponse),
    ("POST", r"/uploads/check$", of_models.V2AccessUploadsCheckPostResponse),
    ("GET", r"/vault/media$", of_models.V2AccessVaultMediaGetResponse),
]


class OFAuthAnswers:
    """Every answer the SDK's httpx client receives, validated against the SDK model for its route."""

    def __init__(self) -> None:
        self.validated: list[tuple[str, str, dict]] = []
        self.models: set[str] = set()

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        if not response.is_success:
            return
        method, path = response.request.method, response.request.url.path
        model = next((m for want, rx, m in OFAUTH_MODELS if want == method and re.search(rx, path)), None)
        assert model is not None, f"no SDK model for {method} {path}"
        body = response.json()
        model.model_validate(body)  # raises pydantic.ValidationError on a shape the SDK cannot parse
        self.validated.append((method, path, body))
        self.models.add(model.__name__)


@pytest.fixture
def ofauth(sandbox_factory):
    server = sandbox_factory("--ofauth-part-size", str(PART_SIZE), apply=False)
    env = server.env
    client = onlyfans_sdk.OFAuthClient(api_key=env["MEDIACTL_OFAUTH_API_KEY"], base_url=env["MEDIACTL_OFAUTH_BASE_URL"],
                                       connection_id=env["MEDIACTL_OFAUTH_CONNECTION_ID"])
    answers = OFAuthAnswers()
    client._client.event_hooks["response"].append(answers)  # httpx's own hook: sees what the SDK parses
    yield server, client, answers
    client.close()


def test_ofauth_sdk_uploads_single_and_multipart_through_its_own_helper(ofauth):
    server, client, answers = ofauth
    conn = server.env["MEDIACTL_OFAUTH_CONNECTION_ID"]
    photo = b"\x89PNG\r\n\x1a\n" + b"p" * 500
    video = bytes(range(256)) * 10  # 2560 bytes: three parts of PART_SIZE
    single = client.upload_media(conn, "photo.png", photo, "image/png")
    multi = client.upload_media(conn, "clip.mp4", video, "video/mp4")

    single_model = of_models.V2AccessUploadsMediaUploadIdPutResponse.model_validate(single)
    multi_model = of_models.V2AccessUploadsCompletePostResponse.model_validate(multi)
    assert single_model.media.type.value == "photo" and multi_model.media.type.value == "video"
    assert httpx.get(multi_model.media.files.full.url).content == video
    parts = [body for method, path, body in answers.validated if "/parts/" in path]
    assert [p["partNumber"] for p in parts] == [1, 2, 3]
    assert {p["mediaUploadId"] for p in parts} == {multi["mediaUploadId"]}  # the gap: part answers lacked it
    assert len(answers.models) == 4  # init, single PUT, part PUT, complete: each validated

    found = of_upload.create_uploads_uploads_check(client, {"etag": parts[0]["etag"], "size": PART_SIZE})
    assert of_models.V2AccessUploadsCheckPostResponse.model_validate(found).exists is False  # a part is not media


def test_ofauth_sdk_vault_listing_with_type_and_media_type_filters(ofauth):
    server, client, answers = ofauth
    conn = server.env["MEDIACTL_OFAUTH_CONNECTION_ID"]
    client.upload_media(conn, "a.png", b"\x89PNG" + b"a" * 100, "image/png")
    client.upload_media(conn, "b.mp4", b"v" * 100, "video/mp4")
    client.upload_media(conn, "c.png", b"\x89PNG" + b"c" * 100, "image/png")

    everything = of_vault.list_media(client, limit=10)
    photos = of_vault.list_media(client, type="photo")  # the SDK sends ?type=
    assert [m["type"] for m in photos["list"]] == ["photo", "photo"]
    assert of_vault.list_media(client, media_type="video")["list"][0]["type"] == "video"  # also sent as type=
    documented = client.request("GET", "/v2/access/vault/media", query={"mediaType": "video"})  # the API docs'
    assert [m["type"] for m in documented["list"]] == ["video"]
    assert len(everything["list"]) == 3
    item = of_models.V2AccessVaultMediaGetResponse.model_validate(everything).list[0]
    assert item.counters.likesCount == 0 and item.lists == []  # the gap: vault items lacked both
    assert [path for _, path, _ in answers.validated].count("/ofauth/v2/access/vault/media") == 4


@pytest.mark.parametrize("status", [409, 400])
def test_ofauth_already_completed_answers_either_way_the_api_does(sandbox_factory, status):
    server = sandbox_factory("--ofauth-part-size", str(PART_SIZE), "--ofauth-already-completed", str(status),
                             apply=False)
    env = server.env
    client = onlyfans_sdk.OFAuthClient(api_key=env["MEDIACTL_OFAUTH_API_KEY"], base_url=env["MEDIACTL_OFAUTH_BASE_URL"],
                                       connection_id=env["MEDIACTL_OFAUTH_CONNECTION_ID"])
    done = client.upload_media(env["MEDIACTL_OFAUTH_CONNECTION_ID"], "a.mp4", b"v" * 1500, "video/mp4")
    with pytest.raises(onlyfans_sdk.OFAuthError) as again:
        of_upload.complete_uploads(client, {"mediaUploadId": done["mediaUploadId"]})
    assert again.value.status == status
    raw = httpx.post(env["MEDIACTL_OFAUTH_BASE_URL"] + "/v2/access/uploads/complete",
                     json={"mediaUploadId": done["mediaUploadId"]},
                     headers={"apiKey": env["MEDIACTL_OFAUTH_API_KEY"],
                              "x-connection-id": env["MEDIACTL_OFAUTH_CONNECTION_ID"]}).json()
    if status == 409:
        assert raw == {"message": "Upload already completed", "code": "UPLOAD_ALREADY_COMPLETED"}
    else:
        assert raw["error"] == "Upload already completed" and raw["code"] == "BAD_REQUEST"
    server.control(ofauth_already_completed=409 if status == 400 else 400)  # the same, as a test control
    with pytest.raises(onlyfans_sdk.OFAuthError) as switched:
        of_upload.complete_uploads(client, {"mediaUploadId": done["mediaUploadId"]})
    assert switched.value.status == (409 if status == 400 else 400)
    client.close()


# -- BitBadges -------------------------------------------------------------------------------------------------


class OpenAPIAnswers:
    """Checks a raw answer against the 200 response schema of its operation in the vendored spec."""

    def __init__(self) -> None:
        self.spec = json.loads(SPEC.read_text())
        # The spec's NumberType is `{"$ref": "#/components/schemas/NumberType"}` (itself: a loop no validator
        # can follow); its meaning comes from the SDK generated from the same spec: a number or a string.
        assert self.spec["components"]["schemas"]["NumberType"] == {"$ref": "#/components/schemas/NumberType"}
        self.spec["components"]["schemas"]["NumberType"] = {"anyOf": [{"type": "number"}, {"type": "string"}]}
        self.checked: list[str] = []

    def check(self, template: str, method: str, raw: bytes) -> dict:
        op = self.spec["paths"][template][method]
        schema = op["responses"]["200"]["content"]["application/json"]["schema"]
        body = json.loads(raw)
        errors = list(Draft202012Validator({**self.spec, **schema}).iter_errors(body))
        assert not errors, f"{method.upper()} {template}: {errors[0].json_path}: {errors[0].message}"
        self.checked.append(f"{method} {template}")
        return body


def test_bitbadges_sdk_page_create_get_fetch_search_update_delete(sandbox_factory):
    server = sandbox_factory("--page-size", "2", apply=False)
    env = server.env
    api = UtilityPagesApi(bb.ApiClient(bb.Configuration(host=env["MEDIACTL_BITBADGES_BASE_URL"])))
    key = env["MEDIACTL_BITBADGES_API_KEY"]
    signed_in = {"Authorization": "Bearer " + env["MEDIACTL_BITBADGES_ACCESS_TOKEN"]}  # no SDK setting for it
    spec = OpenAPIAnswers()

    ids = []
    for n in range(3):  # _with_http_info: the SDK's model (data) and the raw body, for the spec check
        payload = bb.ICreateUtilityPagePayload.from_dict({**PAGE, "metadata": {**PAGE["metadata"], "name": f"P{n}"}})
        created = api.create_utility_page_with_http_info(key, payload, _headers=signed_in)
        spec.check("/utilityPages", "post", created.raw_data)
        assert isinstance(created.data, bb.ICreateUtilityPageSuccessResponse)
        ids.append(created.data.doc.listing_id)

    got = api.get_utility_page_with_http_info(ids[0], _headers={"x-api-key": key})
    spec.check("/utilityPage/{utilityPageId}", "get", got.raw_data)
    assert got.data.listing.metadata.name == "P0"

    fetched = api.get_utility_pages_with_http_info(key, bb.IGetUtilityPagesPayload(listingIds=ids[::-1]))
    spec.check("/utilityPages/fetch", "post", fetched.raw_data)
    assert [d.listing_id for d in fetched.data.docs] == ids[::-1]

    first = api.search_utility_pages_with_http_info(key, _headers=signed_in)
    spec.check("/utilityPages/search", "get", first.raw_data)
    assert [d.listing_id for d in first.data.docs] == ids[:2] and first.data.pagination.has_more is True
    # The generated search() puts its payload model in one `payload=` query parameter (its repr), which no
    # server reads as a bookmark; the next page goes through the SDK's own ApiClient with ?bookmark=.
    client = api.api_client
    request = client.param_serialize(method="GET", resource_path="/utilityPages/search",
                                     query_params=[("bookmark", first.data.pagination.bookmark)],
                                     header_params={"x-api-key": key, **signed_in})
    raw = client.call_api(*request)
    raw.read()
    second = client.response_deserialize(raw, {"200": "ISearchUtilityPagesSuccessResponse"})
    spec.check("/utilityPages/search", "get", second.raw_data)
    assert [d.listing_id for d in second.data.docs] == ids[2:] and second.data.pagination.has_more is False

    update = bb.IUpdateUtilityPagePayload.from_dict({**PAGE, "listingId": ids[1], "visibility": "unlisted",
                                                     "metadata": {**PAGE["metadata"], "name": "Renamed"}})
    updated = api.update_utility_page_with_http_info(key, update, _headers=signed_in)
    spec.check("/utilityPages", "put", updated.raw_data)
    assert updated.data.doc.metadata.name == "Renamed" and updated.data.doc.visibility == "unlisted"

    deleted = api.delete_utility_page_with_http_info(key, bb.IDeleteUtilityPagePayload(listingId=ids[1]),
                                                     _headers=signed_in)
    spec.check("/utilityPages", "delete", deleted.raw_data)
    with pytest.raises(bb.exceptions.ApiException) as gone:
        api.get_utility_page(ids[1], _headers={"x-api-key": key})
    assert gone.value.status == 404
    assert len(set(spec.checked)) == 6
