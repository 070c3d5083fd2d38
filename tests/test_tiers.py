"""Tier tables: the seed's table read cell by cell, the tier-cell forms of the user's vault, detection, diagnostics."""

from __future__ import annotations

import pytest

from vaultkit.parse import parse_note
from vaultkit.tiers import Mark, is_tier_table, parse_marks, parse_tier, read_tier_tables, TRADEOFF_MEANINGS
from vaultkit.vault import Vault

from .conftest import EUGENE, SAMPLE_VAULT, need

SEED_NOTE = "22_AI_Research_mainstream/Production AI Techniques Tiered Table.md"


def note_of(body: str, path: str = "n.md"):
    return parse_note(path, body.encode("utf-8"))


@pytest.fixture(scope="module")
def seed_rows():
    vault = Vault.load(SAMPLE_VAULT)
    rows, diags = read_tier_tables(vault.notes[SEED_NOTE])
    return rows, diags, vault.notes[SEED_NOTE]


def test_seed_table_gives_fifteen_rows_in_order_with_their_lines(seed_rows) -> None:
    rows, diags, note = seed_rows
    assert diags == []
    assert [r.tier.low for r in rows] == list(range(1, 16))
    assert [r.row for r in rows] == list(range(1, 16))
    assert {r.note for r in rows} == {SEED_NOTE} and {r.table for r in rows} == {0}
    header_line = note.tables[0].line
    assert [r.line for r in rows] == [header_line + 1 + i for i in range(1, 16)]
    raw = (SAMPLE_VAULT / SEED_NOTE).read_text(encoding="utf-8").splitlines()
    assert raw[rows[2].line - 1].startswith("|3|LoRA / QLoRA (adapter tuning)|")


def test_seed_tier_three_is_lora_with_its_marks(seed_rows) -> None:
    rows, _, _ = seed_rows
    lora = rows[2]
    assert lora.tier.low == 3 and lora.tier.label == "3"
    assert lora.name == "LoRA / QLoRA (adapter tuning)"
    assert lora.uses == ["HuggingFace", "Mistral", "Claude", "Qwen"]
    assert lora.effectiveness == [Mark("🟢", 1, "clear gain", "cost-effective upgrades")]
    assert lora.tradeoffs == [Mark("⚪", 1, "marginal", "narrow domain retention")]
    assert lora.cost == 0


def test_seed_costs_and_intensity(seed_rows) -> None:
    rows, _, _ = seed_rows
    scaling, rlhf, rag = rows[0], rows[12], rows[4]
    assert scaling.name == "Model Scaling (GPT-3→4→Qwen→Gemini)"
    assert scaling.cost == 5
    assert scaling.tradeoffs == [Mark("💰", 5, "cost", ""), Mark("🧠", 1, "opaque", "opaque")]
    assert [(m.symbol, m.phrase) for m in scaling.effectiveness] == [("🟢", "high coverage"), ("🟢", "emergent utility")]
    assert rlhf.cost == 3 and rlhf.tradeoffs[1] == Mark("📉", 1, "degradation risk", "policy collapse risk")
    assert rag.cost == 1 and rag.tradeoffs == [Mark("💰", 1, "cost", "infra-heavy")]
    # the legend in the header cell gives 🔴 its meaning
    assert rows[5].effectiveness[1] == Mark("🔴", 1, "fragile", "fragile")
    assert [r.cost for r in rows] == [5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0]


@pytest.mark.parametrize(
    "cell, low, high, is_open, key",
    [
        ("1", 1, 1, False, "1"),
        ("**1**", 1, 1, False, "1"),
        ("T0", 0, 0, False, "0"),
        ("**T3**", 3, 3, False, "3"),
        ("T3–T4", 3, 4, False, "3-4"),
        ("T3-T4", 3, 4, False, "3-4"),
        ("T5+", 5, 5, True, "5+"),
        ("Tier 2", 2, 2, False, "2"),
        ("2 (core)", 2, 2, False, "2"),
        ("Т4", 4, 4, False, "4"),  # Cyrillic Т
        ("S (best)", None, None, False, "s"),
        ("Consumer (RTX 4070–4090)", None, None, False, "consumer"),
    ],
)
def test_tier_cells(cell: str, low, high, is_open: bool, key: str) -> None:
    t = parse_tier(cell)
    assert (t.low, t.high, t.open, t.key) == (low, high, is_open, key)


def test_text_tier_keeps_its_parenthesis() -> None:
    t = parse_tier("Consumer (RTX 4070–4090)")
    assert (t.label, t.text, t.note, t.numbers) == ("Consumer (RTX 4070–4090)", "Consumer", "RTX 4070–4090", [])
    assert parse_tier("T3–T4").numbers == [3, 4]


def test_repeated_marks_are_intensity() -> None:
    marks = parse_marks("💰💰💰 (compute), 🧨🧨 fragile", TRADEOFF_MEANINGS)
    assert [(m.symbol, m.count, m.phrase) for m in marks] == [("💰", 3, "(compute)"), ("🧨", 2, "fragile")]


TABLES = """# Rankings

|Rank|Technique|Tradeoffs (💰=compute, 🧨=brittle)|
|---|---|---|
|**T1**|Scaling|💰💰💰|
|T2–T3|RAG|🧨 brittle|
|T5+|Agents|
|T2–T3|Adapters|💰|

|Тир (уровень)|Метод|
|---|---|
|1|Масштабирование|
|2|Дообучение|

|#|Method|Notes|
|---|---|---|
|1|LoRA|cheap|
|2|RLHF|costly|

|№|Область|Почему|
|---|---|---|
|1|Физика|x|
|2|Химия|y|

|Level|Task|
|---|---|
|🧠 Core|thinking|
|🔁 Loop|repeat|

|GPU Tier|Quant Types|
|---|---|
|Consumer (RTX 4070–4090)|GPTQ, AWQ|
|Server (H100)|FP8|

|Tier|Method|
|---|---|
|1|A|
|two|B|
"""


def test_detection_of_tier_columns() -> None:
    note = note_of(TABLES)
    cols = [is_tier_table(t) for t in note.tables]
    assert cols == [0, 0, 0, None, None, 0, 0]


def test_rows_diagnostics_and_legends_of_synthetic_tables() -> None:
    note = note_of(TABLES)
    rows, diags = read_tier_tables(note)
    by_name = {r.name: r for r in rows}
    assert set(by_name) == {"Scaling", "RAG", "Agents", "Adapters", "Масштабирование", "Дообучение", "LoRA",
                            "RLHF", "GPTQ, AWQ", "FP8", "A", "B"}
    assert by_name["Scaling"].tier.label == "T1" and by_name["Scaling"].cost == 3
    assert by_name["RAG"].tier.key == "2-3"
    assert by_name["RAG"].tradeoffs == [Mark("🧨", 1, "fragile", "brittle")]
    assert by_name["Agents"].tier.open and by_name["Agents"].tradeoffs == []
    assert by_name["Дообучение"].tier.low == 2
    assert by_name["GPTQ, AWQ"].tier.text == "Consumer" and by_name["GPTQ, AWQ"].tier.low is None
    assert [(r.table, r.row) for r in rows if r.name in ("LoRA", "RLHF")] == [(2, 1), (2, 2)]
    codes = sorted((d.code, d.line) for d in diags)
    lines = {r.name: r.line for r in rows}
    assert ("VK304", lines["Agents"]) in codes  # ragged row: 2 cells, the header has 3
    assert ("VK302", lines["Adapters"]) in codes  # T2–T3 twice in one table
    assert ("VK301", lines["B"]) in codes  # a text tier among numbers
    # a table whose tiers are all text is fine
    assert not [d for d in diags if d.line in (lines["GPTQ, AWQ"], lines["FP8"])]
    assert len(codes) == 3


def test_eugene_tier_tables() -> None:
    vault = Vault.load(need(EUGENE))
    tables = sorted({(r.note, r.table) for r in vault.techniques})
    assert tables == [
        ("13_Hardware/GPU Quantization and Future Scaling Strategies.md", 0),
        ("22_AI_Research_mainstream/Production AI Techniques Tiered Table.md", 0),
        ("22_AI_Research_mainstream/Verified LLM Training Approaches.md", 0),
    ]
    verified = [r for r in vault.techniques if r.note.startswith("22_AI_Research_mainstream/Verified")]
    assert len(verified) == 15
    lora = verified[2]
    assert (lora.tier.low, lora.name, lora.cost) == (3, "LoRA / PEFT", 1)
    assert verified[0].cost == 5 and verified[0].tradeoffs[0].count == 5
    gpu = [r for r in vault.techniques if r.note.startswith("13_Hardware")]
    assert [r.tier.label for r in gpu] == ["Consumer (RTX 4070–4090)", "Pro (A6000, RTX 6000 Ada)", "Server (H100, MI300X)"]
    assert all(r.tier.low is None for r in gpu)
    # no tier-table warnings on the user's three tables (text tiers are not errors)
    codes = [d.code for n in vault.notes.values() for d in n.diagnostics if d.code.startswith("VK30")]
    assert codes == []


def test_name_cells_with_links_read_as_their_text() -> None:
    note = note_of("|Tier|Method|\n|---|---|\n|1|[[LoRA Notes\\|LoRA]] tuning|\n|2|[RAG](https://x.org)<br>search|\n")
    rows, diags = read_tier_tables(note)
    assert [r.name for r in rows] == ["LoRA tuning", "RAG search"] and diags == []
