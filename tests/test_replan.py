"""A sync remakes only the generated notes whose inputs changed, and never leaves stale output.

:class:`vaultkit.generate._Reuse` defers a technique, tier or cost note or the canvas
when an earlier run made it of the same inputs and the writer finds the file as that
run left it. These tests count what is made again, and after every sync check that
the output folder is exactly what a sync without any cache writes.

The writer records a file as up to date only when it was not changed within the
last two seconds (``writer._RECENT_NS``); the tests set that to zero so that they
need not wait.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

import vaultkit.generate as generate
import vaultkit.writer as writer
from vaultkit.commands.sync import run_sync
from vaultkit.techniques import build_techniques
from vaultkit.vault import Vault

from .conftest import EUGENE, need, random_line_edit, small_synthetic_vault


@pytest.fixture
def made(monkeypatch) -> list[str]:
    """Paths of the technique notes made (not deferred) during a test; files count as verified at once."""
    monkeypatch.setattr(writer, "_RECENT_NS", 0)
    calls: list[str] = []
    original = generate._technique_note

    def counting(vault, tech, path, *args):
        calls.append(path)
        return original(vault, tech, path, *args)

    monkeypatch.setattr(generate, "_technique_note", counting)
    return calls


def _sync(root: Path):
    vault, plan, report = run_sync(root, quiet=True)
    assert not report.problems, report.problems
    return plan, report


def _settled(root: Path) -> None:
    """Sync twice: the second run finds every file as the first left it (and records it)."""
    _sync(root)
    _plan, report = _sync(root)
    assert not report.changed


def _assert_up_to_date(root: Path) -> None:
    _, _, report = run_sync(root, mode_name="check", cache=False)
    assert not report.changed, [(o.path, o.action) for o in report.outcomes if o.action != "unchanged"]


@pytest.fixture
def eugene(tmp_path: Path) -> Path:
    root = tmp_path / "v"
    shutil.copytree(need(EUGENE), root, ignore=shutil.ignore_patterns(".vaultkit"))
    return root


def _note_without_tables(root: Path) -> Path:
    """The first user note (in path order) without a ``|``: no table, so no tier row."""
    return next(p for p in sorted(root.rglob("*.md")) if "_vaultkit" not in p.parts
                and "|" not in p.read_text(encoding="utf-8"))


def _append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def _technique_count(root: Path) -> int:
    return len(build_techniques(Vault.load(root)))


def test_a_link_between_user_notes_makes_no_technique_note_again(eugene: Path, made: list[str]) -> None:
    root = eugene
    _settled(root)
    vault = Vault.load(root)
    notes = vault.user_notes()
    source, target = notes[3], notes[7]
    made.clear()
    _append(root / source.path, f"\nSee [[{target.path[:-3]}]].\n")
    plan, report = _sync(root)
    # the link names a note, not a technique: no technique's mentions or backlinks changed
    assert made == []
    assert len(plan.deferred) == len(plan.paths) - 1  # all but the index
    assert [o.path for o in report.outcomes if o.action == "updated"] == ["_vaultkit/Vault index.md"]
    _assert_up_to_date(root)


def test_a_link_to_a_technique_note_makes_that_note_again(eugene: Path, made: list[str]) -> None:
    root = eugene
    _settled(root)
    techs = build_techniques(Vault.load(root))
    tech = techs[len(techs) // 2]
    plain = _note_without_tables(root)
    made.clear()
    _append(plain, f"\nCompare [[{tech.name.replace('|', ' ')}]] here.\n")
    plan, report = _sync(root)
    changed = sorted(o.path for o in report.outcomes if o.action == "updated")
    assert 1 <= len(made) < len(techs) / 4, made  # the notes of the techniques the new line names
    assert set(p for p in changed if "/Techniques/" in p) <= set(made)
    _assert_up_to_date(root)


def test_a_new_mention_redraws_the_canvas_without_reading_every_mention(eugene: Path, made: list[str],
                                                                         monkeypatch) -> None:
    """A technique named in a note that did not name it enters the canvas's top mentions: the canvas is
    drawn again from the earlier run's top mentions of every other technique (their mentions are not
    read), and is what a sync without cache writes. (The index's Mermaid ladder shows only the first
    technique here, so that it stays as it was: a new Mermaid ladder reads every mention.)"""
    root = eugene
    monkeypatch.setattr(generate, "MERMAID_TOP", 1)
    _settled(root)
    plain = _note_without_tables(root)
    rel = plain.relative_to(root).as_posix()
    techs = build_techniques(Vault.load(root))
    tech = next(t for t in techs if len(t.mentions) < 2 and rel not in t.mentions and len(t.name) > 6
                and "|" not in t.name)
    fills: list[int] = []
    real = generate.fill_mentions
    monkeypatch.setattr(generate, "fill_mentions", lambda ts, rows: (fills.append(len(ts)), real(ts, rows)))
    _append(plain, f"\n{tech.name}, again {tech.name}, and {tech.name} once more.\n")
    _plan, report = _sync(root)
    updated = [o.path for o in report.outcomes if o.action == "updated"]
    assert "_vaultkit/Knowledge graph.canvas" in updated
    assert fills and max(fills) < len(techs) / 4, fills  # only the techniques whose mentions changed
    _assert_up_to_date(root)


def test_a_backlink_alone_makes_that_technique_note_again(eugene: Path, made: list[str]) -> None:
    """A link in a table that is not a tier table: table lines hold no mentions, so only the
    technique note's backlinks change."""
    root = eugene
    _settled(root)
    techs = build_techniques(Vault.load(root))
    tech = techs[len(techs) // 3]
    target = Vault.load(root).notes  # generated notes are notes too: find the technique's file
    path = next(p for p in target if p.startswith("_vaultkit/Techniques/") and target[p].title == tech.name)
    plain = _note_without_tables(root)
    made.clear()
    _append(plain, f"\n\n| Topic | Where |\n|---|---|\n| reading | [[{path[:-3]}]] |\n")
    _plan, report = _sync(root)
    assert made == [path]
    assert sorted(o.path for o in report.outcomes if o.action == "updated") == sorted([path, "_vaultkit/Vault index.md"])
    _assert_up_to_date(root)


def test_a_tier_cell_edit_makes_every_technique_note_again(eugene: Path, made: list[str]) -> None:
    root = eugene
    _settled(root)
    row = build_techniques(Vault.load(root))[0].rows[0]
    path = root / row.note
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[row.line - 1] = lines[row.line - 1].replace(row.name, row.name + " Plus", 1)
    path.write_text("\n".join(lines), encoding="utf-8")
    made.clear()
    _sync(root)
    assert len(made) == _technique_count(root)
    _assert_up_to_date(root)


def test_a_new_title_shows_in_every_technique_note_that_names_the_note(eugene: Path, made: list[str]) -> None:
    root = eugene
    _settled(root)
    vault = Vault.load(root)
    ranked = {r.note for t in build_techniques(vault) for r in t.rows}
    # a title line replaced in place: no line moves, so no row or mention changes with it
    path = next(root / p for p in sorted(ranked) if vault.notes[p].frontmatter.get("title")
                and "\ntitle: " in (root / p).read_text(encoding="utf-8"))
    text = path.read_text(encoding="utf-8")
    start = text.index("\ntitle: ") + 1
    end = text.index("\n", start)
    path.write_text(text[:start] + "title: A Title Nobody Used Before" + text[end:], encoding="utf-8")
    made.clear()
    _sync(root)
    assert made  # (every technique note: the title is part of the structure)
    assert any("A Title Nobody Used Before" in p.read_text(encoding="utf-8")
               for p in (root / "_vaultkit" / "Techniques").glob("*.md"))
    _assert_up_to_date(root)


def test_deferred_notes_deleted_or_edited_by_hand(eugene: Path, made: list[str]) -> None:
    root = eugene
    _settled(root)
    techniques = sorted((root / "_vaultkit" / "Techniques").glob("*.md"))
    gone, edited = techniques[0], techniques[1]
    canvas = root / "_vaultkit" / "Knowledge graph.canvas"
    expected = gone.read_bytes()
    gone.unlink()
    canvas_bytes = canvas.read_bytes()
    canvas.unlink()
    edited.write_text(edited.read_text(encoding="utf-8") + "\nMy own words.\n", encoding="utf-8")
    note = next(p for p in sorted(root.rglob("*.md")) if "_vaultkit" not in p.parts)
    _append(note, "\nA line of prose that changes the note's hash, so that sync plans again.\n")
    made.clear()
    _vault, plan, report = run_sync(root, quiet=True)
    actions = {o.path: o.action for o in report.outcomes}
    rel = lambda p: p.relative_to(root).as_posix()  # noqa: E731
    assert actions[rel(gone)] == "created" and gone.read_bytes() == expected
    assert actions[rel(canvas)] == "created" and canvas.read_bytes() == canvas_bytes
    assert actions[rel(edited)] == "skipped-edited"
    assert "My own words." in edited.read_text(encoding="utf-8")
    assert sorted(made) == sorted([rel(gone), rel(edited)])  # made only to compare with the files


def test_without_the_cache_nothing_is_reused(eugene: Path, made: list[str]) -> None:
    _settled(eugene)
    _, plan, _ = run_sync(eugene, cache=False, quiet=True)
    # only the technique notes wait for the writer, and with no earlier hash: each is made and compared
    assert plan.deferred and all("/Techniques/" in p for p in plan.deferred)
    assert all(digest is None for digest, _make in plan.deferred.values())


def test_random_edits_with_deferred_notes_never_leave_stale_output(tmp_path: Path, made: list[str]) -> None:
    """Links, technique names, tier cells and prose inserted, deleted and copied in random notes of a
    synthetic vault: after each sync the output is what a sync without cache writes."""
    root = tmp_path / "v"
    notes = small_synthetic_vault(root, 12)
    _settled(root)
    rng = random.Random(8)
    techs = build_techniques(Vault.load(root))
    names = [t.name for t in techs][:30]
    words = (["plain", "Tier 2", "[[", "]]", "|", "#tag", "%%", "`", "the", "🟢", "💰"]
             + [f"[[{p.stem}]]" for p in notes[:10]] + names + [f"[[{n}]]" for n in names]
             + [f"[[{n}#Notes that rank, link to or name it]]" for n in names[:5]])
    endings = [f"See [[{p.stem}]]." for p in notes[::7]] + [f"Read [[{n}]]." for n in names[::4]] + names[::5]
    deferred = 0
    for _step in range(40):
        random_line_edit(rng.choice(notes), rng, words, endings)
        plan, _report = _sync(root)
        deferred += bool(plan.deferred)
        _assert_up_to_date(root)
    assert deferred >= 10  # most edits leave most notes as they were


def test_a_deleted_output_folder_is_made_again_in_one_pass(eugene: Path, made: list[str], monkeypatch) -> None:
    """Every deferred note the writer needs is made, with the mentions filled once (not once per note)."""
    root = eugene
    _settled(root)
    before = {p: p.read_bytes() for p in (root / "_vaultkit" / "Techniques").glob("*.md")}
    shutil.rmtree(root / "_vaultkit" / "Techniques")
    _append(_note_without_tables(root), "\nProse that changes no technique's inputs.\n")
    fills: list[int] = []
    real = generate.fill_mentions
    monkeypatch.setattr(generate, "fill_mentions", lambda techs, rows: (fills.append(len(techs)), real(techs, rows)))
    made.clear()
    _vault, plan, report = run_sync(root, quiet=True)
    assert len(plan.deferred) >= len(before) and len(made) == len(before)
    assert len(fills) <= 2
    assert {p: p.read_bytes() for p in (root / "_vaultkit" / "Techniques").glob("*.md")} == before
    _assert_up_to_date(root)


def test_technique_notes_written_by_forked_workers_equal_those_written_here(monkeypatch, eugene_copy) -> None:
    import functools

    from vaultkit import generate, pool
    from vaultkit.generate import plan_generation
    from vaultkit.vault import Vault

    monkeypatch.setattr(generate, "start_forked", lambda *a, **k: None)
    here = plan_generation(Vault.load(eugene_copy))
    started: list[object] = []

    def forked(*args, **kwargs):
        started.append(pool.start_forked(*args, **{**kwargs, "workers": 2, "chunk": 3}))
        return started[-1]

    monkeypatch.setattr(generate, "start_forked", forked)
    stages: list[tuple[str, int, int]] = []
    there = plan_generation(Vault.load(eugene_copy), progress=lambda *s: stages.append(s))
    if started[0] is None:
        pytest.skip("no fork start method here")
    assert there.techniques == here.techniques >= 20
    assert there.paths == here.paths

    def texts(plan) -> dict[str, str]:
        return {p: plan.files[p] if p in plan.files else plan.deferred[p][1]() for p in plan.paths}

    assert texts(there) == texts(here) and all(texts(there).values())
    # the forked workers' notes wait as UTF-8 for the writer, the others are made when it takes them (no
    # content hash: always made)
    technique_paths = [p for p in here.paths if "/Techniques/" in p]
    assert len(technique_paths) == here.techniques
    assert all(plan.deferred[p][0] is None for plan in (here, there) for p in technique_paths)
    made = [s for s in stages if s[0] == "planning technique notes"]
    assert made[-1][1:] == (here.techniques, here.techniques)


def test_a_planned_file_with_no_earlier_hash_is_made_once_and_not_kept(tmp_path) -> None:
    """The forked workers' technique notes reach the writer as (None, make): always made, one at a time."""
    from vaultkit.writer import PlannedFile, apply

    (tmp_path / ".obsidian").mkdir()
    made: list[str] = []

    def make() -> str:
        made.append("x")
        return "---\ntitle: T\n---\n# T 🟢\n"

    pf = PlannedFile("_vaultkit/T.md", None, None, make)
    report = apply(tmp_path, "_vaultkit", [pf])
    assert [o.action for o in report.outcomes] == ["created"] and made == ["x"] and pf.text is None
    assert "# T 🟢" in (tmp_path / "_vaultkit" / "T.md").read_text(encoding="utf-8")
    again = apply(tmp_path, "_vaultkit", [PlannedFile("_vaultkit/T.md", None, None, make)])
    assert [o.action for o in again.outcomes] == ["unchanged"] and made == ["x", "x"]


def test_forked_workers_pass_over_technique_notes_already_on_disk(monkeypatch, eugene_copy) -> None:
    """A technique note whose file already holds it as written is not sent back by the forked workers:
    it is deferred with the writer's record of the file, and the writer finds it up to date by its stat.
    One changed after planning is not trusted: edited by hand it is kept; deleted it is made again here."""
    from vaultkit import pool
    from vaultkit.generate import plan_generation
    from vaultkit.writer import WriteMode, apply, note_on_disk, planned_files

    monkeypatch.setattr(writer, "_RECENT_NS", -1)  # (files just written count as settled)
    run_sync(eugene_copy, quiet=True)
    started: list[object] = []

    def forked(*args, **kwargs):
        started.append(pool.start_forked(*args, **{**kwargs, "workers": 2, "chunk": 3}))
        return started[-1]

    monkeypatch.setattr(generate, "start_forked", forked)
    plan = plan_generation(Vault.load(eugene_copy), on_disk=note_on_disk)
    if started[0] is None:
        pytest.skip("no fork start method here")
    technique_paths = [p for p in plan.paths if "/Techniques/" in p]
    assert len(technique_paths) == plan.techniques >= 20 and set(plan.verified) == set(technique_paths)
    assert all(plan.deferred[p][0] == plan.verified[p][0] for p in technique_paths)
    before = {p: (eugene_copy / p).read_bytes() for p in technique_paths}
    # made here again when asked (the writer asks when the file changed): the text on disk, marker aside
    assert writer.render_with_marker(plan.deferred[technique_paths[0]][1]()).encode() == before[technique_paths[0]]

    # (the README's way: a plan whose technique notes the workers made holds them deferred)
    assert not apply(eugene_copy, "_vaultkit", planned_files(plan), mode=WriteMode.CHECK, known=plan.verified).changed
    assert len(plan.files) < len(plan.paths) - 20

    edited, deleted = technique_paths[0], technique_paths[1]
    with (eugene_copy / edited).open("a", encoding="utf-8") as fh:
        fh.write("\nMy own words.\n")
    (eugene_copy / deleted).unlink()
    report = apply(eugene_copy, "_vaultkit", planned_files(plan), known=plan.verified)
    actions = {o.path: o.action for o in report.outcomes}
    assert actions[edited] == "skipped-edited" and actions[deleted] == "created"
    assert all(actions[p] == "unchanged" for p in technique_paths[2:])
    assert (eugene_copy / deleted).read_bytes() == before[deleted]
    assert (eugene_copy / edited).read_text(encoding="utf-8").endswith("My own words.\n")
