"""Stable diagnostic codes shared by the parser, the resolver, the tier reader and ``lint``.

Each code maps to a kebab-case rule name and a default severity. The full rule
documentation lives with the lint rules (``vaultkit rule CODE``); this table is
the single source of the codes so that every layer emits the same ones.
"""

from __future__ import annotations

__all__ = ["CODES", "name_of", "severity_of"]

# code: (name, default severity)
CODES: dict[str, tuple[str, str]] = {
    # VK0xx: file and frontmatter
    "VK001": ("invalid-yaml", "error"),
    "VK002": ("frontmatter-not-mapping", "error"),
    "VK003": ("duplicate-key", "error"),
    "VK004": ("not-utf8", "error"),
    "VK005": ("byte-order-mark", "info"),
    "VK006": ("mojibake", "warning"),
    "VK007": ("frontmatter-close-with-trailing-text", "warning"),
    # VK1xx: links
    "VK101": ("unresolved-link", "warning"),
    "VK102": ("ambiguous-link", "warning"),
    "VK103": ("missing-heading", "warning"),
    "VK104": ("missing-block", "warning"),
    "VK105": ("empty-link", "warning"),
    # VK2xx: properties and tags
    "VK201": ("schema-violation", "error"),
    "VK202": ("malformed-tag", "warning"),
    "VK203": ("multi-line-tag", "warning"),
    "VK204": ("legacy-property-key", "warning"),
    "VK205": ("string-list-property", "warning"),
    "VK206": ("updated-before-created", "warning"),
    "VK207": ("property-type-mismatch", "warning"),
    # VK3xx: tier tables
    "VK301": ("tier-not-a-number", "warning"),
    "VK302": ("duplicate-tier", "warning"),
    "VK303": ("unknown-mark", "info"),
    "VK304": ("ragged-row", "warning"),
    "VK305": ("duplicate-technique", "warning"),
    "VK306": ("unnamed-row", "warning"),
    # VK4xx: generated notes
    "VK401": ("generated-note-out-of-date", "warning"),
    "VK402": ("region-problem", "warning"),
}


def name_of(code: str) -> str:
    """Kebab-case name of ``code``.

    >>> name_of("VK101")
    'unresolved-link'
    """
    return CODES[code][0]


def severity_of(code: str) -> str:
    """Default severity of ``code``.

    >>> severity_of("VK001")
    'error'
    """
    return CODES[code][1]
