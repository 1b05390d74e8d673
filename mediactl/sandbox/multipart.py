"""A streaming multipart/form-data reader for the sandbox's S3 POST endpoint.

It reads the grammar werkzeug's `MultipartDecoder` reads, and gives the same parts, names, file names and
bytes, without compiling two regular expressions per request (each holds the request's own boundary, so
the `re` cache never hit: a sixth of the sandbox's CPU time per upload). A delimiter is found with
`bytes.find` on `--boundary`, then checked by hand:

- line breaks may be CRLF, LF or CR (as werkzeug; RFC 7578 says CRLF, some clients differ);
- the first delimiter may follow a preamble (which is dropped), and need not start a line;
- a later one is `LB--boundary` followed by optional whitespace and a line break, or the close delimiter
  `LB--boundary--` (optional whitespace and line break after it); anything else is part of the data;
- a part's headers end at the first blank line; continuation lines are joined; the part needs a
  Content-Disposition header with a `name` (werkzeug handed a part without one on as named None);
- whatever follows the close delimiter (the epilogue) is not read.

`read_parts` yields `("part", name, filename)` (filename None when the part has no `filename=`) and then
the part's bytes as `("data", chunk, more)` events, `more` False on its last chunk (which may be empty).
A body that ends before the close delimiter, a part without Content-Disposition or name, headers that are
not UTF-8 and more than `max_parts` parts raise `MalformedMultipart`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from werkzeug.http import parse_options_header

CHUNK = 256 * 1024
_WHITESPACE = b" \t\x0b\x0c"  # what werkzeug's `[^\S\n\r]` matches in bytes
_BLANK_LINE = re.compile(b"\r\n\r\n|\r\r|\n\n")
_LINE_BREAK = re.compile(b"\r\n|\n|\r")
_CONTINUATION = re.compile(b"(?:\r\n|\n|\r)[ \t]")
Event = tuple
# The Content-Disposition browsers and SDKs send, with nothing for parse_options_header to unquote or decode
# (no `"`, `\`, `%` in the values; no RFC 2231 `*`): its name and filename as they stand.
_PLAIN_DISPOSITION = re.compile(r'form-data; name="([^"\\%]*)"(?:; filename="([^"\\%]*)")?')


class MalformedMultipart(ValueError):
    """The body is not multipart/form-data the reader can take apart; the message says why."""


def _delimiter_end(buf: bytearray, after: int, eof: bool) -> tuple[int, bool] | None:
    """Where the delimiter whose `--boundary` ends at `after` ends and whether it is the close delimiter;
    None when it is no delimiter (neither `--` nor whitespace and a line break follow the boundary);
    (-1, False) when the buffer ends before that can be told."""
    size = len(buf)
    if after < size and buf[after] == 0x2D:  # `-`
        if after + 1 < size:
            return (after + 2, True) if buf[after + 1] == 0x2D else None  # the close delimiter: the rest is epilogue
        return None if eof else (-1, False)
    i = after
    while i < size and buf[i] in _WHITESPACE:
        i += 1
    if i >= size:
        return None if eof else (-1, False)
    if buf[i] == 0x0A:
        return i + 1, False
    if buf[i] == 0x0D:
        if i + 1 < size:
            return (i + 2 if buf[i + 1] == 0x0A else i + 1), False
        return (i + 1, False) if eof else (-1, False)
    return None


def _line_start(buf: bytearray, at: int) -> int:
    """Where the line break before the `--boundary` at `at` starts (CRLF, LF or CR)."""
    return at - 2 if at >= 2 and buf[at - 1] == 0x0A and buf[at - 2] == 0x0D else at - 1


def _part_header(raw: bytes) -> tuple[str, str | None]:
    """The name and file name of a part from its header block."""
    disposition = None
    for line in _CONTINUATION.sub(b" ", raw).splitlines():
        line = line.strip(b" \t")
        if not line:
            continue
        try:
            name, _, value = line.decode().partition(":")
        except UnicodeDecodeError:
            raise MalformedMultipart("a part's headers are not UTF-8") from None
        if name.strip(" \t").lower() == "content-disposition":
            if disposition is None:
                disposition = value.strip(" \t")
    if disposition is None:
        raise MalformedMultipart("Missing Content-Disposition header")
    plain = _PLAIN_DISPOSITION.fullmatch(disposition)
    if plain is not None:  # what parse_options_header gives for it, at a quarter of the cost
        return plain[1], plain[2]
    _, options = parse_options_header(disposition)
    if options.get("name") is None:
        raise MalformedMultipart("a part's Content-Disposition has no name")
    return options["name"], options.get("filename")


def read_parts(read: Callable[[int], bytes], boundary: bytes, *, max_parts: int = 1000,
               chunk: int = CHUNK) -> Iterator[Event]:
    """The parts of the body `read` returns, `chunk` bytes asked at a time (module docstring)."""
    dash = b"--" + boundary
    keep = len(dash) + 2  # bytes at the end of the buffer that may be the start of a delimiter
    buf = bytearray()
    eof = False
    parts = 0

    def more() -> None:
        nonlocal eof
        if eof:
            raise MalformedMultipart("the body ends before the form's closing boundary")
        data = read(chunk)
        if data:
            buf.extend(data)
        else:
            eof = True

    # the preamble: up to the first `--boundary` with a line break (or `--`) after it
    search = 0
    while True:
        at = buf.find(dash, search)
        if at < 0:  # the preamble so far is dropped, but for what may be the start of a boundary
            del buf[: max(0, len(buf) - len(dash))]
            search = 0
            more()
            continue
        end = _delimiter_end(buf, at + len(dash), eof)
        if end is None:
            search = at + 1
            continue
        if end[0] < 0:
            search = at
            more()
            continue
        del buf[: end[0]]
        if end[1]:
            return
        break
    while True:
        # a part's headers, up to the blank line
        search = 0
        while True:
            blank = _BLANK_LINE.search(buf, search)
            if blank is not None:
                break
            search = max(0, len(buf) - 3)
            more()
        parts += 1
        if parts > max_parts:
            raise MalformedMultipart(f"more than {max_parts} parts")
        name, filename = _part_header(bytes(buf[: blank.start()]))
        del buf[: (blank.start() + blank.end()) // 2]
        # the bytes start after the blank line's second line break, which is also the line break of a
        # delimiter right after it (an empty part)
        if len(buf) < 2 and not eof:  # a CR alone or the first of a CRLF: tell which
            more()
        first = _LINE_BREAK.match(buf)
        skip = first.end() if first else 0
        yield ("part", name, filename)
        # its bytes, up to the next delimiter (one at 0 has no line break before it: it is data)
        while True:
            at = buf.find(dash, 1)
            end = None
            while at > 0:
                if buf[at - 1] in (0x0A, 0x0D):
                    end = _delimiter_end(buf, at + len(dash), eof)
                    if end is not None:
                        break
                at = buf.find(dash, at + 1)
            if end is not None and end[0] >= 0:
                yield ("data", bytes(buf[skip: _line_start(buf, at)]), False)
                del buf[: end[0]]
                if end[1]:
                    return
                break
            if end is not None:  # a delimiter the buffer ends too soon to tell: the bytes before its line break
                upto = _line_start(buf, at)
            else:  # none: what cannot be the start of one
                upto = len(buf)
                tail = max(0, len(buf) - keep)
                for byte in (b"\r", b"\n"):
                    pos = buf.find(byte, tail)
                    if 0 <= pos < upto:
                        upto = pos
            if upto > skip:
                yield ("data", bytes(buf[skip:upto]), True)
                del buf[:upto]
                skip = 0
            more()
