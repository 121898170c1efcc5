"""The UI catalogs: current, complete, and with the same placeholders as the source."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from intake import ROOT
from intake.config import defaults

TRANSLATIONS = ROOT / "translations"
LANGUAGES = defaults(Path("/nonexistent"))["LANGUAGES"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")


def catalog(lang: str):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh)


def extracted_ids(tmp_path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract",
         "-F", str(TRANSLATIONS / "babel.cfg"), "-k", "_l", "-o", str(pot), "."],
        cwd=ROOT, check=True,
    )  # fmt: skip
    with pot.open("rb") as fh:
        return {m.id for m in read_po(fh) if m.id}


def test_messages_pot_is_current(tmp_path):
    with (TRANSLATIONS / "messages.pot").open("rb") as fh:
        committed = {m.id for m in read_po(fh) if m.id}
    fresh = extracted_ids(tmp_path)
    assert fresh == committed, (
        "translations/messages.pot is stale: run `flask --app intake translate extract` "
        f"and `translate update`. New: {sorted(map(str, fresh - committed))[:5]}, "
        f"gone: {sorted(map(str, committed - fresh))[:5]}"
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalog_is_complete_without_fuzzy_entries(lang):
    with (TRANSLATIONS / "messages.pot").open("rb") as fh:
        ids = {m.id for m in read_po(fh) if m.id}
    messages = {m.id: m for m in catalog(lang) if m.id}
    assert ids <= set(messages), f"{lang}: missing {sorted(map(str, ids - set(messages)))[:5]}"
    untranslated = [m.id for m in messages.values() if not m.string]
    fuzzy = [m.id for m in messages.values() if m.fuzzy]
    assert not untranslated, f"{lang}: untranslated {untranslated[:5]}"
    assert not fuzzy, f"{lang}: fuzzy {fuzzy[:5]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_placeholders(lang):
    wrong = []
    for message in catalog(lang):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = sorted(PLACEHOLDER.findall(ids[0]))
        wrong += [ids[0] for s in strings if sorted(PLACEHOLDER.findall(s)) != expected]
    assert not wrong, f"{lang}: placeholders differ in {wrong}"


def test_arabic_catalog_has_the_standard_plural_rule():
    assert catalog("ar").plural_forms == (
        "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : "
        "n%100>=11 ? 4 : 5);"
    )


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_no_english_source_text_leaks_into_translated_pages(client, lang):
    english = {"Send answers", "Please check your answers", "Choose a form", "Data protection"}
    for path in ("/", "/f/volunteer", "/f/newcomer"):
        html = client.get(f"{path}?lang={lang}").get_data(as_text=True)
        assert not [word for word in english if f">{word}<" in html or f"({word})" in html]


def test_arabic_plurals_follow_the_standard_rule(app):
    """0, 1, 2, 3-10, 11-99 and 100-102 take the six forms of the gettext standard."""
    from flask_babel import force_locale, ngettext

    with app.test_request_context(), force_locale("ar"):
        forms = {n: ngettext("%(num)d response", "%(num)d responses", n) for n in (11, 100, 3)}
    assert forms[11] == "11 ردًا"  # tamyiz: accusative singular
    assert forms[100] == "100 رد"
    assert forms[3] == "3 ردود"
