"""Exports read back by networkx with the same nodes and edges; Mermaid text of the tier ladder."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import networkx as nx
import pytest

from vaultkit.export import export_text, graph_from_node_link, mermaid_label, mermaid_tier_ladder, write_graph
from vaultkit.vault import Vault

from .conftest import CASES, EUGENE, SAMPLE_VAULT, need


@pytest.fixture(scope="module", params=["seed", "eugene"])
def vault(request):
    return Vault.load(SAMPLE_VAULT if request.param == "seed" else need(EUGENE))


def read_back(fmt: str, path: Path) -> nx.MultiDiGraph:
    if fmt == "json":
        return graph_from_node_link(json.loads(path.read_text(encoding="utf-8")))
    if fmt == "graphml":
        return nx.read_graphml(path)
    return nx.read_gexf(path)


@pytest.mark.parametrize("fmt", ["json", "graphml", "gexf"])
def test_export_reads_back_with_the_same_nodes_and_edges(vault, fmt: str, tmp_path: Path) -> None:
    g = vault.graph
    path = tmp_path / f"graph.{fmt}"
    write_graph(g, fmt, path)
    h = read_back(fmt, path)
    assert h.is_directed() and h.is_multigraph()
    assert (h.number_of_nodes(), h.number_of_edges()) == (g.number_of_nodes(), g.number_of_edges())
    assert set(h.nodes) == set(g.nodes)
    kinds = lambda graph: sorted(d["kind"] for _, _, d in graph.edges(data=True))  # noqa: E731
    assert kinds(h) == kinds(g)
    lora = h.nodes["technique:loraqlora"]
    assert (lora["kind"], int(lora["tier"])) == ("technique", 3)
    assert "LoRA / QLoRA (adapter tuning)" in (lora.get("name"), lora.get("label"))


def test_export_text_matches_the_file_writer(tmp_path: Path) -> None:
    v = Vault.load(SAMPLE_VAULT)
    for fmt in ("json", "graphml", "gexf"):
        buf = io.BytesIO()
        write_graph(v.graph, fmt, buf)
        assert export_text(v, fmt) == buf.getvalue().decode("utf-8")
    data = json.loads(export_text(v, "json"))
    assert data["directed"] is True and data["multigraph"] is True
    assert len(data["nodes"]) == 47 and len(data["edges"]) == 61
    with pytest.raises(ValueError):
        export_text(v, "dot")


def test_mermaid_tier_ladder_of_the_seed() -> None:
    text = mermaid_tier_ladder(Vault.load(SAMPLE_VAULT), top=3)
    lines = text.splitlines()
    assert lines[0] == "flowchart TD"
    assert '    tier1["Tier 1"]' in lines and '    tier15["Tier 15"]' in lines
    assert "    " + " --> ".join(f"tier{i}" for i in range(1, 16)) in lines
    assert [ln.strip() for ln in lines if "---" in ln] == [
        'tier1 --- tech1(["Model Scaling (GPT-3→4→Qwen→Gemini) · 1 note"])',
        'tier2 --- tech2(["Instruction Fine-Tuning (sFT) · 1 note"])',
        'tier3 --- tech3(["LoRA / QLoRA (adapter tuning) · 1 note"])',
    ]
    assert not text.startswith("```")  # the generator adds the fence


def test_mermaid_of_eugene_puts_the_most_connected_techniques_on_their_best_tiers() -> None:
    text = mermaid_tier_ladder(Vault.load(need(EUGENE)), top=4)
    edges = [ln.strip() for ln in text.splitlines() if " --- " in ln]
    assert len(edges) == 4
    assert edges[0].startswith('tier5 --- tech1(["RAG / Search-Augmented Memory · ')
    assert edges[1].startswith('tier3 --- tech2(["LoRA / QLoRA (adapter tuning) · ')
    assert '    tiertext1["Consumer"]' in text.splitlines()
    # every node id used in an edge is declared, and no id is a Mermaid keyword
    declared = set(re.findall(r"^\s+(\w+)\[", text, re.M)) | set(re.findall(r"--- (\w+)\(", text))
    used = set(re.findall(r"\b(tier\w*|tech\d+)\b", text)) - {"tier"}
    assert used <= declared and "end" not in declared


def test_mermaid_labels_are_quoted() -> None:
    assert mermaid_label('A "quoted" [name]: x;\nnext') == '"A #quot;quoted#quot; [name]: x; next"'


def test_mermaid_without_tier_tables(tmp_path: Path) -> None:
    (tmp_path / "A.md").write_text("no tables\n", encoding="utf-8")
    assert mermaid_tier_ladder(Vault.load(tmp_path)) == 'flowchart TD\n    none["No tier tables found"]'


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_characters_xml_cannot_hold_are_dropped(fmt: str, tmp_path: Path) -> None:
    root = tmp_path / "v"
    root.mkdir()
    (root / "A.md").write_text('---\ntitle: "Bad\\x01 title"\n---\n[[Gone\x0bNote]]\n', encoding="utf-8")
    g = Vault.load(root).graph
    assert g.nodes["A.md"]["title"] == "Bad title"
    assert "missing:GoneNote" in g
    path = tmp_path / f"g.{fmt}"
    write_graph(g, fmt, path)
    h = read_back(fmt, path)
    assert (h.number_of_nodes(), h.number_of_edges()) == (2, 1)


def test_canvas_and_mermaid_with_ranges_open_tiers_and_tier_zero(tmp_path: Path) -> None:
    from vaultkit.export import canvas, validate_canvas

    (tmp_path / "R.md").write_text("|Tier|Method|\n|---|---|\n|T0|Base|\n|T3–T4|Mid|\n|T5+|Far|\n"
                                   "|S (best)|Text|\n", encoding="utf-8")
    v = Vault.load(tmp_path)
    g = v.graph
    assert sorted(v for _, v, k in g.out_edges("technique:mid", data="kind") if k == "in-tier") == ["tier:3", "tier:4"]
    (far,) = [d for _, _, d in g.out_edges("technique:far", data=True)]
    assert (far["open"], far["range"]) == (True, "5+")
    assert g.nodes["tier:s"]["label"] == "S"
    doc = canvas(v)
    assert validate_canvas(doc) == []
    assert [n["label"] for n in doc["nodes"] if n["type"] == "group"] == ["Tier 0", "Tier 3", "Tier 5", "S"]
    text = mermaid_tier_ladder(v)
    assert "    tier0 --> tier3 --> tier4 --> tier5" in text.splitlines()
    assert 'tier3 --- tech' in text and '["S"]' in text


def _ladder_vaults() -> list[Path]:
    cases = sorted(p / "vault" for p in CASES.glob("*") if (p / "vault").is_dir())
    return [SAMPLE_VAULT, EUGENE, *cases]


@pytest.mark.parametrize("root", _ladder_vaults(), ids=lambda p: p.parent.name if p.name == "vault" else p.name)
def test_canvas_and_mermaid_from_techniques_equal_those_from_the_graph(root: Path) -> None:
    """sync draws the canvas and the Mermaid ladder without the graph; the result must not differ."""
    from vaultkit.export import canvas, canvas_from_graph, mermaid_from_graph

    from vaultkit.export import Ladder
    from vaultkit.techniques import build_techniques

    v = Vault.load(need(root))
    assert canvas(v) == canvas_from_graph(v.graph)
    # every note counts (mentioned_by: the mention map's keys view) = the user's notes (copied sets)
    techs = build_techniques(v)
    assert Ladder.from_techniques(techs) == Ladder.from_techniques(techs, {n.path for n in v.user_notes()})
    for top in (1, 12, 1000):
        assert mermaid_tier_ladder(v, top=top) == mermaid_from_graph(v.graph, top=top)


def test_a_technique_mentioned_by_one_note_and_ranked_by_another_joins_both_on_the_canvas(tmp_path: Path) -> None:
    """As many notes mention it as rank it, but not the same ones: the mentioning note is drawn too."""
    from vaultkit.export import canvas, canvas_from_graph

    (tmp_path / "Ranks.md").write_text("|Tier|Method|\n|---|---|\n|T1|Gradient Descent|\n|T2|Other Way|\n",
                                       encoding="utf-8")
    (tmp_path / "Prose.md").write_text("We tried Gradient Descent twice.\n", encoding="utf-8")
    v = Vault.load(tmp_path)
    doc = canvas(v)
    assert doc == canvas_from_graph(v.graph)
    assert {n["file"] for n in doc["nodes"] if n["type"] == "file"} == {"Ranks.md", "Prose.md"}
    assert sorted(e["label"] for e in doc["edges"]) == ["mentions", "ranks", "ranks"]


def test_ladder_from_techniques_keeps_control_characters_out_like_the_graph(tmp_path: Path) -> None:
    from vaultkit.export import canvas, canvas_from_graph

    (tmp_path / "A.md").write_text("|Tier|Method|\n|---|---|\n|T1|Bad\x01 name|\n|Odd\x0b tier|Other|\n"
                                   "Bad\x01 name is used here.\n", encoding="utf-8")
    v = Vault.load(tmp_path)
    doc = canvas(v)
    assert doc == canvas_from_graph(v.graph)
    assert all("\x01" not in n.get("text", "") and "\x0b" not in n.get("label", "") for n in doc["nodes"])
