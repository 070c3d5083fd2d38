"""The rule registry: every code has a rule with a complete doc, and a failing and a passing example note."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

from vaultkit.codes import CODES
from vaultkit.lint import LintOptions, lint
from vaultkit.rules import DOC_HEADINGS, REGISTRY, UnknownRuleError, get, select_codes
from vaultkit.rules.generated import body_hash, get_freshness_check, hash_freshness, set_freshness_check
from vaultkit.vault import Vault

FIXTURES = Path(__file__).parent / "fixtures" / "lint"

#: code → the (note, line) of every finding expected in that code's fixture vault.
EXPECTED: dict[str, list[tuple[str, int]]] = {
    "VK001": [("fail.md", 2)],
    "VK002": [("fail.md", 2)],
    "VK003": [("fail.md", 4)],
    "VK004": [("fail.md", 4)],
    "VK005": [("fail.md", 1)],
    "VK006": [("fail.md", 5)],
    "VK007": [("fail.md", 3)],
    "VK101": [("fail.md", 3)],
    "VK102": [("fail.md", 1)],
    "VK103": [("fail.md", 2)],
    "VK104": [("fail.md", 1)],
    "VK105": [("fail.md", 1)],
    "VK201": [
        ("fail_index.md", 3),
        ("fail_technique.md", 4), ("fail_technique.md", 5), ("fail_technique.md", 6), ("fail_technique.md", 7),
        ("fail_tier.md", 3), ("fail_tier.md", 4),
        ("knowledge/fail.md", 1), ("knowledge/fail.md", 2), ("knowledge/fail.md", 9), ("knowledge/fail.md", 12),
    ],
    "VK202": [("fail.md", 3), ("fail.md", 4)],
    "VK203": [("fail.md", 3)],
    "VK204": [("fail.md", 3), ("fail.md", 4)],
    "VK205": [("fail.md", 2), ("fail.md", 3)],
    "VK206": [("fail.md", 4)],
    "VK207": [("fail.md", 3), ("fail.md", 4), ("fail.md", 5)],
    "VK301": [("fail.md", 6)],
    "VK302": [("fail.md", 4)],
    "VK303": [("fail.md", 3)],
    "VK304": [("fail.md", 3)],
    "VK305": [("fail.md", 4)],
    "VK306": [("fail.md", 4), ("fail.md", 5)],
    "VK401": [("_vaultkit/fail.md", 1), ("_vaultkit/fail_sync.md", 1)],
    "VK402": [("fail.md", 3), ("fail_edited.md", 3)],
}


@pytest.fixture(autouse=True)
def _hash_only_freshness():
    """The VK401 fixture notes are hand-made: judge them by their marker hash alone.

    (The default check also compares with what sync would plan; tests/test_lint.py covers that.)
    """
    previous = set_freshness_check(hash_freshness)
    yield
    set_freshness_check(previous)


def _run(code: str, **kw):
    return lint(Vault.load(FIXTURES / code), LintOptions(select=[code], **kw))


def test_every_code_is_a_registered_rule() -> None:
    assert list(REGISTRY) == sorted(CODES)
    for code, (name, severity) in CODES.items():
        r = REGISTRY[code]
        assert (r.name, r.severity) == (name, severity)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", r.name), r.name


def test_every_rule_has_examples_and_expectations() -> None:
    assert sorted(EXPECTED) == sorted(REGISTRY)
    for code in REGISTRY:
        folder = FIXTURES / code
        names = [p.name for p in folder.rglob("*.md")]
        assert any(n.startswith("fail") for n in names), f"{code}: no failing example note"
        assert any(n.startswith("pass") for n in names), f"{code}: no passing example note"


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_rule_doc_is_complete(code: str) -> None:
    r = REGISTRY[code]
    assert r.summary and "\n" not in r.summary and r.summary.endswith("."), r.summary
    found = r.headings()
    missing = [h for h in DOC_HEADINGS if h not in found]
    assert not missing, f"{code} doc lacks {missing}"
    order = [h for h in found if h in DOC_HEADINGS]
    assert order == list(DOC_HEADINGS), f"{code} headings out of order: {order}"
    sections = re.split(r"\n.+\n-+\n", "\n" + r.doc + "\n")
    assert all(s.strip() for s in sections[1:]), f"{code}: an empty section"
    assert r.fix in ("none", "sometimes", "always")


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_rule_fails_on_bad_note_and_passes_good_one(code: str) -> None:
    result = _run(code)
    got = [(d.path, d.line) for d in result.diagnostics]
    assert got == EXPECTED[code]
    for d in result.diagnostics:
        assert d.code == code
        assert d.path.rsplit("/", 1)[-1].startswith("fail"), d
        assert d.severity == CODES[code][1]
        assert d.message


def test_rules_report_nothing_else_on_their_passing_notes() -> None:
    """The passing notes are clean under every rule, not only their own."""
    for code in REGISTRY:
        vault = Vault.load(FIXTURES / code)
        passing = [p for p in vault.notes if p.rsplit("/", 1)[-1].startswith("pass")]
        result = lint(vault, LintOptions(paths=passing))
        noisy = [(d.path, d.code, d.message) for d in result.diagnostics]
        assert noisy == [], f"{code}: {noisy}"


def test_links_inside_comments_are_not_reported() -> None:
    vault = Vault.load(FIXTURES / "VK101")
    commented = [link for link in vault.notes["pass.md"].links if link.in_comment]
    assert [link.target for link in commented] == ["Not Yet Written"]
    assert commented[0].resolved is None
    assert lint(vault, LintOptions(select=["VK1"], paths=["pass.md"])).diagnostics == []


def test_mojibake_rule_is_silent_without_the_encoding_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vaultkit.encoding", None)  # import now raises ImportError
    assert _run("VK006").diagnostics == []


def test_mojibake_rule_accepts_tuples_from_the_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("vaultkit.encoding")
    fake.find_mojibake = lambda text: [(5, 1, "Ã©", "é")] if "Ð" in text else []
    monkeypatch.setitem(sys.modules, "vaultkit.encoding", fake)
    result = _run("VK006")
    assert [(d.path, d.line, d.col) for d in result.diagnostics] == [("fail.md", 5, 1)]
    assert "'é'" in result.diagnostics[0].message


def test_freshness_check_is_a_replaceable_hook() -> None:
    calls = []

    def always_stale(ctx, note):
        calls.append(note.path)
        return "stale by decree"

    previous = set_freshness_check(always_stale)
    try:
        result = _run("VK401")
    finally:
        set_freshness_check(previous)
    assert get_freshness_check() is previous
    # only notes in the output folder with the marker are asked
    assert sorted(calls) == ["_vaultkit/fail.md", "_vaultkit/fail_sync.md", "_vaultkit/pass.md",
                             "_vaultkit/pass_no_hash.md", "_vaultkit/pass_sync.md"]
    assert [d.message for d in result.diagnostics] == ["stale by decree"] * 5


def test_body_hash_is_sha256_of_the_body_after_the_frontmatter() -> None:
    text = (FIXTURES / "VK401" / "_vaultkit" / "pass.md").read_text(encoding="utf-8")
    body = text.split("---\n", 2)[2]
    marker = re.search(r"hash: ([0-9a-f]{64})", text).group(1)
    assert body_hash(body) == marker


def test_sync_marker_hash_covers_the_whole_note() -> None:
    """``hash: "sha256:…"`` (the form vaultkit sync writes) changes when a property is edited."""
    from vaultkit.writer import content_hash

    text = (FIXTURES / "VK401" / "_vaultkit" / "pass_sync.md").read_text(encoding="utf-8")
    assert f'hash: "sha256:{content_hash(text)}"' in text
    edited = (FIXTURES / "VK401" / "_vaultkit" / "fail_sync.md").read_text(encoding="utf-8")
    assert edited.split("---\n", 2)[2] == text.split("---\n", 2)[2]  # same body, other properties


def test_text_tier_tables_are_not_tier_tables() -> None:
    """A "Level" column of words ranks nothing: no VK301 whether or not the tier reader takes it for tiers."""
    vault = Vault.load(FIXTURES / "VK301")
    assert len(vault.notes["pass.md"].tables) == 2
    assert lint(vault, LintOptions(select=["VK3"], paths=["pass.md"])).diagnostics == []


def test_select_and_ignore_by_prefix() -> None:
    assert select_codes(["VK1"], None) == ["VK101", "VK102", "VK103", "VK104", "VK105"]
    assert select_codes(None, ["VK1", "VK2", "VK3", "VK4"]) == [c for c in REGISTRY if c.startswith("VK0")]
    assert select_codes(["VK101"], ["VK1"]) == ["VK101"]  # the more specific selection wins
    assert select_codes(["ALL"], ["VK0"])[0] == "VK101"
    with pytest.raises(UnknownRuleError):
        select_codes(["VK9"], None)
    with pytest.raises(UnknownRuleError):
        get("VK999")
    assert get("vk101").code == "VK101"


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_fix_availability_matches_the_doc(code: str) -> None:
    r = REGISTRY[code]
    fix_section = r.doc.split("\nFix\n---\n", 1)[1].strip()
    if r.fix == "none":
        assert fix_section.startswith("No automatic fix"), fix_section
    else:
        assert not fix_section.startswith("No automatic fix"), fix_section
        assert fix_section.split()[0].rstrip(",:") in ("Safe", "Sometimes"), fix_section
