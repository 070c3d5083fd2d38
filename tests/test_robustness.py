"""Hostile input found by trying to break vaultkit: each must give a diagnostic, never a runaway job."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from click.testing import CliRunner

from vaultkit.cli import cli
from vaultkit.frontmatter import MAX_EXPANDED_VALUES, load_yaml
from vaultkit.vault import Vault


def _alias_bomb(levels: int) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for name in "bcdefghijk"[: levels - 1]:
        lines.append(f"{name}: &{name} [" + ",".join(["*" + prev] * 9) + "]")
        prev = name
    return "\n".join(lines)


def test_alias_bomb_is_invalid_frontmatter_not_a_hang(tmp_path: Path) -> None:
    result = load_yaml(_alias_bomb(9))
    assert result.error_kind == "invalid" and "alias" in result.error
    (tmp_path / "bomb.md").write_text("---\ntype: technique\n" + _alias_bomb(9) + "\n---\nBody [[x]]\n",
                                      encoding="utf-8")
    (tmp_path / "vaultkit.toml").write_text('[schemas]\n"**" = "knowledge-note"\n', encoding="utf-8")
    note = Vault.load(tmp_path).notes["bomb.md"]
    assert note.frontmatter is None and note.frontmatter_error
    assert [link.target for link in note.links] == ["x"]  # the body is still indexed
    out = CliRunner().invoke(cli, ["lint", str(tmp_path), "--format", "json"])
    assert out.exit_code == 1
    assert '"code": "VK001"' in out.output


def test_shared_values_below_the_cap_still_load() -> None:
    text = "base: &b {x: 1, y: [1, 2, 3]}\none: *b\ntwo: *b\n"
    assert load_yaml(text).data == {"base": {"x": 1, "y": [1, 2, 3]}, "one": {"x": 1, "y": [1, 2, 3]},
                                    "two": {"x": 1, "y": [1, 2, 3]}}
    assert MAX_EXPANDED_VALUES >= 10_000


def test_recursive_alias_is_invalid() -> None:
    assert load_yaml("a: &x [1, *x]").error_kind == "invalid"


def test_generated_notes_pass_lint_with_text_tiers_and_unknown_marks(tmp_path: Path) -> None:
    """Whatever the tables hold, what sync writes passes lint (VK201 schema, VK401 freshness)."""
    (tmp_path / "GPU.md").write_text(
        "# GPUs\n\n|GPU Tier|Method|Effectiveness|Tradeoffs|\n|---|---|---|---|\n"
        "|Consumer (RTX 4090)|Quantize to 4 bit|🟣 odd mark, 🟢 fits|💰 cheap|\n"
        "|x|Offload|⚪ slow|🔧 setup|\n|2|Batching|🟢 throughput|❌ latency|\n", encoding="utf-8")
    assert CliRunner().invoke(cli, ["sync", str(tmp_path)]).exit_code == 0
    out = CliRunner().invoke(cli, ["lint", str(tmp_path), "--select", "VK201,VK401", "--format", "json"])
    assert out.exit_code == 0, out.output
    index = (tmp_path / "_vaultkit" / "Vault index.md").read_text(encoding="utf-8")
    assert "Consumer (RTX 4090) (a tier named in words)" in index
    assert "Quantize to 4 bit" in index


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from vaultkit.frontmatter import split_frontmatter  # noqa: E402
from vaultkit.generate import _dump_frontmatter  # noqa: E402

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True),
                       st.one_of(_TEXT, st.lists(_TEXT, max_size=4), st.integers(0, 10**6)), min_size=1, max_size=6))
def test_generated_frontmatter_reads_back_exactly(props: dict) -> None:
    """What the generator writes as properties is what Obsidian's YAML 1.2 reading gives back."""
    block = split_frontmatter(_dump_frontmatter(props) + "body")
    assert block is not None and block.body == "body"
    assert load_yaml(block.yaml).data == props


def test_file_names_that_are_not_utf8_are_left_out_with_a_diagnostic(tmp_path) -> None:
    """A name with undecodable bytes (possible on Linux) never crashes sync or lint (helper's report)."""
    import os
    import shutil

    import pytest

    from .conftest import SAMPLE_VAULT

    root = tmp_path / "v"
    shutil.copytree(SAMPLE_VAULT, root, ignore=shutil.ignore_patterns(".vaultkit"))
    try:
        (root / os.fsdecode(b"Caf\xe9.md")).write_text("# x\n", encoding="utf-8")
        (root / os.fsdecode(b"D\xe9r")).mkdir()
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    (root / os.fsdecode(b"D\xe9r") / "in.md").write_text("[[Caf]]\n", encoding="utf-8")
    vault = Vault.load(root)
    assert sorted((d.code, d.path) for d in vault.diagnostics) == [("VK004", "Caf\\xe9.md"), ("VK004", "D\\xe9r/")]
    assert all(n.path.encode("utf-8") for n in vault.notes.values())
    runner = CliRunner()
    for args in (["sync", str(root)], ["sync", str(root), "--no-cache"], ["lint", str(root), "--format", "json"]):
        result = runner.invoke(cli, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.output)
        assert "Traceback" not in result.output
    assert "file name is not valid UTF-8" in runner.invoke(cli, ["lint", str(root), "--select", "VK004"]).output
    result = runner.invoke(cli, ["sync", str(root), "-q"])  # (left out: named, as files it cannot read are)
    assert result.exit_code == 1 and result.stderr.splitlines() == [
        "warning: Caf\\xe9.md: file name is not valid UTF-8: left out (rename it)",
        "warning: D\\xe9r/: file name is not valid UTF-8: left out (rename it)"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_called_like_a_note_is_reported_not_waited_for(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "A.md").write_text("# A\n[[B]]\n", encoding="utf-8")
    os.mkfifo(tmp_path / "B.md")
    (tmp_path / "_vaultkit").mkdir()
    os.mkfifo(tmp_path / "_vaultkit" / "Vault index.md")
    for args in (["sync", "-q"], ["lint"], ["fix"], ["graph", "--stats"]):
        done = subprocess.run([sys.executable, "-m", "vaultkit", args[0], str(tmp_path), *args[1:]],
                              capture_output=True, text=True, timeout=120)
        assert "Traceback" not in done.stderr, done.stderr
        if args[0] in ("sync", "lint", "fix"):
            assert "not a regular file" in done.stdout + done.stderr, (args, done.stdout, done.stderr)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["graph"], ["show", "--format", "json"], ["lint", "--format", "json"]])
def test_output_that_cannot_be_written_is_a_clear_error_not_a_traceback(args: list[str]) -> None:
    import subprocess
    import sys

    from .conftest import SAMPLE_VAULT

    with open("/dev/full", "wb") as full:
        proc = subprocess.run([sys.executable, "-m", "vaultkit", args[0], str(SAMPLE_VAULT), *args[1:]],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == "Error: cannot write the output: No space left on device\n"


def test_graph_with_standard_output_closed_writes_nothing_and_no_traceback() -> None:
    import subprocess
    import sys

    from .conftest import SAMPLE_VAULT

    proc = subprocess.run([sys.executable, "-m", "vaultkit", "graph", str(SAMPLE_VAULT)], stderr=subprocess.PIPE,
                          text=True, timeout=120, preexec_fn=lambda: os.close(1))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
