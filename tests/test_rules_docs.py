"""docs/lint.md: the rules reference is generated from the registry and kept current."""

from __future__ import annotations

import re

from click.testing import CliRunner

from vaultkit.cli import cli
from vaultkit.rules import REGISTRY, rules_markdown

from .conftest import REPO

DOC = REPO / "docs" / "lint.md"


def _block() -> str:
    text = DOC.read_text(encoding="utf-8")
    m = re.search(r"<!-- rules:begin[^>]*-->\n(.*)<!-- rules:end -->", text, re.S)
    assert m, "docs/lint.md lacks the rules:begin/rules:end markers"
    return m.group(1)


def test_rules_reference_is_current() -> None:
    """Regenerate with: vaultkit rule --all --format markdown (between the markers)."""
    assert _block() == rules_markdown()
    assert CliRunner().invoke(cli, ["rule", "--all", "--format", "markdown"]).output == rules_markdown()


def test_every_rule_has_a_section_with_every_heading() -> None:
    block = _block()
    sections = re.split(r"^### ", block, flags=re.M)[1:]
    assert [s.split()[0] for s in sections] == list(REGISTRY)
    for section in sections:
        for heading in ("What it checks", "Why it matters", "Example", "Instead", "Fix"):
            assert f"\n#### {heading}\n" in section, (section.split()[0], heading)
        assert section.count("```") % 2 == 0, section.split()[0]


def test_docs_cover_suppression_ci_and_exit_codes() -> None:
    text = DOC.read_text(encoding="utf-8")
    for needle in ("%% vaultkit-ignore VK101 %%", "vaultkit-ignore-file", "upload-sarif", "--format github",
                   "| 2 |", "vaultkit-lint", "types.json", "--fix"):
        assert needle in text, needle
