"""``FeedbackLoop`` and ``Emergence`` properties: the related notes a note names, and its scores.

Knowledge notes of the user's vault carry a ``FeedbackLoop`` property that
names related notes in prose — quoted titles (``the 'AI Model Scaling
Effectiveness' note``), ``**Related Note 1: Title**`` lines, headings such as
``### Feedback Loop 2: With Note on Title``, numbered lists ``1. **Title**:``
and wikilinks — and an ``Emergence`` property that scores the note
(``novelty score (8/10)``, ``8 out of 10``, ``Value to AI Learning: 9``).

Names resolve to notes by title or file name, ignoring case and
punctuation; names that match no note are *wanted* notes, with near-match
suggestions.

Examples
--------
>>> text = "First, the 'AI Model Scaling Effectiveness' note depends on it.\\n2. **Cost Study**: x"
>>> [(r.name, r.kind) for r in extract_related(text)]
[('AI Model Scaling Effectiveness', 'quoted'), ('Cost Study', 'list')]
>>> emergence_scores("novelty score (8/10); value to AI learning is high (9/10); feasibility scores 7/10").scores
[8, 9, 7]
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import heapq
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:  # pragma: no cover
    from .model import Note
    from .vault import Vault

__all__ = [
    "Related",
    "FeedbackLoop",
    "Emergence",
    "TitleIndex",
    "name_key",
    "extract_related",
    "emergence_scores",
    "read_feedback",
    "FEEDBACK_KEY",
    "EMERGENCE_KEY",
]

#: Frontmatter keys read by this module.
FEEDBACK_KEY = "FeedbackLoop"
EMERGENCE_KEY = "Emergence"

_NON_ALNUM_RE = re.compile(r"[\W_]+")
_Q_OPEN = "'\"“‘«"
_Q_CLOSE = "'\"”’»"
# 'Title' note / "Title" note / note 'Title' / note titled "Title"
_QUOTED_BEFORE_NOTE_RE = re.compile(
    r"[" + _Q_OPEN + r"]([^" + _Q_OPEN + _Q_CLOSE + r"\n]{3,120}?)[" + _Q_CLOSE + r"]"
    r"\s+(?:notes?|concept|framework|idea)\b",
    re.IGNORECASE,
)
_QUOTED_ANY_RE = re.compile(r"[" + _Q_OPEN + r"]([^" + _Q_OPEN + _Q_CLOSE + r"\n]{5,100}?)[" + _Q_CLOSE + r"](?!\w)")
_SMALL_WORDS = frozenset("a an and as at by for from in into of on or the to vs via with".split())
# scanned in lower-cased text (a literal first word keeps the scan fast); names are cut from the original
_QUOTED_AFTER_NOTE_RE = re.compile(
    r"notes?\s+(?:titled|called|named|on|about)?\s*[" + _Q_OPEN + r"]([^" + _Q_OPEN + _Q_CLOSE + r"\n]{3,120}?)[" + _Q_CLOSE + r"]"
)
_RELATED_RE = re.compile(
    r"(?:related\s+note|note|relationship|feedback\s+loop|loop|connection|link)\s*#?\s*\d{1,2}\s*[:.)\-–—]\s*(.+)",
    re.IGNORECASE,
)
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_BOLD_LINE_RE = re.compile(r"^\s*(?:[-*+]\s+|\d{1,2}[.)]\s+)?\*\*(.+?)\*\*\s*:?\s*(.*)$")
_LIST_RE = re.compile(r"^\s*(\d{1,2})[.)]\s+(.+)$")
_INLINE_BOLD_ITEM_RE = re.compile(r"\d{1,2}[.)]\s+\*\*([^*\n]{3,140})\*\*")
_NOTE_ON_RE = re.compile(
    r"[Nn]ote\s+(?:\d{1,2}\s+)?(?:about|on|covering|titled|called)\s+((?:[A-Z0-9][\w'’-]*)(?:(?:\s+(?:and|of|for|in|the|to|with|&)){0,2}"
    r"\s+[A-Z0-9][\w'’-]*){1,9})"
)
_WIKILINK_RE = re.compile(r"\[\[([^\[\]|#^]+)(?:[#^][^\[\]|]*)?(?:\|[^\[\]]*)?\]\]")
_DIGIT_AT = re.compile(r"\d").search


def _next_digit(text: str, pos: int) -> int:
    m = _DIGIT_AT(text, pos)
    return -1 if m is None else m.start()


def _next_note_word(text: str, pos: int) -> int:
    """Where the next ``Note``/``note`` at or after ``pos`` starts (``-1``: none)."""
    i = text.find("ote", pos + 1)
    while i > 0 and text[i - 1] not in "Nn":
        i = text.find("ote", i + 1)
    return i - 1 if i > 0 else -1


def _matches_at(rx: re.Pattern[str], text: str, next_start: "Callable[[str, int], int]") -> Iterator[re.Match[str]]:
    """``rx.finditer(text)`` for a pattern that can match only where ``next_start(text, pos)`` (the next such
    position at or after ``pos``, ``-1`` for none) points, and never an empty string: the search engine tries
    those positions only, not every one (a pattern that starts with ``\\d`` is tried at each character).

    >>> [m.group() for m in _matches_at(re.compile(r"\\d+x"), "1 22x 3x4x", _next_digit)]
    ['22x', '3x', '4x']
    """
    pos = 0
    while True:
        start = next_start(text, pos)
        if start < 0:
            return
        m = rx.match(text, start)
        if m is None:
            pos = start + 1
        else:
            yield m
            pos = m.end()


_PREFIX_RE = re.compile(
    r"^(?:(?:with|to|and)\s+)?(?:(?:the|a|an)\s+)?(?:(?:existing|related|referenced|linked)\s+)?"
    r"(?:notes?\s+(?:on|about|titled|called|named)\s+|note\s*:\s*)?(?:(?:the|a|an)\s+)?",
    re.IGNORECASE,
)
_SUFFIX_RE = re.compile(
    r"(?:\s*\((?:direct|indirect|mutual|bidirectional|strong|weak|moderate|high|medium|low|core|"
    r"dependency|influence|extension|foundational|[^)]{0,20}relationship)[^)]*\))+$|\s+notes?$",
    re.IGNORECASE,
)
_GENERIC = frozenset(
    "nature of relationship information exchange example semantic pathways relationship type "
    "direct influence indirect influence feedback loop integration analysis feedback loop analysis "
    "overview summary conclusion system coherence recursive learning enhancement impact "
    "information exchange transformation nature of the relationship semantic pathway".split("  ")
)

#: Kind of :meth:`vaultkit.vault.Vault.previous_memo` under which read_feedback keeps each note's loop.
FEEDBACK_MEMO = "feedback"


@functools.lru_cache(maxsize=1 << 16)  # the same titles come back in many notes
def name_key(name: str) -> str:
    """Match key of a title or file name: NFKC, casefolded, letters and digits separated by one space.

    >>> name_key("AI Technical Trade-offs Analysis") == name_key("ai technical trade offs analysis.")
    True
    """
    s = name if name.isascii() else unicodedata.normalize("NFKC", name)
    return " ".join(_NON_ALNUM_RE.sub(" ", s.casefold()).split())


_LINK_TEXT_RE = re.compile(r"\[\[([^\]|]+)(?:\|[^\]]*)?\]\]")
_COUNTER_RE = re.compile(r"^\d{1,2}[.)]\s+")
_LEAD_COUNTER_RE = re.compile(r"^\s*\d{1,2}[.)]\s+")
_RELATED_NOTE_RE = re.compile(r"\s*related\s+note", re.I)
_NOTE_SUFFIX_RE = re.compile(r"\s+notes?$")
_THE_PREFIX_RE = re.compile(r"^the\s+")


def _clean_name(raw: str) -> str:
    s = raw.strip()
    if "[[" in s:
        s = _LINK_TEXT_RE.sub(r"\1", s)
    s = s.replace("**", "").replace("__", "").strip(" *_`")
    s = s.strip(_Q_OPEN + _Q_CLOSE + " ")
    if s[:1].isdigit():
        s = _COUNTER_RE.sub("", s)
    s = _PREFIX_RE.sub("", s, count=1)
    prev = None
    while prev != s and (s.endswith(")") or s[-5:].lower() in (" note", "notes")):
        prev = s
        s = _SUFFIX_RE.sub("", s).strip()
    s = s.strip(" .,:;–—-*" + _Q_OPEN + _Q_CLOSE)
    return " ".join(s.split())


def _title_case(name: str) -> bool:
    """Whether ``name`` looks like a title: two or more words, each capitalised except small words.

    >>> _title_case("Cognitive Architecture Framework"), _title_case("validity of knowledge"), _title_case("Nutraloaf")
    (True, False, False)
    """
    words = name.split()
    if len(words) < 2 or any(ch in name for ch in ".;!?"):
        return False
    if not (words[0][:1].isupper() or words[0][:1].isdigit()):
        return False
    return all(w[:1].isupper() or w[:1].isdigit() or w.lower() in _SMALL_WORDS or not w[:1].isalpha()
               for w in words[1:])


def _plausible(name: str) -> bool:
    words = name.split()
    if not (1 <= len(words) <= 14) or len(name) < 3 or len(name) > 140:
        return False
    key = name_key(name)
    if key in _GENERIC or key in ("note", "notes") or not any(ch.isalpha() for ch in name):
        return False
    if words[0][0].islower() and not any(w[:1].isupper() for w in words[1:]):
        return False  # a sentence fragment, not a title
    return True


@dataclass(slots=True)
class Related:
    """One related note named in a ``FeedbackLoop``.

    ``kind`` says how it was written: ``"wikilink"``, ``"related-note"``
    (``Related Note N: Title``), ``"heading"``, ``"bold"``, ``"list"`` or
    ``"quoted"``. ``target`` is the vault path it resolves to, else ``None``
    (a wanted note); ``line`` is the file line.
    """

    name: str
    kind: str
    line: int = 0
    target: str | None = None

    @property
    def key(self) -> str:
        return name_key(self.name)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "line": self.line, "target": self.target}


def _split_title(text: str) -> str:
    """The title part of a heading or bold line: before ``:``/`` — `` unless the prefix is a counter."""
    m = _RELATED_RE.match(text.strip())
    if m:
        text = m.group(1)
    for sep in (":", " — ", " – ", " - "):
        if sep in text:
            head = text.split(sep, 1)[0]
            if len(head.split()) <= 14:
                return head
    return text


def extract_related(text: str) -> list[Related]:
    """Related-note names a ``FeedbackLoop`` text gives, in order, each once (by :func:`name_key`).

    Examples
    --------
    >>> t = ("**Related Note 1: Cognitive Architecture Design Principles**\\n"
    ...      "### Feedback Loop 2: With Note on Cellular Energy Economy\\n"
    ...      "#### Relationship 3: AGI-Twin Architecture Dependencies (Direct)\\n"
    ...      "1. **Self-Modifying AI Systems Note**: depends on it\\n"
    ...      "   - *Nature of Relationship*: direct\\n"
    ...      "See [[Plan#Goals|the plan]] and the \\"Knowledge Graph\\" note.")
    >>> [r.name for r in extract_related(t)]  # doctest: +NORMALIZE_WHITESPACE
    ['Cognitive Architecture Design Principles', 'Cellular Energy Economy',
     'AGI-Twin Architecture Dependencies', 'Self-Modifying AI Systems', 'Plan', 'Knowledge Graph']
    """
    found: list[tuple[int, Related]] = []
    seen: set[str] = set()

    def add(pos: int, raw: str, kind: str) -> None:
        name = _clean_name(raw)
        key = name_key(name)
        if not key or key in seen or not _plausible(name):
            return
        seen.add(key)
        found.append((pos, Related(name, kind)))

    offset = 0
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        hm = _HEADING_RE.match(line)
        bm = _BOLD_LINE_RE.match(line) if not hm else None
        if hm:
            title = hm.group(1).replace("**", "")
            kind = "related-note" if _RELATED_NOTE_RE.match(title) else "heading"
            if _RELATED_RE.match(title.strip()) or _LEAD_COUNTER_RE.match(title):
                add(offset, _split_title(_LEAD_COUNTER_RE.sub("", title)), kind)
        elif bm:
            inner = bm.group(1)
            rest = bm.group(2)
            is_related = bool(_RELATED_RE.match(inner.strip()))
            numbered = bool(_LIST_RE.match(stripped))
            alone = not rest.strip() or stripped.endswith("**") or stripped.endswith("**:")
            if is_related:
                kind = "related-note" if _RELATED_NOTE_RE.match(inner) else "bold"
                add(offset, _split_title(inner), kind)
            elif numbered:
                add(offset, _split_title(inner), "list")
            elif alone and ":" in stripped[stripped.find("**") :]:
                add(offset, _split_title(inner), "bold")
        else:
            lm = _LIST_RE.match(line)
            rm = _RELATED_RE.match(stripped)
            if lm:
                item = lm.group(2).strip()
                head = item.split(":", 1)[0] if ":" in item else item
                short = len(head.split()) <= 12 and (":" in item or not item.endswith("."))
                if short and not head.strip().startswith(("*", "_")):
                    add(offset, head, "list")
            elif rm and len(stripped.split()) <= 16 and not stripped.endswith("."):
                kind = "related-note" if _RELATED_NOTE_RE.match(stripped) else "bold"
                add(offset, _split_title(stripped), kind)
        offset += len(line)
    if "[[" in text:
        for m in _WIKILINK_RE.finditer(text):
            add(m.start(), m.group(1).strip(), "wikilink")

    def word_start(pos: int) -> bool:
        return pos == 0 or not (text[pos - 1].isalnum() or text[pos - 1] == "_")

    if "**" in text:
        for m in _matches_at(_INLINE_BOLD_ITEM_RE, text, _next_digit):
            if m.start() == 0 or text[m.start() - 1].isspace():
                add(m.start(), _split_title(m.group(1)), "list")
    for m in _matches_at(_NOTE_ON_RE, text, _next_note_word):
        if word_start(m.start()):
            add(m.start(), m.group(1), "quoted")
    for m in _QUOTED_BEFORE_NOTE_RE.finditer(text):
        if m.start() == 0 or text[m.start() - 1] in " \t\n([—–-":
            add(m.start(), m.group(1), "quoted")
    for m in _QUOTED_ANY_RE.finditer(text):
        if (m.start() == 0 or text[m.start() - 1] in " \t\n([—–-") and _title_case(m.group(1).strip()):
            add(m.start(), m.group(1), "quoted")
    low = text.lower()
    if len(low) == len(text) and "note" in low:
        for m in _QUOTED_AFTER_NOTE_RE.finditer(low):
            if word_start(m.start()):
                add(m.start(), text[m.start(1):m.end(1)], "quoted")
    # quoted names may repeat a heading's name: keep the earliest position of each key
    found.sort(key=lambda x: x[0])
    return [r for _, r in found]


class TitleIndex:
    """Notes by :func:`name_key` of their title, file name and aliases.

    Examples
    --------
    >>> from vaultkit.model import Note
    >>> idx = TitleIndex([Note("A/AI Trade-offs.md", frontmatter={"title": "AI Technical Trade-offs Analysis"})])
    >>> idx.resolve("ai technical trade offs analysis"), idx.resolve("AI Trade-offs Note"), idx.resolve("Other")
    ('A/AI Trade-offs.md', 'A/AI Trade-offs.md', None)
    >>> idx.suggest("AI Technical Tradeoff Analysis")
    ['A/AI Trade-offs.md']
    """

    def __init__(self, notes: Iterable["Note"]) -> None:
        self.by_key: dict[str, str] = {}
        self.alias_key: dict[str, str] = {}
        self.titles: dict[str, str] = {}
        for note in sorted(notes, key=lambda n: n.path):
            for label in (note.title, note.name):
                k = name_key(label)
                if k:
                    self.by_key.setdefault(k, note.path)
                    self.titles.setdefault(k, note.path)
            for a in note.aliases:
                k = name_key(str(a))
                if k:
                    self.alias_key.setdefault(k, note.path)
        self._keys = sorted(self.titles)
        self._fingerprint: str | None = None

    def fingerprint(self) -> str:
        """A hash of every key and the note it names: equal indexes answer every name alike."""
        if self._fingerprint is None:
            self._fingerprint = hashlib.sha256(repr((sorted(self.by_key.items()), sorted(self.titles.items()),
                                                     sorted(self.alias_key.items()))).encode()).hexdigest()
        return self._fingerprint

    def resolve(self, name: str) -> str | None:
        """Vault path of the note called ``name`` (title, file name, then alias), else ``None``."""
        k = name_key(name)
        for cand in (k, _NOTE_SUFFIX_RE.sub("", k), _THE_PREFIX_RE.sub("", k)):
            if cand in self.by_key:
                return self.by_key[cand]
            if cand in self.alias_key:
                return self.alias_key[cand]
        return None

    def suggest(self, name: str, n: int = 3, cutoff: float = 0.75) -> list[str]:
        """Paths of up to ``n`` notes whose title or file name is close to ``name`` (difflib ratio ≥ ``cutoff``).

        The same answer as ``difflib.get_close_matches(key, keys, n * 2, cutoff)``,
        but keys that cannot reach ``cutoff`` are skipped first, in C, by
        ``rapidfuzz``: its ``fuzz.ratio`` (twice the longest common
        subsequence over both lengths) is never below difflib's ratio (whose
        matching blocks form a common subsequence), so nothing it drops could
        have matched.
        """
        from rapidfuzz import fuzz, process

        word = name_key(name)
        matcher = difflib.SequenceMatcher()
        matcher.set_seq2(word)
        scored: list[tuple[float, str]] = []
        near = process.extract(word, self._keys, scorer=fuzz.ratio, processor=None, limit=None,
                               score_cutoff=max(cutoff * 100 - 1e-6, 0))
        for k, _upper, _pos in near:
            if not k and not word:
                continue
            matcher.set_seq1(k)
            if matcher.real_quick_ratio() >= cutoff and matcher.quick_ratio() >= cutoff:
                ratio = matcher.ratio()
                if ratio >= cutoff:
                    scored.append((ratio, k))
        out: list[str] = []
        for _score, k in heapq.nlargest(n * 2, scored):
            p = self.titles[k]
            if p not in out:
                out.append(p)
        return out[:n]


@dataclass(slots=True)
class Emergence:
    """Scores an ``Emergence`` text gives, as numbers (ints when whole).

    ``scores`` lists novelty, value and feasibility (those found, in that
    order) followed by unlabelled ``N/10`` scores; ``by_dimension`` maps the
    dimension names to their first score.
    """

    scores: list[float | int] = field(default_factory=list)
    by_dimension: dict[str, float | int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"scores": list(self.scores), **self.by_dimension}


_DIMENSIONS = (
    ("novelty", ("novelty", "новизн")),
    ("value", ("value", "learning", "ценност")),
    ("feasibility", ("feasibility", "implementation", "реализуем", "осуществим")),
)
_DIM_RE = re.compile(r"novelty|новизн|value|learning|ценност|feasibility|implementation|реализуем|осуществим")
_DIM_OF = {w: d for d, words in _DIMENSIONS for w in words}
_NUMBER_RE = re.compile(r"(10|\d(?:\.\d+)?)(\s*(?:/\s*10(?:\.0)?|out\s+of\s+10|из\s+10))?")
_NOT_SCORE_AFTER_RE = re.compile(
    r"\d|[.,]\d|\s*(?:%|[×x]\b|hours?|hrs?|minutes?|min\b|days?|weeks?|months?|years?|[kmbt]\b|gb|tb|ms|s\b|-|–)"
)
_FOR_DIM_RE = re.compile(r"\s*(?:for|в|по)\s+(?:the\s+)?(?:ai\s+)?(novelty|value|learning|implementation|feasibility)")


def _dimension_words(low: str) -> list[tuple[int, str]]:
    """``(m.start(), m.group())`` of each match of ``_DIM_RE.finditer(low)``, found with ``str.find`` per word
    (no word is a prefix of another: at most one matches at a position; leftmost first, none overlapping).

    >>> _dimension_words("novelty and learning value; implementationovelty")
    [(0, 'novelty'), (12, 'learning'), (21, 'value'), (28, 'implementation')]
    """
    found = []
    for word in _DIM_OF:
        i = low.find(word)
        while i >= 0:
            found.append((i, word))
            i = low.find(word, i + len(word))
    found.sort()
    out = []
    end = 0
    for start, word in found:
        if start >= end:
            out.append((start, word))
            end = start + len(word)
    return out


def _num(s: str) -> float | int:
    v = float(s)
    return int(v) if v.is_integer() else v


def emergence_scores(text: str) -> Emergence:
    """Read the scores of an ``Emergence`` text.

    A number 0–10 belongs to the dimension named just before it (within 80
    characters) or right after it (``8.5 for novelty``); ``N/10`` and ``N out
    of 10`` count even without a dimension.

    Examples
    --------
    >>> emergence_scores("novelty score (8), value to AI learning (9), and implementation feasibility (7)").by_dimension
    {'novelty': 8, 'value': 9, 'feasibility': 7}
    >>> emergence_scores("scores of 8.5 for novelty, 9.0 for AI learning value, and 7.5 for implementation").scores
    [8.5, 9, 7.5]
    >>> emergence_scores("The idea scores 6 out of 10 within 2 hours").scores
    [6]
    """
    low = text.lower()
    if len(low) != len(text):
        low = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    events: list[tuple[int, int, Any]] = []
    for start, word in _dimension_words(low):
        end = start + len(word)
        if word in ("value", "learning") and (low[start - 1:start].isalnum() or low[end:end + 1].isalnum()):
            continue
        events.append((start, 0, (_DIM_OF[word], end)))
    for m in _matches_at(_NUMBER_RE, low, _next_digit):
        before = low[m.start() - 1] if m.start() else " "
        if before.isalnum() or before in ".,-–/_":
            continue
        if not m.group(2) and _NOT_SCORE_AFTER_RE.match(low, m.end(1)):
            continue
        events.append((m.start(), 1, m))
    events.sort(key=lambda e: (e[0], e[1]))
    by_dim: dict[str, float | int] = {}
    loose: list[float | int] = []
    pending: tuple[str, int] | None = None
    for pos, kind, val in events:
        if kind == 0:
            pending = val
            continue
        m = val
        value = _num(m.group(1))
        fm = _FOR_DIM_RE.match(low, m.end())
        dim: str | None = None
        if fm:
            dim = _DIM_OF[fm.group(1)]
        elif pending is not None and pos - pending[1] <= 80 and "\n\n" not in low[pending[1]:pos]:
            dim = pending[0]
        if dim is not None:
            pending = None
            by_dim.setdefault(dim, value)
        elif m.group(2):
            loose.append(value)
    scores = [by_dim[d] for d, _ in _DIMENSIONS if d in by_dim]
    if not scores:
        scores = loose
    return Emergence(scores, {d: by_dim[d] for d, _ in _DIMENSIONS if d in by_dim})


@dataclass(slots=True)
class FeedbackLoop:
    """What one note's ``FeedbackLoop`` and ``Emergence`` properties say."""

    note: str
    related: list[Related] = field(default_factory=list)
    emergence: Emergence = field(default_factory=Emergence)

    @property
    def missing(self) -> list[Related]:
        """Related names that match no note (wanted notes)."""
        return [r for r in self.related if r.target is None]

    def to_dict(self) -> dict[str, Any]:
        return {"note": self.note, "related": [r.to_dict() for r in self.related],
                "emergence": self.emergence.to_dict()}


def _prop_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(_prop_text(v) for v in value)
    if isinstance(value, dict):
        return "\n".join(f"{k}: {_prop_text(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def _offset_of_line(raw: str, line: int) -> int:
    """Offset where 1-based ``line`` of ``raw`` starts, ``-1`` past the end.

    >>> _offset_of_line("a\\nbc\\nd", 3), _offset_of_line("a\\nbc\\nd", 1), _offset_of_line("a\\n", 3)
    (5, 0, -1)
    """
    if line <= 1:
        return 0
    lines = raw.split("\n", line - 1)  # (one C call, not a find per line)
    return len(raw) - len(lines[-1]) if len(lines) == line else -1


def _line_in_file(raw: str | None, start_line: int, name: str, pos: int | None = None) -> int:
    """File line where ``name`` is written at or after ``start_line`` (``start_line`` when not found)."""
    if not raw or not start_line:
        return start_line
    if pos is None:
        pos = _offset_of_line(raw, start_line)
    if pos < 0:
        return start_line
    hit = raw.find(name, pos)
    if hit < 0:
        return start_line
    return start_line + raw.count("\n", pos, hit)


def feedback_parts(frontmatter: dict, frontmatter_lines: dict[str, int], raw: str | None) -> tuple | None:
    """What a note's ``FeedbackLoop`` and ``Emergence`` properties say, before any name is resolved.

    The parser calls it with the file text at hand (:attr:`vaultkit.model.Note.feedback`),
    so that a sync neither reads the text again nor repeats the work for a cached note.

    Parameters
    ----------
    frontmatter : dict
        The note's properties.
    frontmatter_lines : dict of str to int
        File line of each property (:attr:`vaultkit.model.Note.frontmatter_lines`).
    raw : str or None
        The file text, for the line each name is written on (without it, every
        name gets the line of the ``FeedbackLoop`` key).

    Returns
    -------
    tuple or None
        ``(related, emergence)``: ``related`` the :func:`extract_related` names as
        ``(name, kind, line)`` tuples, in order; ``emergence`` ``None`` without an
        ``Emergence`` property, else ``(scores, by_dimension)`` as
        :func:`emergence_scores` reads them. ``None`` when the note has neither
        property. Plain values: the cache stores them with the note.

    Examples
    --------
    >>> fm = {"FeedbackLoop": "See [[Plan]].", "Emergence": "novelty (8), value (9)"}
    >>> feedback_parts(fm, {"FeedbackLoop": 2}, "---\\nFeedbackLoop: See [[Plan]].\\n")
    ((('Plan', 'wikilink', 2),), ([8, 9], {'novelty': 8, 'value': 9}))
    >>> feedback_parts({"title": "x"}, {}, None) is None
    True
    """
    fb = frontmatter.get(FEEDBACK_KEY)
    em = frontmatter.get(EMERGENCE_KEY)
    if fb is None and em is None:
        return None
    start = frontmatter_lines.get(FEEDBACK_KEY, 0)
    pos = _offset_of_line(raw, start) if raw and start else -1
    related = tuple((r.name, r.kind, _line_in_file(raw, start, r.name, pos)) for r in extract_related(_prop_text(fb)))
    emergence = None
    if em is not None:
        found = emergence_scores(_prop_text(em))
        emergence = (found.scores, found.by_dimension)
    return related, emergence


def read_note_feedback(note: "Note", index: TitleIndex, raw: str | None = None) -> FeedbackLoop | None:
    """The :class:`FeedbackLoop` of ``note`` (``None`` without the properties).

    Uses what the parser read (:attr:`~vaultkit.model.Note.feedback`); a note
    not made by the parser is read here, ``raw`` (the file text) giving each
    name the line it is written on.
    """
    parts = note.feedback
    if parts is None:
        fm = note.frontmatter if isinstance(note.frontmatter, dict) else {}
        parts = feedback_parts(fm, note.frontmatter_lines, raw)
        if parts is None:
            return None
    related, emergence = parts
    loop = FeedbackLoop(note.path)
    for name, kind, line in related:
        target = index.resolve(name)
        if target != note.path:
            loop.related.append(Related(name, kind, line, target))
    if emergence is not None:
        loop.emergence = Emergence(list(emergence[0]), dict(emergence[1]))
    return loop


def read_feedback(vault: "Vault", texts: Mapping[str, str] | None = None) -> list[FeedbackLoop]:
    """Feedback loops of every user note that has ``FeedbackLoop`` or ``Emergence``, in path order.

    Parameters
    ----------
    vault : Vault
    texts : mapping of str to str, optional
        File texts by vault path (for the lines of the names); read from disk when omitted.
    """
    notes = vault.user_notes()
    index = TitleIndex(notes)
    # An earlier run's loops are reused for unchanged files while every title and alias is the same.
    prev = vault.previous_memo(FEEDBACK_MEMO)
    reuse: dict = prev[1] if isinstance(prev, tuple) and len(prev) == 2 and prev[0] == index.fingerprint() else {}
    memo: dict[str, tuple] = {}
    out: list[FeedbackLoop] = []
    for note in notes:
        if not (note.has_property(FEEDBACK_KEY) or note.has_property(EMERGENCE_KEY)):
            continue
        old = reuse.get(note.path)
        if old is not None and note.sha256 and old[0] == note.sha256:
            loop = _loop_from_memo(note.path, old[1])
        else:
            raw = None
            if note.feedback is None:  # (a note not made by the parser: its names are read from its text)
                raw = texts.get(note.path) if texts is not None else None
                if raw is None and texts is None:
                    from .techniques import note_text

                    raw = note_text(vault, note)
            loop = read_note_feedback(note, index, raw)
        memo[note.path] = (note.sha256, None if loop is None else _loop_to_memo(loop))
        if loop is not None:
            out.append(loop)
    vault.memo_updates[FEEDBACK_MEMO] = (index.fingerprint(), memo)
    return out



def _loop_to_memo(loop: FeedbackLoop) -> tuple:
    return ([(r.name, r.kind, r.line, r.target) for r in loop.related],
            list(loop.emergence.scores), dict(loop.emergence.by_dimension))


def _loop_from_memo(path: str, value: tuple | None) -> FeedbackLoop | None:
    if value is None:
        return None
    related, scores, by_dimension = value
    return FeedbackLoop(path, [Related(*r) for r in related], Emergence(list(scores), dict(by_dimension)))
