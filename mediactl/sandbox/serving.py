"""The sandbox's HTTP server: werkzeug's threaded development server with HTTP/1.1 persistent connections.

werkzeug's own handler closes every connection after one answer (it cannot tell where a request body it
did not read ends), so each request of a batch cost a new TCP connection and a new server thread, on the
client's side and the server's. `KeepAliveHandler` answers exactly as werkzeug's does (same status line,
headers and body; `Connection: close` only when the connection is closed after the answer), and keeps the
connection open for the next request: the app reads the request body through a stream bounded by its
Content-Length, and whatever the app left unread is read and dropped before the next request line. A
chunked request body, a client asking `Connection: close` (or speaking HTTP/1.0 without keep-alive), an
answer carrying `Connection: close` (an injected dropped connection) and any error close it as before.
An idle connection is closed after IDLE_TIMEOUT; `close_all` ends the open ones when the server stops.

A request's header block is read as http.server reads it (the same line and count limits, the same
errors) but parsed without the email package when every line is a plain `Name: value` line
(`parse_header_lines`): the email parser cost a sixth of the sandbox's CPU per request, and for a
multipart request it compiled a regular expression with the request's own boundary, every time. Any other
block (folded lines, a bare CR, a name the email parser would not take) goes to the email parser as before,
so `self.headers` holds the same names and values either way.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.utils
import http.client
import io
import re
import socket
import threading
import time
from http import HTTPStatus
from typing import Any

import werkzeug.serving
from werkzeug.serving import DechunkedInput, WSGIRequestHandler

IDLE_TIMEOUT = 120.0  # seconds a kept-alive connection may wait for its next request
DRAIN_TIMEOUT = 10.0  # seconds between bytes while dropping a body the app did not read
WRITE_BUFFER = 64 * 1024  # bytes of an answer gathered before a send (KeepAliveHandler.wbufsize)
DRAIN_LIMIT = 10_000_000_000  # as werkzeug: beyond this, a body left unread closes the connection
# what werkzeug counts as the client going away (its TLS EOF included when ssl is there)
DROPPED_ERRORS: tuple[type[Exception], ...] = getattr(werkzeug.serving, "connection_dropped_errors",
                                                      (ConnectionError, socket.timeout))


MAX_HEADER_LINE = 65536  # as http.client's _MAXLINE: a longer header line is 431 "Line too long"
MAX_HEADERS = 100  # as http.client's _MAXHEADERS: more lines are 431 "Too many headers"
_date_cache: tuple[int, str] = (-1, "")  # (second, its Date header value): see date_time_string
# A line the email parser takes as one header as it stands: a name of the characters it allows in one
# (printable ASCII but `:`), a colon, a value without CR or LF, one line break.
_PLAIN_HEADER = re.compile(r"([!-9;-~]+):[ \t]*([^\r\n]*)\r?\n")


def read_header_lines(rfile: Any) -> list[bytes]:
    """The header block's lines up to and with the blank line (or the end), as http.client reads them:
    LineTooLong / HTTPException (its own exceptions, messages and limits) past the limits."""
    lines = []
    while True:
        line = rfile.readline(MAX_HEADER_LINE + 1)
        if len(line) > MAX_HEADER_LINE:
            raise http.client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
        if line in (b"\r\n", b"\n", b""):
            return lines


def parse_header_lines(lines: list[bytes], message_class: type = http.client.HTTPMessage) -> Any:
    """The message http.client.parse_headers makes of these lines (module docstring): built directly when
    every line is a plain header line, else by the email parser."""
    message = message_class()
    for line in lines[:-1]:
        match = _PLAIN_HEADER.fullmatch(line.decode("iso-8859-1"))
        if match is None:
            return email.parser.Parser(_class=message_class).parsestr(b"".join(lines).decode("iso-8859-1"))
        message[match[1]] = match[2]
    return message


class BoundedInput(io.RawIOBase):
    """`wsgi.input` of one request: at most its Content-Length of the connection's bytes, so the next
    request's bytes are never read as this one's body, and what is left can be dropped (`drain`)."""

    def __init__(self, rfile: Any, length: int) -> None:
        super().__init__()
        self._rfile = rfile
        self.remaining = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.remaining <= 0:
            return 0
        view = memoryview(buffer)[: self.remaining]
        count = self._rfile.readinto(view) or 0
        if count == 0:  # the client went away mid-body: nothing more will come
            self.remaining = 0
        self.remaining -= count
        return count

    def readline(self, size: int | None = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        limit = self.remaining if size is None or size < 0 else min(size, self.remaining)
        line = self._rfile.readline(limit)
        self.remaining = self.remaining - len(line) if line else 0
        return line

    def drain(self) -> bool:
        """Read and drop the rest of the body; whether it all came (the connection can then be reused)."""
        if self.remaining > DRAIN_LIMIT:
            return False
        while self.remaining > 0:
            dropped = self._rfile.read(min(self.remaining, 1 << 20))
            if not dropped:
                return False
            self.remaining -= len(dropped)
        return True


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's request handler, keeping HTTP/1.1 connections alive between requests (module docstring)."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT  # socketserver applies it to the connection; a request itself runs without one
    # Answers are buffered and sent by the flush after each write of the app's (and after each request, by
    # http.server): an answer's headers and a body up to this size leave in one send, not two.
    wbufsize = WRITE_BUFFER
    connections: set[socket.socket]  # the open connections, for `close_all` (each server's own subclass)
    connections_lock: threading.Lock

    def setup(self) -> None:
        super().setup()
        # The headers and a large body (past WRITE_BUFFER) are two writes: with Nagle's algorithm on, the
        # second waits for the client's (delayed) ACK of the first, some 40 ms per answer on a kept-alive
        # connection (a closed one flushed at once).
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.connections_lock:
            self.connections.add(self.connection)

    def finish(self) -> None:
        with self.connections_lock:
            self.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:  # closing wfile flushed an answer the client went away from: nothing to tell
            self.rfile.close()

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header's value, as http.server's, formatted once per second rather than per answer."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        global _date_cache
        second = int(time.time())
        cached = _date_cache
        if cached[0] != second:
            cached = _date_cache = (second, email.utils.formatdate(second, usegmt=True))
        return cached[1]

    def parse_request(self) -> bool:
        """http.server's parse_request (the same in Python 3.11 to 3.13), the headers read with
        `read_header_lines` and parsed with `parse_header_lines` (module docstring)."""
        self.command = None  # type: ignore[assignment]  # set in case of error on the first line
        self.request_version = version = self.default_request_version
        self.close_connection = True
        requestline = str(self.raw_requestline, "iso-8859-1")
        requestline = requestline.rstrip("\r\n")
        self.requestline = requestline
        words = requestline.split()
        if len(words) == 0:
            return False
        if len(words) >= 3:  # Enough to determine protocol version
            version = words[-1]
            try:
                if not version.startswith("HTTP/"):
                    raise ValueError
                base_version_number = version.split("/", 1)[1]
                version_number = base_version_number.split(".")
                if len(version_number) != 2:
                    raise ValueError
                if any(not component.isdigit() for component in version_number):
                    raise ValueError("non digit in http version")
                if any(len(component) > 10 for component in version_number):
                    raise ValueError("unreasonable length http version")
                major_minor = int(version_number[0]), int(version_number[1])
            except (ValueError, IndexError):
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request version ({version!r})")
                return False
            if major_minor >= (1, 1) and self.protocol_version >= "HTTP/1.1":
                self.close_connection = False
            if major_minor >= (2, 0):
                self.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({base_version_number})")
                return False
            self.request_version = version
        if not 2 <= len(words) <= 3:
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({requestline!r})")
            return False
        command, path = words[:2]
        if len(words) == 2:
            self.close_connection = True
            if command != "GET":
                self.send_error(HTTPStatus.BAD_REQUEST, f"Bad HTTP/0.9 request type ({command!r})")
                return False
        self.command, self.path = command, path
        if self.path.startswith("//"):  # gh-87389: no open redirect through a //path
            self.path = "/" + self.path.lstrip("/")
        try:
            self.headers = parse_header_lines(read_header_lines(self.rfile), self.MessageClass)
        except http.client.LineTooLong as err:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", str(err))
            return False
        except http.client.HTTPException as err:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers", str(err))
            return False
        conntype = self.headers.get("Connection", "")
        if conntype.lower() == "close":
            self.close_connection = True
        elif conntype.lower() == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        expect = self.headers.get("Expect", "")
        if (expect.lower() == "100-continue" and self.protocol_version >= "HTTP/1.1"
                and self.request_version >= "HTTP/1.1"):
            if not self.handle_expect_100():
                return False
        return True

    def handle_expect_100(self) -> bool:
        """Send nothing here: `_run_wsgi` sends the `100 Continue`, as werkzeug's run_wsgi does. On an
        HTTP/1.1 connection http.server's parse_request also sent one from here: the client got two."""
        return True

    def run_wsgi(self) -> None:
        self.connection.settimeout(None)  # as werkzeug: no timeout while a request is under way
        try:
            self._run_wsgi()
        finally:
            if not self.close_connection:
                self.connection.settimeout(IDLE_TIMEOUT)

    def _run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()  # now: the client waits for it before it sends the body
        self.environ = environ = self.make_environ()
        body: BoundedInput | None = None
        if isinstance(environ["wsgi.input"], DechunkedInput):
            self.close_connection = True  # where a chunked body ends is the app's business: no reuse
        else:
            try:
                length = max(0, int(environ.get("CONTENT_LENGTH") or 0))
            except ValueError:
                length, self.close_connection = 0, True
            body = BoundedInput(self.rfile, length)
            environ["wsgi.input"] = body
        status_set: str | None = None
        headers_set: list[tuple[str, str]] | None = None
        status_sent: str | None = None
        chunk_response = False

        def write(data: bytes) -> None:
            nonlocal status_sent, chunk_response
            assert status_set is not None, "write() before start_response"
            assert headers_set is not None, "write() before start_response"
            if status_sent is None:
                status_sent = status_set
                code_str, _, msg = status_sent.partition(" ")
                code = int(code_str)
                self.send_response(code, msg)
                header_keys = set()
                for key, value in headers_set:
                    self.send_header(key, value)
                    header_keys.add(key.lower())
                    if key.lower() == "connection" and value.lower() == "close":
                        self.close_connection = True
                if not ("content-length" in header_keys or environ["REQUEST_METHOD"] == "HEAD"
                        or 100 <= code < 200 or code in {204, 304}):
                    chunk_response = True
                    self.send_header("Transfer-Encoding", "chunked")
                if self.close_connection and "connection" not in header_keys:
                    self.send_header("Connection", "close")
                self.end_headers()
            assert isinstance(data, bytes), "applications must write bytes"
            if data:
                if chunk_response:
                    self.wfile.write(f"{len(data):x}\r\n".encode())
                self.wfile.write(data)
                if chunk_response:
                    self.wfile.write(b"\r\n")
            self.wfile.flush()

        def start_response(status, headers, exc_info=None):
            nonlocal status_set, headers_set
            if exc_info:
                try:
                    if status_sent is not None:
                        raise exc_info[1].with_traceback(exc_info[2])
                finally:
                    exc_info = None
            elif headers_set:
                raise AssertionError("Headers already set")
            status_set, headers_set = status, headers
            return write

        def execute(app: Any) -> None:
            application_iter = app(environ, start_response)
            try:
                for data in application_iter:
                    write(data)
                if status_sent is None:
                    write(b"")
                if chunk_response:
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
            finally:
                if hasattr(application_iter, "close"):
                    application_iter.close()

        try:
            execute(self.server.app)
        except DROPPED_ERRORS as exc:
            self.close_connection = True
            self.connection_dropped(exc, environ)
            return
        except Exception as exc:
            from werkzeug.exceptions import InternalServerError

            self.close_connection = True
            if self.server.passthrough_errors:
                raise
            with contextlib.suppress(Exception):
                if status_sent is None:
                    status_set = headers_set = None
                    execute(InternalServerError())
            from werkzeug.debug.tbtools import DebugTraceback

            self.server.log("error", f"Error on request:\n{DebugTraceback(exc).render_traceback_text()}")
            return
        if body is not None and not self.close_connection:
            # The rest of a body the app did not read (an early refusal): dropped, so the next request line
            # is where the client put it. A client that stops sending it loses the connection.
            self.connection.settimeout(DRAIN_TIMEOUT)
            try:
                if not body.drain():
                    self.close_connection = True
            except OSError:
                self.close_connection = True


def handler_class(base: type[KeepAliveHandler] = KeepAliveHandler) -> type[KeepAliveHandler]:
    """A handler class of its own for one server, with the set of its open connections."""
    return type(base.__name__, (base,), {"connections": set(), "connections_lock": threading.Lock()})


def close_all(handler: type[KeepAliveHandler]) -> None:
    """End the server's open connections (kept-alive ones wait for a next request that will not come)."""
    with handler.connections_lock:
        open_now = list(handler.connections)
    for sock in open_now:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
