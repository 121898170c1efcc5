"""The respondent's side: pages, languages, submissions, receipts."""

from __future__ import annotations

import re

import pytest

from tests.conftest import (
    VOLUNTEER_ANSWERS,
    form_payload,
    hidden,
    install_form,
    response_count,
    stored_answers,
)

PAGES = ["/", "/f/volunteer", "/f/newcomer", "/f/volunteer?district=bad-kreuznach"]


def html_tag(html: str) -> tuple[str, str]:
    match = re.search(r'<html lang="([^"]+)" dir="([^"]+)">', html)
    assert match, "no <html lang dir>"
    return match.group(1), match.group(2)


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(
    ("lang", "direction", "word"),
    [("de", "ltr", "Sprache"), ("en", "ltr", "language"), ("ar", "rtl", "اللغة")],
)
def test_every_page_has_lang_and_dir(client, path, lang, direction, word):
    sep = "&" if "?" in path else "?"
    response = client.get(f"{path}{sep}lang={lang}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html_tag(html) == (lang, direction)
    assert word in html


def test_thanks_and_error_pages_have_lang_and_dir(client, submit):
    response = client.get("/f/does-not-exist?lang=ar")
    assert response.status_code == 404
    assert html_tag(response.get_data(as_text=True)) == ("ar", "rtl")
    thanks = submit("volunteer", VOLUNTEER_ANSWERS, "?lang=ar", follow=True)
    assert html_tag(thanks.get_data(as_text=True)) == ("ar", "rtl")


def test_language_order_query_then_session_then_browser_then_default(client):
    # Default language of the form, with no other hint.
    assert html_tag(client.get("/f/volunteer").get_data(as_text=True))[0] == "de"
    # The browser's preference.
    page = client.get("/f/volunteer", headers={"Accept-Language": "ar,en;q=0.5"})
    assert html_tag(page.get_data(as_text=True))[0] == "ar"
    # An explicit choice wins over the browser and is remembered.
    page = client.get("/f/volunteer?lang=en", headers={"Accept-Language": "ar"})
    assert html_tag(page.get_data(as_text=True))[0] == "en"
    page = client.get("/", headers={"Accept-Language": "ar"})
    assert html_tag(page.get_data(as_text=True))[0] == "en"


def test_unknown_language_in_link_falls_back_instead_of_failing(client):
    page = client.get("/f/volunteer?lang=xx", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert html_tag(page.get_data(as_text=True))[0] == "en"


def test_form_page_shows_questions_in_the_chosen_language(client):
    html = client.get("/f/volunteer?lang=ar").get_data(as_text=True)
    assert "الاسم الأول" in html
    assert "Vorname" not in html
    assert 'dir="ltr"' in html  # email and phone inputs stay left-to-right


def test_valid_submission_stores_once_and_shows_reference(app, client, submit):
    response = submit("volunteer", VOLUNTEER_ANSWERS, "?lang=de&src=poster-2026")
    assert response.status_code == 303
    thanks = client.get(response.headers["Location"])
    html = thanks.get_data(as_text=True)
    reference = re.search(r'<bdi dir="ltr">([A-Z0-9-]+)</bdi>', html).group(1)
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", reference)
    [answers] = stored_answers(app, reference)
    assert answers["first_name"] == ["Jürgen"]
    assert answers["languages_fluent"] == ["ar", "fr"]
    assert answers["phone"] == ["+4915123456789"]  # stored in international format
    assert answers["consent"] == ["yes"]
    assert "languages_basic" not in answers  # unanswered optional question


def test_response_keeps_language_source_district_and_consent_version(app, submit):
    from intake.extensions import db
    from intake.storage.models import Response

    submit("volunteer", VOLUNTEER_ANSWERS, "?lang=ar&src=whatsapp")
    with app.app_context():
        response = db.session.query(Response).one()
        assert response.language == "ar"
        assert response.source == "whatsapp"
        assert response.district.slug == "mainz-bingen"  # from the municipality
        assert response.consent_version == "2026-11-01"
        assert response.form_version.number == 1


def test_resubmission_with_same_key_stores_one_row_and_same_receipt(app, client):
    page = client.get("/f/volunteer?lang=de").get_data(as_text=True)
    data = form_payload(page, VOLUNTEER_ANSWERS)
    first = client.post("/f/volunteer", data=data)
    first_ref = re.search(
        r"<bdi dir=\"ltr\">([^<]+)<", client.get(first.headers["Location"]).get_data(as_text=True)
    ).group(1)
    second_client = app.test_client()  # e.g. a retry from another tab or after a reload
    second_page = second_client.get("/f/volunteer").get_data(as_text=True)
    data["csrf_token"] = form_payload(second_page, {})["csrf_token"]
    second = second_client.post("/f/volunteer", data=data)
    assert second.status_code == 303
    second_ref = re.search(
        r"<bdi dir=\"ltr\">([^<]+)<",
        second_client.get(second.headers["Location"]).get_data(as_text=True),
    ).group(1)
    assert first_ref == second_ref
    assert response_count(app) == 1


def test_double_click_with_same_session_stores_one_row(app, client):
    page = client.get("/f/newcomer").get_data(as_text=True)
    data = form_payload(page, NEWCOMER_ANSWERS)
    assert client.post("/f/newcomer", data=data).status_code == 303
    assert client.post("/f/newcomer", data=data).status_code == 303
    assert response_count(app) == 1


NEWCOMER_ANSWERS = {
    "municipality": "stadt-bad-kreuznach",
    "needs": ["housing", "language_course"],
    "languages": ["ar", "ku"],
    "german_level": "basic",
    "adults": "2",
    "children": "3",
    "name": "فاطمة الزهراء",
    "contact_method": "messenger",
    "phone": "+49 171 9876543",
    "contact_language": "ar",
    "notes": "نحتاج إلى روضة أطفال قريبة",
    "consent": "y",
}


@pytest.mark.parametrize(
    ("lang", "required_message", "number_message"),
    [
        ("de", "Bitte beantworten Sie diese Frage.", "Bitte geben Sie eine ganze Zahl ein"),
        ("en", "Please answer this question.", "Please enter a whole number, for example 3."),
        ("ar", "يرجى الإجابة عن هذا السؤال.", "يرجى إدخال عدد صحيح"),
    ],
)
def test_invalid_submission_rerenders_with_messages_in_language(
    app, submit, lang, required_message, number_message
):
    answers = dict(NEWCOMER_ANSWERS, name="", adults="zwei", consent="")
    response = submit("newcomer", answers, f"?lang={lang}")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html_tag(html)[0] == lang
    assert 'class="error-summary" role="alert"' in html
    assert html.count('aria-invalid="true"') == 3
    assert 'aria-describedby="name-error"' in html
    assert required_message in html
    assert number_message in html
    # What the person typed is still there.
    assert "نحتاج إلى روضة أطفال قريبة" in html
    assert response_count(app) == 0


def test_english_messages_are_precise(submit):
    answers = dict(
        NEWCOMER_ANSWERS,
        adults="0",
        children="21",
        email="not-an-address",
        phone="12",
        municipality="bingen-am-rhein",
        languages=["ar", "klingon"],
    )
    html = submit("newcomer", answers, "?lang=en&district=bad-kreuznach").get_data(as_text=True)
    assert "Please enter 1 or more." in html
    assert "Please enter 20 or less." in html
    assert "Please enter an email address like name@example.org." in html
    assert "Please enter a phone number" in html
    # A place in another district than the link's, and a made-up choice, are refused
    # (each message shows next to its field and in the summary at the top).
    assert html.count("Please choose one of the offered answers.") == 4


def test_consent_is_never_preticked(client):
    html = client.get("/f/volunteer").get_data(as_text=True)
    consent = re.search(r'<input type="checkbox" id="consent"[^>]*>', html, re.S).group(0)
    assert "checked" not in consent


def test_expired_csrf_token_keeps_answers_and_asks_to_send_again(app, client):
    page = client.get("/f/volunteer?lang=en").get_data(as_text=True)
    data = form_payload(page, VOLUNTEER_ANSWERS)
    data["csrf_token"] = "expired"
    response = client.post("/f/volunteer", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Your answers are still here" in html
    assert 'value="Müller-Lüdenscheidt"' in html
    assert response_count(app) == 0


def test_missing_idempotency_key_is_replaced_not_accepted(app, client):
    page = client.get("/f/volunteer").get_data(as_text=True)
    data = form_payload(page, VOLUNTEER_ANSWERS)
    data["idempotency_key"] = "short"
    response = client.post("/f/volunteer", data=data)
    assert response.status_code == 422
    assert response_count(app) == 0
    fresh = form_payload(response.get_data(as_text=True), {})["idempotency_key"]
    assert len(fresh) >= 16


def test_link_district_and_prefill(client):
    html = client.get(
        "/f/volunteer?district=bad-kreuznach&email=a%40example.org&first_name=X"
    ).get_data(as_text=True)
    assert 'value="a@example.org"' in html  # email is marked prefill: true
    assert 'id="first_name" name="first_name" value="X"' not in html  # first_name is not
    assert "Bingen am Rhein" not in html  # only Bad Kreuznach's places are offered
    assert "Bad Kreuznach (Stadt)" in html


def test_unknown_district_in_link_is_404_with_explanation(client):
    response = client.get("/f/volunteer?district=atlantis&lang=en")
    assert response.status_code == 404
    assert "This link names a district we do not know." in response.get_data(as_text=True)


def test_unknown_form_is_404(client):
    assert client.get("/f/nope").status_code == 404


def test_hostile_answers_are_stored_as_text_and_escaped(app, submit, client):
    hostile = '"><svg onload=alert(1)>'
    response = submit("volunteer", dict(VOLUNTEER_ANSWERS, first_name=hostile))
    assert response.status_code == 303
    assert stored_answers(app)[0]["first_name"] == [hostile]
    # Re-rendered with an error, the value is escaped, never markup.
    html = submit("volunteer", dict(VOLUNTEER_ANSWERS, first_name=hostile, email="x")).get_data(
        as_text=True
    )
    assert "<svg onload" not in html
    assert "&#34;&gt;&lt;svg onload=alert(1)&gt;" in html


def test_pages_load_nothing_from_other_hosts(client):
    response = client.get("/f/volunteer")
    html = response.get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_thanks_without_submission_goes_back_to_form(client):
    response = client.get("/f/volunteer/thanks")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/f/volunteer")


def test_index_lists_forms_and_languages(client):
    html = client.get("/?lang=ar").get_data(as_text=True)
    assert "العربية" in html
    assert "Deutsch" in html
    assert "English" in html
    assert "/f/volunteer?lang=ar" in html
    assert "/f/newcomer?lang=ar" in html


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_send_on_a_page_whose_answer_opens_a_later_page_shows_that_page(app, client):
    """Page 2 is only for people who say yes on page 1, so page 1 was made with "Send".
    Saying yes and pressing it (no script changed the button) shows page 2, with no
    error for its questions never seen; nothing is stored until page 2 is sent."""
    install_form(app, "car_pages.yaml")
    url = "/f/fahrt?district=mainz-bingen"
    first = client.get(url).get_data(as_text=True)
    assert 'name="nav" value="send"' in first  # page 2 is not due yet
    assert "data-later=" in first  # the browser may make it "Next"
    shown = client.post(url, data=form_payload(first, {"auto": "yes", "nav": "send", "page": "0"}))
    assert shown.status_code == 200
    html = shown.get_data(as_text=True)
    assert "Wie viele Sitze?" in html
    assert "error-summary" not in html
    assert response_count(app) == 0
    page_2 = {"auto": "yes", "sitze": "4", "nav": "send", "page": hidden(html, "page")}
    sent = client.post(url, data=form_payload(html, page_2))
    assert sent.status_code == 303
    assert stored_answers(app)[0]["sitze"] == ["4"]

    no = client.get(url).get_data(as_text=True)
    sent = client.post(url, data=form_payload(no, {"auto": "no", "nav": "send", "page": "0"}))
    assert sent.status_code == 303  # without a car, page 1 is the last: stored
    assert response_count(app) == 2


def test_bold_and_italic_in_form_texts_are_shown_and_nothing_else_is_markup(app, client):
    """XLSForm (Kobo) labels and hints use **bold** and _italic_; everything else a form
    text holds stays text, escaped."""
    import yaml

    from intake.engine.validation import validate
    from intake.extensions import db
    from intake.storage.forms import import_definition

    raw = yaml.safe_load(
        """
form: betont
default_language: de
languages: [de]
title: {de: Betont}
fields:
  - name: wohnort
    type: text
    label: {de: "Ihr **jetziger** Wohnort <script>alert(1)</script>"}
    hint: {de: "_nicht_ die Adresse der Unterkunft, 2*3*4, first_name"}
"""
    )
    with app.app_context():
        import_definition(validate(raw, "betont.yaml"))
        db.session.commit()
    html = client.get("/f/betont?district=mainz-bingen").get_data(as_text=True)
    assert "Ihr <strong>jetziger</strong> Wohnort &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<em>nicht</em> die Adresse der Unterkunft, 2*3*4, first_name" in html
    assert "<script>alert" not in html


def test_a_text_inserts_an_earlier_answer_escaped(app, client):
    """Page 2 asks "Wie alt ist ${name}?": the answer from page 1 is in the question, as
    text (a hostile answer stays text), and the browser gets the place to keep current."""
    import yaml

    from intake.engine.validation import validate
    from intake.extensions import db
    from intake.storage.forms import import_definition

    raw = yaml.safe_load(
        """
form: kind
default_language: de
languages: [de, ar]
title: {de: Kind, ar: طفل}
fields:
  - {name: name, type: text, required: true, label: {de: Name des Kindes, ar: اسم الطفل}}
  - {name: seite_2, type: page, label: {de: "Über ${name}", ar: "عن ${name}"}}
  - name: alter
    type: integer
    label: {de: "Wie alt ist ${name}?", ar: "كم عمر ${name}؟"}
    hint: {de: "In Jahren (${name})"}
"""
    )
    with app.app_context():
        import_definition(validate(raw, "kind.yaml"))
        db.session.commit()
    url = "/f/kind?district=mainz-bingen&lang=ar"
    first = client.get(url).get_data(as_text=True)
    answers = {"name": "Samir <b>", "nav": "next", "page": "0"}
    second = client.post(url, data=form_payload(first, answers)).get_data(as_text=True)
    inserted = '<bdi class="inserted" data-insert="name">Samir &lt;b&gt;</bdi>'
    assert f"كم عمر {inserted}؟" in second
    assert f"عن {inserted}" in second  # the page title
    assert "<b>" not in second.split("<body", 1)[1].replace("<body", "")


def test_a_text_may_insert_only_questions_that_exist():
    from intake.engine.validation import DefinitionError, validate

    raw = {
        "form": "kurz",
        "default_language": "de",
        "languages": ["de"],
        "title": {"de": "Kurz"},
        "fields": [{"name": "alter", "type": "integer", "label": {"de": "Alter von ${kind}"}}],
    }
    with pytest.raises(DefinitionError) as caught:
        validate(raw, "kurz.yaml")
    assert caught.value.problems == ["field 'alter': 'label' inserts ${kind}, no such field"]


def test_a_calculated_value_is_made_by_the_server_whatever_was_posted(app, client):
    """size = adults + children: the server computes it from the answers (a posted value
    is ignored), inserts it into later texts, uses it in conditions and stores it."""
    install_form(app, "household.yaml")
    url = "/f/haushalt?district=mainz-bingen"
    first = client.get(url).get_data(as_text=True)
    answers = {"adults": "2", "children": "3", "size": "999", "rooms": "3", "nav": "next"}
    second = client.post(url, data=form_payload(first, {**answers, "page": "0"}))
    html = second.get_data(as_text=True)
    assert second.status_code == 200
    assert (
        'Noch etwas zu Ihrem Haushalt (<bdi class="inserted" data-insert="size">5</bdi>)?' in html
    )
    assert 'name="size" value="5"' in html  # carried as computed
    sent = client.post(url, data=form_payload(html, {**answers, "nav": "send", "page": "1"}))
    assert sent.status_code == 303
    [stored] = stored_answers(app)
    assert stored["size"] == ["5"]
    assert stored["rooms"] == ["3"]  # asked because size > 4
