"""Shared fixtures: where the team's shared material lives, temporary vault copies."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("VAULTKIT_SHARED", REPO.parent / "shared")).resolve()
CASES = SHARED / "cases"
EUGENE = SHARED / "vaults" / "eugene-sample"
SEED = SHARED / "seeds" / "000_9777aecdcf118854.txt"
MAKE_VAULT = SHARED / "tools" / "make_vault.py"
SAMPLE_VAULT = REPO / "vault"


def need(path: Path) -> Path:
    """Fail loudly (not skip) when the shared material is missing: CI must have it."""
    if not path.exists():
        pytest.fail(f"shared material not found: {path} (set VAULTKIT_SHARED)")
    return path


@pytest.fixture
def eugene_copy(tmp_path: Path) -> Path:
    """A writable copy of the user's sample vault."""
    dest = tmp_path / "eugene"
    # (without a cache some run may have left in the shared folder)
    shutil.copytree(need(EUGENE), dest, ignore=shutil.ignore_patterns(".vaultkit"))
    return make_writable(dest)


def make_writable(root: Path) -> Path:
    """Give the owner write permission on every file and folder below ``root`` (a copy of the shared
    material keeps its read-only modes, and sync leaves read-only notes alone, as a user's vault is not)."""
    for path in (root, *root.rglob("*")):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)
    return root


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """A writable copy of the repository's sample vault."""
    dest = tmp_path / "vault"
    # (without the cache a sync here may have left: tests see the vault as a fresh clone has it)
    shutil.copytree(SAMPLE_VAULT, dest, ignore=shutil.ignore_patterns(".vaultkit"))
    return dest


def random_line_edit(path: Path, rng: random.Random, words: list[str], endings: list[str]) -> None:
    """Edit the note at ``path`` once at random: a word of ``words`` inserted anywhere in a line, a line
    of ``endings`` appended, a line deleted, or a line copied elsewhere (the random edit tests' step)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    i = rng.randrange(len(lines))
    kind = rng.choice(["insert", "append", "delete", "copy"])
    if kind == "insert":
        pos = rng.randrange(len(lines[i]) + 1)
        lines[i] = lines[i][:pos] + rng.choice(words) + lines[i][pos:]
    elif kind == "append":
        lines.append(rng.choice(endings))
    elif kind == "delete" and len(lines) > 3:
        del lines[i]
    else:
        lines.insert(i, lines[rng.randrange(len(lines))])
    path.write_text("\n".join(lines), encoding="utf-8")


def small_synthetic_vault(root: Path, seed: int) -> list[Path]:
    """Write a 40-note synthetic vault (notes of 6 KB median) to ``root``; its notes in path order."""
    subprocess.run([sys.executable, str(need(MAKE_VAULT)), str(root), "--notes", "40", "--seed", str(seed),
                    "--median-kb", "6", "--max-kb", "20"], check=True, capture_output=True)
    return sorted(p for p in root.rglob("*.md") if "_vaultkit" not in p.parts)
