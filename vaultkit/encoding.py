"""Encoding problems in notes: UTF-8 mojibake and files that are not UTF-8.

Mojibake
    UTF-8 text that some tool decoded with a legacy 8-bit codec and saved
    again as UTF-8: ``café`` becomes ``caf√©`` (Mac Roman) or ``cafÃ©``
    (cp1252), ``Название`` becomes ``–ù–∞–∑–≤–∞–Ω–∏–µ``, ``🔹`` becomes ``üîπ``.
    :func:`find_mojibake` finds such damage run by run (a *run* is a maximal
    stretch of non-ASCII characters, since every codec here keeps ASCII as
    it is) and :func:`repair_text` undoes it.

    A run is repaired only when

    * every character maps to one byte of the codec and those bytes are
      strict, complete UTF-8 (so the repair is exact: it is the inverse of
      the damage), and
    * the repaired text is clearly more plausible than the damaged one: a
      *badness* score (script mixing, symbols glued to letters, control and
      private-use characters, case flips, 3- and 4-byte sequences that
      decode to punctuation or emoji) drops by at least two, or by at least
      one (zero for letters of the script already repaired nearby) when the
      same paragraph already holds a clear repair through the same codec.
      A run made only of math symbols (``√π``) is repaired only inside a
      word (after a letter, or before two letters), never on its own.

    Legitimate text (``ü``, ``π``, ``√``, ``∞``, dashes, Cyrillic, CJK,
    emoji, math) either has no run that decodes at all, or decodes to
    something no more plausible, and is left alone.

Non-UTF-8 files
    :func:`detect_encoding` names the likely encoding of bytes that are not
    UTF-8 (charset-normalizer, limited to :data:`LIKELY_ENCODINGS`, cp1252
    unless another reads clearly better); :func:`convert_to_utf8` decodes them
    when the user asks for it.

The module never prints and never writes files.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "CODECS",
    "Mojibake",
    "EncodingGuess",
    "has_mojibake_signature",
    "find_mojibake",
    "repair_text",
    "detect_encoding",
    "convert_to_utf8",
    "LIKELY_ENCODINGS",
]

#: Codecs through which UTF-8 mojibake is recognised, in order of preference on a tie.
CODECS: tuple[str, ...] = ("mac_roman", "cp1252", "latin-1", "cp1251")

_FAMILY = {"mac_roman": "mac_roman", "cp1252": "cp1252", "latin-1": "cp1252", "cp1251": "cp1251"}


def _table(codec: str) -> dict[str, int]:
    """Character → byte for the upper half of ``codec``.

    Bytes that cp1252/cp1251 leave undefined are mapped through their C1
    control character (what Windows and most "sloppy" decoders produce), so
    the mapping stays one character per byte and exact.
    """
    table: dict[str, int] = {}
    for b in range(0x80, 0x100):
        try:
            ch = bytes([b]).decode(codec)
        except UnicodeDecodeError:
            ch = chr(b)
        table[ch] = b
    return table


_TABLES: dict[str, dict[str, int]] = {c: _table(c) for c in CODECS}


def _charclass(chars: set[str]) -> str:
    return "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"


def _signature_regex() -> re.Pattern[str]:
    """A character that is a UTF-8 lead byte in some codec followed by one that is a continuation byte in some codec.

    A superset of the real signatures (one union pair of classes scans about
    ten times faster than one pair per codec); candidates are checked exactly
    afterwards.
    """
    leads: set[str] = set()
    conts: set[str] = set()
    for table in _TABLES.values():
        leads.update(c for c, b in table.items() if 0xC2 <= b <= 0xF4)
        conts.update(c for c, b in table.items() if 0x80 <= b <= 0xBF)
    return re.compile(_charclass(leads) + _charclass(conts))


_SIGNATURE = _signature_regex()
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")

#: Math symbols that legitimately stand next to each other or alone (``√π``, ``≤∞``).
_MATH = frozenset("√π∞≤≥±∑∂∫Ω≠µ∆∏÷≈∫◊ºª")
#: Non-ASCII punctuation that is odd glued to a letter (typical mojibake debris).
_RARE_PUNCT = frozenset("‚„†‡‹›¶•¡¿§¨´¸ˆ˜¯˘˙˚˝˛ˇ◊⁄‰·")
#: Symbols that normally follow a word directly.
_WORD_SUFFIX_SYMBOLS = frozenset("™®©°")
#: Blocks whose characters are rare in written text (typical outputs of a wrong repair).
_RARE_RANGES = (
    ("\u0180", "\u02ff"),  # Latin Extended-B, IPA, spacing modifier letters
    ("\u0370", "\u0385"),  # Greek: numeral signs, tonos forms rarely typed
    ("\u03cf", "\u03ff"),  # Greek: archaic and symbol letters
    ("\u0460", "\u048f"),  # Cyrillic: historic letters and signs
    ("\u0700", "\u08ff"),  # Syriac, Thaana, NKo, Samaritan, Mandaic, Arabic extensions
)
#: Letters of those blocks that living languages use (Vietnamese, Romanian, Pinyin, African, IPA-based).
_COMMON_IN_RARE = frozenset("ơƠưƯșȘțȚǎǍǐǏǒǑǔǓǖǘǚǜəƏɛƐɔƆŋƝʼʻʿʾˈˌːɓɗƙƴ")
#: Combining marks that decomposed (NFD) text uses for European languages.
_COMMON_MARKS = frozenset("\u0300\u0301\u0302\u0303\u0304\u0306\u0307\u0308\u030a\u030b\u030c\u0327\u0328")
#: Format characters that occur in clean text (joiners, variation selectors, soft hyphen, marks).
_OK_FORMAT = frozenset("\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufe0e\ufe0f\ufeff")


@dataclass(frozen=True, slots=True)
class Mojibake:
    """One run of damaged text and its repair.

    Attributes
    ----------
    line, col : int
        1-based line and column (in characters) where the run starts.
    snippet : str
        The damaged text as found.
    repaired : str
        What it becomes.
    codec : str
        The codec that produced the damage (``"mac_roman"``, ``"cp1252"``,
        ``"latin-1"``, ``"cp1251"``; ``"cp1252+cp1252"`` for double damage).
    start, end : int
        Character offsets of ``snippet`` in the text.
    """

    line: int
    col: int
    snippet: str
    repaired: str
    codec: str
    start: int = 0
    end: int = 0


@dataclass(frozen=True, slots=True)
class EncodingGuess:
    """What :func:`detect_encoding` found for bytes that are not UTF-8.

    ``encoding`` is a Python codec name (``"cp1252"``, ``"cp1251"``,
    ``"utf_16"``…) or ``"unknown"``; ``line`` the 1-based line of the first
    byte that is not UTF-8; ``byte`` that byte's value; ``alternatives``
    other encodings that decode the bytes about as well (a short file often
    fits several: check before converting).
    """

    encoding: str
    line: int
    byte: int
    alternatives: tuple[str, ...] = ()


# ---------------------------------------------------------------------------
# Plausibility
# ---------------------------------------------------------------------------

_script_cache: dict[str, str] = {}


def _script(ch: str) -> str:
    """Coarse script of a letter (``LATIN``, ``CYRILLIC``, ``GREEK``, ``CJK``…)."""
    if ch < "\x80":
        return "LATIN"
    got = _script_cache.get(ch)
    if got is None:
        name = unicodedata.name(ch, "")
        first = name.split(" ", 1)[0]
        if first in ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC", "HALFWIDTH", "FULLWIDTH"):
            first = "CJK"
        elif name in ("MICRO SIGN", "FEMININE ORDINAL INDICATOR", "MASCULINE ORDINAL INDICATOR"):
            first = "SYMBOL"
        _script_cache[ch] = got = first
    return got


def _kind(ch: str) -> str:
    """One-letter class: ``l``/``u`` letter (lower/other), ``n`` number, ``p`` punctuation,
    ``r`` rare punctuation, ``s`` symbol, ``m`` mark, ``z`` space, ``x`` bad (control,
    private use, unassigned, surrogate), ``f`` harmless format character, ``a`` ASCII non-letter."""
    if ch < "\x80":
        if ch.isalpha():
            return "l" if ch.islower() else "u"
        return "a"
    if ch in _RARE_PUNCT:
        return "r"
    cat = unicodedata.category(ch)
    major = cat[0]
    if major == "L":
        if _script(ch) == "SYMBOL":
            return "s"
        return "l" if cat == "Ll" else "u"
    if major == "N":
        return "n"
    if major == "P":
        return "p"
    if major == "S":
        return "s"
    if ch == "\ufffd":
        return "x"
    if major == "M":
        return "m"
    if major == "Z":
        return "z" if cat == "Zs" else "x"  # a line or paragraph separator would split the line
    if ch in _OK_FORMAT:
        return "f"
    return "x"


def _badness(text: str) -> int:
    """How implausible ``text`` looks as written language (0 for clean words).

    >>> _badness("café"), _badness("caf√©") > 0, _badness("Название")
    (0, True, 0)
    """
    kinds = [_kind(c) for c in text]
    score = 0
    for ch, k in zip(text, kinds):
        if k == "x":
            score += 3
        elif k == "m":
            score += 1 if ch in _COMMON_MARKS else 2
        elif "\u0180" <= ch < "\u0900" and ch not in _COMMON_IN_RARE and any(
            lo <= ch <= hi for lo, hi in _RARE_RANGES
        ):
            score += 1
    for i in range(len(text) - 1):
        a, b = text[i], text[i + 1]
        if a < "\x80" and b < "\x80":
            continue
        ka, kb = kinds[i], kinds[i + 1]
        a_letter, b_letter = ka in "lu", kb in "lu"
        if a_letter and b_letter:
            if _script(a) != _script(b):
                score += 2
            elif ka == "l" and kb == "u":
                score += 1
        elif a_letter or b_letter:
            other, other_ch, after = (kb, b, True) if a_letter else (ka, a, False)
            if other == "s":
                if not (after and other_ch in _WORD_SUFFIX_SYMBOLS):
                    score += 1
            elif other in "rx":
                score += 1
            elif other == "n" and other_ch >= "\x80":
                score += 1
            if after and ka == "u" and a >= "\x80" and b >= "\x80" and kb in "sprn":
                score += 1  # 'Â°', 'Ã·', 'Ð²': a capital glued to a following sign
        elif (
            "\x80" <= a < "\u2600"
            and "\x80" <= b < "\u2600"
            and (ka in "srnx" or kb in "srnx")
            and ka not in "zf"
            and kb not in "zf"
        ):
            score += 1
        if kb == "m" and not a_letter:
            score += 2
    if kinds and kinds[0] == "m":
        score += 2
    return score


def _sane(text: str) -> bool:
    """Whether repaired text contains only characters that clean text has."""
    for ch in text:
        k = _kind(ch)
        if k == "x":
            return False
    return True


def _decode_run(run: str, codec: str) -> tuple[str, int] | None:
    """Undo one layer of damage: ``(repaired, bonus)`` or ``None`` when not exact.

    ``bonus`` counts characters decoded from 3- or 4-byte sequences that are
    punctuation, symbols or emoji: such sequences are a strong signature.
    """
    table = _TABLES[codec]
    try:
        data = bytes([table[c] for c in run])
    except KeyError:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    bonus = 0
    for ch in text:
        if ch >= "\u0800" and (_kind(ch) in "psrfn" or ch >= "\U0001f000"):
            bonus += 1
    return text, bonus


@dataclass(slots=True)
class _Candidate:
    start: int
    end: int
    snippet: str
    repaired: str
    codec: str
    delta: int
    strong: bool
    scripts: frozenset[str]


def _letter_scripts(text: str) -> frozenset[str]:
    return frozenset(_script(c) for c in text if c >= "\x80" and _kind(c) in "lu")


def _evaluate(text: str, start: int, end: int) -> _Candidate | None:
    """Best exact repair of ``text[start:end]`` (a non-ASCII run), or ``None``."""
    run = text[start:end]
    left = text[max(0, start - 3) : start]
    right = text[end : end + 3]
    left = left.rsplit("\n", 1)[-1]
    right = right.split("\n", 1)[0]
    # A run of math symbols counts as damage only inside a word: after a letter
    # ('o√π' for 'où') or before two letters ('√∂ffentlich'); '√πr²' stays.
    letter_beside = bool(left[-1:].isalpha()) or right[:2].isalpha() and len(right) >= 2
    math_only = all(c in _MATH for c in run)
    if math_only and not letter_beside:
        return None  # '√π', '≤∞': never repaired outside a word, even beside damage
    best: _Candidate | None = None
    for codec in CODECS:
        got = _decode_run(run, codec)
        if got is None or not _sane(got[0]):
            continue
        current, bonus = got
        delta = _badness(left + run + right) + bonus - _badness(left + current + right)
        if delta < 0:
            continue
        codecs_used = [codec]
        # Double damage ('cafÃƒÂ©'): peel further layers while each one still
        # lowers the badness (and never down to math symbols outside a word).
        while len(codecs_used) < 3 and not current.isascii():
            again = _decode_run(current, codec)
            if again is None or not _sane(again[0]):
                break
            gain = _badness(left + current + right) + again[1] - _badness(left + again[0] + right)
            if gain < 1 or (not letter_beside and all(c in _MATH for c in current)):
                break
            current = again[0]
            delta += gain
            codecs_used.append(codec)
        if len(current) >= 2 and len(_letter_scripts(current)) == 1 and all(_kind(c) in "lum" for c in current):
            delta += 2  # several characters that form one word of one script: 'Её' from '–ï—ë'
        strong = delta >= 2
        cand = _Candidate(start, end, run, current, "+".join(codecs_used), delta, strong, _letter_scripts(current))
        if best is None or (cand.strong, cand.delta) > (best.strong, best.delta):
            best = cand
    return best


def has_mojibake_signature(text: str) -> bool:
    """Cheap pre-filter: whether ``text`` could hold any UTF-8 mojibake at all.

    True when some character that one of :data:`CODECS` maps to a UTF-8 lead
    byte is directly followed by one it maps to a continuation byte.

    >>> has_mojibake_signature("plain ASCII"), has_mojibake_signature("Привет, мир — ü π ∞")
    (False, False)
    >>> has_mojibake_signature("caf√©")
    True
    """
    if text.isascii():
        return False
    return _SIGNATURE.search(text) is not None


def _candidates(text: str) -> list[_Candidate]:
    if text.isascii():
        return []
    found: list[_Candidate] = []
    pos = 0
    while True:
        m = _SIGNATURE.search(text, pos)
        if m is None:
            break
        run = _NON_ASCII_RUN.match(text, _run_start(text, m.start()))
        assert run is not None
        cand = _evaluate(text, run.start(), run.end())
        if cand is not None:
            found.append(cand)
        pos = run.end()
    if not found:
        return []
    # Accept clear repairs; accept weaker ones only inside a paragraph that
    # already has a clear repair through the same codec family.
    breaks = [m.start() for m in _BLANK_LINE.finditer(text)]
    strong_by_para: dict[tuple[int, str], set[str]] = {}
    for cand in found:
        if cand.strong:
            key = (bisect.bisect_right(breaks, cand.start), _FAMILY[cand.codec.split("+")[0]])
            strong_by_para.setdefault(key, set()).update(cand.scripts)
    accepted = []
    for i, cand in enumerate(found):
        if cand.strong:
            accepted.append(cand)
            continue
        key = (bisect.bisect_right(breaks, cand.start), _FAMILY[cand.codec.split("+")[0]])
        if key not in strong_by_para:
            continue
        if cand.delta >= 1 or _among_damaged_words(text, found, i):
            accepted.append(cand)
    return accepted


def _among_damaged_words(text: str, found: list[_Candidate], i: int) -> bool:
    """Whether the letters of the weak candidate ``found[i]`` fit the words around it.

    The nearest letter on each side (same line, within 40 characters) gives
    the local script: an ASCII letter is Latin; a letter inside another
    candidate counts with the script of that candidate's repair. The repair
    is accepted when its letters match one side: ``–≤`` between damaged
    Russian words, ``Ã\xa0`` in ``Ã\xa0 la carte``, but not ``—à`` in
    ``—à la mode``.
    """
    cand = found[i]
    if not cand.scripts:
        return True
    starts = [c.start for c in found]
    for step, pos in ((-1, cand.start - 1), (1, cand.end)):
        for _ in range(40):
            if not 0 <= pos < len(text) or text[pos] == "\n":
                break
            ch = text[pos]
            if ch.isalpha():
                if ch < "\x80":
                    script = {"LATIN"}
                else:
                    k = bisect.bisect_right(starts, pos) - 1
                    inside = found[k] if k >= 0 and found[k].start <= pos < found[k].end else None
                    if inside is not None and not inside.scripts:  # repairs to a sign: look past it
                        pos = inside.start - 1 if step < 0 else inside.end
                        continue
                    script = set(inside.scripts) if inside is not None else {_script(ch)}
                if "LATIN" in script:
                    script.add("GREEK")  # Greek letters stand in Latin text as symbols (σ, λ, π)
                if cand.scripts <= script:
                    return True
                break
            pos += step
    return False


def _run_start(text: str, pos: int) -> int:
    while pos > 0 and text[pos - 1] >= "\x80":
        pos -= 1
    return pos


def find_mojibake(text: str) -> list[Mojibake]:
    """Find runs of UTF-8 mojibake in ``text``.

    Parameters
    ----------
    text : str
        A note's text (any newline style).

    Returns
    -------
    list of Mojibake
        In text order; empty for clean text.

    Examples
    --------
    >>> [(m.line, m.col, m.snippet, m.repaired, m.codec) for m in find_mojibake("Un caf√© noir")]
    [(1, 7, '√©', 'é', 'mac_roman')]
    >>> find_mojibake("√π ≈ 1.772, x ≤ ∞, Grüße — Привет 🔹")
    []
    >>> [m.repaired for m in find_mojibake("â€œquotedâ€\\x9d and cafÃ©")]
    ['“', '”', 'é']
    """
    cands = _candidates(text)
    if not cands:
        return []
    out = []
    line, pos = 1, 0
    for c in cands:  # in text order
        line += text.count("\n", pos, c.start)
        pos = c.start
        line_start = text.rfind("\n", 0, c.start) + 1
        out.append(Mojibake(line, c.start - line_start + 1, c.snippet, c.repaired, c.codec, c.start, c.end))
    return out


def repair_text(text: str) -> tuple[str, list[Mojibake]]:
    """Repair every run that :func:`find_mojibake` reports.

    Returns
    -------
    (str, list of Mojibake)
        The repaired text (``text`` itself when nothing changed) and the repairs made.

    Examples
    --------
    >>> repair_text("–ù–∞–∑–≤–∞–Ω–∏–µ: real‚Äëworld \\uf8ffüí∞")[0]
    'Название: real‑world 💰'
    >>> repair_text("clean: √π, ∞, ü, — and Ёлка")[0]
    'clean: √π, ∞, ü, — and Ёлка'
    """
    found = find_mojibake(text)
    if not found:
        return text, []
    parts = []
    pos = 0
    for m in found:
        parts.append(text[pos : m.start])
        parts.append(m.repaired)
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts), found


# ---------------------------------------------------------------------------
# Files that are not UTF-8
# ---------------------------------------------------------------------------


#: Encodings that notes realistically come in (Python codec names); any other
#: guess of the detector (cp1006, cp1125, mac_greek, shift_jis_2004…) is a
#: statistical accident on a short file and is not offered.
LIKELY_ENCODINGS: tuple[str, ...] = (
    "cp1252", "latin-1", "iso-8859-15", "cp1250", "iso-8859-2", "cp1251", "koi8-r", "mac_roman",
    "mac_cyrillic", "cp1253", "cp1254", "cp1257", "iso-8859-7", "utf-16", "utf-16-le", "utf-16-be",
    "shift_jis", "cp932", "euc-jp", "gb18030", "gbk", "big5", "euc-kr", "cp949", "cp874", "tis-620",
    "cp1255", "cp1256", "windows-1258",
)


def _canonical(name: str) -> str | None:
    import codecs

    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


_LIKELY = frozenset(c for c in map(_canonical, LIKELY_ENCODINGS) if c)


def detect_encoding(data: bytes) -> EncodingGuess | None:
    """Name the encoding of ``data`` when it is not UTF-8 (a leading UTF-8 BOM is allowed).

    Only encodings of :data:`LIKELY_ENCODINGS` are guessed. Among the
    detector's (charset-normalizer) candidates that decode the bytes, the
    first is taken (when it is a one-byte code page: the one-byte candidate
    that reads most like written language, ties in the detector's order),
    unless the bytes also decode as cp1252 and that candidate does not read
    clearly better than cp1252 (see :func:`_implausibility`): then cp1252. When
    no likely candidate is left, cp1252 is guessed if it decodes the bytes,
    else latin-1 (which decodes anything).

    Returns
    -------
    EncodingGuess or None
        ``None`` for valid UTF-8.

    Examples
    --------
    >>> detect_encoding("naïve".encode("utf-8")) is None
    True
    >>> g = detect_encoding("Le café était très chaud, déjà prêt à être servi.\\n".encode("cp1252"))
    >>> g.encoding, g.line, hex(g.byte)
    ('cp1252', 1, '0xe9')
    >>> detect_encoding(b"caf\\xe9 [[m]]\\n").encoding
    'cp1252'
    """
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        body.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        byte = body[exc.start]
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - declared dependency
        names: list[str] = []
    else:
        names = [m.encoding for m in from_bytes(body)]
    decoded: dict[str, str] = {}  # candidate → text, in the detector's order, one per codec
    seen: set[str] = set()
    has_bom16 = body.startswith((b"\xff\xfe", b"\xfe\xff"))
    for name in names:
        canon = _canonical(name)
        if canon is None or canon not in _LIKELY or canon in seen:
            continue
        if canon.startswith("utf-16") and not has_bom16 and b"\x00" not in body:
            continue  # 8-bit text read two bytes at a time ('caf\x8e' as '捡暎')
        seen.add(canon)
        text = _try_decode(body, name)
        if text is not None:
            decoded[name] = text
    western = _try_decode(body, "cp1252")
    if not decoded:
        encoding = "cp1252" if western is not None else "latin-1"
    else:
        scores = {name: _implausibility(text) for name, text in decoded.items()}
        encoding = next(iter(decoded))
        if len(decoded[encoding]) == len(body):  # a one-byte code page: weigh it against the others
            pool = [n for n, text in decoded.items() if len(text) == len(body)]
            encoding = min(pool, key=scores.__getitem__)  # the detector's order breaks ties
        if western is not None and _canonical(encoding) != "cp1252":
            best, base = scores[encoding], _implausibility(western)
            if not (best + 1 < base or best == 0 < base):  # not clearly better: the common case wins
                encoding = "cp1252"
    alternatives = tuple(n for n in decoded if _canonical(n) != _canonical(encoding))[:4]
    return EncodingGuess(encoding, line, byte, alternatives)


_LETTER_RUN = re.compile(r"[^\W\d_]+")


def _implausibility(text: str) -> int:
    """How unlike written language ``text`` reads: :func:`_badness` of its non-ASCII runs, 1 per
    control character, 2 per Latin word of three or more letters that are mostly non-ASCII
    (``Ïðèâåò``: Cyrillic read as cp1252).

    >>> _implausibility("café déjà vu"), _implausibility("Ïðèâåò ìèð") >= 4, _implausibility("Привет мир")
    (0, True, 0)
    """
    score = _text_badness(text)
    score += sum(1 for c in text if c < " " and c not in "\t\n\r\x0c")  # NULs: UTF-16 read one byte at a time
    for m in _LETTER_RUN.finditer(text):
        word = m.group()
        if len(word) < 3 or word.isascii():
            continue
        foreign = [c for c in word if c >= "\x80"]
        if 2 * len(foreign) > len(word) and all(_script(c) == "LATIN" for c in foreign):
            score += 2
    return score


def _try_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _text_badness(text: str) -> int:
    total = 0
    for m in _NON_ASCII_RUN.finditer(text):
        total += _badness(text[max(0, m.start() - 3) : m.end() + 3])
    return total


def convert_to_utf8(data: bytes, encoding: str | None = None) -> str:
    """Decode legacy-encoded ``data`` to text (use ``encoding``, or the detected one).

    Raises
    ------
    UnicodeDecodeError
        When the bytes do not decode with that encoding.
    LookupError
        When no encoding is given and none can be detected.

    Examples
    --------
    >>> convert_to_utf8("Grüße".encode("cp1252"), "cp1252")
    'Grüße'
    """
    if encoding is None:
        guess = detect_encoding(data)
        if guess is None:
            return data.decode("utf-8-sig")
        if guess.encoding == "unknown":
            raise LookupError("cannot detect the encoding")
        encoding = guess.encoding
    return data.decode(encoding)
