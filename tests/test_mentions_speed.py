"""The fast mention search finds exactly what the plain one did (names, aliases, ``Tier N``).

``_reference`` is the former :func:`vaultkit.techniques.find_mentions`, kept here verbatim: one
``\\b<trie>\\b`` scan for ASCII names, one ``(?<!\\w)<name>(?!\\w)`` scan per other name, ``Tier N``
of the note's own tables, then the longest match first, table lines skipped. The fast search must
give the same mentions (note, technique, line, count, via, text, order) on tricky texts.
"""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from vaultkit import techniques as T
from vaultkit.model import Note, Table, TableRow
from vaultkit.techniques import Mention, Technique, find_mentions, merge_rows, vault_mentions
from vaultkit.tiers import TechniqueRow, Tier

from .conftest import SAMPLE_VAULT


def _reference(techniques: list[Technique], notes: Any) -> list[Mention]:
    by_name: dict[str, list[tuple[Technique, str]]] = {}
    for t in techniques:
        for written in t.match_names():
            n = T._EDGE_RE.sub("", written)
            if len(n) >= 3 or T._is_acronym(n):
                lst = by_name.setdefault(" ".join(n.lower().split()), [])
                if all(x is not t for x, _ in lst):
                    lst.append((t, "name" if written == t.name else "alias"))
    if not by_name:
        return []
    ascii_names = [n for n in by_name if n.isascii()]
    pattern = re.compile(r"\b" + T._trie_pattern(ascii_names) + r"\b", re.ASCII) if ascii_names else None
    others = [(n, re.compile(r"(?<!\w)" + re.escape(n) + r"(?!\w)")) for n in by_name if not n.isascii()]
    own: dict[str, dict[int, list[Technique]]] = {}
    for t in techniques:
        for r in t.rows:
            for num in r.tier.numbers:
                lst2 = own.setdefault(r.note, {}).setdefault(num, [])
                if t not in lst2:
                    lst2.append(t)
    out: list[Mention] = []
    for note, text in notes:
        if not text:
            continue
        lower = text.lower()
        if len(lower) != len(text):
            lower = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
        hits: list[tuple[int, int, str, list[tuple[Technique, str]]]] = []
        if pattern is not None:
            hits = [(m.start(), m.end(), text[m.start():m.end()], by_name[m.group(0)]) for m in pattern.finditer(lower)]
        for n, rx in others:
            if n in lower:
                hits.extend((m.start(), m.end(), text[m.start():m.end()], by_name[n]) for m in rx.finditer(lower))
        tiers_here = own.get(note.path)
        if tiers_here and ("tier" in lower or "тир" in lower):
            for m in T._TIER_MENTION_RE.finditer(text):
                ts = tiers_here.get(int(m.group(1)), [])
                if ts:
                    hits.append((m.start(), m.end(), m.group(0), [(t, "tier") for t in ts]))
        if not hits:
            continue
        hits.sort(key=lambda h: (h[0], -h[1]))
        skip = [(tb.line, tb.rows[-1].line if tb.rows else tb.line + 1) for tb in note.tables]
        found: dict[str, Mention] = {}
        line, prev, taken_end = 1, 0, -1
        for start, end, written, targets in hits:
            if start < taken_end:
                continue
            taken_end = end
            line += text.count("\n", prev, start)
            prev = start
            if any(a <= line <= b for a, b in skip):
                continue
            for t, via in targets:
                m0 = found.get(t.key)
                if m0 is None:
                    found[t.key] = Mention(note.path, t.key, line, 1, via, written)
                else:
                    m0.count += 1
        out.extend(found[k] for k in sorted(found))
    return out


def _rows(note: str, *ranked: tuple[int, str]) -> list[TechniqueRow]:
    return [TechniqueRow(note, 0, i + 1, 3 + i, Tier(str(tier), tier, tier), name, [], [], [], 0)
            for i, (tier, name) in enumerate(ranked)]


def _note(path: str, *tables: tuple[int, int]) -> Note:
    """A note whose tables span the given (first, last) lines."""
    note = Note(path)
    note.tables = [Table(["Tier", "Technique"], [TableRow(["1", "x"], b)], a) for a, b in tables]
    return note


def _tuples(mentions: list[Mention]) -> list[tuple]:
    return [(m.note, m.technique, m.line, m.count, m.via, m.text) for m in mentions]


def _same(techniques: list[Technique], notes: list[tuple[Note, str]]) -> list[tuple]:
    fast = _tuples(find_mentions(techniques, notes))
    assert fast == _tuples(_reference(techniques, notes))
    assert _tuples(find_mentions(techniques, notes, by_find=True)) == fast  # names looked up one by one
    return fast


NAMES = [
    (1, "LoRA / QLoRA (adapter tuning)"),
    (2, "RAG / Search-Augmented Memory"),
    (3, "Retrieval-Augmented Generation (RAG)"),
    (4, "GPT-4"),
    (5, "Увеличение масштаба (параметры, токены)"),
    (6, "Модель мира"),
    (7, "Model Scaling (GPT-3→4→Qwen→Gemini)"),
    (8, "What-if? analysis"),
    (9, "Mixture of Experts (MoE)"),
    (10, "Mixture of Experts routing"),
    (11, "snake_case tokens"),
    (12, "Ёлочная гирлянда"),
]


@pytest.fixture(scope="module")
def techniques() -> list[Technique]:
    return merge_rows(_rows("own.md", *NAMES))


def test_cyrillic_names_whole_words_any_case(techniques) -> None:
    text = ("МОДЕЛЬ МИРА и модель мира, но не модель мирами и не «мегамодель мира».\n"
            "Увеличение масштаба, УВЕЛИЧЕНИЕ МАСШТАБА (параметры, токены) — то же.\n"
            "ёлочная гирлянда / ЁЛОЧНАЯ ГИРЛЯНДА")
    got = _same(techniques, [(Note("ru.md"), text)])
    by_key = {k: (line, count, text_) for _, k, line, count, _, text_ in got}
    assert by_key["модельмира"] == (1, 2, "МОДЕЛЬ МИРА")
    assert by_key["увеличениемасштаба"][:2] == (2, 2)
    assert by_key["ёлочнаягирлянда"][:2] == (3, 2)


def test_longest_name_wins_where_names_overlap(techniques) -> None:
    text = ("We tried LoRA / QLoRA first, then lora - qlora, then QLoRA alone.\n"
            "Mixture of Experts routing beats Mixture of Experts; moe too.\n"
            "Retrieval-Augmented Generation vs RAG")
    got = _same(techniques, [(Note("a.md"), text)])
    lora = next(m for m in got if m[1] == "loraqlora")
    assert lora[3] == 4 and lora[5] == "LoRA / QLoRA"  # "LoRA / QLoRA", "lora", "qlora", "QLoRA"
    routing = next(m for m in got if m[1] == "mixtureofexpertsrouting")
    assert routing[3] == 1


def test_table_lines_are_skipped(techniques) -> None:
    text = "\n".join([
        "GPT-4 above the table",                # 1
        "| Tier | Technique |",                  # 2
        "|---|---|",                            # 3
        "| 4 | GPT-4 |",                         # 4
        "| 6 | Модель мира |",                   # 5
        "GPT-4 and Модель мира below",          # 6
    ])
    got = _same(techniques, [(_note("t.md", (2, 5)), text)])
    assert {(m[1], m[2], m[3]) for m in got} == {("gpt4", 1, 2), ("модельмира", 6, 1)}


def test_tier_mentions_count_for_the_notes_own_tables(techniques) -> None:
    text = "\n".join([
        "See Tier 4, tier #2, TIER 12 and Tier 99.",
        "Также тир 5 и Tир 6 (латинская T), и Tier",
        "3 через перевод строки.",
    ])
    got = _same(techniques, [(Note("own.md"), text), (Note("other.md"), text)])
    tiers = {(m[1], m[2], m[5]) for m in got if m[4] == "tier"}
    assert tiers == {("gpt4", 1, "Tier 4"), ("ragsearchaugmentedmemory", 1, "tier #2"),
                     ("ёлочнаягирлянда", 1, "TIER 12"), ("увеличениемасштаба", 2, "тир 5"),
                     ("модельмира", 2, "Tир 6"), ("retrievalaugmentedgeneration", 2, "Tier\n3")}
    assert all(m[0] == "own.md" for m in got if m[4] == "tier")


def test_names_next_to_punctuation_and_other_scripts(techniques) -> None:
    text = ("(GPT-4)[GPT-4]{gpt-4}GPT-4's «GPT-4» RAG-ом поискRAG RAGx RAG_ RAG2 _RAG 2RAG\n"
            "gpt-4.5 gpt-4-turbo 'what-if? analysis' what-if analysis Model Scaling (GPT-3→4→Qwen→Gemini)\n"
            "snake_case tokens, snake case tokens, snake_case_tokens\n"
            "GPT-4")
    got = _same(techniques, [(Note("p.md"), text)])
    gpt = next(m for m in got if m[1] == "gpt4")
    assert gpt[2:4] == (1, 8)  # the five bracketed and quoted ones, gpt-4.5, gpt-4-turbo, the last line


def test_unusual_characters_keep_offsets_aligned(techniques) -> None:
    # İ lowers to two characters (the text is then lowered one character at a time), K (Kelvin)
    # lowers to an ASCII "k", and an emoji makes the text four bytes per character
    texts = ["İİ GPT-4 and Модель мира 💰💰 LoRA\nTier 4 ıTier 4",
             "\u212aelvin: GPT-4 \u212a GPT-4\u212a",
             "ΣΑΣ Σ GPT-4 σ ς Модель мира"]
    _same(techniques, [(Note("own.md"), t) for t in texts])


def test_mostly_cyrillic_text_is_searched_like_any_other(techniques) -> None:
    line = "Эта заметка почти целиком по-русски: модель мира и RAG-поиск, LoRA. "
    text = (line * 40).strip() + "\nGPT-4 в конце"
    assert text.lower().encode("ascii", "replace").count(b"?") * 4 > len(text)
    got = _same(techniques, [(Note("ru.md"), text)])
    assert {m[1] for m in got} == {"модельмира", "ragsearchaugmentedmemory", "retrievalaugmentedgeneration",
                                   "loraqlora", "gpt4"}
    scanner = T._Scanner(T._names_of(techniques))
    scanner.scan(text.lower())
    assert scanner._automaton is not None and scanner._plain is None  # the automaton, whatever the script


def test_names_at_the_edges_of_the_text(techniques) -> None:
    notes = [(Note("a.md"), "GPT-4"), (Note("b.md"), "модель мира"), (Note("c.md"), "lora"),
             (Note("d.md"), "x"), (Note("e.md"), ""), (Note("f.md"), "qlora lora / qlora")]
    _same(techniques, notes)


def test_random_texts_match_the_reference() -> None:
    rnd = random.Random(20261130)
    words = ["lora", "qlora", "LoRA", "rag", "RAG", "search", "memory", "gpt", "4", "3", "model", "scaling",
             "mixture", "of", "experts", "moe", "routing", "модель", "мира", "мирами", "увеличение", "масштаба",
             "tier", "Tier", "тир", "snake_case", "tokens", "what", "if", "analysis", "the", "a", "x", "_",
             "ёлочная", "гирлянда", "💰", "İ", "\u212a"]
    seps = [" ", " ", " ", "  ", " / ", "/", "-", " - ", ", ", ". ", "\n", "\n\n", "«", "»", "(", ")", "|", " | ",
            "#", "?", "'", "—", "", "→", "+", " + ", " & ", "\t"]
    names = ["LoRA / QLoRA (adapter tuning)", "RAG / Search-Augmented Memory", "GPT-4", "Model Scaling",
             "Mixture of Experts (MoE)", "Mixture of Experts routing", "Модель мира", "Увеличение масштаба",
             "What-if? analysis", "snake_case tokens", "lora-qlora", "Search memory", "Ёлочная гирлянда",
             "Модель мира (World model)", "tier lists", "RAG 4 you"]
    for _ in range(60):
        picked = rnd.sample(names, rnd.randint(1, len(names)))
        rows = _rows("n0.md", *[(rnd.randint(1, 6), n) for n in picked])
        ts = merge_rows(rows)
        notes = []
        for i in range(4):
            parts = []
            for _ in range(rnd.randint(0, 160)):
                parts.append(rnd.choice(words) if rnd.random() < 0.55 else rnd.choice(picked))
                parts.append(rnd.choice(seps))
            text = "".join(parts)
            lines = text.count("\n") + 1
            a = rnd.randint(1, lines)
            notes.append((_note(f"n{i}.md", (a, a + rnd.randint(0, 3))) if rnd.random() < 0.5 else Note(f"n{i}.md"),
                          text))
        _same(ts, notes)


def test_scanner_without_word_edges_falls_back_to_the_plain_search() -> None:
    # names from find_mentions always start and end with a word character; others take the plain path
    scanner = T._Scanner(["-x-", "ab"])
    assert not scanner.word_bounded
    text = "a -x- ab x-x-"
    plain = re.compile(r"\b" + T._trie_pattern(["-x-", "ab"]) + r"\b", re.ASCII)
    assert scanner.scan(text) == ([(m.start(), m.end(), m.group()) for m in plain.finditer(text)], [])
    assert scanner.scan(text, by_find=True) == scanner.scan(text)


def test_vault_mentions_are_cached_and_copied() -> None:
    from vaultkit.vault import Vault

    vault = Vault.load(SAMPLE_VAULT)
    first = T.build_techniques(vault)
    again = T.build_techniques(vault, mentions=False)
    assert [t.key for t in again] == [t.key for t in first] and all(not t.mentions for t in again)
    assert again[0] is not first[0] and again[0].rows == first[0].rows
    found = vault_mentions(vault, again)
    assert _tuples(found) == _tuples(_reference(again, [(n, T.note_text(vault, n)) for n in vault.user_notes()]))
    found[0].count += 100  # the caller's copy: the cache keeps its own
    assert _tuples(vault_mentions(vault, again))[0][3] == found[0].count - 100


RU_WORDS = ["модель", "мира", "поиск", "память", "граф", "знаний", "масштаб", "обучение", "слой", "внимание",
            "сеть", "данные", "ёж", "тир", "агент"]


def test_many_other_names_searched_at_once() -> None:
    rnd = random.Random(7)
    names = sorted({" ".join(rnd.sample(RU_WORDS, rnd.randint(1, 3))).capitalize() for _ in range(40)})
    names += ["RAG-поиск", "GPT→граф", "Модель мира (World model)"]
    ts = merge_rows(_rows("own.md", *[(i % 9 + 1, n) for i, n in enumerate(names)]))
    english = "The rag index and the gpt model share a graph. " * 30
    russian = " ".join(rnd.choice(RU_WORDS + ["RAG-поиск", "GPT→граф", "world model", ","]) for _ in range(400))
    mixed = english + russian[:600] + english  # few non-ASCII characters: one search of all the names
    searched = []

    class Spy:
        def __init__(self, rx: re.Pattern[bytes]) -> None:
            self.rx = rx

        def search(self, *args: Any) -> Any:
            searched.append(1)
            return self.rx.search(*args)

    scanner = T._Scanner(T._names_of(ts))
    scanner._anchor = Spy(scanner.anchor)  # type: ignore[assignment]
    T._SCANNERS[tuple(T._names_of(ts))] = scanner
    try:
        notes = [(Note("own.md"), mixed), (Note("b.md"), russian), (Note("c.md"), russian.upper()),
                 (_note("d.md", (1, 1)), russian.replace(" ", "\n"))]
        got = _same(ts, notes[:1])
        assert searched and len(got) > 3
        searched.clear()
        _same(ts, notes[1:])  # mostly Cyrillic: a substring test per name instead
        assert not searched
    finally:
        T._SCANNERS.clear()


def test_overlapping_and_odd_tables(techniques) -> None:
    text = "\n".join(f"GPT-4 line {i} модель мира" for i in range(1, 13))
    note = _note("t.md", (5, 7), (2, 3), (3, 6), (9, 8), (11, 11))
    got = _same(techniques, [(note, text)])
    assert {(m[1], m[2], m[3]) for m in got} == {("gpt4", 1, 5), ("модельмира", 1, 5)}  # lines 1, 8, 9, 10, 12


def test_nothing_to_look_for() -> None:
    assert find_mentions([], [(Note("a.md"), "GPT-4")]) == []
    ts = merge_rows(_rows("a.md", (1, "x")))  # too short to be looked for; no tier mentioned
    assert _same(ts, [(Note("b.md"), "x marks the spot, tier 1")]) == []
