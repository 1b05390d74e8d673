"""mediactl.transfer: presigned POST against a real S3 server, base64 JSON streaming, PUT ranges, progress."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import time
from pathlib import Path

import pytest

from mediactl.errors import ExitCode, MediactlError
from mediactl.http import ApiClient, Redactor
from mediactl.output import Progress
from mediactl.runtime import Runtime
from mediactl.transfer.bodies import B64_CHUNK, Base64JsonBody, Chunks, FileSlice, MultipartFormBody
from mediactl.transfer.files import FileState, WholeFileSha256
from mediactl.transfer.s3post import presigned_post
from mediactl.transfer.sending import put_file, send_base64_json
from tests.bodies import stream_base64_json
from tests.httpserver import Reply, ScriptedServer


def rt(**kw) -> Runtime:
    return Runtime(stdout=io.StringIO(), stderr=io.StringIO(), timeout=10, retries=2, **kw)


def make_file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- presigned POST against SeaweedFS ---------------------------------------------------------------------


def test_round_trip_is_byte_identical_with_content_type_and_meta(s3_server, tmp_path):
    data = os.urandom(300_000)
    path = make_file(tmp_path, "photo.jpg", data)
    url, fields = s3_server.presign(
        "c1/photo-jpg",
        {"success_action_status": "201", "Content-Type": "image/jpeg", "x-amz-meta-community": "c1"},
        [["content-length-range", 0, 10_000_000]],
    )
    result = presigned_post(rt(), url, fields, path, filename="photo.jpg", content_type="image/jpeg")
    assert result.status == 201 and result.key == "c1/photo-jpg" and result.bucket == s3_server.bucket
    assert result.etag == hashlib.md5(data).hexdigest() == result.digests.md5
    assert result.digests.sha256 == hashlib.sha256(data).hexdigest()
    obj = s3_server.get("c1/photo-jpg")
    assert obj["Body"].read() == data
    assert obj["ContentType"] == "image/jpeg"
    assert obj["Metadata"] == {"community": "c1"}


@pytest.mark.parametrize("name", ["with space.txt", 'quote"d\'.txt', "ünïcødé-文件.txt"])
def test_odd_file_names(s3_server, tmp_path, name):
    path = make_file(tmp_path, name, b"hello " + name.encode())
    url, fields = s3_server.presign(f"odd/{name}", {"success_action_status": "201"})
    result = presigned_post(rt(), url, fields, path, filename=name, content_type="text/plain")
    assert s3_server.get(f"odd/{name}")["Body"].read() == path.read_bytes()
    assert result.key == f"odd/{name}"


def test_zero_byte_file(s3_server, tmp_path):
    path = make_file(tmp_path, "empty.bin", b"")
    url, fields = s3_server.presign("zero/empty.bin", {"success_action_status": "201"})
    result = presigned_post(rt(), url, fields, path, filename="empty.bin", content_type="application/octet-stream")
    assert result.digests.size == 0
    assert s3_server.get("zero/empty.bin")["Body"].read() == b""


def _expect_rejected(s3_server, tmp_path, url, fields, data=b"abc", ctype="text/plain") -> MediactlError:
    path = make_file(tmp_path, "f.txt", data)
    with pytest.raises(MediactlError) as err:
        presigned_post(rt(), url, fields, path, filename="f.txt", content_type=ctype)
    assert err.value.code == ExitCode.REJECTED
    return err.value


def test_tampered_signature_rejected(s3_server, tmp_path):
    url, fields = s3_server.presign("t/sig", {"success_action_status": "201"})
    fields = [(k, ("0" * len(v)) if k.lower() == "x-amz-signature" else v) for k, v in fields]
    err = _expect_rejected(s3_server, tmp_path, url, fields)
    assert "SignatureDoesNotMatch" in err.message or "AccessDenied" in err.message


def test_expired_policy_rejected(s3_server, tmp_path):
    url, fields = s3_server.presign("t/expired", {"success_action_status": "201"}, expires=1)
    time.sleep(2.1)
    err = _expect_rejected(s3_server, tmp_path, url, fields)
    assert "expired" in err.message.lower()


def test_too_large_file_rejected(s3_server, tmp_path):
    url, fields = s3_server.presign("t/big", {"success_action_status": "201"}, [["content-length-range", 0, 10]])
    err = _expect_rejected(s3_server, tmp_path, url, fields, data=b"x" * 100)
    assert "EntityTooLarge" in err.message


def test_changed_field_rejected(s3_server, tmp_path):
    url, fields = s3_server.presign("t/changed", {"success_action_status": "201", "Content-Type": "text/plain"})
    fields = [(k, "image/png" if k == "Content-Type" else v) for k, v in fields]
    err = _expect_rejected(s3_server, tmp_path, url, fields)
    assert "AccessDenied" in err.message and "Policy" in err.message


def test_form_secrets_never_in_error_or_log(s3_server, tmp_path):
    url, fields = s3_server.presign("t/log", {"success_action_status": "201"}, expires=1)
    time.sleep(2.1)
    runtime = rt(verbose=2)
    path = make_file(tmp_path, "f.txt", b"abc")
    with pytest.raises(MediactlError) as err:
        presigned_post(runtime, url, fields, path, filename="f.txt", content_type="text/plain")
    secrets = [v for k, v in fields if k.lower() in ("policy", "x-amz-signature", "x-amz-credential")]
    text = runtime.stderr.getvalue() + err.value.message
    for secret in secrets:
        assert secret not in text


def test_each_form_is_redacted_without_piling_up_in_the_batch_redactor(tmp_path):
    """A batch shares one redactor; each file's form secrets are redacted from that file's errors and logs
    but do not stay in the shared one (each redaction would go through every form of the batch)."""
    path = make_file(tmp_path, "a.bin", b"abc")
    shared = Redactor(["the-api-key"])
    runtime = rt(verbose=2)
    etag = hashlib.md5(b"abc").hexdigest()
    answers = [Reply(201, f"<PostResponse><ETag>\"{etag}\"</ETag></PostResponse>"),
               Reply(403, "<Error><Code>AccessDenied</Code><Message>bad sig-second-form for the-api-key</Message>"
                          "</Error>")]
    with ScriptedServer(lambda req, i: answers[i]) as srv:
        presigned_post(runtime, srv.url + "/b", [("key", "k"), ("Policy", "policy-first-form")], path,
                       filename="a.bin", content_type="text/plain", redactor=shared)
        with pytest.raises(MediactlError) as err:
            presigned_post(runtime, srv.url + "/b", [("key", "k"), ("X-Amz-Signature", "sig-second-form")], path,
                           filename="a.bin", content_type="text/plain", redactor=shared)
    assert "sig-second-form" not in err.value.message and "the-api-key" not in err.value.message
    assert "AccessDenied" in err.value.message
    assert "sig-second-form" not in runtime.stderr.getvalue()
    assert shared.text("policy-first-form sig-second-form the-api-key") == "policy-first-form sig-second-form ***"


# --- presigned POST against a loopback receiver -------------------------------------------------------------


def test_file_is_the_last_field_in_the_given_order(tmp_path):
    path = make_file(tmp_path, "a.png", b"\x89PNG....")
    fields = [("key", "k/a.png"), ("success_action_status", "201"), ("Content-Type", "image/png"),
              ("Policy", "cG9s"), ("X-Amz-Signature", "abc")]
    xml = "<PostResponse><Location>x</Location><Bucket>b</Bucket><Key>k/a.png</Key><ETag>\"{}\"</ETag></PostResponse>"
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    with ScriptedServer(lambda req, i: Reply(201, xml.format(md5))) as srv:
        presigned_post(rt(), srv.url + "/bucket", fields, path, filename="a.png", content_type="image/png")
    req = srv.requests[0]
    names = re.findall(rb'Content-Disposition: form-data; name="([^"]+)"', req.body)
    assert [n.decode() for n in names] == [k for k, _ in fields] + ["file"]
    assert int(req.headers["content-length"]) == len(req.body)
    assert b'filename="a.png"' in req.body and b"Content-Type: image/png\r\n\r\n\x89PNG" in req.body
    assert "x-api-key" not in req.headers and "authorization" not in req.headers


@pytest.mark.parametrize("size", [50_000, 3 * 1024 * 1024 + 7])  # the larger one hashes SHA-256 on its own thread
def test_5xx_reposts_the_same_form_with_full_bytes(tmp_path, size):
    data = os.urandom(size)
    path = make_file(tmp_path, "a.bin", data)
    md5 = hashlib.md5(data).hexdigest()

    def handler(req, i):
        if i == 0:
            return Reply(503, "<Error><Code>SlowDown</Code><Message>Reduce your request rate</Message></Error>")
        if i == 1:
            return Reply(500, "<Error><Code>InternalError</Code><Message>We encountered an error</Message></Error>")
        return Reply(204, "", {"ETag": f'"{md5}"'})

    with ScriptedServer(handler) as srv:
        result = presigned_post(rt(), srv.url, [("key", "k")], path, filename="a.bin", content_type="x/y")
    assert len(srv.requests) == 3 and srv.requests[0].body == srv.requests[2].body
    assert result.status == 204 and result.digests.md5 == md5
    assert result.digests.sha256 == hashlib.sha256(data).hexdigest() and result.digests.size == size


def test_etag_mismatch_fails_loudly(tmp_path):
    path = make_file(tmp_path, "a.bin", b"abc")
    with ScriptedServer(lambda req, i: Reply(204, "", {"ETag": '"00000000000000000000000000000000"'})) as srv:
        with pytest.raises(MediactlError) as err:
            presigned_post(rt(), srv.url, [("key", "k")], path, filename="a.bin", content_type="x/y")
    assert "checksum mismatch" in err.value.message


# --- base64 JSON -----------------------------------------------------------------------------------------

RFC4648 = [(b"", b""), (b"f", b"Zg=="), (b"fo", b"Zm8="), (b"foo", b"Zm9v"), (b"foob", b"Zm9vYg=="),
           (b"fooba", b"Zm9vYmE="), (b"foobar", b"Zm9vYmFy")]


def _stream(path: Path, chunk: int = B64_CHUNK, read_size: int = 8192) -> tuple[bytes, int]:
    return stream_base64_json(path, {"a": {"content": None}}, ["a", "content"], chunk=chunk, read_size=read_size)


@pytest.mark.parametrize("raw, encoded", RFC4648)
def test_rfc4648_vectors(tmp_path, raw, encoded):
    out, declared = _stream(make_file(tmp_path, "v", raw))
    assert json.loads(out)["a"]["content"] == encoded.decode()
    assert declared == len(out)


@pytest.mark.parametrize("size", range(0, 11))
def test_small_sizes_equal_b64encode(tmp_path, size):
    data = os.urandom(size)
    out, declared = _stream(make_file(tmp_path, "s", data), chunk=6, read_size=5)
    assert json.loads(out)["a"]["content"] == base64.b64encode(data).decode()
    assert declared == len(out)


@pytest.mark.parametrize("delta", [-4, -3, -2, -1, 0, 1, 2, 3, 4])
def test_sizes_around_chunk_boundaries(tmp_path, delta):
    data = os.urandom(2 * B64_CHUNK + delta)
    out, declared = _stream(make_file(tmp_path, "b", data), read_size=16384)
    content = json.loads(out)["a"]["content"]
    assert content == base64.b64encode(data).decode() and "\n" not in content
    assert declared == len(out)


def test_server_decodes_streamed_body_to_identical_bytes_and_retry_restreams(tmp_path):
    data = os.urandom(1_000_003)
    path = make_file(tmp_path, 'we"ird\\näme.bin', data)

    def handler(req, i):
        if i == 0:
            return Reply(429, "{}", {"Retry-After": "0"})
        return Reply(200, json.dumps({"attachment": {"id": 1}}), {"Content-Type": "application/json"})

    with ScriptedServer(handler) as srv:
        client = ApiClient(rt(), provider="t", base_url=srv.url)
        doc = {"attachment": {"filename": path.name, "content_type": "application/octet-stream", "content": None}}
        resp, digests = send_base64_json(client, "POST", "/att", path, doc, ["attachment", "content"])
    assert resp.status_code == 200 and len(srv.requests) == 2
    for req in srv.requests:
        sent = json.loads(req.body)
        assert base64.b64decode(sent["attachment"]["content"]) == data
        assert sent["attachment"]["filename"] == path.name
        assert int(req.headers["content-length"]) == len(req.body)
    assert digests.sha256 == hashlib.sha256(data).hexdigest()


# --- raw PUT and ranges ------------------------------------------------------------------------------------


def test_put_byte_ranges(tmp_path):
    data = os.urandom(10_000)
    path = make_file(tmp_path, "p.bin", data)
    with ScriptedServer(lambda req, i: Reply(200, "{}")) as srv:
        client = ApiClient(rt(), provider="t", base_url=srv.url)
        for n, offset in enumerate(range(0, 10_000, 4096), start=1):
            put_file(client, f"/parts/{n}", path, offset=offset, length=4096)
        put_file(client, "/whole", path)
    assert b"".join(r.body for r in srv.requests[:3]) == data
    assert [len(r.body) for r in srv.requests[:3]] == [4096, 4096, 10_000 - 8192]
    assert srv.requests[3].body == data


def test_file_slice_digests_require_full_read(tmp_path):
    path = make_file(tmp_path, "d", b"abcdef")
    sl = FileSlice(path, 2, 3)
    assert sl.read() == b"cde"
    assert sl.digests().md5 == hashlib.md5(b"cde").hexdigest()


def test_unreadable_and_missing_files_are_local_errors(tmp_path):
    missing = tmp_path / "nope.bin"
    with pytest.raises(MediactlError) as err:
        FileSlice(missing)
    assert err.value.code == ExitCode.LOCAL and "no such file" in err.value.message
    with pytest.raises(MediactlError) as err:
        FileSlice(tmp_path)
    assert err.value.code == ExitCode.LOCAL and "directory" in err.value.message


# --- progress -----------------------------------------------------------------------------------------------


def test_plain_progress_lines_when_not_a_tty():
    runtime = rt(progress_interval=3600)
    with Progress(runtime) as progress:
        advance = progress.task("big.bin", 1000)
        for _ in range(100):
            advance(10)
        assert runtime.stderr.getvalue() == ""  # no per-percent lines, and the interval has not passed
        advance.done()
    assert runtime.stderr.getvalue().splitlines() == ["uploaded big.bin (1000 B)"]


def test_plain_progress_line_for_a_file_in_flight_at_the_interval():
    runtime = rt(progress_interval=0)  # every chunk is due
    with Progress(runtime) as progress:
        advance = progress.task("big.bin", 1000)
        advance(400)
        advance(-100)  # a retried request takes its bytes back
    line = runtime.stderr.getvalue().splitlines()[-1]
    assert line.startswith("big.bin: 30% 300 B/1000 B, ") and "/s, ETA " in line


def test_no_progress_with_quiet_or_flag():
    for kw in ({"quiet": True}, {"no_progress": True}):
        runtime = rt(**kw)
        with Progress(runtime) as progress:
            progress.task("x", 10)(10)
        assert runtime.stderr.getvalue() == ""


# --- bodies: the form's bytes, files that change, the whole-file hash of parts ------------------------------


@pytest.mark.parametrize("filename", ["a.png", 'we"ird\\näme.bin', "spaced name.jpg"])
def test_multipart_form_body_matches_multipart_encoder(tmp_path, filename):
    from requests_toolbelt import MultipartEncoder

    data = os.urandom(3 * 1024 * 1024 + 7)
    path = make_file(tmp_path, "f.bin", data)
    fields = [("key", "k/ü.png"), ("Policy", "cG9s"), ("x-amz-meta-x", 'q"uote')]
    body = MultipartFormBody(fields, "file", filename, "image/png", FileSlice(path), "b0undary")
    expected = MultipartEncoder(fields=[*fields, ("file", (filename, data, "image/png"))], boundary="b0undary")
    sent = b"".join(Chunks(body))
    assert sent == expected.to_string() and len(sent) == body.total
    assert body.content_type == expected.content_type
    assert body.digests().md5 == hashlib.md5(data).hexdigest()
    assert all(len(piece) >= 256 * 1024 for piece in list(MultipartFormBody(
        fields, "file", filename, "x/y", FileSlice(path), "b")) [1:-2])


def _shrink(path: Path) -> None:
    os.truncate(path, 1000)


def _grow(path: Path) -> None:
    with open(path, "ab") as fh:
        fh.write(b"more")


def _touch(path: Path) -> None:
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


@pytest.mark.parametrize("change", [_shrink, _grow, _touch])
@pytest.mark.parametrize("kind", ["slice", "part", "base64", "form"])
def test_a_file_that_changes_while_read_fails_before_its_last_byte(tmp_path, change, kind):
    data = os.urandom(4 * 1024 * 1024)
    path = make_file(tmp_path, "c.bin", data)
    if kind == "slice":
        body = FileSlice(path)
    elif kind == "part":
        body = FileSlice(path, 1024 * 1024, 3 * 1024 * 1024, expected=FileState.at(path))
    elif kind == "base64":
        body = Base64JsonBody(path, b'{"c":"', b'"}')
    else:
        body = MultipartFormBody([("key", "k")], "file", "c.bin", "x/y", FileSlice(path), "b")
    total, sent = body.len, 0
    with pytest.raises(MediactlError) as err:
        for n, piece in enumerate(body):
            sent += len(piece)
            if n == 1:
                change(path)
        body.digests()
    body.close()
    assert err.value.code == ExitCode.LOCAL and "file changed during upload" in err.value.message
    assert sent < total  # the server never gets a complete body


def test_a_part_of_a_file_changed_since_the_upload_started_is_refused(tmp_path):
    path = make_file(tmp_path, "p.bin", os.urandom(10_000))
    expected = FileState.at(path)
    _shrink(path)
    with pytest.raises(MediactlError) as err:
        FileSlice(path, 4096, 4096, expected=expected)
    assert err.value.code == ExitCode.LOCAL and "file changed" in err.value.message


@pytest.mark.parametrize("order", ["in order", "parallel", "reversed", "resumed"])
def test_whole_file_sha256_of_parts_in_any_order(tmp_path, order):
    data = os.urandom(5 * 1024 * 1024 + 11)
    path = make_file(tmp_path, "w.bin", data)
    whole = WholeFileSha256(path, FileState.at(path))
    part = 2 * 1024 * 1024
    slices = [FileSlice(path, off, part, whole=whole) for off in range(0, len(data), part)]
    if order == "in order":
        for sl in slices:
            list(sl)
    elif order == "parallel":  # chunks of the parts interleaved, as two senders would read them
        iters = [iter(sl) for sl in slices]
        while iters:
            iters = [it for it in iters if next(it, None) is not None]
    elif order == "reversed":
        for sl in reversed(slices):
            list(sl)
    else:  # the first part was sent by an earlier run: never fed
        for sl in slices[1:]:
            list(sl)
    assert whole.hexdigest() == hashlib.sha256(data).hexdigest()


def test_whole_file_sha256_of_overlapping_feeds_and_a_full_queue(tmp_path, monkeypatch):
    monkeypatch.setattr(WholeFileSha256, "QUEUED", 4096)  # every feed waits for the hashing thread
    data = os.urandom(3 * 1024 * 1024 + 5)
    path = make_file(tmp_path, "o.bin", data)
    whole = WholeFileSha256(path, FileState.at(path))
    whole.feed(0, data[:100])
    whole.feed(50, data[50:300])  # a retried attempt re-reads from inside what was already fed
    whole.feed(300, data[300:1024 * 1024])
    whole.feed(2 * 1024 * 1024, data[2 * 1024 * 1024:])  # out of order: read back by the thread
    assert whole.hexdigest() == hashlib.sha256(data).hexdigest()
