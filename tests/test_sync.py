"""`vaultkit sync` end to end: real values from the user's table, idempotence, --check/--diff, the user's vault."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from vaultkit.cli import cli
from vaultkit.export import validate_canvas
from vaultkit.frontmatter import split_frontmatter
from vaultkit.vault import Vault

from .conftest import SAMPLE_VAULT, need, EUGENE

OUT = "_vaultkit"


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def snapshot(root: Path) -> dict[str, tuple[int, bytes]]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and ".vaultkit" not in p.parts:
            out[p.relative_to(root).as_posix()] = (p.stat().st_mtime_ns, p.read_bytes())
    return out


def props(path: Path) -> dict:
    block = split_frontmatter(path.read_text(encoding="utf-8"))
    assert block is not None, path
    return yaml.safe_load(block.yaml)


@pytest.fixture
def fresh_sample(tmp_path: Path) -> Path:
    """The sample vault with its generated notes removed: only the user's note."""
    dest = tmp_path / "vault"
    shutil.copytree(SAMPLE_VAULT, dest, ignore=shutil.ignore_patterns(".vaultkit"))
    shutil.rmtree(dest / OUT, ignore_errors=True)
    return dest


def test_sync_writes_technique_notes_with_the_tables_values(fresh_sample: Path) -> None:
    result = invoke("sync", str(fresh_sample))
    assert result.exit_code == 0, result.output
    tech = fresh_sample / OUT / "Techniques"
    lora = props(tech / "LoRA QLoRA (adapter tuning).md")
    assert lora["type"] == "technique"
    assert lora["title"] == "LoRA / QLoRA (adapter tuning)"
    assert lora["tier"] == 3
    assert lora["effectiveness"] == ["🟢"]
    assert lora["tradeoffs"] == ["⚪"]
    assert lora["cost"] == 0
    assert lora["sources"] == ["[[22_AI_Research_mainstream/Production AI Techniques Tiered Table]]"]
    body = (tech / "LoRA QLoRA (adapter tuning).md").read_text(encoding="utf-8")
    assert "🟢 cost-effective upgrades" in body
    assert "⚪ narrow domain retention" in body
    assert "HuggingFace, Mistral, Claude, Qwen" in body
    scaling = props(tech / "Model Scaling (GPT-3→4→Qwen→Gemini).md")
    assert scaling["tier"] == 1 and scaling["cost"] == 5
    assert scaling["effectiveness"] == ["🟢"] and scaling["tradeoffs"] == ["💰", "🧠"]
    rlhf = props(tech / "Reinforcement Learning (RLHF RLAIF).md")
    assert rlhf["tier"] == 13 and rlhf["cost"] == 3
    assert rlhf["effectiveness"] == ["⚪", "🔴"] and rlhf["tradeoffs"] == ["💰", "📉"]
    tier3 = props(fresh_sample / OUT / "Tiers" / "Tier 3.md")
    assert tier3["type"] == "tier" and tier3["tier"] == 3
    assert tier3["techniques"] == ["[[_vaultkit/Techniques/LoRA QLoRA (adapter tuning)]]"]
    assert len(list(tech.glob("*.md"))) == 15
    assert len(list((fresh_sample / OUT / "Tiers").glob("*.md"))) == 15
    canvas = json.loads((fresh_sample / OUT / "Knowledge graph.canvas").read_text(encoding="utf-8"))
    assert validate_canvas(canvas) == []
    groups = [n for n in canvas["nodes"] if n["type"] == "group"]
    assert sorted(g["label"] for g in groups) == sorted(f"Tier {n}" for n in range(1, 16))
    files = {n["file"] for n in canvas["nodes"] if n["type"] == "file"}
    assert "22_AI_Research_mainstream/Production AI Techniques Tiered Table.md" in files
    assert "15 techniques, 15 tiers" in result.output


def test_generated_wikilinks_resolve(fresh_sample: Path) -> None:
    invoke("sync", str(fresh_sample))
    vault = Vault.load(fresh_sample)
    generated = [n for n in vault.notes.values() if vault.is_generated(n)]
    assert len(generated) == 32
    for note in generated:
        for link in note.links:
            assert link.resolved is not None, (note.path, link.target)


def test_cost_to_value_ranks_by_stated_scoring(fresh_sample: Path) -> None:
    invoke("sync", str(fresh_sample))
    text = (fresh_sample / OUT / "Cost to value.md").read_text(encoding="utf-8")
    assert "**Scoring.**" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 15
    # Data Deduplication: 🟢🟢 (value 4) against ⚪ expensive upfront (cost 1) → ratio 2.00, the best.
    assert "Data Deduplication" in rows[0] and rows[0].rstrip().endswith("| 2.00 |")
    # Model Scaling: value 4, cost 5 (💰×5) + 1 (🧠) = 6 → 0.57.
    scaling = next(r for r in rows if "Model Scaling" in r)
    assert "| 4 | 6 | 0.57 |" in scaling
    ratios = [float(r.rstrip(" |").rsplit("|", 1)[1]) for r in rows]
    assert ratios == sorted(ratios, reverse=True)


def test_second_sync_changes_no_byte_and_no_mtime(fresh_sample: Path) -> None:
    assert invoke("sync", str(fresh_sample)).exit_code == 0
    before = snapshot(fresh_sample)
    result = invoke("sync", str(fresh_sample))
    assert result.exit_code == 0
    assert "created 0, updated 0, removed 0, unchanged 33" in result.output
    assert snapshot(fresh_sample) == before
    assert invoke("sync", str(fresh_sample), "--check").exit_code == 0


def test_check_and_diff_write_nothing(fresh_sample: Path) -> None:
    before = snapshot(fresh_sample)
    check = invoke("sync", str(fresh_sample), "--check")
    assert check.exit_code == 1
    assert "would be created: _vaultkit/Vault index.md" in check.output
    diff = invoke("sync", str(fresh_sample), "--diff")
    assert diff.exit_code == 0
    assert "+++ _vaultkit/Tiers/Tier 3.md" in diff.output or "+++ b/_vaultkit/Tiers/Tier 3.md" in diff.output
    assert snapshot(fresh_sample) == before


def test_user_note_is_never_touched(fresh_sample: Path) -> None:
    user = fresh_sample / "22_AI_Research_mainstream" / "Production AI Techniques Tiered Table.md"
    data, mtime = user.read_bytes(), user.stat().st_mtime_ns
    invoke("sync", str(fresh_sample))
    invoke("sync", str(fresh_sample))
    assert user.read_bytes() == data and user.stat().st_mtime_ns == mtime


def test_committed_sample_vault_is_up_to_date(tmp_path: Path) -> None:
    """Golden files: the generated notes committed in vault/ are exactly what sync plans now."""
    dest = tmp_path / "vault"
    shutil.copytree(SAMPLE_VAULT, dest, ignore=shutil.ignore_patterns(".vaultkit"))
    result = invoke("sync", str(dest), "--check")
    assert result.exit_code == 0, result.output
    assert (dest / OUT / "Vault index.md").is_file()
    assert (dest / OUT / "Knowledge graph.canvas").is_file()


def test_sync_on_the_users_vault(tmp_path: Path) -> None:
    dest = tmp_path / "eugene"
    shutil.copytree(need(EUGENE), dest)
    md = sorted(p for p in dest.rglob("*.md"))
    first = invoke("sync", str(dest), "--no-cache")
    assert first.exit_code == 0, first.output
    assert f"{len(md)} notes" in first.output
    vault = Vault.load(dest)
    assert len(vault.user_notes()) == len(md) == 205
    generated = [n for n in vault.notes.values() if vault.is_generated(n)]
    assert len(generated) >= 20
    before = snapshot(dest)
    second = invoke("sync", str(dest))
    assert second.exit_code == 0
    assert "created 0, updated 0, removed 0" in second.output
    assert snapshot(dest) == before


def test_missing_vault_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sync", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "nope" in result.output


def test_python_m_vaultkit_works(fresh_sample: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "vaultkit", "sync", str(fresh_sample), "--check"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert proc.returncode == 1, proc.stderr
    assert "would be created" in proc.stdout


def test_sync_reports_a_name_taken_by_the_users_note(fresh_sample: Path) -> None:
    mine = fresh_sample / OUT / "Vault index.md"
    mine.parent.mkdir()
    mine.write_text("# my own index\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["sync", str(fresh_sample)])  # output holds stdout and stderr
    assert result.exit_code == 0
    assert "taken by '_vaultkit/Vault index.md'" in result.output
    assert mine.read_text(encoding="utf-8") == "# my own index\n"
    assert (fresh_sample / OUT / "Vault index 2.md").is_file()


def test_sync_exit_status_when_the_vault_cannot_be_written(fresh_sample: Path, monkeypatch) -> None:
    import vaultkit.writer as writer

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(fresh_sample / OUT))

    monkeypatch.setattr(writer.os, "makedirs", refuse)
    result = CliRunner().invoke(cli, ["sync", str(fresh_sample)])
    assert result.exit_code == 2
    assert "Permission denied" in result.output and "Traceback" not in result.output


def test_sync_exit_status_when_a_write_fails(fresh_sample: Path, monkeypatch) -> None:
    import vaultkit.writer as writer

    assert invoke("sync", str(fresh_sample)).exit_code == 0
    (fresh_sample / OUT / "Tiers" / "Tier 2.md").unlink()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(writer.os, "link", refuse)
    monkeypatch.setattr(writer.os, "replace", refuse)
    result = CliRunner().invoke(cli, ["sync", str(fresh_sample)])
    assert result.exit_code == 2
    assert "Tier 2.md" in result.output


def test_sync_exit_status_when_a_generated_note_was_edited(fresh_sample: Path) -> None:
    assert invoke("sync", str(fresh_sample)).exit_code == 0
    tier = fresh_sample / OUT / "Tiers" / "Tier 4.md"
    tier.write_text(tier.read_text(encoding="utf-8") + "my words\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["sync", str(fresh_sample)])
    assert result.exit_code == 1
    assert "skipped-edited" in result.output and "Tier 4.md" in result.output
    assert tier.read_text(encoding="utf-8").endswith("my words\n")


@pytest.mark.parametrize("cache_first", ["lint", "sync --no-cache"])
def test_a_generated_note_with_broken_yaml_above_its_marker_is_kept_whatever_the_cache_holds(
        fresh_sample: Path, cache_first: str) -> None:
    """Broken YAML in a generated note whose marker line is intact: the note is still vaultkit's, edited by
    hand (the writer's rule), so sync keeps it and says so; it does not become the user's note beside a
    new "… 2.md", and a sync after `lint` (which caches a whole parse) decides as one without the cache."""
    assert invoke("sync", str(fresh_sample)).exit_code == 0
    tier = fresh_sample / OUT / "Tiers" / "Tier 4.md"
    text = tier.read_text(encoding="utf-8")
    tier.write_text(text.replace("---\n", "---\ntitle: [broken\n", 1), encoding="utf-8")
    edited = tier.read_bytes()
    before = {p for p in snapshot(fresh_sample)}
    CliRunner().invoke(cli, [*cache_first.split(), str(fresh_sample)])
    for args in (["sync"], ["sync", "--no-cache"], ["sync", "--check"]):
        result = CliRunner().invoke(cli, [*args, str(fresh_sample)])
        assert result.exit_code == 1, (args, result.output)
        assert "Tier 4.md" in result.output and "Tier 4 2.md" not in result.output
        assert tier.read_bytes() == edited and set(snapshot(fresh_sample)) == before


@pytest.mark.parametrize("around", ["vaultkit: mine\nnote: 'x\n{m}\ny'\n", "vaultkit: mine\nmeta: [\n{m}\n]\n",
                                    "!!null 'x\n{m}\ny'\n"])
def test_a_note_holding_a_marker_line_in_odd_yaml_gets_one_answer_whatever_the_cache(
        fresh_sample: Path, around: str) -> None:
    """A helper's cases: the marker line inside a quoted value or a flow list, beside a `vaultkit` property
    of the user's, or in a null document. The line decides; sync, sync after lint and sync --no-cache agree
    and no file flips from run to run."""
    assert invoke("sync", str(fresh_sample)).exit_code == 0
    tier = (fresh_sample / OUT / "Tiers" / "Tier 4.md").read_text(encoding="utf-8")
    marker = next(line for line in tier.split("\n") if line.startswith("vaultkit: {"))
    odd = fresh_sample / OUT / "Odd.md"
    odd.write_text("---\n" + around.format(m=marker) + "---\n# Odd\nmy words [[Tier 4]] [[Nowhere]]\n",
                   encoding="utf-8")
    before = snapshot(fresh_sample)
    outputs = set()
    for args in (["sync"], ["lint"], ["sync"], ["sync", "--no-cache"], ["sync"], ["sync", "--check"]):
        result = CliRunner().invoke(cli, [*args, str(fresh_sample)])
        if args[0] == "sync":
            assert result.exit_code == 1 and "skipped-edited: _vaultkit/Odd.md" in result.output, result.output
            if "--check" not in args:
                outputs.add(result.output.split("skipped-edited")[-1])
    assert len(outputs) == 1 and snapshot(fresh_sample) == before


def test_words_typed_into_the_marker_line_are_kept(fresh_sample: Path) -> None:
    """The marker line is left out of a note's hash; text typed into its version made the note count as
    unedited and a sync overwrote it (a helper's finding). Such a line is no marker line now."""
    assert invoke("sync", str(fresh_sample)).exit_code == 0
    tier = fresh_sample / OUT / "Tiers" / "Tier 4.md"
    text = tier.read_text(encoding="utf-8")
    tier.write_text(text.replace('version: "', 'version: "remember to cite Smith 2021 ', 1), encoding="utf-8")
    edited = tier.read_bytes()
    (fresh_sample / "Mine.md").write_text("again [[Tier 4]]\n", encoding="utf-8")  # the tier note is made again
    result = CliRunner().invoke(cli, ["sync", str(fresh_sample)])
    assert result.exit_code == 1 and "skipped-edited: _vaultkit/Tiers/Tier 4.md" in result.output
    assert tier.read_bytes() == edited
    lint = CliRunner().invoke(cli, ["lint", "--select", "VK401", str(fresh_sample)])
    assert "Tier 4.md" in lint.output and "marker line was changed" in lint.output and "move any words" in lint.output


def test_lint_says_when_only_the_marker_line_was_changed(fresh_sample: Path) -> None:
    assert invoke("sync", str(fresh_sample)).exit_code == 0
    tier = fresh_sample / OUT / "Tiers" / "Tier 4.md"
    tier.write_text(tier.read_text(encoding="utf-8").replace('version: "0', 'version: " 0', 1), encoding="utf-8")
    lint = CliRunner().invoke(cli, ["lint", "--select", "VK401", str(fresh_sample)])
    assert "Tier 4.md" in lint.output and "marker line was changed" in lint.output, lint.output
    assert "edited by hand" not in lint.output


@pytest.mark.parametrize("frontmatter", [b"vaultkit: mine\n", b"vaultkit: {hash: abc}\n", b"vaultkit:\n"])
def test_a_note_in_the_output_folder_whose_vaultkit_property_is_no_marker_is_the_users(
        fresh_sample: Path, frontmatter: bytes) -> None:
    """The one rule for what is vaultkit's note holds for the vault as for the writer: a ``vaultkit``
    property that is no marker (no ``generator: vaultkit``) leaves the note the user's: its links count,
    lint checks it as any note, and no sync, even --force, removes it."""
    assert invoke("sync", str(fresh_sample)).exit_code == 0
    mine = fresh_sample / OUT / "Mine.md"
    mine.write_bytes(b"---\n" + frontmatter + b"---\n# Mine\nmy words [[Nowhere at all]]\n")
    vault = Vault.load(fresh_sample)
    assert not vault.is_generated(vault.notes[f"{OUT}/Mine.md"])
    assert f"{OUT}/Mine.md" in [n.path for n in vault.user_notes()]
    lint = CliRunner().invoke(cli, ["lint", str(fresh_sample)])
    assert f"{OUT}/Mine.md:5" in lint.output and "VK101" in lint.output  # its link checked as any note's
    assert "no longer produced" not in lint.output
    for args in (["sync"], ["sync", "--force"]):
        result = CliRunner().invoke(cli, [*args, str(fresh_sample)])
        assert "2 notes" in result.output and "Mine.md" not in result.output.replace("2 notes", "")
        assert mine.read_bytes().endswith(b"my words [[Nowhere at all]]\n")


def test_a_generated_note_no_longer_utf8_is_the_users_for_lint_as_for_sync(fresh_sample: Path) -> None:
    """A byte that is not UTF-8 in a generated note: the writer never takes such a file for vaultkit's
    (not even --force replaces it); lint no longer says --force would, and checks it as the user's."""
    assert invoke("sync", str(fresh_sample)).exit_code == 0
    tier = fresh_sample / OUT / "Tiers" / "Tier 4.md"
    tier.write_bytes(tier.read_bytes().replace(b"# Tier 4", b"# Tier 4 caf\xe9", 1))
    edited = tier.read_bytes()
    lint = CliRunner().invoke(cli, ["lint", str(fresh_sample)])
    assert "Tier 4.md" in lint.output and "VK004" in lint.output and "--force" not in lint.output
    CliRunner().invoke(cli, ["sync", "--force", str(fresh_sample)])
    assert tier.read_bytes() == edited


def test_lint_says_sync_keeps_an_edited_note_no_longer_produced(fresh_sample: Path) -> None:
    assert invoke("sync", str(fresh_sample)).exit_code == 0
    stale = fresh_sample / OUT / "Old.md"
    stale.write_text("---\nvaultkit: {generator: vaultkit}\n---\n# Old\nmy words\n", encoding="utf-8")
    lint = CliRunner().invoke(cli, ["lint", "--select", "VK401", str(fresh_sample)])
    assert "Old.md" in lint.output and "'vaultkit sync' keeps it" in lint.output and "removes it" not in lint.output
    result = CliRunner().invoke(cli, ["sync", str(fresh_sample)])
    assert "skipped-edited: _vaultkit/Old.md" in result.output and stale.exists()


def test_notes_outside_the_output_folder_with_the_marker_are_told_apart(fresh_sample: Path) -> None:
    """A copy of a generated note outside the output folder may be deleted; a note of the user's own with the
    marker pasted into it holds their words: sync says so, and how to make it theirs again."""
    assert invoke("sync", str(fresh_sample)).exit_code == 0
    tier = (fresh_sample / OUT / "Tiers" / "Tier 4.md").read_text(encoding="utf-8")
    (fresh_sample / "Copy of tier 4.md").write_text(tier, encoding="utf-8")
    marker = next(line for line in tier.split("\n") if line.startswith("vaultkit: {"))
    (fresh_sample / "Mine.md").write_text(f"---\n{marker}\n---\nMy own words [[Tier 4]]\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["sync", str(fresh_sample)])
    assert "1 note generated by vaultkit lies outside the output folder '_vaultkit' (e.g. 'Copy of tier 4.md')" \
        in result.output  # (one of each, told apart)
    assert "delete them if you do not need them" in result.output
    assert "1 note outside the output folder '_vaultkit' carries vaultkit's marker but was edited (e.g. 'Mine.md')" \
        in result.output and "take the `vaultkit:` line out" in result.output


def test_sync_fills_regions_the_user_opened_and_keeps_every_other_byte(fresh_sample: Path) -> None:
    home = fresh_sample / "Home.md"
    before = ("---\ntitle: Home\n---\n# My home\n\nWords I wrote before.\r\n\n"
              "%% vaultkit:begin tier-ladder %%\n%% vaultkit:end tier-ladder %%\n\n"
              "Words I wrote between.\n\n%% vaultkit:begin nonsense %%\nkept\n%% vaultkit:end nonsense %%\n"
              "Words I wrote after.\n")
    home.write_bytes(before.encode("utf-8"))
    result = invoke("sync", str(fresh_sample))
    assert result.exit_code == 0, result.output
    assert "unknown region 'nonsense'" in result.output
    after = home.read_bytes().decode("utf-8")
    head, rest = after.split("%% vaultkit:begin tier-ladder %%\n", 1)
    region, tail = rest.split("%% vaultkit:end tier-ladder %%\n", 1)
    assert head == before.split("%% vaultkit:begin tier-ladder %%\n")[0]
    assert tail == before.split("%% vaultkit:end tier-ladder %%\n")[1]
    assert "[[_vaultkit/Techniques/LoRA QLoRA (adapter tuning)|LoRA / QLoRA (adapter tuning)]]" in region
    assert "[[_vaultkit/Tiers/Tier 3|Tier 3]]" in region
    mtime = home.stat().st_mtime_ns
    assert invoke("sync", str(fresh_sample)).exit_code == 0
    assert home.stat().st_mtime_ns == mtime and home.read_bytes().decode("utf-8") == after
    # the generated links in the region resolve
    note = Vault.load(fresh_sample).notes["Home.md"]
    assert note.links and all(link.resolved for link in note.links)


def test_a_region_edited_by_hand_ends_the_sync_with_status_1_whether_or_not_others_were_filled(
        fresh_sample: Path) -> None:
    """Helper's report: kept while another region of the note was filled, it was an `updated` note and exit 0;
    kept alone, `skipped-edited` and exit 1. Both are a note left as the user wrote it, in part: exit 1."""
    home = fresh_sample / "Home.md"
    home.write_text("%% vaultkit:begin wanted-notes %%\n%% vaultkit:end wanted-notes %%\n\n"
                    "%% vaultkit:begin tier-ladder %%\n%% vaultkit:end tier-ladder %%\n", encoding="utf-8")
    assert invoke("sync", str(fresh_sample), "-q").exit_code == 0
    home.write_text(home.read_text(encoding="utf-8").replace("%% vaultkit:end wanted-notes %%",
                                                             "my words\n%% vaultkit:end wanted-notes %%"),
                    encoding="utf-8")
    table = fresh_sample / "22_AI_Research_mainstream" / "Production AI Techniques Tiered Table.md"
    table.write_text(table.read_text(encoding="utf-8").replace("|10|Token/Embedding Freezing|",
                                                               "|10|Token Freezing|"), encoding="utf-8")
    first = invoke("sync", str(fresh_sample))  # (the tier ladder changed: filled; the wanted notes kept)
    assert "updated: Home.md (region wanted-notes edited by hand and kept" in first.output
    assert first.exit_code == 1, first.output
    second = invoke("sync", str(fresh_sample))
    assert "skipped-edited: Home.md" in second.output and second.exit_code == 1
    assert "my words" in home.read_text(encoding="utf-8")


def test_a_generated_note_or_region_edited_into_what_sync_writes_now_is_taken_back(fresh_sample: Path) -> None:
    """Obsidian, renaming a note, rewrites the links to it in every note, generated ones too: when that makes a
    generated note (or region) what this sync writes anyway, nothing of the user's is in it. Before, it was
    'edited' for ever (helper's bug 3). Simulated here by a marker that records other content."""
    import re

    home = fresh_sample / "Home.md"
    home.write_text("Mine.\n%% vaultkit:begin tier-ladder %%\n%% vaultkit:end tier-ladder %%\n", encoding="utf-8")
    assert invoke("sync", str(fresh_sample)).exit_code == 0
    tier = fresh_sample / OUT / "Tiers" / "Tier 3.md"
    text = tier.read_text(encoding="utf-8")
    tier.write_text(re.sub(r'hash: "sha256:[0-9a-f]{64}"', 'hash: "sha256:' + "0" * 64 + '"', text), encoding="utf-8")
    region = home.read_text(encoding="utf-8")
    home.write_text(re.sub(r"(?<=vaultkit:hash )[0-9a-f]+", lambda m: "0" * len(m.group(0)), region),
                    encoding="utf-8")
    result = CliRunner().invoke(cli, ["sync", str(fresh_sample)])
    assert result.exit_code == 0, result.output
    assert f"updated: {OUT}/Tiers/Tier 3.md (edited into what vaultkit writes now: its marker renewed)" in result.output
    assert tier.read_text(encoding="utf-8") == text and home.read_text(encoding="utf-8") == region
    # a real edit is still kept
    tier.write_text(text.replace("# Tier 3", "# Tier 3 (my notes)"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["sync", str(fresh_sample)])
    assert result.exit_code == 1 and f"skipped-edited: {OUT}/Tiers/Tier 3.md" in result.output


def test_regions_in_a_note_with_an_nfd_name(fresh_sample: Path) -> None:
    import unicodedata

    name = unicodedata.normalize("NFD", "Café ladder.md")
    (fresh_sample / name).write_text("Mine.\n%% vaultkit:begin tier-ladder %%\n%% vaultkit:end tier-ladder %%\n",
                                     encoding="utf-8")
    result = invoke("sync", str(fresh_sample))
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output  # (the note was read again after the write by its NFD name)
    text = (fresh_sample / name).read_text(encoding="utf-8")
    assert text.startswith("Mine.\n") and "[[_vaultkit/Tiers/Tier 1|Tier 1]]" in text
    assert sorted(p.name for p in fresh_sample.glob("Caf*")) == [name]


def test_second_sync_writes_nothing_when_generated_notes_answer_user_links(fresh_sample: Path) -> None:
    """A user link that only a generated note answers: the first sync already plans for it."""
    (fresh_sample / "Reading.md").write_text("See [[LoRA QLoRA (adapter tuning)]] and [[Tier 3]] and [[Nope]].\n",
                                             encoding="utf-8")
    assert invoke("sync", str(fresh_sample)).exit_code == 0
    before = snapshot(fresh_sample)
    second = invoke("sync", str(fresh_sample))
    assert "created 0, updated 0, removed 0" in second.output, second.output
    assert snapshot(fresh_sample) == before
    index = (fresh_sample / OUT / "Vault index.md").read_text(encoding="utf-8")
    assert "`Nope`" in index and "`Tier 3`" not in index
    lora = (fresh_sample / OUT / "Techniques" / "LoRA QLoRA (adapter tuning).md").read_text(encoding="utf-8")
    assert "[[Reading]] — mentions it (line 1), links to it (line 1)" in lora


def test_region_markers_in_the_frontmatter_or_indented_code_are_the_users_text(fresh_sample: Path) -> None:
    """Markers in a YAML block scalar or an indented code block are never filled (helper's report: the
    frontmatter became invalid YAML); a region at the start of a line still is."""
    kept = {
        "Yaml.md": "---\nx: |\n  %% vaultkit:begin tier-ladder %%\n  %% vaultkit:end tier-ladder %%\n---\n# H\n",
        "Code.md": "# A\n\ntext\n\n    %% vaultkit:begin tier-ladder %%\n    %% vaultkit:end tier-ladder %%\n",
        "Tab.md": "# A\n\n\t%% vaultkit:begin tier-ladder %%\n\t%% vaultkit:end tier-ladder %%\n",
    }
    for name, text in kept.items():
        (fresh_sample / name).write_text(text, encoding="utf-8")
    (fresh_sample / "Filled.md").write_text("# B\n\n  %% vaultkit:begin tier-ladder %%\n%% vaultkit:end tier-ladder %%\n",
                                            encoding="utf-8")
    result = invoke("sync", str(fresh_sample))
    assert result.exit_code == 0, result.output
    for name, text in kept.items():
        assert (fresh_sample / name).read_text(encoding="utf-8") == text, name
    assert "[[_vaultkit/Tiers/Tier 1|Tier 1]]" in (fresh_sample / "Filled.md").read_text(encoding="utf-8")
    linted = json.loads(invoke("lint", str(fresh_sample), "--format", "json").output)
    assert not [d for d in linted["diagnostics"] if d["path"] in kept], linted["diagnostics"]
    assert "created 0, updated 0, removed 0" in invoke("sync", str(fresh_sample)).output


def test_generated_links_to_a_root_note_whose_name_is_taken_elsewhere_are_exact(fresh_sample: Path) -> None:
    """A bare link to a vault-root note is ambiguous (VK102) when a note in a folder has its name: vaultkit's
    own notes link it as ``[[/Name]]`` and pass its own lint (helper's report: 80 VK102 in generated notes)."""
    (fresh_sample / "Sub").mkdir()
    for path in ("Reading.md", "Sub/Reading.md"):
        (fresh_sample / path).write_text("See [[LoRA QLoRA (adapter tuning)]].\n", encoding="utf-8")
    assert invoke("sync", str(fresh_sample)).exit_code == 0
    lora = (fresh_sample / OUT / "Techniques" / "LoRA QLoRA (adapter tuning).md").read_text(encoding="utf-8")
    assert "[[/Reading|Reading]] — mentions it" in lora and "[[Sub/Reading|Reading]] — mentions it" in lora
    linted = json.loads(invoke("lint", str(fresh_sample), "--format", "json").output)
    assert not [d for d in linted["diagnostics"] if d["path"].startswith(OUT)], linted["diagnostics"]


def test_names_taken_by_many_notes_are_listed_up_to_a_count(fresh_sample: Path) -> None:
    """Each taken name used to be one notice line on every sync (about 7,000 at 10,000 synthetic notes)."""
    from vaultkit.generate import CLASH_NOTICES

    for n in range(1, 16):  # the sample's 15 tiers
        (fresh_sample / f"Tier {n}.md").write_text(f"My own tier {n}.\n", encoding="utf-8")
    result = invoke("sync", str(fresh_sample))
    taken = [line for line in result.output.splitlines() if "is taken by" in line]
    assert len(taken) == CLASH_NOTICES < 15 and "'Tier 1.md' is taken by 'Tier 1.md'" in taken[0]
    assert f"… and {15 - CLASH_NOTICES} more names taken by your notes" in result.output
    assert (fresh_sample / OUT / "Tiers" / "Tier 15 2.md").exists()


def _counts(summary: str) -> str:
    """A sync summary without its file counts (those differ between a writing sync and the next)."""
    head, tail = summary.split("; files:")
    return head + ";" + tail.split(";")[-1]


def test_summary_counts_links_as_they_resolve_after_the_write(fresh_sample: Path) -> None:
    """Links that notes this sync created answer count resolved, links to a note it removed unresolved:
    the summary agrees with the next sync's and with lint, on the first sync and after a removal."""
    (fresh_sample / "Reading.md").write_text(
        "See [[LoRA QLoRA (adapter tuning)]], [[Tier 3#No such part]], [[Zeta method]] and [[Nope]].\n",
        encoding="utf-8")
    (fresh_sample / "Extra.md").write_text(
        "| Tier | Class/Method | Real-World Use | Effectiveness | Tradeoffs |\n|---|---|---|---|---|\n"
        "| 1 | Zeta method | somewhere | 🟢 | 💰 |\n", encoding="utf-8")
    first = invoke("sync", str(fresh_sample)).output.strip().splitlines()[-1]
    second = invoke("sync", str(fresh_sample), "--no-cache").output.strip().splitlines()[-1]
    assert "created 0" in second and _counts(first) == _counts(second), (first, second)
    assert "1 unresolved" in first  # only [[Nope]]
    linted = invoke("lint", str(fresh_sample), "--format", "json")
    found = json.loads(linted.output)
    assert sum(1 for d in found["diagnostics"] if d["code"] == "VK103" and d["path"] == "Reading.md") == 1

    (fresh_sample / "Extra.md").unlink()  # Zeta method's note goes with it
    removed = invoke("sync", str(fresh_sample)).output.strip().splitlines()[-1]
    after = invoke("sync", str(fresh_sample), "--no-cache").output.strip().splitlines()[-1]
    assert "removed 0" not in removed and "2 unresolved" in removed, removed
    assert _counts(removed) == _counts(after), (removed, after)


def test_summary_counts_links_to_headings_of_notes_the_sync_made_again(fresh_sample: Path) -> None:
    """A heading a sync adds to a generated note it updates answers a link; a region the sync fills again
    no longer holds the links it held (helper's report: both were counted as before the write)."""
    assert invoke("sync", str(fresh_sample)).exit_code == 0
    (fresh_sample / "R.md").write_text("# R\n\n%% vaultkit:begin tier-ladder %%\n%% vaultkit:end tier-ladder %%\n",
                                       encoding="utf-8")
    assert invoke("sync", str(fresh_sample)).exit_code == 0
    (fresh_sample / "Zeb.md").write_text("---\ncategory: Zebra Studies\n---\n# Z\n\n[[Vault index#Zebra Studies]]\n",
                                         encoding="utf-8")
    table = next(p for p in fresh_sample.rglob("*.md") if "Tiered Table" in p.name)
    text = table.read_text(encoding="utf-8")
    assert "|Instruction Fine-Tuning (sFT)|" in text
    table.write_text(text.replace("|Instruction Fine-Tuning (sFT)|", "|Instruction Fine-Tuning (SFT v2)|"),
                     encoding="utf-8")
    output = invoke("sync", str(fresh_sample)).output
    assert "updated: R.md" in output and f"updated: {OUT}/Vault index.md" in output, output
    written = output.strip().splitlines()[-1]
    after = invoke("sync", str(fresh_sample), "--no-cache").output.strip().splitlines()[-1]
    assert "created 0, updated 0, removed 0" in after and _counts(written) == _counts(after), (written, after)


def test_sync_watch_resyncs_on_change_and_stops_cleanly_on_ctrl_c(fresh_sample: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    import threading

    proc = subprocess.Popen([sys.executable, "-m", "vaultkit", "sync", str(fresh_sample), "--watch", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    summaries: list[str] = []  # stdout's summary lines, one a sync
    reader = threading.Thread(target=lambda: summaries.extend(line for line in proc.stdout if "notes," in line),
                              daemon=True)
    reader.start()
    try:
        tier = fresh_sample / OUT / "Tiers" / "Tier 3.md"
        deadline = time.monotonic() + 60
        while not tier.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert tier.exists(), "first sync did not run"
        # no wait for the watcher: an edit made before it runs is synced when it starts
        seed = fresh_sample / "22_AI_Research_mainstream" / "Production AI Techniques Tiered Table.md"
        seed.write_text(seed.read_text(encoding="utf-8").replace("|3|LoRA / QLoRA (adapter tuning)|",
                                                                 "|3|LoRA / QLoRA (adapters)|"), encoding="utf-8")
        renamed = fresh_sample / OUT / "Techniques" / "LoRA QLoRA (adapters).md"

        def synced() -> bool:
            return renamed.exists() and "LoRA QLoRA (adapters)" in tier.read_text(encoding="utf-8")

        while not synced() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert synced(), "the change was not synced"
        while len(summaries) < 2 and time.monotonic() < deadline:  # (the sync's last line: it ends now)
            time.sleep(0.1)
        time.sleep(1.0)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        reader.join(timeout=5)
    assert proc.returncode == 0, err  # (130 had the Ctrl-C cut the sync short)
    assert "Traceback" not in err and "stopped watching" in err and "interrupted" not in err


def test_sync_watch_answers_changes_in_the_output_folder_but_not_its_own_writes(fresh_sample: Path) -> None:
    """A generated note deleted (or its folder) is made again; one edited by hand is reported and kept; what
    the re-syncs write sets off no further sync (before, the whole output folder was ignored)."""
    import signal
    import subprocess
    import sys
    import time

    import threading

    proc = subprocess.Popen([sys.executable, "-m", "vaultkit", "sync", str(fresh_sample), "--watch", "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    tech = fresh_sample / OUT / "Techniques" / "LoRA QLoRA (adapter tuning).md"
    tiers = fresh_sample / OUT / "Tiers"

    def wait_until(test, what: str) -> None:
        deadline = time.monotonic() + 60
        while not test() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert test(), f"{what}: {''.join(lines)}"

    def changed() -> list[str]:
        return [line for line in lines if line.startswith("changed:") and "while the watcher started" not in line]

    try:
        wait_until(lambda: any("watching" in line for line in lines) and tech.exists(), "no first sync")
        time.sleep(1.0)  # (the observer runs, and any catch-up sync of on_start is over)
        tech.unlink()
        wait_until(tech.exists, "the deleted note was not made again")
        shutil.rmtree(tiers)
        wait_until(lambda: (tiers / "Tier 3.md").exists(), "the deleted folder was not made again")
        time.sleep(1.5)  # (the debounce is 0.3 s: a sync set off by those writes would have begun)
        assert len(changed()) == 2, changed()
        tech.write_text(tech.read_text(encoding="utf-8") + "\nMy own words.\n", encoding="utf-8")
        wait_until(lambda: any(line.startswith("skipped-edited: ") and tech.name in line for line in lines),
                   "the hand edit was not reported")
        assert tech.read_text(encoding="utf-8").endswith("My own words.\n")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        reader.join(timeout=5)
    assert proc.returncode == 0, "".join(lines)


def test_an_output_folder_that_links_to_another_folder_of_the_vault_is_refused(fresh_sample: Path) -> None:
    """Before, each sync wrote the notes by one name and removed them by the other, for ever (helper's bug 4)."""
    (fresh_sample / "Mine").mkdir()
    (fresh_sample / OUT).symlink_to("Mine")
    result = CliRunner().invoke(cli, ["sync", str(fresh_sample), "-q"])
    assert result.exit_code == 2
    assert "output folder '_vaultkit' is a symbolic link to" in result.stderr and "Traceback" not in result.output
    assert list((fresh_sample / "Mine").iterdir()) == []


def test_writes_failing_alike_in_one_folder_are_counted_after_five(fresh_sample: Path) -> None:
    assert invoke("sync", str(fresh_sample), "-q").exit_code == 0
    shutil.rmtree(fresh_sample / OUT / "Techniques")
    (fresh_sample / OUT / "Techniques").write_text("a file where the folder was\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["sync", str(fresh_sample), "-q"])
    assert result.exit_code == 2
    errors = result.stderr.splitlines()
    assert len(errors) == 6 and all(line.startswith(f"error: {OUT}/Techniques/") for line in errors[:5])
    assert errors[5] == f"error: … and 10 more files in {OUT}/Techniques/ (cannot inspect: [Errno 20] Not a directory)"


def test_watch_mode_prints_lints_findings_in_the_changed_notes(fresh_sample: Path) -> None:
    """What a watch-mode sync prints after an edit: lint's findings in the changed user notes, vault paths."""
    from vaultkit.commands.sync import findings_in, run_sync

    (fresh_sample / "Broken.md").write_text("See [[Nowhere]], [[Elsewhere]] and [[Neither]].\n", encoding="utf-8")
    (fresh_sample / "Fine.md").write_text("No links.\n", encoding="utf-8")
    v, _plan, _report = run_sync(fresh_sample, quiet=True)
    changed = {"Broken.md", "Fine.md", f"{OUT}/Vault index.md", "gone.md", "(files changed while the watcher started)"}
    assert findings_in(v, changed) == [
        "Broken.md:1:5: VK101 [warning] unresolved link 'Nowhere': no file answers it",
        "Broken.md:1:18: VK101 [warning] unresolved link 'Elsewhere': no file answers it",
        "Broken.md:1:36: VK101 [warning] unresolved link 'Neither': no file answers it",
    ]
    assert findings_in(v, changed, limit=1)[1:] == ["… and 2 more in 2 changed notes (see `vaultkit lint`)"]
    assert findings_in(v, {"Fine.md"}) == []
    (fresh_sample / "broken.json").write_text("{not json", encoding="utf-8")
    (fresh_sample / "vaultkit.toml").write_text('[schemas]\n"**" = "broken.json"\n', encoding="utf-8")
    v, _plan, _report = run_sync(fresh_sample, quiet=True)
    assert findings_in(v, {"Broken.md"}) == []  # (lint's configuration error: lint reports it, not the watcher)


@pytest.mark.parametrize("gap", [0.005, 0.02])
def test_sync_watch_pressed_twice_in_quick_succession_still_stops_cleanly(fresh_sample: Path, gap: float) -> None:
    """Two Ctrl-C's at once while it watches: "stopped watching" and status 0, never a traceback, the
    signal's end or "interrupted; run the command again" (helper's report: 63 of 80 runs ended so)."""
    import signal
    import subprocess
    import sys
    import time

    import threading

    proc = subprocess.Popen([sys.executable, "-m", "vaultkit", "sync", str(fresh_sample), "--watch", "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not any("watching" in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # (the observer runs: on_start has been called)
    finally:
        proc.send_signal(signal.SIGINT)
        time.sleep(gap)  # (sent at once, the two would make one: a signal pending is not queued twice)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        reader.join(timeout=5)
    err = "".join(lines)
    assert proc.returncode == 0, err
    assert "stopped watching" in err and "Traceback" not in err and "interrupted" not in err, err


def _ctrl_c_wrapped_by_a_library() -> None:
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as exc:
        raise RuntimeError("Error calling __set_name__ on 'Field' instance 'headings'") from exc


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, _ctrl_c_wrapped_by_a_library],
                         ids=["ctrl-c", "ctrl-c wrapped by a library"])
def test_sync_watch_ended_while_a_sync_runs_exits_130_and_says_to_finish_it(
        fresh_sample: Path, monkeypatch: pytest.MonkeyPatch, interrupt) -> None:
    """Also a Ctrl-C that lands while Python runs ``__set_name__`` (a class made by a module imported midway),
    which comes out as "RuntimeError: Error calling __set_name__": the watch took it for a failed sync and
    exited 0, the sync cut short (helper's report, stop 27)."""
    from vaultkit.commands import sync as sync_command

    real = sync_command._sync_once
    calls: list[int] = []

    def second_one_interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            if interrupt is KeyboardInterrupt:
                raise KeyboardInterrupt
            interrupt()
        return real(*args, **kwargs)

    monkeypatch.setattr(sync_command, "_sync_once", second_one_interrupted)
    monkeypatch.setattr(sync_command, "_inputs_stamp", lambda vault: str(len(calls)))  # (changed: on_start syncs)
    result = CliRunner().invoke(cli, ["sync", str(fresh_sample), "--watch", "-q"])
    assert len(calls) == 2
    assert result.exit_code == 130, result.output
    assert "the sync in progress was interrupted: run `vaultkit sync" in result.stderr, result.stderr
    assert "error:" not in result.stderr, result.stderr


def test_sync_watch_stopped_after_a_sync_that_failed_exits_0(fresh_sample: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A sync that failed (reported, and the watch goes on) was not cut short by the Ctrl-C that comes later."""
    import _thread
    import threading

    from vaultkit.commands import sync as sync_command

    real = sync_command._sync_once
    calls: list[int] = []

    def second_one_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            threading.Timer(0.5, _thread.interrupt_main).start()
            raise RuntimeError("disk on fire")  # (an internal error: shown, and the watch goes on)
        return real(*args, **kwargs)

    def on_start(*args, **kwargs) -> None:  # the observer runs: a note changes
        (fresh_sample / "New.md").write_text("# New\n", encoding="utf-8")

    monkeypatch.setattr(sync_command, "_sync_once", second_one_fails)
    real_watch = __import__("vaultkit.watch", fromlist=["watch"]).watch
    monkeypatch.setattr("vaultkit.watch.watch", lambda *a, **k: real_watch(*a, **{**k, "on_start": on_start}))
    safety = threading.Timer(60, _thread.interrupt_main)  # (should the change never be seen)
    safety.start()
    try:
        result = CliRunner().invoke(cli, ["sync", str(fresh_sample), "--watch", "-q"])
    finally:
        safety.cancel()
    assert len(calls) == 2
    assert result.exit_code == 0, result.output
    assert "error: disk on fire" in result.stderr and "stopped watching\n" in result.stderr, result.stderr


def test_ctrl_c_during_a_sync_exits_130_with_a_word_on_stderr_and_writes_nothing(
        fresh_sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C mid-run: the shell's status 130 and a short word on stderr, not click's "Aborted!" and 1."""
    from vaultkit import generate

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(generate, "plan_generation", interrupted)
    before = snapshot(fresh_sample)
    result = CliRunner().invoke(cli, ["sync", str(fresh_sample)])
    assert result.exit_code == 130, result.output
    assert "vaultkit: interrupted" in result.stderr and "Aborted" not in result.output
    assert snapshot(fresh_sample) == before


_RANKS = "|Tier|Method|\n|---|---|\n|T1|Gradient Descent|\n|T2|Other Way|\n"
_MENTIONS_IT = "We tried Gradient Descent here.\n"


def _two_aged_notes(root: Path) -> Path:
    """A note ranking two techniques and ``X.md`` naming one, both an hour old (the cache then trusts their
    size and times and hands out X's text read from the file on use); returns X's path."""
    (root / ".obsidian").mkdir()
    (root / "Table.md").write_text(_RANKS, encoding="utf-8")
    note = root / "X.md"
    note.write_text(_MENTIONS_IT, encoding="utf-8")
    hour_ago = os.stat(note).st_mtime - 3600
    for path in (root / "Table.md", note):
        os.utime(path, (hour_ago, hour_ago))
    return note


def _edit_after_parse(monkeypatch, change) -> None:
    """Run ``change`` once, right after the next sync has parsed (or taken from the cache) every note."""
    from vaultkit import pool

    real = pool.load_notes
    done: list[bool] = []

    def load_then_change(*args, **kwargs):
        out = real(*args, **kwargs)
        if not done:
            done.append(True)
            change()
        return out

    monkeypatch.setattr(pool, "load_notes", load_then_change)


@pytest.mark.parametrize("how", ["edited", "deleted", "empty at parse"])
def test_a_note_changed_between_parse_and_mention_search_leaves_no_stale_mentions(tmp_path, monkeypatch, how):
    """Its text is read from the file on use: found changed there, its mentions are not kept under the hash
    it was parsed with (a later sync of the same bytes would reuse them: helper's report, stop 20)."""
    note = _two_aged_notes(tmp_path)
    parsed = "" if how == "empty at parse" else _MENTIONS_IT  # (an empty note's kept text is "")
    note.write_text(parsed, encoding="utf-8")
    invoke("sync", str(tmp_path), "-q")
    # other names to look for: every note's mentions are searched again, X's text read from its file
    (tmp_path / "Table.md").write_text(_RANKS + "|T3|New Method|\n", encoding="utf-8")
    change = {"edited": lambda: note.write_text("Nothing here.\n", encoding="utf-8"), "deleted": note.unlink,
              "empty at parse": lambda: note.write_text(_MENTIONS_IT, encoding="utf-8")}[how]
    _edit_after_parse(monkeypatch, change)
    invoke("sync", str(tmp_path), "-q")
    monkeypatch.undo()
    note.write_text(parsed, encoding="utf-8")  # the bytes it was parsed from, back again
    invoke("sync", str(tmp_path), "-q")
    invoke("sync", str(tmp_path), "-q")
    result = CliRunner().invoke(cli, ["sync", str(tmp_path), "--check", "--no-cache", "-q"])
    assert result.exit_code == 0, result.output
    listed = "[[X]]" in (tmp_path / OUT / "Techniques" / "Gradient Descent.md").read_text(encoding="utf-8")
    assert listed == bool(parsed)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_note_replaced_by_a_named_pipe_after_parse_does_not_hang_a_sync(tmp_path, monkeypatch):
    note = _two_aged_notes(tmp_path)
    note.write_text(_MENTIONS_IT + "%% vaultkit:begin tier-ladder %%\n%% vaultkit:end tier-ladder %%\n",
                    encoding="utf-8")  # (a region: its text is read to fill it)
    invoke("sync", str(tmp_path), "-q")  # (fills the region: X is written now)
    os.utime(note, (os.stat(note).st_mtime - 3600,) * 2)
    invoke("sync", str(tmp_path), "-q")  # (the cache takes X as it is now)
    (tmp_path / "Table.md").write_text(_RANKS + "|T3|New Method|\n", encoding="utf-8")

    def to_pipe() -> None:
        note.unlink()
        os.mkfifo(note)

    _edit_after_parse(monkeypatch, to_pipe)
    result = CliRunner().invoke(cli, ["sync", str(tmp_path), "-q"])  # (blocked forever on open() before)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output


def test_once_interrupted_the_command_line_ignores_further_ctrl_c(fresh_sample: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """After a Ctrl-C the run exits 130; a second Ctrl-C while the interpreter winds down would only print a
    traceback (or kill it with a signal instead of the status), so the entry point ignores further ones."""
    import signal

    from vaultkit import generate
    from vaultkit.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(generate, "plan_generation", interrupted)
    before = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit) as exit_:
            main(["sync", str(fresh_sample)])
        assert exit_.value.code == 130
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_ctrl_c_while_python_loads_the_command_line_ends_it_with_130_and_no_traceback() -> None:
    """The first ~55 ms of a run load click and the commands, before any handler of vaultkit's runs: a Ctrl-C
    then printed a traceback (helper's report, stop 26). Here the import of ``vaultkit.cli`` is what raises."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "class Interrupting:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'vaultkit.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupting())\n"
        "from vaultkit.__main__ import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", script, "sync", "."], capture_output=True, text=True, timeout=60)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and "vaultkit: interrupted" in done.stderr, done.stderr


def test_without_a_vault_argument_the_vault_above_is_used_but_never_the_home_folder(
        fresh_sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (fresh_sample / "vaultkit.toml").write_text("", encoding="utf-8")
    monkeypatch.chdir(fresh_sample / "22_AI_Research_mainstream")  # (a folder of the vault)
    result = CliRunner().invoke(cli, ["sync", "-q"])
    assert result.exit_code == 0 and (fresh_sample / OUT / "Vault index.md").exists(), result.output
    assert not (fresh_sample / "22_AI_Research_mainstream" / OUT).exists()
    home = fresh_sample.parent / "home"
    home.mkdir()
    (home / "legacy.md").write_text("---\ntag: x\n---\n", encoding="utf-8")
    (fresh_sample.parent / "home-link").symlink_to(home)
    for home_as in (home, fresh_sample.parent / "home-link"):  # ($HOME may lead through a symlink)
        monkeypatch.setattr(Path, "home", classmethod(lambda cls: home_as))
        monkeypatch.chdir(home)
        for command in (["sync"], ["lint"], ["fix"], ["show"], ["graph", "--stats"]):
            result = CliRunner().invoke(cli, command)
            assert result.exit_code == 2 and "is not a vault (no .obsidian/ or vaultkit.toml)" in result.output
        assert [p.name for p in home.iterdir()] == ["legacy.md"]
        assert (home / "legacy.md").read_text(encoding="utf-8") == "---\ntag: x\n---\n"
    # named, too (helper's report: `vaultkit sync /` read for 10 minutes, 7 GB, and wrote /.vaultkit)
    monkeypatch.chdir(fresh_sample)
    for named, what in ((home, "your home folder"), (Path("/"), "the file system's root")):
        for command in (["sync"], ["lint"], ["fix"], ["show"], ["graph", "--stats"], ["sync", "--check"]):
            result = CliRunner().invoke(cli, [command[0], str(named), *command[1:]])
            assert result.exit_code == 2 and f"is not a vault (no .obsidian/ or vaultkit.toml) but {what}" \
                in result.output, (command, result.output)
    assert [p.name for p in home.iterdir()] == ["legacy.md"]
    (home / ".obsidian").mkdir()  # (a home folder that is a vault is one)
    assert CliRunner().invoke(cli, ["lint", str(home)]).exit_code == 1


@pytest.mark.skipif(sys.platform == "win32", reason="no flock")
def test_a_second_sync_is_refused_at_once_while_one_runs(fresh_sample: Path) -> None:
    """Helper's report: a second sync waited, then planned from the vault the first was still writing (its
    summary counted 43 diagnostics too many). It is refused before it reads anything; previews still run."""
    from vaultkit.writer import sync_lock

    with sync_lock(fresh_sample):  # (as a running sync holds it)
        result = invoke("sync", str(fresh_sample), "-q")
        assert result.exit_code == 2 and "another vaultkit sync is running on the vault" in result.output
        assert not (fresh_sample / OUT).exists() and not (fresh_sample / ".vaultkit").exists()
        assert invoke("sync", str(fresh_sample), "--check").exit_code == 1  # (would create the notes)
    assert invoke("sync", str(fresh_sample), "-q").exit_code == 0


def test_a_read_only_note_is_left_alone(fresh_sample: Path) -> None:
    """Replacing a file needs no write permission on it (only on its folder): one who took it away wants the
    note left as it is (helper's report: a region in a 0444 note was filled)."""
    home = fresh_sample / "Home.md"
    home.write_text("Mine.\n%% vaultkit:begin tier-ladder %%\n%% vaultkit:end tier-ladder %%\n", encoding="utf-8")
    home.chmod(0o444)
    assert invoke("sync", str(fresh_sample), "-q").exit_code == 1
    assert home.read_text(encoding="utf-8").count("\n") == 3
    tier = fresh_sample / OUT / "Tiers" / "Tier 3.md"
    tier.chmod(0o444)
    seed = fresh_sample / "22_AI_Research_mainstream" / "Production AI Techniques Tiered Table.md"
    seed.write_text(seed.read_text(encoding="utf-8").replace("|3|LoRA / QLoRA (adapter tuning)|",
                                                             "|3|LoRA / QLoRA (adapters)|"), encoding="utf-8")
    before = tier.read_bytes()
    result = CliRunner().invoke(cli, ["sync", str(fresh_sample), "-q"])
    assert result.exit_code == 1
    assert sorted(line.split(" (")[0] for line in result.stderr.splitlines()) == [
        "skipped-read-only: Home.md", f"skipped-read-only: {OUT}/Tiers/Tier 3.md"]
    assert tier.read_bytes() == before
    home.chmod(0o644)
    tier.chmod(0o644)
    assert invoke("sync", str(fresh_sample), "-q").exit_code == 0
    assert "LoRA QLoRA (adapters)" in tier.read_text(encoding="utf-8") and "Tier 3" in home.read_text(encoding="utf-8")


def test_a_note_this_user_may_not_write_is_left_alone(fresh_sample: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mode 644 but another user's: the rename the writer replaces it by would succeed (and make it ours)."""
    import vaultkit.writer as writer

    home = fresh_sample / "Home.md"
    home.write_text("Mine.\n%% vaultkit:begin tier-ladder %%\n%% vaultkit:end tier-ladder %%\n", encoding="utf-8")
    real_access = os.access
    monkeypatch.setattr(writer.os, "access", lambda path, mode, **kw: (
        False if os.fspath(path) == os.fspath(home) and mode == os.W_OK else real_access(path, mode, **kw)))
    result = CliRunner().invoke(cli, ["sync", str(fresh_sample), "-q"])
    assert result.exit_code == 1 and "skipped-read-only: Home.md" in result.stderr
    assert home.read_text(encoding="utf-8").count("\n") == 3


def test_after_an_obsidian_rename_every_generated_note_is_taken_back(fresh_sample: Path) -> None:
    """Obsidian renames a note and rewrites every link to it, in generated notes too, keeping each link's text:
    the tier notes showed the file name and so stayed 'edited' (helper's report); they show the title now."""
    assert invoke("sync", str(fresh_sample), "-q").exit_code == 0
    old, new = "22_AI_Research_mainstream/Production AI Techniques Tiered Table", "22_AI_Research_mainstream/Prod"
    (fresh_sample / f"{old}.md").rename(fresh_sample / f"{new}.md")
    for note in fresh_sample.rglob("*.md"):
        text = note.read_text(encoding="utf-8")
        if f"[[{old}" in text:
            note.write_text(text.replace(f"[[{old}", f"[[{new}"), encoding="utf-8")
    lint = CliRunner().invoke(cli, ["lint", str(fresh_sample), "--select", "VK401", "--no-cache"]).output
    assert lint.count("VK401") == 32 and lint.count("edited into what sync writes now") == 31, lint
    # (the canvas names the note's new path: sync updates it, and VK401 says so)
    assert "Knowledge graph.canvas: VK401 [warning] generated file is out of date" in lint
    result = CliRunner().invoke(cli, ["sync", str(fresh_sample)])
    assert result.exit_code == 0, result.output
    assert "updated: _vaultkit/Knowledge graph.canvas" in result.output
    assert invoke("sync", str(fresh_sample), "--check").exit_code == 0


@pytest.mark.parametrize("mode", ["--check", "--dry-run", "--diff"])
def test_modes_that_write_nothing_make_no_cache_either(mode: str, tmp_path: Path) -> None:
    """(a CI checkout stays as it was) -- but they reuse one a sync made."""
    root = tmp_path / "v"
    shutil.copytree(SAMPLE_VAULT, root, ignore=shutil.ignore_patterns(".vaultkit"))
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    result = CliRunner().invoke(cli, ["sync", mode, str(root)])
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_links_resolve_after_the_write_as_if_every_one_were_resolved_anew(fresh_sample: Path) -> None:
    """Only links that an added or removed generated file could answer are resolved again when a plan is made;
    the answers are those of resolving every link against the files as they will be."""
    from vaultkit import generate
    from vaultkit.resolve import NameIndex

    (fresh_sample / "Sub").mkdir()
    (fresh_sample / "Sub" / "Tier 3.md").write_text("Mine, also named Tier 3.\n", encoding="utf-8")
    (fresh_sample / "Reading.md").write_text(
        "[[Tier 3]] [[tier 1]] [[_vaultkit/Tiers/Tier 2]] [[Tiers/Tier 2.md]] [[Vault index#x]] [[Nope]] [[]] "
        "[[LoRA QLoRA (adapter tuning)]] [[Zeta method]] [[Sub/Tier 3]] [[../Tier 3]] [[Cost-to-value]]\n",
        encoding="utf-8")
    (fresh_sample / "Extra.md").write_text(
        "| Tier | Class/Method | Real-World Use | Effectiveness | Tradeoffs |\n|---|---|---|---|---|\n"
        "| 1 | Zeta method | somewhere | 🟢 | 💰 |\n", encoding="utf-8")
    calls = []
    real = generate._future_links

    def checked(vault, planned, made):
        targets, backlinks = real(vault, planned, made)
        after = sorted({f for f in vault.files if f not in made} | set(planned))
        index = NameIndex(after)
        links = [(note, link) for note in vault.user_notes() for link in note.links]
        assert {id(link): index.resolve(link.target, note.path) for note, link in links} == targets
        calls.append(sum(targets[id(link)] != link.resolved for _note, link in links))
        return targets, backlinks

    generate._future_links = checked
    try:
        assert invoke("sync", str(fresh_sample)).exit_code == 0  # notes added
        (fresh_sample / "Extra.md").unlink()  # Zeta method's note removed
        assert invoke("sync", str(fresh_sample)).exit_code == 0
    finally:
        generate._future_links = real
    assert len(calls) == 2 and all(calls), calls  # some links answered differently each time
