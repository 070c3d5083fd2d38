"""Property tests: the reader never crashes, and code fences never yield links or tags.

Two families of input:

* arbitrary bytes and text (with the characters that drive the scanner made likely);
* random note structures built block by block (frontmatter, fenced code,
  ``%%`` comments, headings, list items, quotes, paragraphs with links and
  tags), where the generator knows on which lines every link, tag and fence
  sits, so the parser's answer can be checked exactly.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaultkit.parse import parse_note
from vaultkit.scan import scan_body

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SPECIAL = "[]!#|^%$`~<>-=*_\\\n\r\t \u00a0\ufeff:/()\"'{}"
noisy_text = st.text(alphabet=st.one_of(st.sampled_from(SPECIAL), st.characters()), max_size=400)


@SETTINGS
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data):
    note = parse_note("Any.md", data)
    assert note.size == len(data)
    for link in note.links:
        assert link.line >= 1


@SETTINGS
@given(noisy_text, st.booleans(), st.booleans())
def test_arbitrary_text_never_crashes(text, with_frontmatter, crlf):
    if with_frontmatter:
        text = "---\n" + text
    if crlf:
        text = text.replace("\n", "\r\n")
    note = parse_note("Any.md", text.encode("utf-8", "surrogatepass"))
    n_lines = text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
    for link in note.links:
        assert 1 <= link.line <= n_lines
    for tag in note.tag_uses:
        assert 1 <= tag.line <= n_lines and tag.name and not tag.name.isdigit()
    scan_body(text)  # the scanner alone, on an unnormalised body


# --- structured notes -------------------------------------------------------

NAMES = st.sampled_from(["Alpha", "Beta note", "Gamma/Delta", "Éclair", "x1", "Über Ding"])
TAGS = st.sampled_from(["tag", "area/sub", "y2024", "тег", "a-b_c"])
WORDS = st.text(alphabet="abcdefgh ", min_size=0, max_size=12)
CODE_LINE = st.text(alphabet="abc [] #|!^%$/:", max_size=30).map(lambda s: s + " [[Hidden]] #hidden")


@st.composite
def paragraph(draw):
    """Plain words with links and tags, each separated by spaces; returns (lines, links, tags)."""
    lines: list[tuple[str, list[str], list[str]]] = []
    for _ in range(draw(st.integers(1, 3))):
        parts: list[str] = []
        links: list[str] = []
        tags: list[str] = []
        for _ in range(draw(st.integers(1, 4))):
            kind = draw(st.sampled_from(["word", "link", "tag", "embed"]))
            if kind == "link":
                name = draw(NAMES)
                links.append(name)
                parts.append(f"[[{name}]]")
            elif kind == "embed":
                name = draw(NAMES)
                links.append(name)
                parts.append(f"![[{name}|200]]")
            elif kind == "tag":
                tag = draw(TAGS)
                tags.append(tag)
                parts.append("#" + tag)
            else:
                parts.append(draw(WORDS).strip() or "w")
        lines.append((" ".join(parts), links, tags))
    return lines


@st.composite
def note_structure(draw):
    """A note as a list of lines plus what each line must yield."""
    lines: list[str] = []
    expect_links: list[tuple[int, str, bool]] = []  # (line, target, in_comment)
    expect_tags: list[tuple[int, str, bool]] = []
    code_lines: set[int] = set()
    if draw(st.booleans()):
        lines.append("---")
        for key in draw(st.lists(st.sampled_from(["title", "status", "rank"]), max_size=3, unique=True)):
            lines.append(f"{key}: {draw(WORDS).strip() or 'x'}")
        if draw(st.booleans()):
            tag = draw(TAGS)
            lines.append(f"tags: [{tag}]")
            expect_tags.append((len(lines), tag, False))
        lines.append("---")
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["para", "fence", "comment", "heading", "list", "quote", "blank", "indented"]))
        if kind == "fence":
            char = draw(st.sampled_from(["`", "~"]))
            width = draw(st.integers(3, 5))
            info = draw(st.sampled_from(["", "python", "dataview", "mermaid"]))
            lines.append(char * width + info)
            code_lines.add(len(lines))
            for code in draw(st.lists(CODE_LINE, max_size=3)):
                lines.append(code)
                code_lines.add(len(lines))
            lines.append(char * (width + draw(st.integers(0, 2))))
            code_lines.add(len(lines))
        elif kind == "indented":
            # a heading first: after a list item an indented line would continue the item (not code)
            lines.extend(["", "## code follows", ""])
            lines.append("    [[Hidden]] #hidden")
            code_lines.add(len(lines))
            lines.append("")
        elif kind == "comment":
            lines.append("%%")
            for text, links, tags in draw(paragraph()):
                lines.append(text)
                expect_links.extend((len(lines), t, True) for t in links)
                expect_tags.extend((len(lines), t, True) for t in tags)
            lines.append("%%")
        elif kind == "blank":
            lines.append("")
        else:
            prefix = {"para": "", "heading": "## ", "list": "- ", "quote": "> "}[kind]
            if kind in ("para", "heading"):
                lines.append("")  # keep paragraphs from running into a previous list or quote
            for text, links, tags in draw(paragraph())[: 1 if kind == "heading" else 3]:
                lines.append(prefix + text)
                expect_links.extend((len(lines), t, False) for t in links)
                expect_tags.extend((len(lines), t, False) for t in tags)
            lines.append("")
    return lines, expect_links, expect_tags, code_lines


@SETTINGS
@given(note_structure(), st.booleans())
def test_structured_notes(structure, crlf):
    lines, expect_links, expect_tags, code_lines = structure
    text = ("\r\n" if crlf else "\n").join(lines)
    note = parse_note("Gen.md", text.encode("utf-8"))
    body_links = [lk for lk in note.links if lk.kind != "frontmatter"]
    # nothing starts inside a generated code block
    assert not [lk for lk in body_links if lk.line in code_lines]
    assert not [t for t in note.tag_uses if t.line in code_lines]
    assert "hidden" not in {t.name for t in note.tag_uses}
    assert "Hidden" not in {lk.target for lk in note.links}
    # and everything outside code is found, on its line, with its comment flag
    assert [(lk.line, lk.target, lk.in_comment) for lk in body_links] == expect_links
    assert [(t.line, t.name, t.in_comment) for t in note.tag_uses] == expect_tags


# --- markdown-it-py as an oracle for block structure -------------------------
#
# Every line carries a unique [[Ln]] marker; CommonMark (markdown-it-py, with GFM
# tables) decides which markers sit in prose and which in code or HTML blocks.
# Obsidian-only syntax (%%, $$, footnotes) is left out: markdown-it does not know it.
# Blocks may touch without a blank line, except after a table: GFM continues a
# table with any following non-blank line, which vaultkit (like the tier-table
# reader) does not, a difference that changes no link.

BLOCKS = ["para", "list", "olist", "quote", "fence", "indent", "heading", "html", "table", "listfence",
          "nested", "hr", "setext", "lazy"]


@st.composite
def commonmark_doc(draw):
    count = 0

    def mark() -> str:
        nonlocal count
        count += 1
        return f"[[L{count}]]"

    out: list[str] = []
    for kind in draw(st.lists(st.sampled_from(BLOCKS), min_size=1, max_size=8)):
        if kind == "para":
            out += [f"text {mark()}" for _ in range(draw(st.integers(1, 2)))]
        elif kind == "list":
            for _ in range(draw(st.integers(1, 3))):
                out.append(f"- item {mark()}")
                if draw(st.booleans()):
                    out.append(f"  more {mark()}")
        elif kind == "olist":
            out += [f"{k}. item {mark()}" for k in range(1, draw(st.integers(1, 3)) + 1)]
        elif kind == "nested":
            out += [f"- a {mark()}", f"  - b {mark()}", f"    - c {mark()}", "", f"  para in a {mark()}",
                    "", f"      code in a {mark()}"]
        elif kind == "quote":
            out += [f"> q {mark()}", f"> > qq {mark()}"][: draw(st.integers(1, 2))]
        elif kind == "fence":
            fence = draw(st.sampled_from(["```", "~~~", "````"]))
            out += [fence + draw(st.sampled_from(["", "js"])), f"code {mark()}", fence]
        elif kind == "listfence":
            out += [f"- item {mark()}", "  ```", f"  code {mark()}", "  ```", f"- next {mark()}"]
        elif kind == "indent":
            out += ["", f"    code {mark()}"]
        elif kind == "heading":
            out.append(f"{'#' * draw(st.integers(1, 6))} head {mark()}")
        elif kind == "setext":
            out += ["", f"title {mark()}", draw(st.sampled_from(["===", "---"]))]
        elif kind == "html":
            out += ["<div>", f"html {mark()}", "</div>"]
        elif kind == "table":
            out += [f"| a | {mark()} |", "|---|---|", f"| b | {mark()} |", ""]
        elif kind == "hr":
            out.append(draw(st.sampled_from(["---", "***", "- - -"])))
        elif kind == "lazy":
            out += [f"- item {mark()}", f"lazy {mark()}", f"> quoted {mark()}", f"lazy too {mark()}"]
        if draw(st.booleans()):
            out.append("")
    return "\n".join(out)


def _oracle_links(text: str) -> set[str]:
    import re

    from markdown_it import MarkdownIt

    found: set[str] = set()
    for token in MarkdownIt("commonmark").enable("table").parse(text):
        if token.type == "inline":
            for child in token.children or []:
                if child.type == "text":
                    found.update(re.findall(r"\[\[(L\d+)\]\]", child.content))
    return found


@SETTINGS
@given(commonmark_doc())
def test_block_structure_matches_commonmark(text):
    assert {lk.target for lk in scan_body(text).links} == _oracle_links(text)
