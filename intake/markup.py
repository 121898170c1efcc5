"""The text formatting that form texts may carry, as XLSForm allows it in labels and
hints: **bold** (or __bold__), *italic* (or _italic_) and ***both***.

Everything else stays text: the text is escaped first, and only the markers found in
the escaped text become <strong> and <em> around it. The patterns are bounded and
have no nested repetition, so no author's text can make them run long.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# The text between markers never holds "<" or ">" (the escaped text has none; only our
# own tags do), so a tag never opens inside one and closes outside it.
_BOTH = re.compile(r"(\*\*\*|___)(?=[^\s<>*_])([^\n<>*_]{1,500}?)(?<=[^\s<>*_])\1")
_STRONG = re.compile(r"(\*\*|__)(?=[^\s<>*_])([^\n<>]{1,500}?)(?<=[^\s<>*_])\1")
# A single marker only at a word's edge: "first_name" and "2*3*4" stay as they are.
_EM = re.compile(r"(?<![\w*])([*_])(?=[^\s*_<>])([^\n*_<>]{1,500}?)(?<=[^\s*_<>])\1(?![\w*])")


def inline(text: str) -> Markup:
    """`text` as HTML: escaped, with bold and italic markers made into tags."""
    html = _BOTH.sub(r"<strong><em>\2</em></strong>", str(escape(text)))
    html = _STRONG.sub(r"<strong>\2</strong>", html)
    return Markup(_EM.sub(r"<em>\2</em>", html))  # noqa: S704 - escaped above


def plain(text: str) -> str:
    """`text` without the markers (page titles, PDFs, exports, emails)."""
    return _EM.sub(r"\2", _STRONG.sub(r"\2", _BOTH.sub(r"\2", text)))
