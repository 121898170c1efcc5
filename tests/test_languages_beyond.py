"""A form in a language Intake has no catalog for (#21): offered by its own name when the
form has every text in it; the page's own words (buttons, messages) then come from the
nearest catalog, and the page says so; a language the form lacks texts in is not offered."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from intake import i18n
from intake.engine.definition import FormDefinition, load_file
from intake.extensions import db
from intake.storage.models import Response
from tests.conftest import form_payload, install_form

FORMS = Path(__file__).parent / "forms"
URL = "/f/nepali?district=mainz-bingen"


def test_a_complete_language_is_offered_with_its_own_name(app, client):
    install_form(app, "nepali.yaml")
    html = client.get(f"{URL}&lang=ne").get_data(as_text=True)
    assert '<html lang="en" dir="ltr"' in html  # the page's own words: English
    assert '<h1><span lang="ne" dir="ltr">भाषा कक्षा</span></h1>' in html
    assert (
        "This form is in नेपाली. The buttons and messages around it are not translated into "
        "नेपाली yet: they are in English." in html
    )
    assert '<span lang="ne" dir="ltr">छैन</span>' in html  # its own choices in Nepali
    assert re.search(r"<span>\s*Yes\s*</span>|>Yes<", html)  # Yes and No: the catalog's
    nav = html[html.index('class="lang-nav"') : html.index("</nav>")]
    assert 'hreflang="ne"' in nav
    assert re.search(r'hreflang="ne"\s*aria-current="true"', nav)
    assert "नेपाली" in nav
    assert 'hreflang="prs"' not in nav  # Dari lacks a choice's text: not offered
    assert "Send answers" in html


def test_a_language_the_form_lacks_texts_in_is_not_offered(app, client):
    install_form(app, "nepali.yaml")
    html = client.get(f"{URL}&lang=prs").get_data(as_text=True)
    assert '<html lang="de"' in html
    assert "کورس زبان" not in html


def test_the_browser_s_language_chooses_it_and_answers_keep_it(app, client):
    install_form(app, "nepali.yaml")
    page = client.get(URL, headers={"Accept-Language": "ne, en;q=0.5"}).get_data(as_text=True)
    assert "भाषा कक्षा" in page
    refused = client.post(f"{URL}&lang=ne", data=form_payload(page, {"nav": "send"}))
    assert "Please answer this question." in refused.get_data(as_text=True)
    html = refused.get_data(as_text=True)
    sent = client.post(f"{URL}&lang=ne", data=form_payload(html, {"name": "सीता", "nav": "send"}))
    assert sent.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Response.language)) == "ne"


def test_the_nearest_catalog_and_direction_of_languages_beyond_ours(app):
    raw = load_file(FORMS / "nepali.yaml")
    assert FormDefinition(raw).complete_languages == ["de", "ne"]
    with app.app_context():
        assert i18n.ui_language_for("prs") == "fa"  # Dari reads Persian
        assert i18n.ui_language_for("ne") == "en"
        assert i18n.ui_language_for("ar") == "ar"
    assert i18n.direction("ur") == "rtl"
    assert i18n.direction("prs") == "rtl"
    assert i18n.direction("ne") == "ltr"
    assert i18n.native_name("ne") == "नेपाली"
    assert i18n.native_name("xx") == "xx"
