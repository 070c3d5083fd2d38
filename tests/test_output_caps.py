"""Generated output stays readable when a technique is named in many notes.

Every note that ranks or links to a technique is shown; of the notes that only
name it, the technique note lists the ``MENTIONS_LISTED`` that name it most and
the canvas joins the ``CANVAS_MENTIONS_PER_TECHNIQUE`` that name it most.
"""

from __future__ import annotations

import json
from pathlib import Path

from vaultkit.commands.sync import run_sync
from vaultkit.export import CANVAS_MENTIONS_PER_TECHNIQUE, canvas_from_graph, validate_canvas
from vaultkit.generate import MENTIONS_LISTED
from vaultkit.vault import Vault

NAME = "Quantum Widget Tuning"
MANY = MENTIONS_LISTED + 7


def _vault(tmp_path: Path) -> Path:
    root = tmp_path / "v"
    root.mkdir()
    (root / "Ranking.md").write_text(
        f"# Ranking\n\n| Tier | Class/Method | Real-World Use | Effectiveness | Tradeoffs |\n"
        f"|---|---|---|---|---|\n| 1 | {NAME} | labs | 🟢 | 💰 |\n| 2 | Other Method Entirely | x | ⚪ | 🔧 |\n",
        encoding="utf-8")
    for i in range(MANY):
        times = 1 + (i * 7) % 5  # 1 to 5 mentions
        body = " ".join([f"We used {NAME} here."] * times)
        (root / f"Note {i:02d}.md").write_text(f"# Note {i}\n\n{body}\n", encoding="utf-8")
    # a note that links to the technique note (listed whatever it mentions)
    (root / "Linker.md").write_text(f"See [[{NAME}]].\n", encoding="utf-8")
    return root


def _expected_top(root: Path, limit: int) -> list[str]:
    counts = []
    for i in range(MANY):
        counts.append((-(1 + (i * 7) % 5), f"Note {i:02d}.md"))
    return [p for _, p in sorted(counts)[:limit]]


def test_technique_note_lists_the_notes_naming_it_most(tmp_path: Path) -> None:
    root = _vault(tmp_path)
    run_sync(root, cache=False)
    text = (root / "_vaultkit" / "Techniques" / f"{NAME}.md").read_text(encoding="utf-8")
    section = text.split("## Notes that rank, link to or name it", 1)[1]
    listed = [line for line in section.splitlines() if line.startswith("- [[")]
    named = [line for line in listed if "mentions it" in line and "links to it" not in line]
    assert len(named) == MENTIONS_LISTED
    top = _expected_top(root, MENTIONS_LISTED)
    assert sorted(line.split("[[", 1)[1].split("|")[0].split("]]")[0] + ".md" for line in named) == sorted(top)
    assert any("[[Ranking" in line and "ranks it" in line for line in listed)
    assert any("[[Linker" in line and "links to it" in line for line in listed)
    assert f"- … and {MANY - MENTIONS_LISTED} more notes mention it" in section


def test_canvas_joins_the_notes_naming_it_most(tmp_path: Path) -> None:
    root = _vault(tmp_path)
    run_sync(root, cache=False)
    doc = json.loads((root / "_vaultkit" / "Knowledge graph.canvas").read_text(encoding="utf-8"))
    validate_canvas(doc)
    files = {n["id"]: n["file"] for n in doc["nodes"] if n["type"] == "file"}
    mentions = [files[e["fromNode"]] for e in doc["edges"] if e["label"] == "mentions"]
    ranks = [files[e["fromNode"]] for e in doc["edges"] if e["label"] == "ranks"]
    assert sorted(mentions) == sorted(_expected_top(root, CANVAS_MENTIONS_PER_TECHNIQUE))
    assert ranks == ["Ranking.md", "Ranking.md"]  # both techniques it ranks
    assert set(files.values()) == set(mentions) | set(ranks)  # no note without an edge
    # the graph's own canvas draws the same
    assert canvas_from_graph(Vault.load(root).graph) == doc


def test_plan_and_write_report_progress(tmp_path: Path) -> None:
    """Long stages report (stage, done, total) for the command's progress bar."""
    from vaultkit.generate import plan_generation
    from vaultkit.writer import apply, planned_files

    root = _vault(tmp_path)
    seen: list[tuple[str, int, int]] = []

    def spy(stage: str, done: int, total: int) -> None:
        seen.append((stage, done, total))

    vault = Vault.load(root)
    plan = plan_generation(vault, progress=spy)
    apply(root, "_vaultkit", planned_files(plan), progress=spy)
    stages = list(dict.fromkeys(stage for stage, _, _ in seen))
    # (no workers here: the technique notes are made as the writer takes them, not while planning)
    assert stages == ["finding mentions", "writing notes"]
    assert all(0 <= done < total for _, done, total in seen)
    assert [t for s, _, t in seen if s == "finding mentions"][0] == len(vault.user_notes())
    assert [t for s, _, t in seen if s == "writing notes"][0] == len(plan.paths)


def test_generated_notes_left_in_an_earlier_output_folder_are_not_the_users(tmp_path: Path) -> None:
    """Changing ``output`` leaves the old generated notes behind: their tables and links are not read as
    the user's (helper's report: the old Cost to value table doubled the techniques)."""
    import shutil

    from .conftest import SAMPLE_VAULT

    root = tmp_path / "v"
    shutil.copytree(SAMPLE_VAULT, root, ignore=shutil.ignore_patterns(".vaultkit"))
    techniques = len(Vault.load(root).techniques)
    (root / "vaultkit.toml").write_text('output = "Generated"\n', encoding="utf-8")
    vault, plan, _ = run_sync(root, cache=False)
    assert len(vault.techniques) == techniques
    assert not [n for n in vault.user_notes() if n.path.startswith("_vaultkit/")]
    assert any("outside the output folder 'Generated'" in n for n in plan.notices)
    # the old notes take no name (before: 'Vault index 2.md'..., "taken by '_vaultkit/Vault index.md' (yours)",
    # and every note renamed back once the old folder was deleted, as the notice advises)
    assert not [n for n in plan.notices if "is taken by" in n]
    made = sorted(p.relative_to(root / "Generated").as_posix() for p in (root / "Generated").rglob("*.md"))
    assert made == sorted(p.relative_to(root / "_vaultkit").as_posix() for p in (root / "_vaultkit").rglob("*.md"))
    _, _, again = run_sync(root, cache=False)
    assert not again.changed
    shutil.rmtree(root / "_vaultkit")
    _, _, after = run_sync(root, cache=False)
    assert not after.changed
