"""``vaultkit lint``: the two vaults of the issue, paths, selection, severities, suppression, exit codes."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from vaultkit.cli import cli
from vaultkit.lint import LintOptions, lint
from vaultkit.rules import REGISTRY
from vaultkit.vault import Vault

from .conftest import EUGENE, REPO, SAMPLE_VAULT, need

SEED = "22_AI_Research_mainstream/Production AI Techniques Tiered Table.md"
DEPTH = "14_Neurobrain_CogScience/Overlay AI Cognitive Depth.md"
TITANS_META = "22_AI_Research_mainstream/2025-06-04 - Titans модель и память/meta_information.md"
LINE_RE = re.compile(r"^(?P<file>.+?\.md):(?P<line>\d+)(?::(?P<col>\d+))?: (?P<code>VK\d{3}) \[(?P<sev>\w+)\] ")


def invoke(*args: str):
    """Run the CLI; failures show the whole output."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_sample_vault_is_clean() -> None:
    result = invoke("lint", str(SAMPLE_VAULT))
    assert result.exit_code == 0, result.output
    n = len(list(SAMPLE_VAULT.rglob("*.md")))
    assert result.output == f"All checks passed: {n} note{'s' if n != 1 else ''}, no problems.\n"


def test_sample_vault_is_clean_under_the_knowledge_schema_too(sample_copy: Path) -> None:
    """The seed note satisfies the knowledge-note schema when the config maps it there."""
    (sample_copy / "vaultkit.toml").write_text('[schemas]\n"22_AI_Research_mainstream/**" = "knowledge-note"\n',
                                               encoding="utf-8")
    result = invoke("lint", str(sample_copy))
    assert result.exit_code == 0, result.output


def test_eugene_sample_lists_real_problems_with_file_and_line() -> None:
    vault = need(EUGENE)
    result = invoke("lint", str(vault))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    summary = lines[-1]
    assert re.fullmatch(r"Found [\d,]+ problems \(\d+ errors, [\d,]+ warnings, \d+ info\) in \d+ files; 205 notes checked\.",
                        summary), summary
    found = []
    for line in lines[:-1]:
        m = LINE_RE.match(line)
        assert m, line
        file = m.group("file")
        assert file.startswith(str(vault) + "/")
        assert Path(file).is_file(), file
        assert int(m.group("line")) >= 1
        found.append((file[len(str(vault)) + 1:], int(m.group("line")), m.group("code"), line))
    codes = {c for _f, _l, c, _line in found}
    assert {"VK101", "VK103", "VK202", "VK203", "VK205"} <= codes
    # the look-alike Cyrillic letter in a section tag
    depth = [x for x in found if x[0] == DEPTH and x[2] == "VK202"]
    assert len(depth) == 1 and "Cyrillic" in depth[0][3]
    text = (vault / DEPTH).read_text(encoding="utf-8").splitlines()
    assert "S14_Neurоbrain_CogScience" in text[depth[0][1] - 1]
    # a string-valued aliases property
    assert (TITANS_META, 5, "VK205") in [(f, ln, c) for f, ln, c, _ in found]
    assert text and found == sorted(found, key=lambda x: (x[0], x[1]))


def test_eugene_sample_finds_nothing_at_error_severity() -> None:
    result = invoke("lint", str(need(EUGENE)), "--min-severity", "error")
    assert result.exit_code == 0, result.output
    assert result.output == "All checks passed: 205 notes, no problems.\n"


def test_output_dash_is_standard_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vault = tmp_path / "v"
    (vault / ".obsidian").mkdir(parents=True)
    (vault / "one.md").write_text("[[missing]]\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # (a file named "-" would land here)
    to_stdout = invoke("lint", str(vault), "--format", "json")
    dashed = invoke("lint", str(vault), "--format", "json", "-o", "-")
    assert (dashed.exit_code, dashed.output) == (1, to_stdout.output)
    assert json.loads(dashed.output)["diagnostics"][0]["path"] == "one.md"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v"]


def test_lint_says_why_it_did_not_use_the_cache(sample_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Helper's report: graph and show warned of a cache this user may not write; lint parsed everything again
    in silence (11 s instead of 5 at 5,125 notes)."""
    import sqlite3

    from vaultkit.cache import NoteCache

    assert invoke("sync", str(sample_copy), "-q").exit_code == 0

    def refused(self) -> None:
        exc = sqlite3.OperationalError("attempt to write a readonly database")
        exc.sqlite_errorcode = sqlite3.SQLITE_READONLY
        raise exc

    monkeypatch.setattr(NoteCache, "_open", refused)
    result = invoke("lint", str(sample_copy))
    assert result.exit_code == 0 and "warning: cache not used: " in result.output, result.output


def test_vk401_judges_the_canvas_as_sync_does(sample_copy: Path) -> None:
    """Helper's report: `sync --check` listed the canvas as out of date, VK401 only the notes."""
    canvas = sample_copy / "_vaultkit" / "Knowledge graph.canvas"
    table = sample_copy / "22_AI_Research_mainstream" / "Production AI Techniques Tiered Table.md"
    table.write_text(table.read_text(encoding="utf-8").replace("|10|Token/Embedding Freezing|", "|10|Token Freezing|"),
                     encoding="utf-8")

    def canvas_findings() -> list[str]:
        doc = json.loads(invoke("lint", str(sample_copy), "--select", "VK401", "--format", "json").output)
        return [d["message"] for d in doc["diagnostics"] if d["path"] == "_vaultkit/Knowledge graph.canvas"]

    assert canvas_findings() == ["generated file is out of date; run 'vaultkit sync' to update it"]
    assert "would be updated: _vaultkit/Knowledge graph.canvas" in invoke("sync", str(sample_copy), "--check").output
    assert invoke("sync", str(sample_copy), "-q").exit_code == 0
    assert canvas_findings() == []
    canvas.write_text('{"nodes": []}\n', encoding="utf-8")
    assert canvas_findings() == ["generated file was edited by hand; 'vaultkit sync' keeps it, 'vaultkit sync --force' "
                                 "replaces it"]
    canvas.unlink()
    assert canvas_findings() == ["generated file is missing; run 'vaultkit sync' to write it"]


def test_a_path_that_is_no_note_is_a_usage_error(tmp_path: Path) -> None:
    """A typo in CI (`vaultkit lint notes/x.sh`) must not pass as "All checks passed: 0 notes"."""
    vault = tmp_path / "v"
    (vault / ".obsidian").mkdir(parents=True)
    (vault / "one.md").write_text("[[missing]]\n", encoding="utf-8")
    (vault / "run.sh").write_text("echo\n", encoding="utf-8")
    (vault / ".obsidian" / "hidden.md").write_text("[[missing]]\n", encoding="utf-8")
    (vault / "vaultkit.toml").write_text('exclude = ["Templates/**"]\n', encoding="utf-8")
    (vault / "Templates").mkdir()
    (vault / "Templates" / "Day.md").write_text("[[missing]]\n", encoding="utf-8")
    for path in (vault / "run.sh", vault / ".obsidian" / "hidden.md", vault / "Templates" / "Day.md"):
        result = invoke("lint", str(path))
        assert result.exit_code == 2 and "is not a note of the vault" in result.output, result.output
    for path in (vault / "Templates", vault / ".obsidian"):
        result = invoke("lint", str(path), "--vault", str(vault))
        assert result.exit_code == 2 and "is not a folder of notes of the vault" in result.output, result.output
    (vault / "Empty").mkdir()
    assert invoke("lint", str(vault / "Empty"), "--vault", str(vault)).exit_code == 0  # (a folder, for now empty)
    assert invoke("lint", str(vault / "one.md")).exit_code == 1


def test_output_never_replaces_a_note(tmp_path: Path) -> None:
    vault = tmp_path / "v"
    (vault / ".obsidian").mkdir(parents=True)
    (vault / "one.md").write_text("[[missing]]\n", encoding="utf-8")
    result = invoke("lint", str(vault), "--format", "sarif", "-o", str(vault / "one.md"))
    assert result.exit_code == 2 and "it is a note of the vault" in result.output
    assert (vault / "one.md").read_text(encoding="utf-8") == "[[missing]]\n"
    assert invoke("lint", str(vault), "--format", "sarif", "-o", str(vault / "lint.sarif")).exit_code == 1
    assert json.loads((vault / "lint.sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"


def test_paths_inside_a_vault_report_only_those_notes_but_resolve_against_the_vault(tmp_path: Path) -> None:
    vault = tmp_path / "v"
    (vault / ".obsidian").mkdir(parents=True)
    (vault / "A").mkdir()
    (vault / "A" / "one.md").write_text("[[two]] [[missing one]]\n", encoding="utf-8")
    (vault / "B").mkdir()
    (vault / "B" / "two.md").write_text("[[one]] [[missing two]]\n", encoding="utf-8")
    result = invoke("lint", str(vault / "A" / "one.md"), "--format", "json")
    assert result.exit_code == 1
    import json

    doc = json.loads(result.output)
    assert [(d["path"], d["message"]) for d in doc["diagnostics"]] == [
        ("A/one.md", "unresolved link 'missing one': no file answers it"),
    ]
    assert doc["diagnostics"][0]["file"] == f"{vault.as_posix()}/A/one.md"
    assert doc["summary"]["checked"] == 1
    # a folder inside the vault
    result = invoke("lint", str(vault / "B"))
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == f"{vault.as_posix()}/B/two.md:1:9: VK101 [warning] unresolved link " \
                                           "'missing two': no file answers it"
    # --vault with a vault-relative path filter
    result = invoke("lint", "--vault", str(vault), str(vault / "B" / "two.md"), "--select", "VK1")
    assert result.exit_code == 1 and "one.md" not in result.output


def test_paths_from_two_vaults_are_a_usage_error(tmp_path: Path) -> None:
    for name in ("v1", "v2"):
        (tmp_path / name / ".obsidian").mkdir(parents=True)
        (tmp_path / name / "n.md").write_text("x\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["lint", "--vault", str(tmp_path / "v1"), str(tmp_path / "v2" / "n.md")])
    assert result.exit_code == 2
    assert "not inside the vault" in result.output


def _small_vault(tmp_path: Path) -> Path:
    v = tmp_path / "small"
    v.mkdir()
    (v / "note.md").write_text(
        "---\ntags: solo\ntag: old\n---\nSee [[nowhere]] and [[]].\n", encoding="utf-8")
    return v


def test_select_ignore_exit_zero_and_severity(tmp_path: Path) -> None:
    v = str(_small_vault(tmp_path))
    codes = lambda out: [LINE_RE.match(l).group("code") for l in out.splitlines()[:-1]]  # noqa: E731
    assert codes(invoke("lint", v).output) == ["VK205", "VK204", "VK101", "VK105"]
    assert codes(invoke("lint", v, "--select", "VK1").output) == ["VK101", "VK105"]
    assert codes(invoke("lint", v, "--select", "VK1,VK204", "--ignore", "VK105").output) == ["VK204", "VK101"]
    assert codes(invoke("lint", v, "--ignore", "VK2", "--ignore", "VK101").output) == ["VK105"]
    result = invoke("lint", v, "--exit-zero")
    assert result.exit_code == 0 and "Found 4 problems" in result.output
    result = invoke("lint", v, "--select", "VK101", "--severity", "VK1=error")
    assert result.output.splitlines()[0].endswith("VK101 [error] unresolved link 'nowhere': no file answers it")
    assert "(1 error, 0 warnings, 0 info)" in result.output
    result = invoke("lint", v, "--min-severity", "error")
    assert result.exit_code == 0


def test_config_selects_and_overrides_severity(tmp_path: Path) -> None:
    v = _small_vault(tmp_path)
    (v / "vaultkit.toml").write_text('select = ["VK1"]\nignore = ["VK105"]\n[severity]\nVK101 = "info"\n',
                                     encoding="utf-8")
    result = invoke("lint", str(v))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{v.as_posix()}/note.md:5:5: VK101 [info] unresolved link 'nowhere': no file answers it",
        "Found 1 problem (0 errors, 0 warnings, 1 info) in 1 file; 1 note checked.",
    ]
    # the command line's --select replaces the config's
    assert "VK204" in invoke("lint", str(v), "--select", "VK2").output


@pytest.mark.parametrize("args, message", [
    (["--select", "VK9"], "unknown rule"),
    (["--ignore", "XX1"], "unknown rule"),
    (["--severity", "VK101=fatal"], "CODE=error|warning|info"),
    (["--format", "xml"], "xml"),
])
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["lint", str(_small_vault(tmp_path)), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


@pytest.mark.parametrize("toml, message", [
    ('select = ["VK7"]\n', "unknown rule code in 'select'"),
    ('[severity]\nVK101 = "loud"\n', "'severity'"),
    ("select = [\n", "invalid TOML"),
])
def test_config_errors_exit_2_and_name_the_file(tmp_path: Path, toml: str, message: str) -> None:
    v = _small_vault(tmp_path)
    (v / "vaultkit.toml").write_text(toml, encoding="utf-8")
    result = CliRunner().invoke(cli, ["lint", str(v)])
    assert result.exit_code == 2, result.output
    assert "vaultkit.toml" in result.output and message in result.output


def test_internal_error_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(ctx):
        raise RuntimeError("rule crashed")
        yield  # pragma: no cover

    monkeypatch.setitem(REGISTRY, "VK105", replace(REGISTRY["VK105"], check=boom))
    result = CliRunner().invoke(cli, ["lint", str(_small_vault(tmp_path))])
    assert result.exit_code == 2
    assert "internal error: RuntimeError: rule crashed" in result.output


def test_missing_vault_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["lint", str(tmp_path / "nope")])
    assert result.exit_code == 2


def test_suppression_comments(tmp_path: Path) -> None:
    v = tmp_path / "v"
    v.mkdir()
    (v / "a.md").write_text(
        "[[gone]] %% vaultkit-ignore VK101 %%\n"
        "%% vaultkit-ignore VK1 %%\n"
        "[[gone too]] [[]]\n"
        "[[still reported]]\n", encoding="utf-8")
    (v / "b.md").write_text("---\ntags: x y\n---\n%% vaultkit-ignore-file VK202 %%\n[[gone]]\n",
                            encoding="utf-8")
    (v / "c.md").write_text("%% vaultkit-ignore-file %%\n[[gone]] [[]]\n", encoding="utf-8")
    result = lint(Vault.load(v))
    assert [(d.path, d.line, d.code) for d in result.diagnostics] == [
        ("a.md", 4, "VK101"), ("b.md", 2, "VK205"), ("b.md", 5, "VK101"),
    ]
    assert result.suppressed == 6
    out = invoke("lint", str(v)).output
    assert out.splitlines()[-1] == "Found 3 problems (0 errors, 3 warnings, 0 info) in 2 files; 3 notes checked; " \
                                   "6 findings suppressed."


def test_order_is_stable_and_sorted() -> None:
    vault = Vault.load(need(EUGENE))
    first = lint(vault).diagnostics
    second = lint(Vault.load(need(EUGENE))).diagnostics
    assert first == second
    assert first == sorted(first, key=lambda d: d.sort_key())


def test_types_json_mismatch_on_a_copy_of_the_sample(sample_copy: Path) -> None:
    (sample_copy / ".obsidian").mkdir()
    (sample_copy / ".obsidian" / "types.json").write_text(
        '{"types": {"created": "date", "updated": "datetime", "tags": "tags", "category": "number"}}',
        encoding="utf-8")
    result = lint(Vault.load(sample_copy), LintOptions(paths=[SEED]))
    assert [(d.code, d.line) for d in result.diagnostics] == [("VK207", 14)]
    assert "'category' is \"AI & Cognitive Science\", which is not a number value" in result.diagnostics[0].message
    (sample_copy / ".obsidian" / "types.json").write_text("{not json", encoding="utf-8")
    result = lint(Vault.load(sample_copy))
    assert [(d.path, d.code) for d in result.diagnostics] == [(".obsidian/types.json", "VK207")]


def test_generated_notes_are_linted_like_the_others(sample_copy: Path) -> None:
    """Fresh generated notes pass; an edited, a stale, an unplanned and a missing one are reported."""
    assert invoke("sync", str(sample_copy)).exit_code == 0
    assert invoke("lint", str(sample_copy)).exit_code == 0
    out = sample_copy / "_vaultkit"
    edited = out / "Tiers" / "Tier 5.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "my own line\n", encoding="utf-8")
    (out / "Tiers" / "Tier 9.md").unlink()
    seed = sample_copy / "22_AI_Research_mainstream" / "Production AI Techniques Tiered Table.md"
    seed.write_text(seed.read_text(encoding="utf-8").replace("|3|LoRA / QLoRA (adapter tuning)|",
                                                             "|3|LoRA / QLoRA (adapters)|"), encoding="utf-8")
    result = invoke("lint", str(sample_copy), "--select", "VK401", "--format", "json")
    assert result.exit_code == 1
    found = {d["path"]: d["message"] for d in json.loads(result.output)["diagnostics"]}
    assert "edited" in found["_vaultkit/Tiers/Tier 5.md"]
    assert "missing" in found["_vaultkit/Tiers/Tier 9.md"]
    assert "no longer produced" in found["_vaultkit/Techniques/LoRA QLoRA (adapter tuning).md"]
    assert "out of date" in found["_vaultkit/Tiers/Tier 3.md"]
    assert "missing" in found["_vaultkit/Techniques/LoRA QLoRA (adapters).md"]
    assert invoke("sync", str(sample_copy), "--force").exit_code == 0
    assert invoke("lint", str(sample_copy), "--select", "VK401").exit_code == 0


def test_committed_generated_notes_of_the_sample_vault_are_fresh_and_valid() -> None:
    vault = Vault.load(SAMPLE_VAULT)
    generated = [n for n in vault.notes.values() if vault.is_generated(n)]
    result = lint(vault, LintOptions(select=["VK201", "VK401"]))
    assert result.diagnostics == []
    if generated:  # written by vaultkit sync: every one has a schema through its type
        from vaultkit.schema import SchemaStore

        store = SchemaStore()
        assert all(store.schema_for(n) in ("technique", "tier", "index") for n in generated), \
            sorted({str((n.frontmatter or {}).get("type")) for n in generated})


def test_pre_commit_hook_definition() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    hook = {h["id"]: h for h in hooks}["vaultkit-lint"]
    assert hook["entry"] == "vaultkit lint"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    assert hook["types"] == ["markdown"]


def test_lint_help_mentions_exit_status_and_suppression() -> None:
    result = invoke("lint", "--help")
    assert result.exit_code == 0
    assert "0 clean, 1 findings, 2 usage" in result.output
    assert "vaultkit-ignore" in result.output


def test_sample_vault_copy_is_untouched_by_lint(sample_copy: Path) -> None:
    before = {p: p.read_bytes() for p in sample_copy.rglob("*") if p.is_file()}
    invoke("lint", str(sample_copy), "--format", "sarif")
    after = {p: p.read_bytes() for p in sample_copy.rglob("*") if p.is_file()}
    assert before == after
    assert shutil.which  # the copy fixture really copied


def _count_validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each note's properties that go to ``jsonschema`` from now on (by title)."""
    import vaultkit.schema

    seen: list[str] = []
    real = vaultkit.schema.jsonable

    def recorded(properties):
        seen.append(str(properties.get("title")))
        return real(properties)

    monkeypatch.setattr(vaultkit.schema, "jsonable", recorded)
    return seen


def test_lint_after_a_sync_that_wrote_nothing_plans_nothing_and_reports_the_same(
        eugene_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sync stamp tells lint that the generated notes are as sync would write them; an edit takes that away."""
    import vaultkit.generate
    from vaultkit.cache import synced_as_is

    assert not synced_as_is(eugene_copy, "_vaultkit")  # no cache yet
    assert invoke("sync", str(eugene_copy), "-q").exit_code == 0
    assert invoke("sync", str(eugene_copy), "-q").exit_code == 0  # found everything as planned: stamp stored
    assert synced_as_is(eugene_copy, "_vaultkit")
    expected = invoke("lint", str(eugene_copy), "--format", "json", "--no-cache").output
    assert json.loads(expected)["diagnostics"]

    real_plan = vaultkit.generate.plan_generation
    plans = [0]

    def counted_plan(*args, **kwargs):
        plans[0] += 1
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(vaultkit.generate, "plan_generation", counted_plan)
    assert invoke("lint", str(eugene_copy), "--format", "json").output == expected
    assert plans == [0]
    assert invoke("lint", str(eugene_copy), "--format", "json", "--no-cache").output == expected
    assert plans == [1]  # without the cache lint knows nothing of the last sync

    edited = next((eugene_copy / "_vaultkit" / "Tiers").glob("*.md"))
    edited.write_text(edited.read_text(encoding="utf-8") + "my own line\n", encoding="utf-8")
    assert not synced_as_is(eugene_copy, "_vaultkit")
    found = json.loads(invoke("lint", str(eugene_copy), "--format", "json", "--select", "VK401").output)
    assert plans == [2]
    rel = edited.relative_to(eugene_copy).as_posix()
    assert [(d["path"], "edited" in d["message"]) for d in found["diagnostics"]] == [(rel, True)]


def test_lint_reuses_schema_results_of_unchanged_notes(eugene_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """jsonschema runs again only for a note whose bytes changed; the findings stay those of a fresh run."""
    assert invoke("sync", str(eugene_copy), "-q").exit_code == 0
    (eugene_copy / "vaultkit.toml").write_text('[schemas]\n"**" = "knowledge-note"\n', encoding="utf-8")
    expected = invoke("lint", str(eugene_copy), "--format", "json", "--select", "VK201", "--no-cache").output
    assert len(json.loads(expected)["diagnostics"]) >= 5
    calls = _count_validations(monkeypatch)
    assert invoke("lint", str(eugene_copy), "--format", "json", "--select", "VK201").output == expected
    first = len(calls)
    assert first > 150  # the notes with properties, user and generated
    assert invoke("lint", str(eugene_copy), "--format", "json", "--select", "VK201").output == expected
    assert calls[first:] == []  # nothing validated again

    note = eugene_copy / SEED
    text = note.read_text(encoding="utf-8")
    note.write_text(text.replace("\ntitle:", "\nnot_the_title:", 1), encoding="utf-8")
    after = json.loads(invoke("lint", str(eugene_copy), "--format", "json", "--select", "VK201").output)
    assert calls[first:] == ["None"]  # the edited note alone (now without a title)
    assert any(d["path"] == SEED and "'title' is missing" in d["message"] for d in after["diagnostics"])
    assert after == json.loads(invoke("lint", str(eugene_copy), "--format", "json", "--select", "VK201",
                                      "--no-cache").output)


def test_schema_results_are_not_reused_once_the_schema_changed(tmp_path: Path) -> None:
    from vaultkit.schema import SchemaStore

    schema = tmp_path / "mine.json"
    schema.write_text('{"type": "object", "required": ["a"]}', encoding="utf-8")
    first = SchemaStore(tmp_path)
    assert [i.key for i in first.validate("mine.json", {"b": 1}, content_key="k")] == ["a"]
    schema.write_text('{"type": "object", "required": ["b"]}', encoding="utf-8")
    second = SchemaStore(tmp_path)
    second.known = dict(first.learned)
    assert second.validate("mine.json", {"b": 1}, content_key="k") == []
    assert len(second.learned) == 1 and not set(second.learned) & set(first.learned)


def test_lint_after_a_prose_edit_trusts_what_the_last_sync_found_as_sync_does(
        eugene_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Generated notes made of the same inputs as in the last sync, and still the files its writer saw,
    are not made again; a touched one is made and compared; the findings are those of a lint without cache."""
    import vaultkit.generate
    import vaultkit.writer

    assert invoke("sync", str(eugene_copy), "-q").exit_code == 0
    monkeypatch.setattr(vaultkit.writer, "_RECENT_NS", 0)  # (else files written this second are not trusted)
    assert invoke("sync", str(eugene_copy), "-q").exit_code == 0
    note = eugene_copy / DEPTH  # (no tier table)
    note.write_text(note.read_text(encoding="utf-8") + "\nA closing line of prose.\n", encoding="utf-8")
    touched = sorted((eugene_copy / "_vaultkit" / "Techniques").glob("*.md"))[0]
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 1_000_000))
    expected = invoke("lint", str(eugene_copy), "--format", "json", "--no-cache").output

    real = vaultkit.generate._technique_note
    made: list[str] = []

    def recorded(vault, tech, path, *args, **kwargs):
        made.append(path)
        return real(vault, tech, path, *args, **kwargs)

    monkeypatch.setattr(vaultkit.generate, "_technique_note", recorded)
    assert invoke("lint", str(eugene_copy), "--format", "json").output == expected
    assert made == [touched.relative_to(eugene_copy).as_posix()]  # the one whose file changed (its times)


def test_a_marker_line_written_by_another_version_is_not_out_of_date(eugene_copy: Path) -> None:
    """sync leaves a generated note whose marker names another vaultkit version (or sits elsewhere in the
    frontmatter); VK401 agrees, with the cache and without."""
    assert invoke("sync", str(eugene_copy), "-q").exit_code == 0
    tier = next((eugene_copy / "_vaultkit" / "Tiers").glob("*.md"))
    text = tier.read_text(encoding="utf-8")
    lines = text.split("\n")
    marker = next(i for i, line in enumerate(lines) if line.startswith("vaultkit: {"))
    moved = re.sub(r'version: "[^"]*"', 'version: "0.0.9"', lines[marker], count=1)
    assert moved != lines[marker]
    del lines[marker]
    lines.insert(1, moved)  # first key of the frontmatter
    tier.write_text("\n".join(lines), encoding="utf-8")
    assert "updated 0" in invoke("sync", str(eugene_copy)).output  # sync leaves it
    assert tier.read_text(encoding="utf-8") == "\n".join(lines)
    for extra in ((), ("--no-cache",)):
        result = invoke("lint", str(eugene_copy), "--select", "VK401", *extra)
        assert result.exit_code == 0, result.output


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # (jsonschema's own retrieval of file: references)
def test_schema_results_are_not_kept_for_a_schema_that_refers_to_another_file(tmp_path: Path) -> None:
    from vaultkit.schema import SchemaStore

    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({"$id": mine.as_uri(), "allOf": [{"$ref": "other.json"}]}), encoding="utf-8")
    (tmp_path / "other.json").write_text('{"required": ["a"]}', encoding="utf-8")
    store = SchemaStore(tmp_path)
    assert [i.key for i in store.validate("mine.json", {"b": 1}, content_key="k")] == ["a"]
    assert store.learned == {}  # other.json may change without mine.json
