"""transfer/receiving.py on its own: safe names for any server text, the run's name picker, an interrupted
download (Ctrl-C half way) leaving nothing behind, error bodies read only so far, against real loopback servers."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mediactl.errors import LocalError, NotFoundError
from mediactl.http import ApiClient
from mediactl.runtime import Runtime
from mediactl.transfer import receiving
from tests.httpserver import Reply, ScriptedServer


@given(st.text(max_size=300))
def test_safe_name_of_any_text_is_a_plain_base_name(name):
    safe = receiving.safe_name(name, "42")
    assert safe and "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert not safe.startswith(("-", ".")) and safe not in (".", "..")
    assert all(ord(ch) >= 0x20 and not 0x7F <= ord(ch) <= 0x9F for ch in safe)
    assert len(safe.encode()) <= receiving.MAX_NAME_BYTES


def test_safe_name_examples_and_the_name_picker(tmp_path):
    assert receiving.safe_name("../../etc/passwd", "1") == "passwd"
    assert receiving.safe_name("..\\..\\win.ini", "1") == "win.ini"
    assert receiving.safe_name("\x1b[31mred\x07.txt", "1") == "[31mred.txt"
    assert receiving.safe_name("--rm -rf", "1") == "rm -rf"
    assert receiving.safe_name("..", "7") == "7" and receiving.safe_name("", "a/b") == "ab"
    picker = receiving.NamePicker()
    assert [picker.pick(n, i) for n, i in (("a.png", "1"), ("A.png", "2"), ("a.png", "3"), ("README", "4"),
                                           ("README", "5"))] == ["a.png", "A (2).png", "a (3).png", "README",
                                                                 "README (5)"]
    assert receiving.target_in(tmp_path, "x.txt") == tmp_path / "x.txt"
    for bad in ("..", "a/b", "", "."):
        with pytest.raises(LocalError):
            receiving.target_in(tmp_path, bad)


def client_for(url: str, retries: int = 0) -> ApiClient:
    rt = Runtime(stdout=io.StringIO(), stderr=io.StringIO(), retries=retries)
    return ApiClient(rt, provider="toy", base_url=url, auth_headers={"Authorization": "Bearer secret-token"})


def test_ctrl_c_half_way_leaves_no_file_and_no_part(tmp_path):
    body = os.urandom(4 * 1024 * 1024)
    with ScriptedServer(lambda req, n: Reply(200, body)) as server:
        target = tmp_path / "big.bin"
        seen = []

        def progress(n: int) -> None:
            seen.append(n)
            if sum(seen) > len(body) // 3:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            receiving.download(client_for(server.url), server.url + "/big.bin", target, progress=progress)
    assert list(tmp_path.iterdir()) == []


def test_error_bodies_are_read_only_so_far_and_nothing_is_written(tmp_path):
    huge = b'{"message": "gone"}' + b" " * (100 * 1024)  # more than the 64 KiB read of an error answer
    with ScriptedServer(lambda req, n: Reply(404, huge, {"Content-Type": "application/json"})) as server:
        with pytest.raises(NotFoundError) as info:
            receiving.download(client_for(server.url), server.url + "/x", tmp_path / "x")
    assert "gone" in info.value.message and list(tmp_path.iterdir()) == []


def test_existing_file_is_kept_and_a_redirect_to_another_host_gets_no_credentials(tmp_path):
    with ScriptedServer(lambda req, n: Reply(200, b"cdn bytes"), host="localhost") as cdn:
        with ScriptedServer(lambda req, n: Reply(302, b"", {"Location": cdn.url + "/file"})) as api:
            target = tmp_path / "f.txt"
            got = receiving.download(client_for(api.url), api.url + "/file", target)
            assert got.sha256 and target.read_bytes() == b"cdn bytes" and got.size == 9
            assert api.requests[0].headers["authorization"] == "Bearer secret-token"
            assert "authorization" not in cdn.requests[0].headers
            target.write_bytes(b"mine")
            kept = receiving.download(client_for(api.url), api.url + "/file", target)
            assert kept.skipped == "exists" and target.read_bytes() == b"mine"
            assert len(api.requests) == 1  # nothing was fetched for a file that exists
            direct = receiving.download(client_for(api.url), cdn.url + "/file", tmp_path / "g.txt")
            assert direct.size == 9 and "authorization" not in cdn.requests[-1].headers
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["f.txt", "g.txt"]
