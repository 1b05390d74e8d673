"""Reading a streamed body the way an HTTP client would, for the base64 tests."""

from __future__ import annotations

from pathlib import Path

from mediactl.transfer.bodies import Base64JsonBody, json_envelope


def stream_base64_json(path: Path, document: dict, content_path: list[str], *, chunk: int,
                       read_size: int) -> tuple[bytes, int]:
    """(the bytes the body yields when read `read_size` at a time, the length it declared up front)"""
    prefix, suffix = json_envelope(document, content_path)
    body = Base64JsonBody(path, prefix, suffix, chunk=chunk)
    declared = body.len
    out = bytearray()
    while piece := body.read(read_size):
        out += piece
    body.close()
    return bytes(out), declared
