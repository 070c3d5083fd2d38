"""`vaultkit lint --fix`: the fixable findings are fixed through the safe writer, the rest reported."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from vaultkit.cli import cli

from .conftest import SAMPLE_VAULT, SEED, need

CLEAN = SAMPLE_VAULT / "22_AI_Research_mainstream" / "Production AI Techniques Tiered Table.md"


def test_lint_fix_repairs_the_seed_and_legacy_properties(tmp_path: Path) -> None:
    vault = tmp_path / "v"
    vault.mkdir()
    shutil.copyfile(need(SEED), vault / "seed.md")
    (vault / "legacy.md").write_text("---\ntag: old  # kept comment\naliases: One, alias\n---\nSee [[Nowhere]]\n",
                                     encoding="utf-8")
    before = CliRunner().invoke(cli, ["lint", str(vault), "--select", "VK006,VK204,VK205,VK101"])
    assert before.exit_code == 1
    assert "VK006" in before.output and "VK204" in before.output and "VK205" in before.output
    result = CliRunner().invoke(cli, ["lint", str(vault), "--fix", "--select", "VK006,VK204,VK205,VK101"])
    assert result.exit_code == 1  # the unresolved link is not fixable and is still reported
    assert "VK101" in result.output
    assert "VK006" not in result.output and "VK204" not in result.output and "VK205" not in result.output
    assert (vault / "seed.md").read_bytes() == CLEAN.read_bytes()
    legacy = (vault / "legacy.md").read_text(encoding="utf-8")
    assert "tags:" in legacy and "old" in legacy and "# kept comment" in legacy
    assert "- One, alias" in legacy  # one alias string stays one entry
    assert legacy.endswith("See [[Nowhere]]\n")


def test_lint_without_fix_writes_nothing(tmp_path: Path) -> None:
    vault = tmp_path / "v"
    vault.mkdir()
    shutil.copyfile(need(SEED), vault / "seed.md")
    data = (vault / "seed.md").read_bytes()
    CliRunner().invoke(cli, ["lint", str(vault)])
    assert (vault / "seed.md").read_bytes() == data
