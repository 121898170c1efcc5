"""The text formatting that form texts may carry, as XLSForm allows it in labels and
hints: **bold** (or __bold__), *italic* (or _italic_) and ***both***.

Everything else stays text: the text is escaped first, and only the markers found in
the escaped text become <strong> and <em> around it. The patterns are bounded and
have no nested repetition, so no author's text can make them run long.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask import g
from markupsafe import Markup, escape

from intake.engine import texts

_BOTH, _STRONG, _EM, _INSERTED = texts.BOTH, texts.STRONG, texts.EM, texts.INSERTED
#: Stands for an inserted answer while the markers are read (no marker, no "<" in it).
_SLOT = re.compile("\ue000(\\d{1,4})\ue001")


def inline(text: str, answers: Mapping[str, str] | None = None) -> Markup:
    """`text` as HTML: escaped, with bold and italic markers made into tags, and each
    "${name}" made a <bdi data-insert="name"> holding the answer: escaped, in its own
    direction (a Latin name in an Arabic question), kept current by the browser while
    the page is filled in."""
    names: list[str] = []

    def slot(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return f"\ue000{len(names) - 1}\ue001"

    html = _INSERTED.sub(slot, str(escape(text)))
    html = _BOTH.sub(r"<strong><em>\2</em></strong>", html)
    html = _STRONG.sub(r"<strong>\2</strong>", html)
    html = _EM.sub(r"<em>\2</em>", html)
    if names:
        shown = answers or {}

        def answer(match: re.Match[str]) -> str:
            index = int(match.group(1))
            if index >= len(names):
                return match.group()
            name = names[index]
            return f'<bdi class="inserted" data-insert="{name}">{escape(shown.get(name, ""))}</bdi>'

        html = _SLOT.sub(answer, html)
    return Markup(html)  # noqa: S704 - escaped above, our own tags only


def current_answers() -> Mapping[str, str]:
    """The answers this request's page inserts into its texts (form_pages sets them)."""
    return g.get("inserted_answers") or {}
