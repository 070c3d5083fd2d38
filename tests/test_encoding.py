"""Mojibake detection and repair (vaultkit.encoding), non-UTF-8 detection."""

from __future__ import annotations

import time

import pytest

from tests.conftest import CASES, EUGENE, SAMPLE_VAULT, SEED, need
from vaultkit.encoding import (
    CODECS,
    _TABLES,
    convert_to_utf8,
    detect_encoding,
    find_mojibake,
    has_mojibake_signature,
    repair_text,
)

CLEAN_NOTE = SAMPLE_VAULT / "22_AI_Research_mainstream" / "Production AI Techniques Tiered Table.md"

# Clean text in many scripts: none of it may ever change, and its damaged
# form (through each codec) must come back exactly.
SAMPLES = {
    "french": "Le café était déjà prêt à être servi — voilà ! Œuvre, cœur, naïve, Noël, à la carte.",
    "german": "Grüße aus München: Äpfel, Öl und Übermaß für die Straße. „Fuß“ und ‚Maß‘.",
    "spanish": "¿Dónde está el niño? ¡Mañana será otro día! Tú y él.",
    "portuguese": "São Paulo, coração, ação e informação; à noite.",
    "polish": "Zażółć gęślą jaźń.",
    "czech": "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "turkish": "İstanbul'da ılık bir gün; şarkı, çay ve dağ.",
    "vietnamese": "Tiếng Việt có dấu: Hà Nội, Sài Gòn.",
    "greek": "Καλημέρα κόσμε· η αλφάβητος: α, β, γ, δ, π, Ω.",
    "russian": "Привет, мир! Съешь же ещё этих мягких французских булок, да выпей чаю. Её ёлка — в лесу, и у нас.",
    "ukrainian": "Київ, дії, її, Ґанок, єдність, Сі.",
    "chinese": "中文字符测试：你好，世界。",
    "japanese": "日本語のテキスト、ひらがなとカタカナ。",
    "korean": "한국어 텍스트입니다.",
    "arabic": "مرحبا بالعالم",
    "hebrew": "שלום עולם",
    "emoji": "Status: 🟢 ok, 🔴 fail, ⚪ n/a, ❤️ love, 👍🏽, 🧑‍💻 dev, 💰💰💰 ✅ ❌ 🔹",
    "math": "√π ≈ 1.772; ∑ᵢ xᵢ ≤ ∞; a ≠ b; ±3σ; ∂f/∂x; ∫₀¹ x² dx = ⅓; x ∈ ℝ; A ⊆ B; ∀ε>0 ∃δ; 45°; "
    "3 µm; √2 → ∞; n ≥ 0",
    "punct": "“Quoted” ‘single’ — em dash – en dash … ellipsis • bullet · middle real‑world « guillemets » "
    "10 €, £5, ¥100, ©2024 Brand™ ®, 1990–2000.",
}

# Legitimate short runs that happen to be exact UTF-8 through some codec.
TRAPS = [
    "√π ≈ 1.7725",  # Mac Roman C3 B9 would be 'ù'
    "x —élan, —à la mode",  # Mac Roman D1 8E / D1 88 would be Cyrillic
    "„Fuß“ ist deutsch",  # cp1252 DF 93 would be NKo
    "Её план",  # cp1251 C5 B8 would be 'Ÿ'
    "дії та її",  # cp1251 E4 B3 BF would be CJK
    "≈∞ and ÷π",
    "CAFÉ–BAR",
    "Sí, señor… «Ça va?»",
]

_INVERSE = {codec: {b: ch for ch, b in table.items()} for codec, table in _TABLES.items()}


def damage(text: str, codec: str) -> str:
    """What a tool produces when it reads UTF-8 ``text`` as ``codec`` (undefined bytes as C1 controls)."""
    return "".join(chr(b) if b < 0x80 else _INVERSE[codec][b] for b in text.encode("utf-8"))


def test_damage_helper_matches_python_codecs():
    text = "naïve café"
    assert damage(text, "mac_roman") == text.encode("utf-8").decode("mac_roman") == "na√Øve caf√©"
    assert damage(text, "cp1252") == "naÃ¯ve cafÃ©"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_clean_text_is_never_changed(name):
    text = SAMPLES[name]
    assert find_mojibake(text) == []
    assert repair_text(text) == (text, [])


@pytest.mark.parametrize("text", TRAPS)
def test_legit_runs_that_decode_are_left_alone(text):
    assert repair_text(text)[0] == text


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_damaged_text_is_repaired_exactly(name, codec):
    text = SAMPLES[name]
    damaged = damage(text, codec)
    if damaged == text:  # nothing to damage (cannot happen for these samples, kept for safety)
        pytest.skip("sample is ASCII")
    repaired, found = repair_text(damaged)
    assert repaired == text
    assert found, "repairs must be reported"
    assert all(m.codec.split("+")[0] in (codec, "latin-1", "cp1252") for m in found) or all(
        m.codec == codec for m in found
    )


def test_mac_roman_codec_is_named_for_mac_roman_damage():
    found = find_mojibake(damage("Название таблицы", "mac_roman"))
    assert {m.codec for m in found} == {"mac_roman"}
    assert [m.repaired for m in found] == ["Название", "таблицы"]


def test_positions_are_one_based_line_and_column():
    text = "first line\nsecond caf√© and \uf8ffüí∞\n"
    found = find_mojibake(text)
    assert [(m.line, m.col, m.snippet, m.repaired) for m in found] == [
        (2, 11, "√©", "é"),
        (2, 18, "\uf8ffüí∞", "💰"),
    ]
    for m in found:
        assert text[m.start : m.end] == m.snippet


def test_crlf_text_positions():
    text = "a\r\nb caf√©\r\n"
    (m,) = find_mojibake(text)
    assert (m.line, m.col) == (2, 6)
    assert repair_text(text)[0] == "a\r\nb café\r\n"


def test_partly_damaged_note_changes_only_the_damaged_paragraph():
    clean_para = "Clean: √π ≈ 1.77, x ≤ ∞, Grüße, — dashes, Привет, дії, 🔹 and ∑."
    damaged_para = damage("Damaged: café, Название, real‑world 💰 — и в конце.", "mac_roman")
    text = f"# Title\n\n{clean_para}\n\n{damaged_para}\n\n{clean_para}\n"
    repaired, found = repair_text(text)
    assert repaired == (
        f"# Title\n\n{clean_para}\n\nDamaged: café, Название, real‑world 💰 — и в конце.\n\n{clean_para}\n"
    )
    damaged_line = text.splitlines().index(damaged_para) + 1
    assert {m.line for m in found} == {damaged_line}


def test_single_letter_words_repaired_inside_a_damaged_paragraph():
    # '–≤' and '–∏' alone are ambiguous; beside clear damage they are repaired.
    text = damage("Модель в продакшне и тесты", "mac_roman")
    assert repair_text(text)[0] == "Модель в продакшне и тесты"


def test_ambiguous_run_alone_is_not_repaired():
    # Without clear damage nearby, a lone two-character run is left as it is.
    assert repair_text("Cost: ‚Ç¨5?")[0] == "Cost: €5?"  # 3-byte sequence: clear
    assert repair_text("in a –≤ b")[0] == "in a –≤ b"


def test_double_damage_is_peeled():
    once = damage("café", "cp1252")
    twice = damage(once, "cp1252")
    assert twice == "cafÃƒÂ©"
    repaired, (m,) = repair_text(twice)
    assert repaired == "café"
    assert m.codec == "cp1252+cp1252"


def test_cp1252_undefined_bytes_via_c1_controls():
    # ” is E2 80 9D; 0x9D is undefined in cp1252 and arrives as U+009D.
    assert repair_text("â€œquotedâ€\x9d")[0] == "“quoted”"


def test_signature_prefilter():
    assert not has_mojibake_signature("ASCII only")
    assert not has_mojibake_signature(SAMPLES["chinese"] + SAMPLES["emoji"] + SAMPLES["greek"])
    assert has_mojibake_signature("caf√©")
    assert has_mojibake_signature("cafÃ©")


def test_seed_repairs_to_the_committed_clean_note():
    seed = need(SEED).read_bytes().decode("utf-8")
    clean = CLEAN_NOTE.read_bytes().decode("utf-8")
    assert seed.encode("mac_roman").decode("utf-8") == clean  # the premise of the issue
    repaired, found = repair_text(seed)
    assert repaired == clean
    assert len(found) > 200
    assert {m.codec for m in found} == {"mac_roman"}
    assert repair_text(clean) == (clean, [])


def test_detector_changes_nothing_in_eugene_sample():
    notes = sorted(need(EUGENE).rglob("*.md"))
    assert len(notes) == 205
    texts = [p.read_bytes().decode("utf-8") for p in notes]
    start = time.perf_counter()
    changed = {str(p.relative_to(EUGENE)): find_mojibake(t) for p, t in zip(notes, texts)}
    elapsed = time.perf_counter() - start
    assert {k: v for k, v in changed.items() if v} == {}
    assert elapsed < 10  # about 0.1-0.3 s on the reference machine; generous for shared CI


def test_detect_encoding_names_legacy_encodings():
    assert detect_encoding("Grüße — ok".encode("utf-8")) is None
    assert detect_encoding(b"\xef\xbb\xbfBOM then text") is None
    data = ("Le café était très chaud; déjà prêt à être servi, dit-il.\n" * 3).encode("cp1252")
    guess = detect_encoding(b"line one\n" + data)
    assert guess is not None
    assert (guess.encoding, guess.line, guess.byte) == ("cp1252", 2, 0xE9)
    assert convert_to_utf8(b"line one\n" + data, guess.encoding) == "line one\n" + data.decode("cp1252")


def test_detect_encoding_on_the_shared_cp1252_case():
    path = need(CASES / "021-non-utf8-note-in-vault" / "vault" / "Imported" / "Old meeting.md")
    guess = detect_encoding(path.read_bytes())
    assert guess is not None and guess.encoding == "cp1252"
    assert convert_to_utf8(path.read_bytes(), guess.encoding).startswith("Résumé of the café meeting – “final”")


def test_detect_encoding_keeps_other_scripts():
    data = "Привет, как дела? Всё хорошо, спасибо. Это старый файл.\n".encode("cp1251") * 3
    assert detect_encoding(data).encoding == "cp1251"
    pl = "Zażółć gęślą jaźń, powiedział koń.\n".encode("cp1250") * 3
    assert detect_encoding(pl).encoding != "cp1252"


def test_convert_to_utf8_without_encoding_detects():
    data = "Привет, как дела? Всё хорошо, спасибо.\n".encode("cp1251") * 4
    assert convert_to_utf8(data) == data.decode("cp1251")
    assert convert_to_utf8("ok ü".encode("utf-8")) == "ok ü"


@pytest.mark.parametrize("text", ["√πr² is the radius", "x = √π", "(√π)", "2√π·r", "≤∞"])
def test_math_runs_outside_words_stay(text):
    assert repair_text(text)[0] == text


@pytest.mark.parametrize(("damaged", "clean"), [("o√π", "où"), ("√∂ffentlich", "öffentlich"), ("espa√±ol", "español")])
def test_math_looking_runs_inside_words_are_repaired(damaged, clean):
    assert repair_text(damaged)[0] == clean


def test_legit_math_in_a_damaged_paragraph_stays():
    line = "Clean √π ≈ 1.77 and ≤∞ here; damaged: caf√© and –ù–∞–∑–≤–∞–Ω–∏–µ –≤ —Ç–µ–∫—Å—Ç–µ."
    assert repair_text(line)[0] == "Clean √π ≈ 1.77 and ≤∞ here; damaged: café and Название в тексте."


def test_paragraphs_split_on_crlf_blank_lines():
    text = "Clean —à la mode\r\n\r\nDamaged caf√© –ù–∞–∑–≤–∞–Ω–∏–µ\r\n"
    assert repair_text(text)[0] == "Clean —à la mode\r\n\r\nDamaged café Название\r\n"


def test_weak_run_beside_unrelated_damage_stays():
    text = "Clean —à la mode. Damaged caf√© –ù–∞–∑–≤–∞–Ω–∏–µ\n"
    assert repair_text(text)[0] == "Clean —à la mode. Damaged café Название\n"


def test_random_word_soup_is_never_changed_and_never_repaired_wrongly():
    """Sentences of random words from all samples (every script mixed).

    Clean soup never changes. Damaged soup may keep a run that is ambiguous
    out of context, but every run that is repaired comes back exactly as it was.
    """
    import random
    import re

    rng = random.Random(20251129)
    words = [w for text in SAMPLES.values() for w in text.split()]
    runs = re.compile(r"[^\x00-\x7f]+")
    repaired_runs = 0
    for _ in range(400):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))
        assert repair_text(text)[0] == text
        originals = runs.findall(text)
        for codec in CODECS:
            damaged = damage(text, codec)
            result = repair_text(damaged)[0]
            got = runs.findall(result)
            assert re.sub(r"[^\x00-\x7f]+", "", result) == re.sub(r"[^\x00-\x7f]+", "", text)
            assert len(got) == len(originals)
            for orig, bad, new in zip(originals, runs.findall(damaged), got):
                assert new in (orig, bad), (text, codec, bad, new)
                repaired_runs += new == orig
    assert repaired_runs > 4000


def test_the_line_of_the_first_bad_byte_is_the_same_in_the_message_and_the_position() -> None:
    from vaultkit.parse import parse_note

    note = parse_note("old mac.md", b"first\rsecond\r\nthird \xe9t\xe9\n")  # (a lone \r ends a line, as in Obsidian)
    [diag] = [d for d in note.diagnostics if d.code == "VK004"]
    assert diag.line == 3 and "byte 0xE9 on line 3;" in diag.message
