"""`vaultkit graph` through click's CliRunner: formats, -o, --stats."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from vaultkit.cli import cli
from vaultkit.export import graph_from_node_link

from .conftest import SAMPLE_VAULT

SEED_NOTE = "22_AI_Research_mainstream/Production AI Techniques Tiered Table.md"


def run(*args: str):
    result = CliRunner().invoke(cli, ["graph", str(SAMPLE_VAULT), *args])
    assert result.exit_code == 0, result.output
    return result


def test_default_is_node_link_json_on_stdout() -> None:
    g = graph_from_node_link(json.loads(run().output))
    assert (g.number_of_nodes(), g.number_of_edges()) == (47, 61)
    assert g.nodes["technique:loraqlora"]["tier"] == 3


@pytest.mark.parametrize("fmt, reader", [("graphml", nx.read_graphml), ("gexf", nx.read_gexf)])
def test_graph_files_with_output_option(fmt: str, reader, tmp_path: Path) -> None:
    out = tmp_path / f"vault.{fmt}"
    assert run("--format", fmt, "-o", str(out)).output == ""
    g = reader(out)
    assert (g.number_of_nodes(), g.number_of_edges()) == (47, 61)


def test_output_dash_is_standard_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # (a file named "-" would land here)
    assert run("-o", "-").output == run().output
    assert run("--format", "mermaid", "-o", "-").output == run("--format", "mermaid").output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target, why", [
    ("22_AI_Research_mainstream/Production AI Techniques Tiered Table.md", "it is a note of the vault"),
    ("New note.MD", "the vault would read it as a note"),
    ("_vaultkit/graph.json", "it lies in vaultkit's output folder '_vaultkit'"),
    (".obsidian/graph.json", "it lies in a hidden folder of the vault"),
    ("picture.png", "it is a file of the vault, not a .json file"),
])
def test_output_never_replaces_what_the_user_keeps_in_the_vault(tmp_path: Path, target: str, why: str) -> None:
    import shutil

    vault = tmp_path / "v"
    shutil.copytree(SAMPLE_VAULT, vault)
    (vault / ".obsidian").mkdir(exist_ok=True)
    (vault / "picture.png").write_bytes(b"\x89PNG")
    before = {p: p.read_bytes() for p in vault.rglob("*") if p.is_file()}
    result = CliRunner().invoke(cli, ["graph", str(vault), "-o", str(vault / target)])
    assert result.exit_code == 2 and why in result.output, result.output
    assert {p: p.read_bytes() for p in vault.rglob("*") if p.is_file()} == before
    # through a symbolic link from outside the vault, too
    link = tmp_path / "graph.json"
    link.symlink_to(vault / "22_AI_Research_mainstream" / "Production AI Techniques Tiered Table.md")
    result = CliRunner().invoke(cli, ["graph", str(vault), "-o", str(link)])
    assert result.exit_code == 2 and "it is a symbolic link to a Markdown note" in result.output
    assert {p: p.read_bytes() for p in vault.rglob("*") if p.is_file()} == before


def test_output_never_writes_through_to_a_note_elsewhere(tmp_path: Path) -> None:
    """Helper's report: a note of the vault that is a symbolic link to a file elsewhere was written over,
    named as the note, as its target, or through another link."""
    vault = tmp_path / "v"
    (vault / ".obsidian").mkdir(parents=True)
    kept = tmp_path / "kept.md"
    kept.write_text("# my words\n", encoding="utf-8")
    (vault / "Keep.md").symlink_to(kept)
    (vault / "A.md").write_text("[[Keep]]\n", encoding="utf-8")
    (vault / "New.json").symlink_to(kept)
    (tmp_path / "out.json").symlink_to(kept)
    for target, why in ((vault / "Keep.md", "it is a symbolic link to a Markdown note"),
                        (kept, "the note 'Keep.md' of the vault is a symbolic link to it"),
                        (vault / "New.json", "it is a symbolic link to a Markdown note"),
                        (tmp_path / "out.json", "it is a symbolic link to a Markdown note")):
        for command in (["graph", str(vault)], ["lint", str(vault), "--format", "json"]):
            result = CliRunner().invoke(cli, [*command, "-o", str(target)])
            assert result.exit_code == 2 and why in result.output, (target, result.output)
    assert kept.read_text(encoding="utf-8") == "# my words\n"
    result = CliRunner().invoke(cli, ["graph", str(vault), "-o", str(tmp_path / "no" / "g.json")])
    assert result.exit_code == 2 and "there is no folder" in result.output  # (at once, not after the export)


def test_output_inside_the_vault_writes_a_new_file_or_replaces_one_of_its_kind(tmp_path: Path) -> None:
    import shutil

    vault = tmp_path / "v"
    shutil.copytree(SAMPLE_VAULT, vault)
    for _ in range(2):  # (made, then replaced: the README's `-o vault/Tiers.canvas`)
        result = CliRunner().invoke(cli, ["graph", str(vault), "--format", "canvas", "-o", str(vault / "Tiers.canvas")])
        assert result.exit_code == 0, result.output
    assert json.loads((vault / "Tiers.canvas").read_text(encoding="utf-8"))["nodes"]


def test_mermaid_on_stdout_respects_top() -> None:
    text = run("--format", "mermaid", "--top", "2").output
    assert text.startswith("flowchart TD\n")
    assert sum(" --- " in ln for ln in text.splitlines()) == 2


def test_stats_text_and_json() -> None:
    text = run("--stats", "--top", "3").output
    lines = text.splitlines()
    assert lines[0] == "nodes: note 1, technique 15, tier 15, tag 11, missing 5"
    assert lines[1].startswith("edges: link 0, embed 0, frontmatter-link 0, feedback 5, mentions 15, ranks 15")
    assert f"  {SEED_NOTE}" in lines  # the seed links to no other note: an orphan
    assert "      1  T3   LoRA / QLoRA (adapter tuning)  (1 rank, 1 mention)" in lines
    data = json.loads(run("--stats", "--format", "json").output)
    assert data["counts"]["edges"]["feedback"] == 5
    assert [w["name"] for w in data["most_wanted"]][:2] == ["AI Model Scaling Effectiveness",
                                                            "AI Optimization Techniques Catalog"]


def test_missing_vault_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["graph", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "not found" in result.output


@pytest.mark.parametrize("fmt", ["json", "graphml", "canvas"])
@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_an_export_that_fails_midway_leaves_the_old_file_whole(fmt: str, failure: BaseException, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk or a Ctrl-C while ``graph -o`` writes: the earlier export is still there, byte for byte,
    and no temporary file is left beside it (before, the file was truncated and written in place)."""
    import os

    out = tmp_path / f"vault.{fmt}"
    out.write_bytes(b"the export of yesterday\n")
    os.chmod(out, 0o640)

    def failing(fd: int) -> None:
        raise failure

    monkeypatch.setattr(os, "fsync", failing)
    result = CliRunner().invoke(cli, ["graph", str(SAMPLE_VAULT), "--format", fmt, "-o", str(out)])
    assert result.exit_code == (130 if isinstance(failure, KeyboardInterrupt) else 2), result.output
    assert out.read_bytes() == b"the export of yesterday\n"
    assert [p.name for p in tmp_path.iterdir()] == [out.name]
    monkeypatch.undo()
    assert run("--format", fmt, "-o", str(out)).output == ""
    assert out.read_bytes() != b"the export of yesterday\n"
    assert os.stat(out).st_mode & 0o777 == 0o640  # the replaced file's permissions kept
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_graph_output_through_a_symlink_replaces_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("old\n", encoding="utf-8")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    run("-o", str(link))
    assert link.is_symlink() and json.loads(target.read_text(encoding="utf-8"))["directed"] is True


def test_graph_output_to_a_device_or_fifo_writes_into_it_and_never_replaces_it(tmp_path: Path) -> None:
    """``-o /dev/null`` (or a FIFO, ``/dev/stdout``) is written to as it is: replacing it with a regular
    file, as the atomic write first did, would break the device for everyone (found by a helper, as root)."""
    import os
    import stat
    import threading

    run("-o", os.devnull)
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    run("-o", str(fifo))
    reader.join(10)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and json.loads(got[0])["directed"] is True


def test_graph_output_refuses_a_symlink_loop_and_a_read_only_file(tmp_path: Path) -> None:
    import os

    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    result = CliRunner().invoke(cli, ["graph", str(SAMPLE_VAULT), "-o", str(tmp_path / "a")])
    assert result.exit_code == 2 and (tmp_path / "a").is_symlink()
    if os.geteuid() != 0:  # (root may write anything)
        ro = tmp_path / "ro.json"
        ro.write_text("old\n", encoding="utf-8")
        os.chmod(ro, 0o444)
        result = CliRunner().invoke(cli, ["graph", str(SAMPLE_VAULT), "-o", str(ro)])
        assert result.exit_code == 2 and ro.read_text(encoding="utf-8") == "old\n"
    missing = tmp_path / "nope" / "out.json"
    result = CliRunner().invoke(cli, ["graph", str(SAMPLE_VAULT), "-o", str(missing)])
    assert result.exit_code == 2 and "~vaultkit" not in result.output


def test_json_on_stdout_and_in_a_file_is_json_dumps_of_the_node_link_data(tmp_path: Path) -> None:
    """Written in pieces as it is made, the export is byte for byte the one ``json.dumps`` makes whole."""
    from vaultkit.export import node_link
    from vaultkit.vault import Vault

    expected = json.dumps(node_link(Vault.load(SAMPLE_VAULT).graph), ensure_ascii=False, indent=2) + "\n"
    assert run().output == expected
    out = tmp_path / "g.json"
    run("-o", str(out))
    assert out.read_text(encoding="utf-8") == expected


def _parsed_paths(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The vault paths the next loads parse (not taken from the cache)."""
    import vaultkit.pool

    parsed: list[str] = []
    original = vaultkit.pool.parse_files

    def counting(items, *args, **kwargs):
        items = list(items)
        parsed.extend(rel for rel, _path in items)
        return original(items, *args, **kwargs)

    monkeypatch.setattr(vaultkit.pool, "parse_files", counting)
    return parsed


def test_graph_and_show_reuse_the_cache_sync_keeps_and_never_make_one(
        eugene_copy: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    parsed = _parsed_paths(monkeypatch)
    runner = CliRunner()

    def invoke(*args: str) -> str:
        result = runner.invoke(cli, [*args])
        assert result.exit_code == 0, result.output
        return result.output

    invoke("graph", str(eugene_copy), "-o", str(tmp_path / "before.json"))
    invoke("show", str(eugene_copy), "--format", "json")
    assert not (eugene_copy / ".vaultkit").exists()  # (a CI checkout stays as it was)
    notes = sum(1 for _ in eugene_copy.rglob("*.md"))
    assert len(parsed) == 2 * notes

    invoke("sync", str(eugene_copy), "-q")
    parsed.clear()
    cached = invoke("graph", str(eugene_copy))
    # only the generated notes, which sync reads by their marker alone, are parsed whole
    assert parsed and all(p.startswith("_vaultkit/") for p in parsed)
    parsed.clear()
    fresh = invoke("graph", str(eugene_copy), "--no-cache")
    assert len(parsed) == sum(1 for _ in eugene_copy.rglob("*.md"))
    assert cached == fresh
    parsed.clear()
    assert invoke("show", str(eugene_copy), "--format", "json") == invoke("show", str(eugene_copy), "--format",
                                                                          "json", "--no-cache")
    assert len(parsed) == sum(1 for _ in eugene_copy.rglob("*.md"))  # (--no-cache only)


def test_a_cache_of_another_version_is_rebuilt_without_a_word(tmp_path: Path) -> None:
    """The cache is sync's: `graph` and `show`, which only reuse it, say nothing of rebuilding one written by
    another vaultkit, so their output stays the export alone."""
    import shutil
    import sqlite3

    root = tmp_path / "v"
    shutil.copytree(SAMPLE_VAULT, root, ignore=shutil.ignore_patterns(".vaultkit"))
    assert CliRunner().invoke(cli, ["sync", "-q", str(root)]).exit_code == 0
    for args in (["graph", str(root)], ["show", str(root), "--format", "json"]):
        with sqlite3.connect(root / ".vaultkit" / "cache.sqlite") as db:
            db.execute("UPDATE meta SET value = 'another/version' WHERE key = 'version'")
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        json.loads(result.output)  # (stdout and stderr as a user sees them: the JSON alone)


def test_output_never_writes_over_a_note_of_another_vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``graph ../B -o keep.md`` run inside vault A (helper's report: A's note became graph JSON)."""
    (tmp_path / "A" / ".obsidian").mkdir(parents=True)
    (tmp_path / "B").mkdir()
    (tmp_path / "A" / "keep.md").write_text("# my note\n", encoding="utf-8")
    (tmp_path / "B" / "b.md").write_text("# b\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "A")
    for args in (["graph", "../B", "-o", "keep.md"], ["lint", "../B", "--format", "sarif", "-o", "keep.md"],
                 ["graph", "../B", "-o", "new.md"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2 and f"at '{tmp_path / 'A'}'" in result.output, (args, result.output)
    assert (tmp_path / "A" / "keep.md").read_text(encoding="utf-8") == "# my note\n"
    assert not (tmp_path / "A" / "new.md").exists()
    assert CliRunner().invoke(cli, ["graph", "../B", "-o", "out.json"]).exit_code == 0  # (a new export file: fine)


@pytest.mark.parametrize("fmt,reader", [("graphml", nx.read_graphml), ("gexf", nx.read_gexf)])
def test_xml_graph_files_hold_names_with_control_characters(fmt: str, reader, tmp_path: Path) -> None:
    """A tag or file name holding a control character made a GraphML/GEXF file no reader could open
    (helper's report); such characters are written as escapes."""
    vault = tmp_path / "v"
    vault.mkdir()
    (vault / "n.md").write_text("text #ta\x01g [[a\x01b]]\n", encoding="utf-8")
    (vault / "a\x01b.md").write_text("x\n", encoding="utf-8")
    out = tmp_path / f"g.{fmt}"
    assert CliRunner().invoke(cli, ["graph", str(vault), "--format", fmt, "-o", str(out)]).exit_code == 0
    g = reader(out)
    assert {"a\\x01b.md", "tag:ta\\x01g", "n.md"} <= set(g.nodes)
    assert g.has_edge("n.md", "a\\x01b.md")


def test_output_respects_the_output_folder_of_a_nested_vault_and_of_one_with_a_broken_config(
        tmp_path: Path) -> None:
    """A reviewer's findings: a vault inside the vault read, and a vault whose vaultkit.toml does not load,
    had their output folders unguarded."""
    (tmp_path / "A" / "Sub" / ".obsidian").mkdir(parents=True)
    (tmp_path / "A" / "Sub" / "vaultkit.toml").write_text('output = "gen"\n', encoding="utf-8")
    (tmp_path / "A" / "Sub" / "gen").mkdir()
    (tmp_path / "A" / "n.md").write_text("# n\n", encoding="utf-8")
    (tmp_path / "C" / "_vaultkit").mkdir(parents=True)
    (tmp_path / "C" / "vaultkit.toml").write_text("output = [not toml\n", encoding="utf-8")
    for out in (tmp_path / "A" / "Sub" / "gen" / "x.json", tmp_path / "C" / "_vaultkit" / "x.json"):
        result = CliRunner().invoke(cli, ["graph", str(tmp_path / "A"), "-o", str(out)])
        assert result.exit_code == 2 and "output folder" in result.output, (out, result.output)
        assert not out.exists()
