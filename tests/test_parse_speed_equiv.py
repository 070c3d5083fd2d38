"""The parser's shortcuts give what the plain way gives.

Each speed-up in the reader has a slower, obvious counterpart; these tests
hold them to it on generated input:

* YAML: the direct constructor (:func:`vaultkit.frontmatter._construct_plain`)
  against PyYAML's own, the YAML as bytes against the YAML as text, the
  frontmatter block located in the file's bytes against the text;
* tier tables: the cached cell readers against the plain algorithm;
* links: heading keys in one regex pass against two, parsed wikilinks
  taken from the cache against fresh ones.
"""

from __future__ import annotations

import re
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaultkit import frontmatter, tiers
from vaultkit.frontmatter import _frontmatter_parts, load_yaml, split_frontmatter
from vaultkit.resolve import heading_key
from vaultkit.scan import parse_wikilink

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SCALARS = ["a", "yes", "No", "true", "False", "TRUE", "null", "~", "", "1", "-1", "+1", "010", "0o17", "0x1F",
           "0b1", "1_000", "1.5", "-.5", "1e3", ".inf", "-.Inf", ".NaN", "2024-01-01", "'q'", '"d\\n"', "[[Link]]",
           "!!str 1", "!!int '7'", "!!int x", "!!float 1", "!!bool yes", "!!timestamp 2024-01-01", "!!binary aGk=",
           "!x y", "&a v", "*a", "=", "<<", "!", "9" * 5000, "#t", "{a: 1}", "[1, [2]]", "{}", "|\n  block\n",
           "é 🟢", "\x00", "a\x07", "\ufeffx", "? x", "1:2", "[a, b"]
KEYS = ["tags", "Tags", "tag", "aliases", "title", "a", "1", "true", "null", "=", "<<", "? [x]", "x y", ".nan"]


@st.composite
def yaml_docs(draw, depth=0):
    lines = []
    for _ in range(draw(st.integers(0, 5))):
        key = draw(st.sampled_from(KEYS))
        kind = draw(st.integers(0, 9)) if depth < 2 else 9
        pad = "  " * (depth + 1)
        if kind == 0:
            items = draw(st.lists(st.sampled_from(SCALARS), max_size=3))
            lines.append(f"{key}:" + "".join(f"\n{pad}- {item}" for item in items))
        elif kind == 1:
            inner = draw(yaml_docs(depth=depth + 1))
            lines.append(f"{key}:\n" + "\n".join(pad + line for line in inner.splitlines()))
        else:
            lines.append(f"{key}: {draw(st.sampled_from(SCALARS))}")
    return "\n".join(lines) + "\n"


def _result(r):
    return repr((r.data, r.error, r.error_kind, r.error_line, r.error_col, r.key_lines, r.item_spans))


@SETTINGS
@given(yaml_docs())
def test_direct_constructor_matches_pyyaml(text):
    fast = load_yaml(text)
    with mock.patch.object(frontmatter, "_construct_plain", side_effect=frontmatter._Unusual):
        slow = load_yaml(text)
    assert _result(fast) == _result(slow)
    assert type(fast.data) is type(slow.data)


@SETTINGS
@given(st.one_of(yaml_docs(), st.text(max_size=200)))
def test_yaml_bytes_read_like_text(text):
    assert _result(load_yaml(text.encode("utf-8", "surrogatepass"))) == _result(load_yaml(text)) \
        or any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)  # (no UTF-8 bytes stand for a lone surrogate)


def test_deep_nesting_left_to_pyyaml():
    for depth in (10, 40, 400, 2000):
        text = "a: " + "[" * depth + "]" * depth
        with mock.patch.object(frontmatter, "_construct_plain", side_effect=frontmatter._Unusual):
            slow = load_yaml(text)
        assert _result(load_yaml(text)) == _result(slow)


frontmatter_texts = st.lists(
    st.sampled_from(["---", "--- x", "---x", "a: 1", "", "é 🟢", "b: [[L]]", "- i", "----", " ---"]), max_size=8
).map(lambda lines: "---\n" + "\n".join(lines))


@SETTINGS
@given(st.one_of(frontmatter_texts, st.text(alphabet="-\n ab\u00e9", max_size=30)))
def test_frontmatter_found_in_bytes_as_in_text(text):
    parts = _frontmatter_parts(text)
    block = split_frontmatter(text)
    if parts is None:
        assert block is None and _frontmatter_parts(text, text.encode()) is None
        return
    assert (block.yaml, block.body, block.body_line, block.close_line, block.close_trailing) == parts
    yaml_bytes, *rest = _frontmatter_parts(text, text.encode())
    assert yaml_bytes == parts[0].encode() and tuple(rest) == parts[1:]


def _reference_marks(cell, meanings):
    """parse_marks as first written: one regex search per mark."""
    text = tiers._plain_text(cell)
    found = list(re.finditer(tiers._EMOJI, text))
    marks = []
    i = 0
    while i < len(found):
        m = found[i]
        symbol = m.group(0).replace("\ufe0f", "")
        count = 1
        end = m.end()
        while (i + 1 < len(found) and found[i + 1].start() == end
               and found[i + 1].group(0).replace("\ufe0f", "") == symbol):
            i += 1
            count += 1
            end = found[i].end()
        nxt = found[i + 1].start() if i + 1 < len(found) else len(text)
        phrase = text[end:nxt].strip().strip(",;+").strip()
        if phrase.endswith(","):
            phrase = phrase[:-1].strip()
        marks.append(tiers.Mark(symbol, count, meanings.get(symbol, tiers.TRADEOFF_MEANINGS.get(symbol, "")), phrase))
        i += 1
    return marks


cells = st.lists(st.sampled_from(["🟢", "🟢\ufe0f", "⚪", "💰", "❌", "✅", "👨\u200d💻", "\ufe0f", " ", ",", ";", "+",
                                  "a", "  x ", "(", ")", "**", "*", "\\|", "⚠️", ", "]), max_size=10).map("".join)


@SETTINGS
@given(cells, st.sampled_from([tiers.DEFAULT_LEGEND, tiers.TRADEOFF_MEANINGS, {}]))
def test_cached_marks_match_reference(cell, meanings):
    expected = _reference_marks(cell, meanings)
    assert tiers.parse_marks(cell, meanings) == expected
    assert tiers.parse_marks(cell, meanings) == expected  # from the cache


@SETTINGS
@given(st.text(alphabet=list("!\"#$%&()*+,.:;<=>?@^`{|}~/[]\\\n \tab\u00a0\u3000\u2028\x1c\x85éΣİß"), max_size=16))
def test_heading_key_in_one_pass(text):
    two_pass = re.sub(r"\s+", " ", re.sub(r"[!\"#$%&()*+,.:;<=>?@^`{|}~/\[\]\\\n]", " ", text)).strip().casefold()
    assert heading_key(text) == two_pass


def test_cached_wikilinks_are_fresh_links():
    first = parse_wikilink("Target#Head|Alias", line=3, col=4)
    first.resolved = "Target.md"
    again = parse_wikilink("Target#Head|Alias", line=7, col=1)
    assert again is not first and again.resolved is None
    assert (again.target, again.heading, again.alias, again.line, again.col) == ("Target", "Head", "Alias", 7, 1)
    embed = parse_wikilink("img.png|cap|300x200", embed=True)
    assert (embed.kind, embed.alias, embed.width, embed.height) == ("embed", "cap", 300, 200)
    assert parse_wikilink("img.png|cap|300x200").alias == "cap|300x200"  # a link is not an embed
