"""The sandbox server's request parsing (mediactl/sandbox/serving.py): its own parse_request and header
parsing give what http.server's give (the same headers, answers, errors and connection decisions)."""

from __future__ import annotations

import http.client
import io
from http.server import BaseHTTPRequestHandler

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediactl.sandbox.serving import KeepAliveHandler, parse_header_lines, read_header_lines


def stdlib_headers(block: bytes):
    return http.client.parse_headers(io.BytesIO(block))


def ours(block: bytes):
    return parse_header_lines(read_header_lines(io.BytesIO(block)))


def same(block: bytes) -> None:
    theirs, mine = stdlib_headers(block), ours(block)
    assert mine.items() == theirs.items()
    for name in {k for k, _ in theirs.items()} | {"Host", "Content-Type", "Connection", "Expect"}:
        assert mine.get_all(name) == theirs.get_all(name)
        assert mine.get(name) == theirs.get(name)


@pytest.mark.parametrize("block", [
    b"Host: a\r\nContent-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 10\r\n\r\n",
    b"Host: a\nX-Empty:\nX-Spaces:   \t v a l  \n\n",
    b"X-Dup: 1\r\nx-dup: 2\r\nX-DUP: 3\r\n\r\n",
    b"X-Folded: a\r\n b\r\n\tc\r\nHost: h\r\n\r\n",
    b" leading continuation\r\nHost: h\r\n\r\n",
    b"Bad Name: v\r\nHost: h\r\n\r\n",
    b"NoColon\r\nHost: h\r\n\r\n",
    b": no name\r\nHost: h\r\n\r\n",
    b"From someone: x\r\nHost: h\r\n\r\n",
    b"X-Bare-CR: a\rY: b\r\nHost: h\r\n\r\n",
    b"X-Latin: caf\xe9\r\nX-\xe9: v\r\n\r\n",
    b"X-Ctl: a\x00b\x0bc\x0c\x1c\r\n\r\n",
    b"X-CR-end: v\r\r\n\r\n",
    b"Host: h\r\nX-No-End: v",
    b"\r\n",
    b"",
])
def test_header_blocks_parse_as_http_client_parses_them(block):
    same(block)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["Host", "X-A", "x-a", "Bad Name", "", "From x", "\xe9", " ", "\t"]),
                          st.sampled_from([":", ": ", ":\t", " :", ""]),
                          st.text(alphabet=" \t\r\nab\xe9\x00:", max_size=8),
                          st.sampled_from(["\r\n", "\n", "\r"])), max_size=6),
       st.sampled_from([b"\r\n", b"\n", b""]))
def test_random_header_blocks_parse_as_http_client_parses_them(lines, end):
    block = b"".join((name + colon + value + lb).encode("latin-1") for name, colon, value, lb in lines) + end
    same(block)


def test_the_line_and_count_limits_are_http_clients():
    too_long = b"X: " + b"a" * 70000 + b"\r\n\r\n"
    too_many = b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n"
    for block, error in ((too_long, http.client.LineTooLong), (too_many, http.client.HTTPException)):
        with pytest.raises(error) as theirs:
            stdlib_headers(block)
        with pytest.raises(error) as mine:
            ours(block)
        assert str(mine.value) == str(theirs.value)
    assert len(ours(b"".join(b"X-%d: v\r\n" % i for i in range(99)) + b"\r\n").items()) == 99


class _Plain(BaseHTTPRequestHandler):
    """A handler without a connection: http.server's own parse_request."""

    protocol_version = "HTTP/1.1"

    def __init__(self, raw: bytes) -> None:  # no socket: the request line and the rest as files
        line, _, rest = raw.partition(b"\n")
        self.raw_requestline = line + b"\n" if _ else line
        self.rfile, self.wfile = io.BytesIO(rest), io.BytesIO()
        self.client_address = ("127.0.0.1", 0)
        self.request_version = self.default_request_version

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        pass

    def date_time_string(self, timestamp=None):
        return "Thu, 01 Jan 2026 00:00:00 GMT"

    def handle_expect_100(self):
        self.wfile.write(b"<expect 100>")
        return True


class _Ours(_Plain):
    parse_request = KeepAliveHandler.parse_request


@pytest.mark.parametrize("raw", [
    b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n",
    b"POST //x//y HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    b"POST /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"POST /x HTTP/1.0\r\n\r\n",
    b"PUT /x HTTP/1.1\r\nExpect: 100-Continue\r\n\r\n",
    b"PUT /x HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
    b"GET /x\r\n",
    b"POST /x\r\n",
    b"\r\n",
    b"GET\r\n",
    b"GET / HTTP/1.1 extra\r\n\r\n",
    b"GET / HTTP/2.0\r\n\r\n",
    b"GET / HTTP/1.1.1\r\n\r\n",
    b"GET / HTTP/x.1\r\n\r\n",
    b"GET / HTTP/01234567890.1\r\n\r\n",
    b"GET / FTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + b"X: v\r\n" * 101 + b"\r\n",
    b"GET / HTTP/1.1\r\nX-Folded: a\r\n b\r\nConnection: close\r\n\r\n",
])
def test_parse_request_decides_and_answers_as_http_servers(raw):
    theirs, mine = _Plain(raw), _Ours(raw)
    assert mine.parse_request() == theirs.parse_request()
    def seen(handler):
        return [getattr(handler, name, "<unset>")
                for name in ("command", "path", "request_version", "close_connection", "requestline")]

    assert seen(mine) == seen(theirs)
    assert mine.wfile.getvalue() == theirs.wfile.getvalue()
    assert mine.rfile.tell() == theirs.rfile.tell()
    if hasattr(theirs, "headers"):
        assert mine.headers.items() == theirs.headers.items()


def test_the_date_header_is_http_servers_and_moves_with_the_second(monkeypatch):
    import time

    plain = _Plain(b"GET / HTTP/1.1\r\n\r\n")
    mine = KeepAliveHandler.__new__(KeepAliveHandler)
    for now in (1_800_000_000.2, 1_800_000_000.9, 1_800_000_001.0, 1_800_000_061.5, 1_700_000_000.0):
        monkeypatch.setattr(time, "time", lambda now=now: now)
        assert mine.date_time_string() == BaseHTTPRequestHandler.date_time_string(plain)
    assert mine.date_time_string(86400.0) == BaseHTTPRequestHandler.date_time_string(plain, 86400.0)
