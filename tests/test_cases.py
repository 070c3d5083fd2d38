"""Every case of ../shared/cases/ read from that folder: expected.yaml values through `vaultkit show`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from vaultkit.cli import cli

from .conftest import CASES, need

CASE_DIRS = sorted(p for p in need(CASES).iterdir() if (p / "expected.yaml").is_file())
LINK_KEYS = ("target", "kind", "resolved", "heading", "block", "alias")


def _show(vault: Path) -> dict[str, dict]:
    result = CliRunner().invoke(cli, ["show", str(vault), "--format", "json"])
    assert result.exit_code == 0, result.output
    return {n["path"]: n for n in json.loads(result.output)["notes"]}


@pytest.mark.parametrize("case", CASE_DIRS, ids=[p.name for p in CASE_DIRS])
def test_case_expected_values(case: Path) -> None:
    expected = yaml.safe_load((case / "expected.yaml").read_text(encoding="utf-8"))
    got = _show(case / "vault")
    for path, want in (expected.get("notes") or {}).items():
        assert path in got, f"{case.name}: note {path} missing from the model"
        note = got[path]
        if "frontmatter" in want:
            assert note["frontmatter"] == want["frontmatter"], path
            assert note["frontmatter_error"] is False, path
        if want.get("frontmatter_error"):
            assert note["frontmatter_error"] is True, path
            assert note["frontmatter"] is None, path
        if "tags" in want:
            assert note["tags"] == sorted(want["tags"]), path
        if "comment_tags" in want:
            assert note["comment_tags"] == sorted(want["comment_tags"]), path
        if "links" in want:
            got_links = []
            for link in note["links"]:
                item = {k: link[k] for k in LINK_KEYS if k in link}
                if link.get("in_comment"):
                    item["in_comment"] = True
                got_links.append(item)
            assert got_links == [dict(x) for x in want["links"]], path
            for link in note["links"]:
                assert isinstance(link["line"], int) and link["line"] >= 1
