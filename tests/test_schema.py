"""The JSON Schemas: valid 2020-12 files, chosen by type then config glob, the user's notes accepted."""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from vaultkit.cli import cli
from vaultkit.errors import ConfigError, SchemaLoadError
from vaultkit.lint import LintOptions, lint
from vaultkit.model import Note
from vaultkit.schema import BUILTIN_SCHEMAS, SchemaStore, schema_dir
from vaultkit.vault import Vault

from .conftest import EUGENE, SAMPLE_VAULT, need

SEED_NOTE = SAMPLE_VAULT / "22_AI_Research_mainstream" / "Production AI Techniques Tiered Table.md"
PROSE = ("Receptor", "Acceptor", "SignalTransduction", "Emergence", "Activation", "FeedbackLoop",
         "SignalAmplification")


@pytest.mark.parametrize("name", BUILTIN_SCHEMAS)
def test_builtin_schema_is_valid_2020_12(name: str) -> None:
    path = schema_dir() / f"{name}.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is True


def test_schema_dir_is_the_package_data_or_the_checkout() -> None:
    d = schema_dir()
    assert sorted(p.name for p in d.glob("*.schema.json")) == sorted(f"{n}.schema.json" for n in BUILTIN_SCHEMAS)


def _seed_properties() -> dict:
    vault = Vault.load(SAMPLE_VAULT)
    return vault.notes["22_AI_Research_mainstream/Production AI Techniques Tiered Table.md"].frontmatter


def test_seed_note_satisfies_the_knowledge_note_schema() -> None:
    props = _seed_properties()
    assert "#S22_AI_Research_mainstream" in props["tags"]
    assert SchemaStore().validate("knowledge-note", props) == []


def test_knowledge_note_requires_every_field_and_a_section_tag() -> None:
    props = dict(_seed_properties())
    store = SchemaStore()
    for key in ("title", "description", "created", "updated", *PROSE):
        broken = {k: v for k, v in props.items() if k != key}
        issues = store.validate("knowledge-note", broken)
        assert [(i.key, i.message) for i in issues] == [(key, f"required property '{key}' is missing")]
    no_section = dict(props, tags=[t for t in props["tags"] if not t.startswith("#S")])
    issues = store.validate("knowledge-note", no_section)
    assert [i.key for i in issues] == ["tags"] and "section tag" in issues[0].message
    # the section tag may be written with or without '#'
    assert store.validate("knowledge-note", dict(props, tags=["S22_AI_Research_mainstream"])) == []
    # optional fields are typed when present
    assert [i.key for i in store.validate("knowledge-note", dict(props, Russian_review=3))] == ["Russian_review"]
    assert store.validate("knowledge-note", dict(props, Russian_review="Обзор")) == []


def test_dates_are_normalised_to_iso_strings_before_validation() -> None:
    props = dict(_seed_properties(), created=datetime.date(2025, 8, 12),
                 updated=datetime.datetime(2025, 9, 7, 0, 12, 21))
    assert SchemaStore().validate("knowledge-note", props) == []
    bad = dict(props, created="12.08.2025")
    assert [i.key for i in SchemaStore().validate("knowledge-note", bad)] == ["created"]


@pytest.mark.parametrize("value, ok", [
    ("2025-08-12", True), ("2025-09-07 00:12:21", True), ("2025-09-07T23:59", True), ("2025-09-07 10:00:00.5", True),
    ("2024-13-45", False), ("2024-00-10", False), ("2024-12-32", False), ("2025-09-07 24:00", False),
    ("2025-09-07 10:60", False), ("2025-9-7", False),
])
def test_a_date_names_a_month_1_12_a_day_1_31_and_a_time_of_day(value: str, ok: bool) -> None:
    """(No such day as 2024-02-30 is left to VK207, which knows the calendar.)"""
    props = dict(_seed_properties(), created=value)
    assert [i.key for i in SchemaStore().validate("knowledge-note", props)] == ([] if ok else ["created"])


GENERATED = {
    "technique": {
        "type": "technique", "title": "LoRA / QLoRA", "aliases": ["LoRA"], "tier": 3, "tier_label": "T3",
        "effectiveness": ["🟢", "⚪"], "tradeoffs": ["❌ limits learning flexibility", "💰"], "cost": 0,
        "sources": ["[[Production AI Techniques Tiered Table]]"], "tags": ["vaultkit/technique"],
        "vaultkit": {"generator": "vaultkit", "hash": "ab" * 32}, "anything": {"else": 1},
    },
    "tier": {
        "type": "tier", "title": "Tier 3", "tier": 0, "techniques": ["[[LoRA]]", "[[_vaultkit/RAG|RAG]]"],
        "tags": [], "vaultkit": {},
    },
    "index": {"type": "index", "title": "Techniques", "tags": ["vaultkit"], "vaultkit": {"hash": "0"}},
}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_note_shapes_are_accepted(name: str) -> None:
    assert SchemaStore().validate(name, GENERATED[name]) == []


@pytest.mark.parametrize("change, key", [
    ({"tier": -1}, "tier"),
    ({"tier": 1.5}, "tier"),
    ({"tier": True}, "tier"),
    ({"cost": 6}, "cost"),
    ({"cost": -1}, "cost"),
    ({"effectiveness": ["🟣"]}, "effectiveness"),
    ({"sources": ["Production AI Techniques Tiered Table"]}, "sources"),
    ({"aliases": "LoRA"}, "aliases"),
    ({"vaultkit": "yes"}, "vaultkit"),
    ({"type": "tier"}, "type"),
])
def test_technique_schema_rejects(change: dict, key: str) -> None:
    issues = SchemaStore().validate("technique", dict(GENERATED["technique"], **change))
    assert key in [i.key for i in issues], issues
    assert all(f"'{i.key}'" in i.message for i in issues)


def test_schema_choice_type_first_then_glob_then_none() -> None:
    store = SchemaStore(globs={"Notes/**": "knowledge-note", "*.md": "index"})
    assert store.schema_for(Note("Notes/a.md", frontmatter={"type": "Technique"})) == "technique"
    assert store.schema_for(Note("Notes/a.md", frontmatter={"type": "knowledge"})) == "knowledge-note"
    assert store.schema_for(Note("Notes/a.md", frontmatter={"type": "journal"})) == "knowledge-note"
    assert store.schema_for(Note("Notes/sub/a.md", frontmatter={})) == "knowledge-note"
    assert store.schema_for(Note("top.md", frontmatter={})) == "index"
    assert store.schema_for(Note("Other/a.md", frontmatter={})) is None
    assert store.schema_for(Note("Notes/a.md", frontmatter=None)) is None
    assert SchemaStore().schema_for(Note("Notes/a.md", frontmatter={"title": "x"})) is None


def test_unknown_schema_name_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "vaultkit.toml").write_text('[schemas]\n"**" = "knowlege-note"\n', encoding="utf-8")
    (tmp_path / "a.md").write_text("---\ntitle: A\n---\n", encoding="utf-8")
    with pytest.raises(SchemaLoadError):
        SchemaStore(tmp_path, {"**": "knowlege-note"}).check_config()
    with pytest.raises(ConfigError, match="knowlege-note"):
        lint(Vault.load(tmp_path))
    result = CliRunner().invoke(cli, ["lint", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "vaultkit.toml" in result.output and "knowlege-note" in result.output


def test_a_schema_file_of_the_vault_can_be_named_in_the_config(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "book.json").write_text(json.dumps({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object", "required": ["author"], "properties": {"author": {"type": "string"}},
    }), encoding="utf-8")
    (tmp_path / "vaultkit.toml").write_text('[schemas]\n"Books/**" = "schemas/book.json"\n', encoding="utf-8")
    (tmp_path / "Books").mkdir()
    (tmp_path / "Books" / "ok.md").write_text("---\nauthor: Le Guin\n---\n", encoding="utf-8")
    (tmp_path / "Books" / "bad.md").write_text("---\ntitle: Dune\nauthor: 1965\n---\n", encoding="utf-8")
    result = lint(Vault.load(tmp_path), LintOptions(select=["VK201"]))
    assert [(d.path, d.line, d.message) for d in result.diagnostics] == [
        ("Books/bad.md", 3, "'author' must be of type string (got 1965) (schema schemas/book.json)"),
    ]


def test_knowledge_schema_on_the_users_vault(tmp_path: Path) -> None:
    """Mapped onto the user's sample vault, the schema finds the notes that lack the usual fields."""
    vault_dir = tmp_path / "eugene"
    shutil.copytree(need(EUGENE), vault_dir)
    (vault_dir / "vaultkit.toml").write_text(
        '[schemas]\n"14_Neurobrain_CogScience/**" = "knowledge-note"\n"22_AI_Research_mainstream/*.md" = '
        '"knowledge-note"\n', encoding="utf-8")
    vault = Vault.load(vault_dir)
    result = lint(vault, LintOptions(select=["VK201"]))
    by_note: dict[str, list[str]] = {}
    for d in result.diagnostics:
        by_note.setdefault(d.path, []).append(d.message)
    complete = [p for p, n in vault.notes.items()
                if p.startswith("14_Neurobrain_CogScience/") and n.frontmatter
                and all(k in n.frontmatter for k in ("title", *PROSE))]
    assert complete, "expected complete knowledge notes in the sample"
    for path in complete:
        assert path not in by_note, (path, by_note.get(path))
    # every finding names a key and has a line inside the frontmatter
    for d in result.diagnostics:
        note = vault.notes[d.path]
        assert d.line >= 1 and d.line < note.body_line, d
        assert d.message.startswith(("'", "required property '")), d.message


def test_schemas_are_package_data_for_wheels() -> None:
    """pyproject maps schemas/ to the package vaultkit.schemas and ships every schema file with it."""
    import fnmatch
    import tomllib

    from .conftest import REPO

    st = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert "vaultkit.schemas" in st["packages"]
    assert st["package-dir"]["vaultkit.schemas"] == "schemas"
    globs = st["package-data"]["vaultkit.schemas"]
    files = sorted(p.name for p in (REPO / "schemas").glob("*.json"))
    assert files == sorted(f"{n}.schema.json" for n in BUILTIN_SCHEMAS)
    assert all(any(fnmatch.fnmatch(f, g) for g in globs) for f in files)
    assert (REPO / "schemas" / "__init__.py").is_file()
