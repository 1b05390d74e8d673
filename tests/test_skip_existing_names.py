"""--skip-existing where the provider shows names (issue 28): a skip needs the same name AND the same
bytes. Identical bytes under another name are uploaded under that name (Other Page: the name is part of
the key and URL; NationBuilder: the attachment's filename); where names do not show (OFAuth's vault),
the same bytes are still skipped."""

from __future__ import annotations

import json
import uuid

import pytest

BYTES = b"\x89PNG same bytes under two names"


def _upload(cli, *args: str) -> list[dict]:
    run = cli("-o", "json", *args, "--skip-existing")
    assert run.code == 0, run
    return json.loads(run.stdout)


@pytest.mark.parametrize("provider, where, name_field", [
    ("otherpage", "--community", "name"),
    ("nationbuilder", "--page", "filename"),
])
def test_same_bytes_under_another_name_are_uploaded_not_skipped(cli, sandbox, tmp_path, provider, where,
                                                                name_field):
    target = "skip-names-" + uuid.uuid4().hex[:8]
    (tmp_path / "d.png").write_bytes(BYTES)
    (tmp_path / "a.png").write_bytes(BYTES)
    [first] = _upload(cli, provider, "upload", str(tmp_path / "d.png"), where, target)
    assert not first.get("skipped")

    [other_name] = _upload(cli, provider, "upload", str(tmp_path / "a.png"), where, target)
    assert not other_name.get("skipped"), other_name  # a new record under its own name...
    assert other_name[name_field] in ("a-png", "a.png") and other_name["id"] != first["id"]

    [same_name] = _upload(cli, provider, "upload", str(tmp_path / "a.png"), where, target)
    assert same_name.get("skipped") and same_name["id"] == other_name["id"]  # ...and the same name is skipped

    plan = cli("-o", "json", provider, "upload", str(tmp_path / "d.png"), str(tmp_path / "a.png"),
               str(tmp_path / "a.png"), where, target, "--skip-existing", "--dry-run")
    assert [row["action"] for row in json.loads(plan.stdout)] == ["skip", "skip"], plan


def test_ofauth_vault_shows_no_names_so_the_same_bytes_are_skipped(cli, sandbox, tmp_path):
    data = b"\x89PNG vault " + uuid.uuid4().bytes
    (tmp_path / "d.png").write_bytes(data)
    (tmp_path / "a.png").write_bytes(data)
    [first] = _upload(cli, "ofauth", "upload", str(tmp_path / "d.png"))
    assert not first.get("skipped")
    [again] = _upload(cli, "ofauth", "upload", str(tmp_path / "a.png"))
    assert again.get("skipped"), again
