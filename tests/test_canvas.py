"""The JSON Canvas export validates against JSON Canvas 1.0 (a schema written from §9 of the syntax notes)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from click.testing import CliRunner

from vaultkit.cli import cli
from vaultkit.export import canvas, canvas_bytes, validate_canvas
from vaultkit.vault import Vault

from .conftest import EUGENE, SAMPLE_VAULT, need

SEED_NOTE = "22_AI_Research_mainstream/Production AI Techniques Tiered Table.md"

COLOR = {"type": "string", "pattern": "^(?:[1-6]|#[0-9A-Fa-f]{6})$"}
SIDE = {"enum": ["top", "right", "bottom", "left"]}
END = {"enum": ["none", "arrow"]}

#: JSON Canvas 1.0 (2024-03-11) as §9.1 describes it; extra keys are allowed for forward compatibility.
CANVAS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "nodes": {"type": "array", "items": {"$ref": "#/$defs/node"}},
        "edges": {"type": "array", "items": {"$ref": "#/$defs/edge"}},
    },
    "$defs": {
        "node": {
            "type": "object",
            "required": ["id", "type", "x", "y", "width", "height"],
            "properties": {
                "id": {"type": "string", "minLength": 1},
                "type": {"enum": ["text", "file", "link", "group"]},
                "x": {"type": "integer"},
                "y": {"type": "integer"},
                "width": {"type": "integer"},
                "height": {"type": "integer"},
                "color": COLOR,
            },
            "allOf": [
                {"if": {"properties": {"type": {"const": "text"}}},
                 "then": {"required": ["text"], "properties": {"text": {"type": "string"}}}},
                {"if": {"properties": {"type": {"const": "file"}}},
                 "then": {"required": ["file"], "properties": {"file": {"type": "string", "minLength": 1},
                                                               "subpath": {"type": "string", "pattern": "^#"}}}},
                {"if": {"properties": {"type": {"const": "link"}}},
                 "then": {"required": ["url"], "properties": {"url": {"type": "string"}}}},
                {"if": {"properties": {"type": {"const": "group"}}},
                 "then": {"properties": {"label": {"type": "string"}, "background": {"type": "string"},
                                         "backgroundStyle": {"enum": ["cover", "ratio", "repeat"]}}}},
            ],
        },
        "edge": {
            "type": "object",
            "required": ["id", "fromNode", "toNode"],
            "properties": {
                "id": {"type": "string", "minLength": 1},
                "fromNode": {"type": "string"},
                "toNode": {"type": "string"},
                "fromSide": SIDE,
                "toSide": SIDE,
                "fromEnd": END,
                "toEnd": END,
                "color": COLOR,
                "label": {"type": "string"},
            },
        },
    },
}


def check(doc: dict) -> None:
    jsonschema.validate(doc, CANVAS_SCHEMA, format_checker=jsonschema.FormatChecker())


def inside(card: dict, group: dict) -> bool:
    return (group["x"] <= card["x"] and card["x"] + card["width"] <= group["x"] + group["width"]
            and group["y"] <= card["y"] and card["y"] + card["height"] <= group["y"] + group["height"])


def test_schema_accepts_the_spec_examples_and_rejects_the_invalid_ones() -> None:
    check({"nodes": [{"id": "n1", "type": "text", "text": "Hello", "x": 0, "y": 0, "width": 240, "height": 60}],
           "edges": []})
    check({"nodes": [], "edges": []})
    check({})
    base = {"id": "n1", "type": "file", "file": "Projects/Note.md", "x": 0, "y": 0, "width": 300, "height": 180}
    check({"nodes": [dict(base, subpath="#Goals", color="4")]})
    for bad in (dict(base, x=10.5), {k: v for k, v in base.items() if k != "width"}, dict(base, color="7"),
                dict(base, subpath="Goals"), dict(base, type="file", file=None), dict(base, type="card")):
        with pytest.raises(jsonschema.ValidationError):
            check({"nodes": [bad]})
    with pytest.raises(jsonschema.ValidationError):
        check({"edges": [{"id": "e1", "fromNode": "n1", "toNode": "n2", "toSide": "middle"}]})


@pytest.fixture(scope="module", params=["seed", "eugene"])
def vault_and_canvas(request):
    v = Vault.load(SAMPLE_VAULT if request.param == "seed" else need(EUGENE))
    return v, canvas(v)


def test_canvas_validates_and_is_consistent(vault_and_canvas) -> None:
    v, doc = vault_and_canvas
    check(doc)
    assert set(doc) == {"nodes", "edges"}  # both arrays, always (§9.2)
    assert validate_canvas(doc) == []
    ids = [n["id"] for n in doc["nodes"]] + [e["id"] for e in doc["edges"]]
    assert len(ids) == len(set(ids))
    node_ids = {n["id"] for n in doc["nodes"]}
    assert all(e["fromNode"] in node_ids and e["toNode"] in node_ids for e in doc["edges"])
    files = [n for n in doc["nodes"] if n["type"] == "file"]
    assert files and all(n["file"] in v.notes and not v.is_generated(v.notes[n["file"]]) for n in files)
    # JSON round trip keeps integers
    assert json.loads(json.dumps(doc, ensure_ascii=False)) == doc


def test_canvas_bytes_are_those_of_json_dumps(vault_and_canvas) -> None:
    """What sync writes (made a node at a time, as UTF-8) is the compact ``json.dumps`` of the canvas."""
    _v, doc = vault_and_canvas
    made = canvas_bytes(doc)
    assert made == (json.dumps(doc, ensure_ascii=False) + "\n").encode("utf-8")
    assert any(ord(ch) > 0xFFFF for ch in made.decode("utf-8"))  # (emoji: the reason for making bytes)
    assert canvas_bytes({"nodes": [], "edges": []}) == b'{"nodes": [], "edges": []}\n'


def test_canvas_layout_tiers_as_groups_with_their_techniques_inside(vault_and_canvas) -> None:
    v, doc = vault_and_canvas
    nodes = doc["nodes"]
    groups = [n for n in nodes if n["type"] == "group"]
    cards = [n for n in nodes if n["type"] == "text"]
    position = {n["id"]: i for i, n in enumerate(nodes)}
    for card in cards:
        (group,) = [g for g in groups if inside(card, g)]
        assert position[group["id"]] < position[card["id"]]  # the group is drawn beneath its cards
    for note in (n for n in nodes if n["type"] == "file"):
        assert not any(inside(note, g) or (note["x"] < g["x"] + g["width"] and g["x"] < note["x"] + note["width"])
                       for g in groups)  # notes sit beside the ladder
    techniques = [n for n, k in v.graph.nodes(data="kind") if k == "technique"]
    assert len(cards) == len(techniques)


def test_seed_canvas_content() -> None:
    doc = canvas(Vault.load(SAMPLE_VAULT))
    groups = [n for n in doc["nodes"] if n["type"] == "group"]
    assert [g["label"] for g in groups] == [f"Tier {i}" for i in range(1, 16)]
    assert [g["y"] for g in groups] == sorted(g["y"] for g in groups)
    (lora_card,) = [n for n in doc["nodes"] if n["type"] == "text" and "LoRA / QLoRA" in n["text"]]
    assert lora_card["text"] == ("**LoRA / QLoRA (adapter tuning)**\nTier 3\n🟢 cost-effective upgrades\n"
                                 "⚪ narrow domain retention")
    assert inside(lora_card, groups[2])
    (scaling_card,) = [n for n in doc["nodes"] if n["type"] == "text" and "Model Scaling" in n["text"]]
    assert scaling_card["text"].splitlines()[1] == "Tier 1 · 💰💰💰💰💰"
    (seed,) = [n for n in doc["nodes"] if n["type"] == "file"]
    assert seed["file"] == SEED_NOTE
    assert len(doc["edges"]) == 15 and {e["label"] for e in doc["edges"]} == {"ranks"}
    assert {e["fromNode"] for e in doc["edges"]} == {seed["id"]}


def test_canvas_command_writes_a_valid_file(tmp_path) -> None:
    out = tmp_path / "Tiers.canvas"
    result = CliRunner().invoke(cli, ["graph", str(SAMPLE_VAULT), "--format", "canvas", "-o", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    check(doc)
    assert doc == canvas(Vault.load(SAMPLE_VAULT))
