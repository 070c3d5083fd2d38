"""Techniques as entities: merging rows across notes and tables, aliases, mentions."""

from __future__ import annotations

from pathlib import Path

import pytest

from vaultkit.techniques import build_techniques, technique_aliases
from vaultkit.tiers import technique_key
from vaultkit.vault import Vault

from .conftest import EUGENE, SAMPLE_VAULT, need

SEED_NOTE = "22_AI_Research_mainstream/Production AI Techniques Tiered Table.md"


@pytest.fixture(scope="module")
def seed_techniques():
    return build_techniques(Vault.load(SAMPLE_VAULT))


@pytest.fixture(scope="module")
def eugene_techniques():
    return build_techniques(Vault.load(need(EUGENE)))


def test_seed_techniques_sorted_by_tier(seed_techniques) -> None:
    assert [t.tier for t in seed_techniques] == list(range(1, 16))
    lora = seed_techniques[2]
    assert (lora.key, lora.name, lora.node_id) == ("loraqlora", "LoRA / QLoRA (adapter tuning)", "technique:loraqlora")
    assert lora.aliases == ["LoRA / QLoRA", "LoRA", "QLoRA", "adapter tuning"]
    assert [(m.symbol, m.phrase) for m in lora.effectiveness] == [("🟢", "cost-effective upgrades")]
    assert [(m.symbol, m.phrase) for m in lora.tradeoffs] == [("⚪", "narrow domain retention")]
    assert seed_techniques[0].cost == 5 and seed_techniques[12].cost == 3
    assert seed_techniques[0].notes == [SEED_NOTE]


def test_aliases_read_from_names() -> None:
    assert technique_key("LoRA / QLoRA (adapter tuning)") == technique_key("LoRA/QLoRA") == "loraqlora"
    assert technique_aliases("RAG / Search-Augmented Memory") == ["RAG", "Search-Augmented Memory"]
    assert technique_aliases("Retrieval-Augmented Generation (RAG)") == ["Retrieval-Augmented Generation", "RAG"]
    assert technique_aliases("Agentic orchestration (LangChain etc.)") == ["Agentic orchestration"]
    assert technique_aliases("Domain-Specific DSL injection") == []


def test_seed_mentions_come_from_the_notes_own_text(seed_techniques) -> None:
    by_key = {t.key: t for t in seed_techniques}
    lora = by_key["loraqlora"].mentions[SEED_NOTE]
    assert (lora.line, lora.via) == (18, "alias")  # Acceptor: "LoRA/QLORA adapter tuning (Tier 3)"
    assert lora.count >= 3
    # "Data Deduplication / Cleaning" is only named as "deduplication/cleaning (Tier 9)": found by its tier
    dedup = by_key["datadeduplicationcleaning"].mentions[SEED_NOTE]
    assert (dedup.via, dedup.text, dedup.line) == ("tier", "Tier 9", 19)
    # table rows are not mentions: every mention of the seed lies outside the table's lines
    table = Vault.load(SAMPLE_VAULT).notes[SEED_NOTE].tables[0]
    first, last = table.line, table.rows[-1].line
    assert last - first == 16
    assert all(not first <= m.line <= last for t in seed_techniques for m in t.mentions.values())
    assert sum(1 for t in seed_techniques if SEED_NOTE in t.mentions) == 15


def test_eugene_merges_the_same_technique_across_notes(eugene_techniques) -> None:
    by_key = {t.key: t for t in eugene_techniques}
    assert len(eugene_techniques) == 28
    lora = by_key["loraqlora"]
    assert [r.name for r in lora.rows] == ["LoRA / QLoRA (adapter tuning)", "LoRA / PEFT"]
    assert len(lora.notes) == 2 and lora.tier == 3 and lora.cost == 1
    rag = by_key["ragsearchaugmentedmemory"]
    assert [r.name for r in rag.rows] == ["RAG / Search-Augmented Memory", "Retrieval-Augmented Generation (RAG)"]
    assert rag.tier == 5 and rag.tier_keys == ["5", "14"]
    rlhf = by_key["rlhf"]  # "RLHF (reward modeling)" ranks 4 in one note, "Reinforcement Learning (RLHF/RLAIF)" 13
    assert rlhf.tier == 4 and rlhf.name == "RLHF (reward modeling)" and rlhf.cost == 3
    assert "Reinforcement Learning (RLHF/RLAIF)" in rlhf.aliases
    # text tiers sort last
    assert [t.tier for t in eugene_techniques[-3:]] == [None, None, None]
    tiers = [t.tier for t in eugene_techniques if t.tier is not None]
    assert tiers == sorted(tiers)
    assert len(rag.mentions) > 50  # RAG is named across the vault


def test_rows_of_one_table_never_merge_and_tier_mentions_need_an_own_table(tmp_path: Path) -> None:
    (tmp_path / "Ranks.md").write_text(
        "|Tier|Method|\n|---|---|\n|1|LoRA|\n|2|LoRA / QLoRA|\n|3|RAG / Search|\n\nTier 3 is cheap.\n",
        encoding="utf-8")
    (tmp_path / "Other.md").write_text(
        "---\ntitle: Other\n---\nWe tried qlora and Tier 1.\n\n|Tier|Technique|\n|---|---|\n|4|LoRA/QLoRA|\n",
        encoding="utf-8")
    ts = build_techniques(Vault.load(tmp_path))
    by_key = {t.key: t for t in ts}
    assert sorted(by_key) == ["lora", "loraqlora", "ragsearch"]
    assert [(r.note, r.tier.low) for r in by_key["loraqlora"].rows] == [("Ranks.md", 2), ("Other.md", 4)]
    assert by_key["loraqlora"].tier == 2
    assert by_key["ragsearch"].mentions["Ranks.md"].via == "tier"
    # "Tier 1" in Other.md is about Other.md's own table (which has no tier 1): no mention of LoRA
    assert "Other.md" not in by_key["lora"].mentions
    other = by_key["loraqlora"].mentions["Other.md"]
    assert (other.line, other.text, other.via) == (4, "qlora", "alias")


def test_names_longer_than_the_limit_are_not_looked_for_in_the_text(tmp_path: Path) -> None:
    """A paragraph in a tier table's name cell is not a name anyone mentions; building the search for one grew
    with the square of its length (helper's report: a 1 MB cell, over 5 minutes)."""
    from vaultkit.techniques import MENTION_NAME_MAX, mention_targets

    long_name = ("LoRA " * 100)[:MENTION_NAME_MAX + 1].strip() + "x"
    longest = ("Tuning " * 40)[:MENTION_NAME_MAX].strip()[:-1] + "q"
    (tmp_path / "T.md").write_text("| Tier | Technique | Effectiveness |\n|---|---|---|\n"
                                   f"| 1 | {long_name} | 🟢 |\n| 2 | {longest} | 🟢 |\n", encoding="utf-8")
    targets, _own = mention_targets(build_techniques(Vault.load(tmp_path), mentions=False))
    assert len(long_name) > MENTION_NAME_MAX >= len(longest)
    assert longest.lower() in targets and long_name.lower() not in targets
