"""Every public page in every UI language: the right lang/dir, and no untranslated text."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from intake import ROOT
from intake.config import defaults
from intake.i18n import RTL_LANGUAGES
from tests.conftest import VOLUNTEER_ANSWERS

LANGUAGES = defaults(Path("/nonexistent"))["LANGUAGES"]
PAGES = ["/", "/f/volunteer", "/f/newcomer", "/f/newcomer?district=mainz-bingen", "/f/nope"]


class _Text(HTMLParser):
    """Text nodes and the attributes people read (placeholder, aria-label, title, alt)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.nodes: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "alt", "placeholder") and value:
                self.nodes.append(value.strip())

    def handle_endtag(self, tag) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data) -> None:
        if not self._skip and data.strip():
            self.nodes.append(" ".join(data.split()))


def text_nodes(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.nodes


def english_only(lang: str) -> set[str]:
    """English source strings that `lang` translates differently (so must not show)."""
    with (ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    return {
        " ".join(m.id.split())
        for m in catalog
        if isinstance(m.id, str) and m.id and m.string and m.string != m.id and "%" not in m.id
    }


def html_lang(html: str) -> tuple[str, str]:
    start = html.index("<html")
    tag = html[start : html.index(">", start)]
    lang = tag.split('lang="')[1].split('"')[0]
    direction = tag.split('dir="')[1].split('"')[0]
    return lang, direction


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_public_page_in_every_language(client, submit, lang):
    leaks = english_only(lang) if lang != "en" else set()
    expected_dir = "rtl" if lang in RTL_LANGUAGES else "ltr"
    pages = {path: client.get(f"{path}{'&' if '?' in path else '?'}lang={lang}") for path in PAGES}
    pages["errors"] = submit("newcomer", {"name": ""}, f"?lang={lang}")
    pages["thanks"] = submit("volunteer", VOLUNTEER_ANSWERS, f"?lang={lang}", follow=True)
    for name, response in pages.items():
        html = response.get_data(as_text=True)
        assert html_lang(html) == (lang, expected_dir), name
        untranslated = [node for node in text_nodes(html) if node in leaks]
        assert not untranslated, f"{name} in {lang}: {untranslated}"
