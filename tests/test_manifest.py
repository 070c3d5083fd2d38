"""A 2,000-note synthetic vault from ../shared/tools/make_vault.py checked note by note against its manifest.

The manifest (``.vault-manifest.json``, semantics in the tool's docstring) is
the ground truth: body links (``where == "body"``) in order with target, kind,
heading, alias and resolution; tags as the sorted union of frontmatter and
inline tags; inline tags in order. Links written inside the ``FeedbackLoop``
prose property are not Obsidian links and must not appear.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vaultkit.scan import display_text
from vaultkit.vault import Vault

from .conftest import MAKE_VAULT, need

KIND = {"link": "wikilink", "alias": "wikilink", "heading": "wikilink", "heading_alias": "wikilink",
        "embed": "embed"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Vault, dict]:
    out = tmp_path_factory.mktemp("synthetic") / "v2000"
    # small notes keep the test quick (~4 s to write, ~3 s to load); the link and tag mix is the same
    subprocess.run(
        [sys.executable, str(need(MAKE_VAULT)), str(out), "--notes", "2000", "--seed", "7",
         "--median-kb", "6", "--min-kb", "3", "--max-kb", "12"],
        check=True, capture_output=True,
    )
    manifest = json.loads((out / ".vault-manifest.json").read_text(encoding="utf-8"))
    return Vault.load(out), manifest


def test_manifest_is_the_expected_vault(generated):
    vault, manifest = generated
    assert manifest["summary"]["notes"] == 2000 == len(vault.notes)
    assert manifest["summary"]["links_body"] > 10000
    assert manifest["summary"]["invalid_yaml_notes"] > 0 and manifest["summary"]["bom_notes"] > 0


def test_body_links_match_manifest_note_by_note(generated):
    vault, manifest = generated
    checked = 0
    for entry in manifest["notes"]:
        note = vault.notes[entry["path"]]
        want = [lk for lk in entry.get("links", []) if lk["where"] == "body"]
        got = [lk for lk in note.links if lk.kind != "frontmatter"]
        assert len(got) == len(want), (entry["path"], [g.target for g in got], [w["target"] for w in want])
        for w, g in zip(want, got):
            where = (entry["path"], g.line, w)
            assert g.target == w["target"], where
            assert g.kind == KIND[w["kind"]], where
            assert g.heading == w.get("heading"), where
            assert g.alias == w.get("alias"), where
            assert not g.in_comment, where
            if w.get("missing"):
                assert g.resolved is None, where
            elif w.get("ambiguous"):
                # Obsidian still picks one by its tie-break; vaultkit flags the choice
                assert g.ambiguous and g.resolved in w["candidates"], where
                assert set(g.candidates) == set(w["candidates"]), where
            else:
                assert g.resolved == w["resolved"], where
            if w["kind"] in ("alias", "heading_alias"):
                assert display_text(g) == w["alias"], where
            checked += 1
    assert checked == manifest["summary"]["links_body"]


def test_feedback_loop_prose_links_are_not_links(generated):
    vault, manifest = generated
    prose_notes = [e for e in manifest["notes"] if any(lk["where"] != "body" for lk in e.get("links", []))]
    assert len(prose_notes) > 100
    for entry in prose_notes:
        note = vault.notes[entry["path"]]
        assert not [lk for lk in note.links if lk.kind == "frontmatter"], entry["path"]
        fm = note.frontmatter
        if fm is not None and isinstance(fm.get("FeedbackLoop"), str):
            assert "[[" in fm["FeedbackLoop"]  # the text is there, as property text only


def test_tags_match_manifest_note_by_note(generated):
    vault, manifest = generated
    for entry in manifest["notes"]:
        note = vault.notes[entry["path"]]
        assert sorted(note.tags) == sorted(entry.get("tags", [])), entry["path"]
        body = [t.name for t in note.tag_uses if t.source == "body"]
        assert body == entry.get("inline_tags", []), entry["path"]
        if entry.get("yaml_invalid"):
            assert note.frontmatter_error and not [t for t in note.tag_uses if t.source == "frontmatter"]
        else:
            fm = [t.name for t in note.tag_uses if t.source == "frontmatter"]
            assert fm == [t[1:] if t.startswith("#") else t for t in entry.get("fm_tags", [])], entry["path"]


def test_headings_bom_crlf_match_manifest(generated):
    vault, manifest = generated
    for entry in manifest["notes"]:
        note = vault.notes[entry["path"]]
        assert [h.text for h in note.headings] == entry.get("headings", []), entry["path"]
        assert note.bom is bool(entry.get("bom")), entry["path"]
        assert (note.newline == "\r\n") is bool(entry.get("crlf")), entry["path"]
        invalid = [d for d in note.diagnostics if d.code == "VK001"]
        assert bool(invalid) is bool(entry.get("yaml_invalid")), entry["path"]
        assert all(d.line >= 2 and d.path == entry["path"] for d in invalid)
