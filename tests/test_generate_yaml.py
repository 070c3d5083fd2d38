"""The generator's fast frontmatter emitter writes exactly what ``yaml.dump`` writes."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from vaultkit import generate as G
from vaultkit.frontmatter import CoreLoader


def dumped_by_pyyaml(props: dict) -> str:
    text = yaml.dump(props, Dumper=G._DUMPER, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=10_000)
    if "\\U" in text:
        text = G._DOUBLE_QUOTED_RE.sub(lambda m: G._ASTRAL_ESCAPE_RE.sub(G._unescape_astral, m.group(0)), text)
    return f"---\n{text}---\n"


TRICKY = ["", "yes", "No", "null", "~", "0E0", "1e3", "0x1F", "0o17", "1_000", ".inf", "-.5", "+1", "12:30",
          "2025-01-02", "true", "#tag", "- item", "a: b", "[[Note]]", "'quoted'", '"dq"', "🟢", "💰💰", "\t",
          "line\nbreak", "\u2028", "\x85", "é", "Пример", "&anchor", "*alias", "!tag", "|", ">", "%", "@", "`"]
scalars = st.one_of(st.sampled_from(TRICKY), st.text(max_size=12), st.integers(-10**12, 10**12))
values = st.one_of(scalars, st.lists(scalars, max_size=4))
props_st = st.dictionaries(st.one_of(st.sampled_from(TRICKY), st.text(min_size=1, max_size=8)), values, max_size=6)


@settings(max_examples=400, deadline=None)
@given(props_st)
def test_fast_frontmatter_equals_yaml_dump(props: dict) -> None:
    assert G._dump_frontmatter(props) == dumped_by_pyyaml(props)


@settings(max_examples=200, deadline=None)
@given(props_st)
def test_fast_frontmatter_reads_back_as_the_same_properties(props: dict) -> None:
    text = G._dump_frontmatter(props)
    assert yaml.load(text[4:-4], Loader=CoreLoader) == props


def test_other_types_fall_back_to_yaml_dump() -> None:
    props = {"flag": True, "none": None, "nested": {"a": [1, 2]}, "float": 1.5}
    assert G._events(props) is None
    assert G._dump_frontmatter(props) == dumped_by_pyyaml(props)
