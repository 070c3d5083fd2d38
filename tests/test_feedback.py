"""FeedbackLoop names and Emergence scores: the seed's, the forms of the user's vault, resolution and wanted notes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaultkit.feedback import TitleIndex, emergence_scores, extract_related, name_key, read_feedback
from vaultkit.model import Note
from vaultkit.vault import Vault

from .conftest import EUGENE, SAMPLE_VAULT, need

SEED_NOTE = "22_AI_Research_mainstream/Production AI Techniques Tiered Table.md"
SEED_NAMES = [
    "AI Model Scaling Effectiveness",
    "Production AI Implementation Guidelines",
    "AI Technical Trade-offs Analysis",
    "Enterprise AI Deployment Framework",
    "AI Optimization Techniques Catalog",
]


@pytest.fixture(scope="module")
def eugene_loops():
    return read_feedback(Vault.load(need(EUGENE)))


def test_seed_feedback_loop_names_and_emergence_scores() -> None:
    vault = Vault.load(SAMPLE_VAULT)
    (loop,) = read_feedback(vault)
    assert loop.note == SEED_NOTE
    assert [r.name for r in loop.related] == SEED_NAMES
    assert {r.kind for r in loop.related} == {"quoted"}
    assert all(r.target is None for r in loop.related)  # none of them exists: five wanted notes
    assert [r.line for r in loop.related] == [22] * 5  # the FeedbackLoop property's line
    assert loop.emergence.scores == [8, 9, 7]
    assert loop.emergence.by_dimension == {"novelty": 8, "value": 9, "feasibility": 7}


def test_forms_of_related_note_names() -> None:
    text = "\n".join([
        "**Related Note 1: Cognitive Architecture Design Principles**",
        "This relationship involves 'quoted words' that are not a note.",
        "### Feedback Loop 2: With Note on Cellular Energy Economy",
        "#### Relationship 3: AGI-Twin Architecture Dependencies (Direct)",
        "1. **Self-Modifying AI Systems Note**: This note depends on it.",
        "   - *Nature of Relationship*: Direct dependency",
        "2. Dataset Curation and Quality Assessment Frameworks",
        "Note 6: Semantic Frame Definition Module",
        "It links to [[Vector Memory#Design|vector memory]] and the \"Knowledge Graph Ontology\" note.",
        "Inline: 7. **Gödelian Incompleteness Note**: both emphasise limits.",
        "The first relationship involves a note about Local LLM Infrastructure which helps.",
    ])
    got = [(r.name, r.kind) for r in extract_related(text)]
    assert got == [
        ("Cognitive Architecture Design Principles", "related-note"),
        ("Cellular Energy Economy", "heading"),
        ("AGI-Twin Architecture Dependencies", "heading"),
        ("Self-Modifying AI Systems", "list"),
        ("Dataset Curation and Quality Assessment Frameworks", "list"),
        ("Semantic Frame Definition Module", "bold"),
        ("Vector Memory", "wikilink"),
        ("Knowledge Graph Ontology", "quoted"),
        ("Gödelian Incompleteness", "list"),
        ("Local LLM Infrastructure", "quoted"),
    ]


def test_names_resolve_by_title_or_file_name_ignoring_case_and_punctuation() -> None:
    notes = [
        Note("AI/Trade-offs.md", frontmatter={"title": "AI Technical Trade-offs Analysis"}),
        Note("Scaling Notes/AI Model Scaling Effectiveness.md"),
        Note("Other/Vector Memory.md", aliases=["VecMem"]),
    ]
    idx = TitleIndex(notes)
    assert idx.resolve("ai technical trade offs analysis") == "AI/Trade-offs.md"
    assert idx.resolve("Trade-offs") == "AI/Trade-offs.md"  # the file name
    assert idx.resolve("AI Model Scaling Effectiveness Note") == "Scaling Notes/AI Model Scaling Effectiveness.md"
    assert idx.resolve("AI-Model: Scaling, Effectiveness!") == "Scaling Notes/AI Model Scaling Effectiveness.md"
    assert idx.resolve("VecMem") == "Other/Vector Memory.md"
    assert idx.resolve("Enterprise AI Deployment Framework") is None
    assert idx.suggest("AI Model Scaling Effectivness") == ["Scaling Notes/AI Model Scaling Effectiveness.md"]
    assert idx.suggest("Quantum Gravity") == []
    assert name_key("Gödel’s Theorem") == "gödel s theorem"


def test_feedback_resolves_to_an_existing_note(tmp_path: Path) -> None:
    (tmp_path / "Scaling.md").write_text("---\ntitle: AI Model Scaling Effectiveness\n---\nx\n", encoding="utf-8")
    (tmp_path / "Seed.md").write_text(
        "---\nFeedbackLoop: |\n  First, the 'AI Model Scaling Effectiveness' note depends on it.\n"
        "  Second, the 'Missing Guidelines' note builds on it.\n"
        "Emergence: 'Novelty Score: 8.5. Value to AI Learning: 9. Implementation Feasibility: 7.'\n---\nBody\n",
        encoding="utf-8")
    (loop,) = read_feedback(Vault.load(tmp_path))
    assert [(r.name, r.target, r.line) for r in loop.related] == [
        ("AI Model Scaling Effectiveness", "Scaling.md", 3), ("Missing Guidelines", None, 4)]
    assert [r.name for r in loop.missing] == ["Missing Guidelines"]
    assert loop.emergence.scores == [8.5, 9, 7]


@pytest.mark.parametrize(
    "text, scores",
    [
        ("The note exhibits high novelty score (8/10). The value to AI learning is high (9/10). "
         "Implementation feasibility scores 7/10.", [8, 9, 7]),
        ("The novelty score is 8 out of 10 because … Value to AI learning is 9 because … "
         "Implementation feasibility is 7 as it requires", [8, 9, 7]),
        ("**Novelty Score: 8** … **Value to AI Learning: 9** … **Implementation Feasibility: 7**", [8, 9, 7]),
        ("scores of 8.5 for novelty, 9.0 for AI learning value, and 7.5 for implementation", [8.5, 9, 7.5]),
        ("novelty score 9, value to AI learning 8, and implementation feasibility 7", [9, 8, 7]),
        ("Novelty: 8. It helps within 2 hours and 10,000 papers. Value to AI learning: 9 (GPT-4 class). "
         "Feasibility: 6", [8, 9, 6]),
        ("Overall 7/10 and 6 out of 10.", [7, 6]),
        ("No numbers here.", []),
    ],
)
def test_emergence_score_forms(text: str, scores: list) -> None:
    assert emergence_scores(text).scores == scores


def test_eugene_feedback_loops(eugene_loops) -> None:
    assert len(eugene_loops) == 144
    related = [r for loop in eugene_loops for r in loop.related]
    assert len(related) > 300
    # the vault wants these notes: nearly every name matches no note
    assert sum(r.target is None for r in related) / len(related) > 0.95
    scored = [loop for loop in eugene_loops if len(loop.emergence.scores) == 3]
    assert len(scored) >= 140
    by_note = {loop.note: loop for loop in eugene_loops}
    fractal = by_note["17_OverlaySemanticWeight/Fractal Activation Keys for AGI.md"]
    assert [r.name for r in fractal.related[:3]] == [
        "Semantic Lattice Design Principles", "Knowledge Evolution Framework", "Multi-Layered Reasoning Models"]
    assert fractal.emergence.by_dimension["novelty"] == 8
    lithography = by_note["17_OverlaySemanticWeight/Semantic Lithography Protocol.md"]
    assert lithography.emergence.scores == [8.5, 9, 7.5]


def test_quoted_title_case_phrases_anywhere_are_names() -> None:
    text = ("The first related note is 'Cognitive Architecture Framework' which helps. Secondly, "
            "\"Recursive Intent Frameworks\" contributes. It evaluates 'validity of knowledge' and 'Nutraloaf' outputs.")
    assert [(r.name, r.kind) for r in extract_related(text)] == [
        ("Cognitive Architecture Framework", "quoted"), ("Recursive Intent Frameworks", "quoted")]


def test_suggest_gives_what_difflib_alone_gives() -> None:
    """The C prefilter drops no near match: same answer as difflib.get_close_matches on every key."""
    import difflib
    import random


    vault = Vault.load(need(EUGENE))
    idx = TitleIndex(vault.user_notes())
    rng = random.Random(3)
    keys = sorted(idx.titles)
    names = [loop_rel.name for loop in vault.feedback_loops for loop_rel in loop.related]
    for k in rng.sample(keys, 40):  # near misses of real titles: a letter dropped, swapped, added
        i = rng.randrange(len(k) or 1)
        names += [k[:i] + k[i + 1:], k[:i] + "x" + k[i:], k[::-1], k.upper(), ""]
    assert len(names) > 200
    for name in names:
        close = difflib.get_close_matches(name_key(name), keys, 6, 0.75)
        expected: list[str] = []
        for k in close:
            if idx.titles[k] not in expected:
                expected.append(idx.titles[k])
        assert idx.suggest(name) == expected[:3], name


def _as_tuples(loops) -> list:
    return [(loop.note, [(r.name, r.kind, r.line, r.target) for r in loop.related], loop.emergence.scores,
             loop.emergence.by_dimension) for loop in loops]


def test_loops_read_while_parsing_equal_loops_read_from_the_text(monkeypatch) -> None:
    vault = Vault.load(need(EUGENE))
    parsed = read_feedback(vault)
    assert sum(1 for n in vault.user_notes() if n.feedback is not None) == len(parsed) == 144
    # the same notes without what the parser read: read from their texts as before
    for note in vault.user_notes():
        note.feedback = None
    vault._feedback = None
    from_text = read_feedback(vault)
    assert _as_tuples(parsed) == _as_tuples(from_text)
    assert any(r.line > 2 for loop in parsed for r in loop.related)  # (lines of names, not only of the key)


def test_a_sync_reads_no_note_text_for_feedback_loops(tmp_path: Path, monkeypatch) -> None:
    import vaultkit.techniques as techniques

    (tmp_path / "Seed.md").write_text(
        "---\nFeedbackLoop: |\n  First, the 'Scaling Effectiveness' note depends on it.\n---\nBody\n", encoding="utf-8")
    vault = Vault.load(tmp_path, cache=True)
    vault = Vault.load(tmp_path, cache=True)  # (from the cache: the text is not held)
    read = []
    monkeypatch.setattr(techniques, "note_text", lambda v, n: read.append(n.path) or n.text)
    (loop,) = read_feedback(vault)
    assert [(r.name, r.line) for r in loop.related] == [("Scaling Effectiveness", 3)] and read == []


_feedback_alphabet = st.sampled_from(list("0123456789.,)-/ \n*xN") + ["note ", "Note on ", "Note about ", "**", "10",
                                                                      "novelty", "value", "learning", "Value",
                                                                      "implementation", "новизн", "ценност", "٣",
                                                                      " out of 10", "/10", "%", "A", "Big", "of"])


@given(st.lists(_feedback_alphabet, max_size=60).map("".join))
@settings(max_examples=400, deadline=None)
def test_searches_tried_at_candidate_positions_find_what_finditer_finds(text: str) -> None:
    """The feedback reader's searches that skip to the positions where a match can start (a digit, a "note",
    a dimension word) find exactly what ``finditer`` finds."""
    from vaultkit import feedback as fb

    def spans(ms):
        return [(m.span(), m.groups()) for m in ms]

    for rx, nxt in ((fb._NUMBER_RE, fb._next_digit), (fb._INLINE_BOLD_ITEM_RE, fb._next_digit),
                    (fb._NOTE_ON_RE, fb._next_note_word)):
        assert spans(fb._matches_at(rx, text, nxt)) == spans(rx.finditer(text)), rx.pattern
    low = text.lower()
    assert fb._dimension_words(low) == [(m.start(), m.group()) for m in fb._DIM_RE.finditer(low)]
