"""The S3 POST endpoint's multipart reader (mediactl/sandbox/multipart.py): the parts werkzeug's
MultipartDecoder finds in the same body, whatever the reads' sizes, and the same bodies refused."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from mediactl.sandbox.multipart import MalformedMultipart, read_parts

BOUNDARY = b"xyzzy"
MALFORMED = "malformed"


def reader(body: bytes, sizes: Iterable[int] = ()):
    """A `read` that hands `body` back in pieces of the given sizes (then 7 bytes at a time), whatever size
    it is asked for, as a socket does."""
    sizes = iter(sizes)
    pos = 0

    def read(_n: int) -> bytes:
        nonlocal pos
        size = next(sizes, 7)
        chunk = body[pos:pos + max(1, size)]
        pos += len(chunk)
        return chunk

    return read


def ours(body: bytes, sizes: Iterable[int] = (), max_parts: int = 1000):
    parts: list = []
    try:
        for event in read_parts(reader(body, sizes), BOUNDARY, max_parts=max_parts):
            if event[0] == "part":
                parts.append([event[1], event[2], b"", False])
            else:
                assert not parts[-1][3], "data after the part's last chunk"
                parts[-1][2] += event[1]
                parts[-1][3] = not event[2]
    except MalformedMultipart:
        return MALFORMED
    assert all(part[3] for part in parts), "a part without its last chunk"
    return [tuple(part[:3]) for part in parts]


def werkzeugs(body: bytes, max_parts: int = 1000):
    """What werkzeug's decoder finds, the body given at once (a part named None counts as malformed: the
    endpoint could not use it)."""
    decoder = MultipartDecoder(BOUNDARY, max_parts=max_parts)
    decoder.receive_data(body)
    decoder.receive_data(None)
    parts: list = []
    try:
        while True:
            event = decoder.next_event()
            if isinstance(event, Field | File):
                if event.name is None:
                    return MALFORMED
                parts.append([event.name, getattr(event, "filename", None), b""])
            elif isinstance(event, Data):
                parts[-1][2] += event.data
            elif isinstance(event, Epilogue):
                return [tuple(part) for part in parts]
            elif isinstance(event, NeedData):
                raise AssertionError("werkzeug asked for more after the end")
    except ValueError:  # RequestEntityTooLarge is not one; max_parts is below
        return MALFORMED
    except Exception as exc:
        if type(exc).__name__ == "RequestEntityTooLarge":
            return MALFORMED
        raise


def form(*parts: tuple[str, bytes], preamble: bytes = b"", epilogue: bytes = b"\r\n", lb: bytes = b"\r\n") -> bytes:
    body = preamble
    for disposition, data in parts:
        body += lb + b"--" + BOUNDARY + lb + b"Content-Disposition: " + disposition.encode() + lb + lb + data
    return body + lb + b"--" + BOUNDARY + b"--" + epilogue


STANDARD = form(('form-data; name="key"', b"a/b.txt"), ('form-data; name="Policy"', b"e30="),
                ('form-data; name="file"; filename="b.txt"', b"hello\r\nworld"))


def every_split(body: bytes):
    for at in range(1, len(body)):
        yield [at, len(body)]


def test_a_standard_form_gives_its_fields_and_file_whatever_the_reads():
    expected = [("key", None, b"a/b.txt"), ("Policy", None, b"e30="), ("file", "b.txt", b"hello\r\nworld")]
    assert werkzeugs(STANDARD) == expected
    assert ours(STANDARD, [len(STANDARD)]) == expected
    for sizes in every_split(STANDARD):  # the boundary, its CRLFs and the blank lines split at every byte
        assert ours(STANDARD, sizes) == expected, sizes
    assert ours(STANDARD, [1] * len(STANDARD)) == expected


@pytest.mark.parametrize("body, expected", [
    pytest.param(form(('form-data; name="a"', b"1"), preamble=b"junk before\r\n"), [("a", None, b"1")],
                 id="preamble"),
    pytest.param(form(('form-data; name="a"', b"1"), lb=b"\n"), [("a", None, b"1")], id="LF line breaks"),
    pytest.param(form(('form-data; name="a"', b"1"), lb=b"\r"), [("a", None, b"1")], id="CR line breaks"),
    pytest.param(form(('form-data; name="a"', b"1"), epilogue=b""), [("a", None, b"1")],
                 id="close delimiter at the very end"),
    pytest.param(form(('form-data; name="a"', b"1"), epilogue=b"  \r\nanything at all"), [("a", None, b"1")],
                 id="epilogue"),
    pytest.param(form(('form-data; name="file"; filename="e.bin"', b"")), [("file", "e.bin", b"")],
                 id="empty file"),
    pytest.param(form(('form-data; name="a"', b"")), [("a", None, b"")], id="empty field"),
    pytest.param(form(('form-data; name="file"; filename="f"', b"x"), ('form-data; name="late"', b"2")),
                 [("file", "f", b"x"), ("late", None, b"2")], id="field after file"),
    pytest.param(form(('form-data; name="a"', b"x--xyzzy\r\n--xyzzy-x \r\n--xyzzyz\r\n\r--xyz")),
                 [("a", None, b"x--xyzzy\r\n--xyzzy-x \r\n--xyzzyz\r\n\r--xyz")],
                 id="boundary-like data that is not a delimiter"),
    pytest.param(b'--xyzzy\r\nContent-Disposition: form-data; name="a"\r\n\r\n--xyzzy\r\n'
                 b'Content-Disposition: form-data; name="b"\r\n\r\n2\r\n--xyzzy--',
                 [("a", None, b""), ("b", None, b"2")],
                 id="a delimiter right after the blank line ends an empty part"),
    pytest.param(form(('form-data; name="a"', b"\r\n\r\n")), [("a", None, b"\r\n\r\n")], id="CRLFs as data"),
    pytest.param(b"--xyzzy \t\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--xyzzy\t\r\n"
                 b"content-disposition:  form-data;\r\n name=\"b\"\r\nX-Other: y\r\n\r\n2\r\n--xyzzy--",
                 [("a", None, b"1"), ("b", None, b"2")], id="whitespace after a boundary, folded header"),
    pytest.param(form(('form-data; name="a"; filename="\xe9.txt"', b"1")), [("a", "\xe9.txt", b"1")],
                 id="UTF-8 file name"),
    pytest.param(b"--xyzzy--\r\n", [], id="no parts"),
])
def test_bodies_werkzeug_reads_give_the_same_parts(body, expected):
    assert werkzeugs(body) == expected
    for sizes in every_split(body):
        assert ours(body, sizes) == expected, sizes


@pytest.mark.parametrize("body", [
    pytest.param(STANDARD[:-len(b"\r\n--xyzzy--\r\n")], id="no close delimiter"),
    pytest.param(STANDARD[:-len(b"--\r\n")] + b"\r\n", id="ends after a delimiter"),
    pytest.param(STANDARD[:-len(b"-\r\n")], id="ends inside the close delimiter"),
    pytest.param(STANDARD[:40], id="ends inside a part's headers"),
    pytest.param(b"no boundary at all", id="no delimiter"),
    pytest.param(b"", id="empty body"),
    pytest.param(form(('form-data; filename="x"', b"1")), id="a part without a name"),
    pytest.param(b"--xyzzy\r\nX-Other: y\r\n\r\n1\r\n--xyzzy--", id="a part without Content-Disposition"),
    pytest.param(b'--xyzzy\r\nContent-Disposition: form-data; name="a"\r\nX: \xff\r\n\r\n1\r\n--xyzzy--',
                 id="headers not UTF-8"),
])
def test_bodies_werkzeug_refuses_are_malformed(body):
    assert werkzeugs(body) == MALFORMED
    for sizes in every_split(body):
        assert ours(body, sizes) == MALFORMED, sizes


def test_many_parts_up_to_the_limit_and_not_beyond():
    many = form(*[(f'form-data; name="f{i}"', str(i).encode()) for i in range(50)])
    assert ours(many, [len(many)], max_parts=50) == werkzeugs(many, max_parts=50)
    assert len(ours(many, [len(many)], max_parts=50)) == 50
    assert ours(many, [len(many)], max_parts=49) == werkzeugs(many, max_parts=49) == MALFORMED


def test_a_large_file_streams_in_chunks_not_held_whole():
    data = bytes(range(256)) * 4096 + b"\r\n--xyzz"  # 1 MiB, and a partial boundary at its very end
    body = form(('form-data; name="file"; filename="big"', data))
    chunks = []
    for event in read_parts(reader(body, [65536] * 40), BOUNDARY):
        if event[0] == "data":
            chunks.append(event[1])
    assert b"".join(chunks) == data
    assert len(chunks) > 10 and max(map(len, chunks)) <= 65536


# Bodies built from pieces that sit near the grammar's edges, split into random reads.
PIECES = [b"\r\n", b"\n", b"\r", b"--", b"-", b"xyzzy", b"--xyzzy", b"\r\n--xyzzy", b"\r\n--xyzzy--", b" ", b"\t",
          b"a", b"Content-Disposition: form-data; name=\"n\"", b"Content-Disposition: form-data; name=f; filename=g",
          b"\r\n\r\n", b"X: 1"]
LINE_BREAKS = st.sampled_from([b"\r\n", b"\n", b"\r"])


@st.composite
def bodies(draw):
    chunks = [draw(st.lists(st.sampled_from(PIECES), max_size=3).map(b"".join))]
    for _ in range(draw(st.integers(0, 4))):
        lb = draw(LINE_BREAKS)
        chunks.append(lb + b"--xyzzy" + draw(st.sampled_from([b"", b" ", b"\t "])) + draw(LINE_BREAKS))
        name = draw(st.sampled_from(["file", "key", "a"]))
        filename = draw(st.sampled_from(["", '; filename="x.bin"']))
        chunks.append(f'Content-Disposition: form-data; name="{name}"{filename}'.encode() + lb + lb)
        chunks.append(draw(st.lists(st.sampled_from(PIECES), max_size=6).map(b"".join)))
    if draw(st.booleans()):
        chunks.append(draw(LINE_BREAKS) + b"--xyzzy--" + draw(st.sampled_from([b"", b"\r\n", b" \r\nepi"])))
    return b"".join(chunks)


@settings(max_examples=400, deadline=None)
@given(body=bodies(), sizes=st.lists(st.integers(1, 40), max_size=30))
def test_random_bodies_and_reads_give_what_werkzeug_gives(body, sizes):
    assert ours(body, sizes) == werkzeugs(body)


# -- the endpoint: malformed bodies are S3's 400 MalformedPOSTRequest, never a 500 ------------------------


def _s3_post(sandbox, body: bytes, content_type: str):
    import requests

    env = sandbox.env
    record = requests.post(env["MEDIACTL_OTHERPAGE_BASE_URL"] + "/community/mp/file", json={"name": "p.txt"},
                           headers={"X-Api-Key": env["MEDIACTL_OTHERPAGE_API_KEY"]}, timeout=10).json()
    return requests.post(record["upload"]["url"], data=body, headers={"Content-Type": content_type}, timeout=10)


@pytest.mark.parametrize("body", [
    pytest.param(STANDARD[:-len(b"\r\n--xyzzy--\r\n")], id="no close delimiter"),
    pytest.param(form(('form-data; filename="x"', b"1")), id="a part without a name"),
    pytest.param(b"--xyzzy\r\nX-Other: y\r\n\r\n1\r\n--xyzzy--", id="a part without Content-Disposition"),
    pytest.param(form(*[(f'form-data; name="x-ignore-{i}"', b"") for i in range(1001)]), id="1001 parts"),
])
def test_a_malformed_body_is_400_malformed_post_request(sandbox, body):
    import xml.etree.ElementTree as ET

    resp = _s3_post(sandbox, body, "multipart/form-data; boundary=xyzzy")
    assert resp.status_code == 400, resp.text
    assert ET.fromstring(resp.content).findtext("Code") == "MalformedPOSTRequest"


def test_a_body_that_is_not_multipart_is_412(sandbox):
    resp = _s3_post(sandbox, b"key=a", "application/x-www-form-urlencoded")
    assert resp.status_code == 412 and b"<Code>PreconditionFailed</Code>" in resp.content


VALUE_TEXT = st.text(alphabet='ab "\\%2;,*=\t\xe9\u20ac', max_size=8)


@settings(max_examples=400, deadline=None)
@given(name=VALUE_TEXT, filename=st.none() | VALUE_TEXT,
       shape=st.sampled_from(['form-data; name="{n}"', "form-data; name={n}", 'Form-Data; name="{n}"',
                              'form-data;name="{n}"', 'form-data; name*=UTF-8\'\'{n}', 'form-data; name="{n}"; ']))
def test_names_and_file_names_are_werkzeugs(name, filename, shape):
    disposition = shape.format(n=name) + ("" if filename is None else f'; filename="{filename}"')
    body = form((disposition, b"1"))
    assert ours(body, [len(body)]) == werkzeugs(body)


def test_a_long_preamble_read_in_chunks_is_skipped():
    body = form(('form-data; name="a"', b"1"), preamble=b"-xyzz\r\n" * 50_000)
    assert ours(body, [65536] * 10) == werkzeugs(body) == [("a", None, b"1")]
