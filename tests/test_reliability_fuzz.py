"""Property tests: the streamed base64 JSON body for any bytes and any file name, and settings precedence
for any combination of sources."""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mediactl.config import ConfigStore, Settings
from mediactl.runtime import Runtime
from tests.bodies import stream_base64_json

names = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60) | st.sampled_from(
    ['a"b.txt', "back\\slash.png", "tab\tnew\nline", "\u2603.gif", "\x00nul"])


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=5000), name=names, chunk=st.sampled_from([3, 6, 999, 3 * 1024]),
       read_size=st.integers(1, 7000))
def test_base64_json_body_is_valid_exact_and_decodes(data, name, chunk, read_size):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f"
        path.write_bytes(data)
        out, declared = stream_base64_json(
            path, {"attachment": {"filename": name, "updated_at": "2026-01-01T00:00:00+00:00", "content": None}},
            ["attachment", "content"], chunk=chunk, read_size=read_size)
    assert declared == len(out)
    doc = json.loads(bytes(out))
    assert doc["attachment"]["filename"] == name
    assert base64.b64decode(doc["attachment"]["content"], validate=True) == data


values = st.one_of(st.none(), st.text(alphabet="abcdefghij-_.0123456789", min_size=1, max_size=12))


@settings(max_examples=80, deadline=None)
@given(option=values, env=values, file=values)
def test_settings_precedence_option_env_file_default(option, env, file):
    with tempfile.TemporaryDirectory() as tmp:
        store = ConfigStore(Path(tmp))
        if file is not None:
            store.update(False, "default", "ofauth", {"base_url": file})
        saved = os.environ.pop("MEDIACTL_OFAUTH_BASE_URL", None)
        if env is not None:
            os.environ["MEDIACTL_OFAUTH_BASE_URL"] = env
        try:
            resolved = Settings(Runtime(config_dir=Path(tmp))).resolve("ofauth", "base_url", option)
        finally:
            os.environ.pop("MEDIACTL_OFAUTH_BASE_URL", None)
            if saved is not None:
                os.environ["MEDIACTL_OFAUTH_BASE_URL"] = saved
    expected = next(((v, s) for v, s in ((option, "option"), (env, "env"), (file, "config.toml")) if v is not None),
                    ("https://api-next.ofauth.com", "default"))
    assert (resolved.value, resolved.source) == expected
