"""Form texts as HTML for the form's pages: **bold**, *italic*, ***both*** and inserted
answers (${name}), the patterns of intake/engine/texts.py.

Everything else stays text: the text is escaped first, and only the markers found in
the escaped text become <strong> and <em> around it; an answer is escaped too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask import g
from markupsafe import Markup, escape

from intake.engine import texts

#: Stands for an inserted answer while the markers are read (no marker, no "<" in it;
#: private-use characters, taken out of the text first).
_SLOT = re.compile("\ue000(\\d{1,4})\ue001")
_SLOT_MARKS = str.maketrans("", "", "\ue000\ue001")


def inline(text: str, answers: Mapping[str, str] | None = None) -> Markup:
    """`text` as HTML: escaped, with bold and italic markers made into tags, and each
    "${name}" made a <bdi data-insert="name"> holding the answer: escaped, in its own
    direction (a Latin name in an Arabic question), kept current by the browser while
    the page is filled in."""
    names: list[str] = []

    def slot(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return f"\ue000{len(names) - 1}\ue001"

    html = texts.INSERTED.sub(slot, str(escape(text.translate(_SLOT_MARKS))))
    html = texts.BOTH.sub(r"<strong><em>\2</em></strong>", html)
    html = texts.STRONG.sub(r"<strong>\2</strong>", html)
    html = texts.EM.sub(r"<em>\2</em>", html)
    if names:
        shown = answers or {}

        def answer(match: re.Match[str]) -> str:
            name = names[int(match.group(1))]
            return f'<bdi class="inserted" data-insert="{name}">{escape(shown.get(name, ""))}</bdi>'

        html = _SLOT.sub(answer, html)
    return Markup(html)  # noqa: S704 - escaped above, our own tags only


def current_answers() -> Mapping[str, str]:
    """The answers this request's page inserts into its texts (form_pages sets them)."""
    return g.get("inserted_answers") or {}
