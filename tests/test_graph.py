"""The knowledge graph: node and edge kinds on the seed, links and generated notes, eugene-sample, statistics."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from vaultkit.graph import (
    EDGE_KINDS,
    NODE_KINDS,
    build_graph,
    counts,
    dead_ends,
    most_wanted,
    orphans,
    pagerank,
    stats,
    technique_reach,
)
from vaultkit.vault import Vault

from .conftest import EUGENE, SAMPLE_VAULT, need

SEED_NOTE = "22_AI_Research_mainstream/Production AI Techniques Tiered Table.md"
SAFE = (str, int, float, bool)


@pytest.fixture(scope="module")
def seed_graph():
    return Vault.load(SAMPLE_VAULT).graph


@pytest.fixture(scope="module")
def eugene_vault():
    return Vault.load(need(EUGENE))


def assert_graphml_safe(g) -> None:
    types: dict[tuple[str, str], type] = {}
    for _, data in g.nodes(data=True):
        assert data["kind"] in NODE_KINDS
        for k, v in data.items():
            assert isinstance(v, SAFE), (k, v)
            assert types.setdefault(("node", k), type(v)) is type(v), k
    for _, _, data in g.edges(data=True):
        assert data["kind"] in EDGE_KINDS and isinstance(data["line"], int)
        for k, v in data.items():
            assert isinstance(v, SAFE), (k, v)
            assert types.setdefault(("edge", k), type(v)) is type(v), k


def test_seed_graph_counts(seed_graph) -> None:
    c = counts(seed_graph)
    assert c["nodes"] == {"note": 1, "technique": 15, "tier": 15, "tag": 11, "missing": 5}
    assert c["edges"] == {"link": 0, "embed": 0, "frontmatter-link": 0, "feedback": 5, "mentions": 15,
                          "ranks": 15, "in-tier": 15, "tagged": 11}
    assert_graphml_safe(seed_graph)


def test_seed_graph_nodes_and_edges(seed_graph) -> None:
    g = seed_graph
    note = g.nodes[SEED_NOTE]
    assert (note["kind"], note["title"], note["folder"]) == ("note", "Production AI Techniques Tiered Table",
                                                              "22_AI_Research_mainstream")
    assert (note["novelty"], note["value"], note["feasibility"], note["emergence"]) == (8.0, 9.0, 7.0, "8, 9, 7")
    lora = g.nodes["technique:loraqlora"]
    assert (lora["label"], lora["tier"], lora["cost"]) == ("LoRA / QLoRA (adapter tuning)", 3, 0)
    assert lora["effectiveness"] == "🟢 cost-effective upgrades" and lora["tradeoffs"] == "⚪ narrow domain retention"
    assert g.nodes["technique:modelscaling"]["cost"] == 5
    assert g.nodes["technique:modelscaling"]["tradeoffs"] == "💰💰💰💰💰; 🧠 opaque"
    assert g.nodes["tier:3"] == {"kind": "tier", "label": "Tier 3", "number": 3, "text": "3"}
    assert g.nodes["tag:s22_ai_research_mainstream"]["label"] == "#S22_AI_Research_mainstream"
    table = Vault.load(SAMPLE_VAULT).notes[SEED_NOTE].tables[0]
    (ranks,) = [d for _, _, d in g.edges(SEED_NOTE, data=True) if d["kind"] == "ranks" and d["row"] == 3]
    assert ranks == {"kind": "ranks", "line": table.rows[2].line, "table": 0, "row": 3, "tier_label": "3",
                     "cost": 0, "tier": 3}
    assert [v for _, v, d in g.out_edges("technique:loraqlora", data=True) if d["kind"] == "in-tier"] == ["tier:3"]
    feedback = sorted((v, d["line"]) for _, v, d in g.out_edges(SEED_NOTE, data=True) if d["kind"] == "feedback")
    assert feedback == [("missing:AI Model Scaling Effectiveness", 22), ("missing:AI Optimization Techniques Catalog", 22),
                        ("missing:AI Technical Trade-offs Analysis", 22), ("missing:Enterprise AI Deployment Framework", 22),
                        ("missing:Production AI Implementation Guidelines", 22)]
    mention = [d for _, v, d in g.out_edges(SEED_NOTE, data=True)
               if v == "technique:loraqlora" and d["kind"] == "mentions"]
    assert mention and mention[0]["line"] == 18 and mention[0]["count"] >= 3


def write(root: Path, rel: str, text: str) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


def test_links_embeds_frontmatter_links_and_generated_notes(tmp_path: Path) -> None:
    write(tmp_path, "A.md", "---\nrelated: \"[[B]]\"\ntags: [x]\n---\n# Top\nSee [[B]] and ![[C]].\n"
                            "%% [[B]] in a comment %%\n[[#Top]] [[Nope]] [[_vaultkit/Index]] ![[pic.png]]\n")
    write(tmp_path, "B.md", "Back to [[a]]. Also [[nope]].\n")
    write(tmp_path, "C.md", "alone\n")
    write(tmp_path, "pic.png", "")
    write(tmp_path, "_vaultkit/Index.md", "---\nvaultkit: {generator: vaultkit}\n---\n[[A]] [[B]]\n")
    vault = Vault.load(tmp_path)
    g = build_graph(vault)
    assert "_vaultkit/Index.md" not in g and "pic.png" not in g
    edges = sorted((u, v, d["kind"], d["line"]) for u, v, d in g.edges(data=True) if d["kind"] != "tagged")
    assert edges == [
        ("A.md", "B.md", "frontmatter-link", 2),
        ("A.md", "B.md", "link", 6),
        ("A.md", "C.md", "embed", 6),
        ("A.md", "missing:Nope", "link", 8),
        ("B.md", "A.md", "link", 1),
        ("B.md", "missing:Nope", "link", 1),  # "nope" and "Nope" are one wanted note
    ]
    assert [(u, v) for u, v, d in g.edges(data=True) if d["kind"] == "tagged"] == [("A.md", "tag:x")]
    assert orphans(g) == [] and dead_ends(g) == ["C.md"]
    assert most_wanted(g) == [{"id": "missing:Nope", "name": "Nope", "notes": 2, "references": 2}]
    assert_graphml_safe(g)


def test_feedback_and_unresolved_links_share_a_wanted_note(tmp_path: Path) -> None:
    write(tmp_path, "Seed.md", "---\nFeedbackLoop: the 'Scaling Effectiveness' note depends on it.\n---\n")
    write(tmp_path, "Other.md", "[[Scaling effectiveness]]\n")
    g = build_graph(Vault.load(tmp_path))
    wanted = [n for n, k in g.nodes(data="kind") if k == "missing"]
    assert wanted == ["missing:Scaling effectiveness"]  # links come first, then FeedbackLoop names
    assert sorted((u, d["kind"]) for u, _, d in g.in_edges(wanted[0], data=True)) == [
        ("Other.md", "link"), ("Seed.md", "feedback")]


def test_eugene_graph(eugene_vault) -> None:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        g = build_graph(eugene_vault)
        best = min(best, time.perf_counter() - t0)
    assert best < 3.0  # about 0.35 s on a quiet machine; generous for a shared CI box
    c = counts(g)
    assert c["nodes"]["note"] == 205 and c["nodes"]["technique"] == 28 and c["nodes"]["tier"] == 18
    assert c["edges"]["ranks"] == 33 and c["edges"]["feedback"] > 300 and c["edges"]["link"] > 4000
    assert c["nodes"]["missing"] > 500
    assert_graphml_safe(g)
    reach = technique_reach(g, 3)
    assert [r["name"] for r in reach] == ["RAG / Search-Augmented Memory", "LoRA / QLoRA (adapter tuning)",
                                          "Instruction Fine-Tuning (sFT)"]
    assert reach[0]["ranked_by"] == 2 and reach[0]["notes"] >= 90
    wanted = most_wanted(g, 2)
    assert [w["name"] for w in wanted] == ["10_Modern_AI_Architectures", "11_AI_Architecture_Components_Part1"]
    assert wanted[0]["notes"] >= 30


def test_stats_of_the_seed_and_eugene(seed_graph, eugene_vault) -> None:
    s = stats(seed_graph, top=3)
    assert s["orphans"] == [SEED_NOTE] and s["dead_ends"] == []
    assert s["components"] == {"count": 1, "sizes": [47]}
    assert s["hubs"] == [{"id": SEED_NOTE, "neighbours": 31}]  # 15 techniques, 11 tags, 5 wanted notes
    assert [w["notes"] for w in s["most_wanted"]] == [1, 1, 1]
    assert [t["name"] for t in s["techniques"]] == ["Model Scaling (GPT-3→4→Qwen→Gemini)",
                                                   "Instruction Fine-Tuning (sFT)", "LoRA / QLoRA (adapter tuning)"]
    e = stats(eugene_vault.graph, top=5, vault=eugene_vault)
    assert e["counts"]["nodes"]["note"] == 205
    # one big component and 13 notes with no link, tag, technique or wanted note at all
    n = eugene_vault.graph.number_of_nodes()
    assert e["components"]["count"] == 14 and e["components"]["sizes"][:3] == [n - 13, 1, 1]
    assert len(e["orphans"]) == 14 and "NOTICE.md" in e["orphans"]
    assert e["pagerank"][0] == {"id": "technique:ragsearchaugmentedmemory", "kind": "technique",
                                "score": pagerank(eugene_vault.graph, 1)[0][1]}
    assert {p["kind"] for p in e["pagerank"]} <= {"note", "technique", "missing"}
    assert all("suggestions" in w for w in e["most_wanted"])
