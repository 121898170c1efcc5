"""The form engine through the public pages, without JavaScript: every type, logic, pages.

The test form tests/forms/all_types.yaml uses every field type and every logic key on
three pages. `Respondent` fills it in like a browser without JavaScript: it submits
every control of the page as rendered (the other pages' answers in hidden inputs,
ticked boxes, selected options) with what the test types, and presses a button.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from flask_babel import force_locale, gettext
from markupsafe import escape

from intake.engine.definition import load_file
from intake.extensions import db
from intake.storage.forms import import_definition
from tests.conftest import response_count, stored_answers

ALL_TYPES = Path(__file__).parent / "forms" / "all_types.yaml"
SLUG = "all-types"
RAW = yaml.safe_load(ALL_TYPES.read_text(encoding="utf-8"))
RAW_FIELDS = {f["name"]: f for f in RAW["fields"]}


def import_all_types(app) -> str:
    """Publish the test form in the app's database; returns its slug."""
    with app.app_context():
        import_definition(load_file(ALL_TYPES))
        db.session.commit()
    return SLUG


@pytest.fixture
def all_types_form(app) -> str:
    """The test form, published."""
    return import_all_types(app)


# --- a browser without JavaScript ------------------------------------------------------


class FormControls(HTMLParser):
    """What a browser would submit from the public form of a page (buttons aside)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.inside = False
        self.action = ""
        self.pairs: list[tuple[str, str]] = []
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []
        self.textarea: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and "public-form" in (a.get("class") or ""):
            self.inside, self.action = True, a["action"]
        if not self.inside or "disabled" in a:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") in ("radio", "checkbox"):
                if "checked" in a:
                    self.pairs.append((a["name"], a.get("value") or "on"))
            elif a.get("type") not in ("submit", "button"):
                self.pairs.append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self.select, self.options = a["name"], []
        elif tag == "option" and self.select:
            self.options.append((a.get("value") or "", "selected" in a))
        elif tag == "textarea":
            self.textarea, self.text = a["name"], []

    def handle_data(self, data):
        if self.textarea:
            self.text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            chosen = [value for value, selected in self.options if selected]
            if chosen or self.options:
                self.pairs.append((self.select, (chosen or [self.options[0][0]])[0]))
            self.select = None
        elif tag == "textarea" and self.textarea:
            text = "".join(self.text)
            self.pairs.append((self.textarea, text[1:] if text.startswith("\n") else text))
            self.textarea = None


class Respondent:
    """Someone filling in a form with the test client, as in a browser without JavaScript."""

    def __init__(self, client, query: str = "?lang=de", slug: str = SLUG):
        self.client = client
        self.response = client.get(f"/f/{slug}{query}")
        assert self.response.status_code == 200
        self._read()

    def _read(self) -> None:
        self.html = self.response.get_data(as_text=True)
        controls = FormControls()
        controls.feed(self.html)
        self.action, self.pairs = controls.action, controls.pairs

    @property
    def values(self) -> dict[str, list[str]]:
        """The answers the page holds now (shown or carried), as they would be sent."""
        out: dict[str, list[str]] = {}
        for name, value in self.pairs:
            out.setdefault(name, []).append(value)
        return out

    def press(self, nav: str, **answers: str | list[str] | None):
        """Change answers (None clears one) and press Next, Back or Send."""
        data = self.values
        for name, value in answers.items():
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value if isinstance(value, list) else [value]
        data["nav"] = [nav]
        self.response = self.client.post(self.action, data=data)
        assert self.response.status_code in (200, 303, 422), self.response.status_code
        if self.response.status_code != 303:
            self._read()
        return self.response

    def next(self, **answers):
        return self.press("next", **answers)

    def back(self, **answers):
        return self.press("back", **answers)

    def send(self, **answers):
        return self.press("send", **answers)

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def progress(self) -> str | None:
        match = re.search(r'<p id="progress-label">([^<]*)</p>', self.html)
        return match.group(1) if match else None

    @property
    def page_title(self) -> str | None:
        match = re.search(r'<h2 class="page-title">([^<]*)</h2>', self.html)
        return match.group(1) if match else None

    @property
    def summary(self) -> str:
        """The text of the error summary ('' when there is none)."""
        match = re.search(r'<div class="error-summary".*?</ul>', self.html, re.S)
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0))) if match else ""

    def question(self, name: str) -> str:
        """The HTML of one question: label, hint, errors and inputs."""
        start = self.html.index(f'id="q-{name}"')
        ends = [
            self.html.find(marker, start)
            for marker in ('<div class="question', '<div class="note"', '<div class="form-nav"')
        ]
        return self.html[start : min(end for end in ends if end != -1)]

    def errors(self, name: str) -> list[str]:
        """The messages shown next to a question."""
        match = re.search(
            rf'<ul class="field-errors" id="{name}-error">(.*?)</ul>', self.question(name), re.S
        )
        if not match:
            return []
        return [
            re.sub(r"<[^>]+>", "", item).split(maxsplit=1)[1].strip()
            for item in re.findall(r"<li>(.*?)</li>", match.group(1), re.S)
        ]

    def reference(self) -> str:
        assert self.response.status_code == 303
        thanks = self.client.get(self.response.headers["Location"]).get_data(as_text=True)
        return re.search(r'<bdi dir="ltr">([A-Z0-9-]+)</bdi>', thanks).group(1)


def message(app, lang: str, msgid: str, **variables) -> str:
    """A message of our catalogs in `lang`, as the page shows it (translated, not English)."""
    with app.test_request_context(), force_locale(lang):
        text = gettext(msgid, **variables)
    if lang != "en":
        assert text != msgid % variables, f"{msgid!r} is not translated into {lang}"
    return text


def html_lang_dir(html: str) -> tuple[str, str]:
    return re.search(r'<html lang="([^"]+)" dir="([^"]+)">', html).groups()


PAGE_1 = {
    "full_name": "Layla Haddad",
    "age": "34",
    "contact": "phone",
    "phone": "0151 23456789",
    "arrival": "31.12.2025",
    "municipality": "vg-nieder-olm",
}
PAGE_2 = {"children": "2", "children_ages": "3 und 7", "housing": "shared", "rent": "450,50"}
PAGE_3 = {
    "needs": ["housing", "language"],
    "german": "3",
    "course": "b1",
    "interpreter": "yes",
    "interpreter_language": "Arabisch",
    "comments": "Ich kann vormittags.\nAm liebsten dienstags.",
    "consent": "yes",
}
STORED = {
    "full_name": ["Layla Haddad"],
    "age": ["34"],
    "contact": ["phone"],
    "phone": ["+4915123456789"],
    "arrival": ["2025-12-31"],
    "municipality": ["vg-nieder-olm"],
    "children": ["2"],
    "household": ["3"],  # calculated: ${children} + 1, whatever the browser posted
    "children_ages": ["3 und 7"],
    "housing": ["shared"],
    "rent": ["450.5"],
    "needs": ["housing", "language"],
    "german": ["3"],
    "course": ["b1"],
    "interpreter": ["yes"],
    "interpreter_language": ["Arabisch"],
    "contacts": ["0"],  # a repeat with no entries added: asked, and none
    "comments": ["Ich kann vormittags.\nAm liebsten dienstags."],
    "consent": ["yes"],
}


def reach(client, page: int, lang: str = "de", query: str = "") -> Respondent:
    """A respondent on page 1, 2 or 3, with valid answers on the pages before."""
    person = Respondent(client, f"?lang={lang}{query}")
    for answers in (PAGE_1, PAGE_2)[: page - 1]:
        person.next(**answers)
        assert person.status == 200, person.summary
    assert person.progress is not None
    assert person.progress.split()[1] == str(page)
    return person


# --- every type renders, in German and Arabic -----------------------------------------

PAGE_FIELDS = {
    1: ["full_name", "age", "minor_note", "contact", "email", "phone", "arrival", "municipality"],
    2: ["children", "children_ages", "housing", "rent", "housing_benefit"],
    3: [
        "needs",
        "benefit_note",
        "german",
        "course",
        "interpreter",
        "interpreter_language",
        "comments",
        "consent",
    ],
}
PAGE_TITLES = {1: "p_about", 2: "p_family", 3: "p_help"}


@pytest.mark.parametrize(("lang", "direction"), [("de", "ltr"), ("ar", "rtl")])
@pytest.mark.parametrize("page", [1, 2, 3])
def test_every_type_is_shown_with_its_labels(app, client, all_types_form, lang, direction, page):
    person = reach(client, page, lang)
    html = person.html
    assert html_lang_dir(html) == (lang, direction)
    assert escape(RAW["title"][lang]) in html
    assert person.page_title == escape(RAW_FIELDS[PAGE_TITLES[page]]["label"][lang])
    assert person.progress == message(
        app, lang, "Page %(number)s of %(total)s", number=page, total=3
    )
    for name in PAGE_FIELDS[page]:
        field = RAW_FIELDS[name]
        assert escape(field["label"][lang]) in html, name
        for choice in field.get("choices", []):
            assert escape(choice["label"][lang]) in html, (name, choice["value"])
        if field.get("hint"):
            assert escape(field["hint"][lang]) in html
        # No text of another language leaks in.
        other = "ar" if lang == "de" else "de"
        assert escape(field["label"][other]) not in html, name
    if page == 1:
        assert 'name="campaign" value=""' in html  # hidden: no label, nothing to see
        assert 'type="email" autocomplete="email" dir="ltr"' in html
        assert 'type="tel" autocomplete="tel" dir="ltr"' in html
        assert 'type="date" dir="ltr"' in html
        assert message(app, lang, "Please choose") in person.question("municipality")
    if page == 2:
        assert '<select id="housing" name="housing" aria-required="true"' in html
        assert 'inputmode="decimal"' in person.question("rent")
        assert "<textarea" in person.question("children_ages")
    if page == 3:
        assert 'class="options scale"' in person.question("german")
        assert person.question("german").count('type="radio"') == 5
        assert person.question("needs").count('type="checkbox"') == 4
        assert message(app, lang, "Other") in person.question("needs")
        assert message(app, lang, "Other, please specify") in person.question("needs_other")
        assert message(app, lang, "Yes") in person.question("interpreter")
        assert message(app, lang, "No") in person.question("interpreter")
        assert escape(RAW["privacy"]["notice"][lang]) in html
        assert message(app, lang, "Send answers") in html
    else:
        assert message(app, lang, "Next") in html


# --- invalid answers: the message in the respondent's language, next to the question ----

# (page, changes to the page's valid answers, {field: (msgid, variables)}); the msgid None
# stands for the definition's own constraint_message.
INVALID = [
    (
        1,
        {
            "full_name": "",
            "age": "drei",
            "contact": "fax",
            "phone": "12",
            "arrival": "31.02.2026",
            "municipality": "atlantis",
        },
        {
            "full_name": ("Please answer this question.", {}),
            "age": ("Please enter a whole number, for example 3.", {}),
            "contact": ("Please choose one of the offered answers.", {}),
            "phone": (
                "Please enter a phone number, for example 0151 23456789 or +49 151 23456789.",
                {},
            ),
            "arrival": ("Please enter a date like 31.12.2026.", {}),
            "municipality": ("Please choose one of the offered answers.", {}),
        },
    ),
    (
        1,
        {
            "full_name": "x" * 101,
            "age": "150",
            "contact": "email",
            "email": "layla-at-example.org",
            "arrival": "2099-01-01",
            "municipality": "",
        },
        {
            "full_name": ("Please use at most %(limit)d characters.", {"limit": 100}),
            "age": ("Please enter %(max)s or less.", {"max": "120"}),
            "email": ("Please enter an email address like name@example.org.", {}),
            "arrival": ("Please check this answer.", {}),
            "municipality": ("Please choose an answer.", {}),
        },
    ),
    (
        1,
        {"age": "10", "contact": None},
        {"age": (None, {}), "contact": ("Please choose an answer.", {})},
    ),
    (
        1,
        {"age": "-1", "phone": ""},
        {
            "age": ("Please enter %(min)s or more.", {"min": "0"}),
            "phone": ("Please answer this question.", {}),
        },
    ),
    (
        2,
        {"children": "-1", "housing": "castle", "rent": "viel"},
        {
            "children": ("Please enter %(min)s or more.", {"min": "0"}),
            "housing": ("Please choose one of the offered answers.", {}),
            "rent": ("Please enter a number, for example 2.5.", {}),
        },
    ),
    (
        2,
        {"children": "2", "children_ages": "  ", "housing": "", "rent": "6000"},
        {
            "children_ages": ("Please answer this question.", {}),
            "housing": ("Please choose an answer.", {}),
            "rent": ("Please check this answer.", {}),
            # ${rent} >= 1000 holds, even though 6000 breaks the rent's own constraint.
            "housing_benefit": ("Please choose an answer.", {}),
        },
    ),
    (
        2,
        {"children": "2.5", "rent": "-5"},
        {
            "children": ("Please enter a whole number, for example 3.", {}),
            "rent": ("Please enter %(min)s or more.", {"min": "0"}),
        },
    ),
    (
        3,
        {
            "needs": None,
            "german": "9",
            "interpreter": "maybe",
            "comments": "x" * 501,
            "consent": None,
        },
        {
            "needs": ("Please choose an answer.", {}),
            "german": ("Please choose one of the offered answers.", {}),
            "interpreter": ("Please choose one of the offered answers.", {}),
            "comments": ("Please use at most %(limit)d characters.", {"limit": 500}),
            "consent": ("Please tick this box to continue.", {}),
        },
    ),
    (
        3,
        {
            "needs": ["other"],
            "needs_other": "",
            "german": None,
            "interpreter": "yes",
            "interpreter_language": "",
        },
        {
            "needs_other": ("Please answer this question.", {}),
            "german": ("Please choose an answer.", {}),
            "interpreter_language": ("Please answer this question.", {}),
        },
    ),
    (
        3,
        {"needs": ["language", "work"], "german": "1", "course": "c1", "interpreter": None},
        {
            "course": ("Please choose one of the offered answers.", {}),
            "interpreter": ("Please choose an answer.", {}),
        },
    ),
]


@pytest.mark.parametrize("lang", ["de", "ar"])
@pytest.mark.parametrize(("page", "answers", "expected"), INVALID)
def test_invalid_answers_are_explained_next_to_the_question(
    app, client, all_types_form, lang, page, answers, expected
):
    person = reach(client, page, lang)
    valid = (PAGE_1, PAGE_2, PAGE_3)[page - 1]
    person.press("next" if page < 3 else "send", **{**valid, **answers})
    assert person.status == 422
    assert person.progress.split()[1] == str(page)  # still on the same page
    assert html_lang_dir(person.html)[0] == lang
    summary = person.html.split('class="error-summary"')[1].split("</div>")[0]
    for name, (msgid, variables) in expected.items():
        if msgid is None:
            text = RAW_FIELDS[name]["constraint_message"][lang]
        else:
            text = message(app, lang, msgid, **variables)
        assert person.errors(name) == [str(escape(text))], name
        assert 'aria-invalid="true"' in person.question(name), name
        assert f'aria-describedby="{name}-error"' in person.question(name) or (
            f'aria-describedby="{name}-hint {name}-error"' in person.question(name)
        )
        assert escape(text) in summary
    # Only the questions with a problem are marked.
    marked = re.findall(r'<ul class="field-errors" id="([a-z_]+)-error">', person.html)
    assert sorted(marked) == sorted(expected)
    # Nothing is stored, and what was typed is still there.
    assert response_count(app) == 0
    for name, value in answers.items():
        if isinstance(value, str) and value.strip() and name in PAGE_FIELDS[page]:
            if RAW_FIELDS[name]["type"] in ("text", "textarea", "integer", "decimal", "date"):
                assert person.values[name] == [value], name


@pytest.mark.parametrize(
    ("lang", "custom", "default"),
    [
        ("de", "Sie müssen mindestens 16 Jahre alt sein.", "Bitte prüfen Sie diese Antwort."),
        ("en", "You must be at least 16 years old.", "Please check this answer."),
        ("ar", "يجب أن يكون عمرك 16 سنة على الأقل.", "يرجى التحقق من هذه الإجابة."),
    ],
)
def test_constraint_message_in_the_chosen_language(client, all_types_form, lang, custom, default):
    person = reach(client, 1, lang)
    person.next(**dict(PAGE_1, age="15", arrival="2099-12-31"))
    assert person.status == 422
    assert person.errors("age") == [custom]
    assert person.errors("arrival") == [default]  # no constraint_message: the general one


def test_constraints_see_typed_dates_and_decimal_commas_as_stored(app, client, all_types_form):
    # "31.12.2025" is before today and "450,50" is below 5000, although as text they
    # would compare otherwise.
    person = reach(client, 1)
    person.next(**dict(PAGE_1, arrival="31.12.2025"))
    assert person.status == 200, person.errors("arrival")
    person.next(**dict(PAGE_2, rent="4999,99", housing_benefit="yes"))
    assert person.status == 200, person.errors("rent")
    assert person.progress == "Seite 3 von 3"


# --- logic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rent", "stored"),
    [("1200,50", "1200.5"), ("1200.50", "1200.5"), (" 1 200,5 ", "1200.5"), ("1000", "1000")],
)
def test_conditions_read_a_decimal_comma_as_a_number(app, client, all_types_form, rent, stored):
    person = reach(client, 2)
    person.next(**dict(PAGE_2, rent=rent))  # "${rent} >= 1000": asked, so required
    assert person.status == 422
    assert person.errors("housing_benefit") == ["Bitte wählen Sie eine Antwort."]
    person.next(housing_benefit="no")
    assert person.progress == "Seite 3 von 3"
    person.send(**PAGE_3)
    [answers] = stored_answers(app, person.reference())
    assert answers["housing_benefit"] == ["no"]
    assert answers["rent"] == [stored]


@pytest.mark.parametrize("rent", ["999,99", "", "viel"])
def test_below_the_threshold_the_question_is_not_asked(app, client, all_types_form, rent):
    person = reach(client, 2)
    person.next(**dict(PAGE_2, rent=rent, housing_benefit="yes"))
    if rent == "viel":
        assert person.errors("rent") == ["Bitte geben Sie eine Zahl ein, zum Beispiel 2,5."]
        assert person.errors("housing_benefit") == []
        return
    assert person.progress == "Seite 3 von 3"
    person.send(**PAGE_3)
    assert "housing_benefit" not in stored_answers(app, person.reference())[0]


def test_conditions_read_a_typed_date_as_a_date(client, all_types_form):
    # Expressions see "31.12.2025" as "2025-12-31", like the date picker's value.
    from intake.engine import logic
    from intake.engine.definition import FormDefinition

    definition = FormDefinition(load_file(ALL_TYPES))
    state = logic.evaluate_state(definition, {"arrival": ["31.12.2025"], "rent": ["1 200,5"]})
    assert state.lookup("arrival") == "2025-12-31"
    assert state.lookup("rent") == "1200.5"
    assert state.values["rent"] == ["1 200,5"]  # as typed, for showing it again


def test_required_if_only_when_its_condition_holds(client, all_types_form):
    person = reach(client, 1)
    person.next(**dict(PAGE_1, contact="phone", phone=""))
    assert person.status == 422
    assert person.errors("phone") == ["Bitte beantworten Sie diese Frage."]
    assert 'aria-required="true"' not in person.question("phone")  # it depends
    person.next(contact="office", phone="")
    assert person.status == 200
    assert person.progress == "Seite 2 von 3"


def test_answers_to_questions_that_end_up_hidden_are_not_stored(app, client, all_types_form):
    person = reach(client, 1)
    # Hidden by an answer on the same page: shown without JavaScript, not checked.
    person.next(**dict(PAGE_1, contact="phone", email="not an address"))
    assert person.status == 200
    assert "email" not in person.values  # not carried to the next page
    person.next(**dict(PAGE_2, children="0", children_ages="wird nicht gespeichert"))
    assert person.status == 200
    person.send(
        **dict(
            PAGE_3,
            needs=["housing"],
            needs_other="wird nicht gespeichert",
            course="a1",  # only asked when 'language' is among the needs
            interpreter="no",
            interpreter_language="Tigrinya",
            email="tampered@example.org",  # as if carried from page 1
        )
    )
    [answers] = stored_answers(app, person.reference())
    for name in ("email", "children_ages", "needs_other", "course", "interpreter_language"):
        assert name not in answers, name
    assert answers["children"] == ["0"]
    assert answers["needs"] == ["housing"]
    assert answers["interpreter"] == ["no"]


def test_choice_filter_uses_the_choices_data(app, client, all_types_form):
    person = reach(client, 3)
    options = re.findall(r'data-choice="([^"]+)"', person.question("course"))
    assert len(options) == 3  # the browser needs each choice's data to filter
    person.send(**dict(PAGE_3, german="1", course="c1"))
    assert person.errors("course") == ["Bitte wählen Sie eine der vorgegebenen Antworten."]
    person.send(german="5", course="c1")
    [answers] = stored_answers(app, person.reference())
    assert (answers["german"], answers["course"]) == (["5"], ["c1"])


def test_other_adds_a_choice_and_asks_to_specify_only_when_chosen(app, client, all_types_form):
    person = reach(client, 3)
    assert 'value="other"' in person.question("needs")
    assert "<span>Sonstiges</span>" in person.question("needs")
    assert "Sonstiges, bitte angeben" in person.question("needs_other")
    person.send(**dict(PAGE_3, needs=["work", "other"], needs_other=""))
    assert person.status == 422
    assert person.errors("needs_other") == ["Bitte beantworten Sie diese Frage."]
    person.send(needs_other="Kinderbetreuung")
    [answers] = stored_answers(app, person.reference())
    assert answers["needs"] == ["work", "other"]
    assert answers["needs_other"] == ["Kinderbetreuung"]


def test_other_text_is_not_required_without_other(app, client, all_types_form):
    person = reach(client, 3)
    person.send(**dict(PAGE_3, needs=["work"], needs_other=""))
    assert "needs_other" not in stored_answers(app, person.reference())[0]


def test_hidden_field_is_filled_from_the_link_and_stored(app, client, all_types_form):
    person = reach(client, 1, query="&campaign=wa-2026&full_name=Mallory")
    assert person.values["campaign"] == ["wa-2026"]
    assert person.values["full_name"] == [""]  # only fields with prefill: true
    person.next(**PAGE_1)
    assert person.values["campaign"] == ["wa-2026"]  # carried along
    person.next(**PAGE_2)
    person.send(**PAGE_3)
    [answers] = stored_answers(app, person.reference())
    assert answers["campaign"] == ["wa-2026"]


# --- pages without JavaScript ------------------------------------------------------------


def test_pages_next_back_and_send(app, client, all_types_form):
    person = Respondent(client, "?lang=de")
    assert person.progress == "Seite 1 von 3"
    assert person.page_title == "Über Sie"
    assert 'aria-valuenow="1"' in person.html
    assert "Zurück" not in person.html  # nothing before the first page

    # Next with a problem: stay on page 1 with the message.
    person.next(**dict(PAGE_1, full_name=""))
    assert person.status == 422
    assert person.progress == "Seite 1 von 3"
    assert person.errors("full_name") == ["Bitte beantworten Sie diese Frage."]
    assert "Bitte prüfen Sie Ihre Antworten" in person.html

    person.next(**PAGE_1)
    assert person.status == 200
    assert (person.progress, person.page_title) == ("Seite 2 von 3", "Familie und Wohnung")
    assert 'aria-valuenow="2"' in person.html
    assert person.values["full_name"] == ["Layla Haddad"]  # carried in a hidden input
    assert '<input type="hidden" name="full_name" value="Layla Haddad">' in person.html

    person.next(**PAGE_2)
    assert (person.progress, person.page_title) == ("Seite 3 von 3", "Unterstützung")
    assert "Antworten senden" in person.html
    assert "Weiter" not in person.html

    # Back keeps every answer, including the ones of the page being left.
    person.back(needs=["work"], german="4")
    assert (person.status, person.progress) == (200, "Seite 2 von 3")
    for name, value in PAGE_2.items():
        assert person.values[name] == [value], name
    assert '<option value="shared" selected>' in person.question("housing")
    assert person.values["german"] == ["4"]
    person.back()
    assert person.progress == "Seite 1 von 3"
    for name, value in PAGE_1.items():
        assert person.values[name] == [value], name
    assert 'value="phone"\n               checked' in person.question("contact")

    person.next()
    person.next()
    assert person.progress == "Seite 3 von 3"
    assert person.values["needs"] == ["work"]
    assert person.values["german"] == ["4"]
    person.send(**PAGE_3)
    assert person.status == 303
    reference = person.reference()
    assert response_count(app) == 1
    [answers] = stored_answers(app, reference)
    assert answers == STORED


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_a_page_whose_condition_is_false_is_skipped(app, client, all_types_form, lang):
    def progress(number, total):
        return message(app, lang, "Page %(number)s of %(total)s", number=number, total=total)

    person = reach(client, 1, lang)
    assert person.progress == progress(1, 3)
    person.next(**dict(PAGE_1, age="16"))
    assert person.progress == progress(2, 2)
    assert person.page_title == RAW_FIELDS["p_help"]["label"][lang]
    person.back()
    assert person.progress == progress(1, 2)
    person.next(age="34")
    assert person.progress == progress(2, 3)
    assert person.page_title == RAW_FIELDS["p_family"]["label"][lang]


def test_answers_of_a_page_that_is_skipped_later_are_not_stored(app, client, all_types_form):
    person = reach(client, 3)
    person.back()
    person.back()
    assert person.values["children"] == ["2"]  # page 2's answers carried on page 1
    person.next(age="17")
    assert person.progress == "Seite 2 von 2"
    assert "children" not in person.values
    person.send(**PAGE_3)
    [answers] = stored_answers(app, person.reference())
    assert answers["age"] == ["17"]
    for name in PAGE_2:
        assert name not in answers


@pytest.mark.parametrize("page", ["", "abc", "-1", "99", "1.5", "²", "٢", "0x1", " 1"])
def test_a_tampered_page_number_falls_back_to_the_first_page(client, all_types_form, page):
    person = reach(client, 1)
    person.next(**dict(PAGE_1, page=page))
    # Read as page 1: its answers are checked and page 2 follows.
    assert person.status == 200
    assert person.progress == "Seite 2 von 3"


def test_a_page_number_of_a_skipped_page_moves_on_safely(client, all_types_form):
    person = reach(client, 1)
    person.next(**dict(PAGE_1, age="16"))
    assert person.progress == "Seite 2 von 2"
    person.back(page="1")  # page 2, which is skipped
    assert person.progress == "Seite 1 von 2"
    person.next(page="1")
    assert person.progress == "Seite 2 von 2"


@pytest.mark.parametrize(
    ("tampered", "progress", "field"),
    [
        ({"age": "alt"}, "Seite 1 von 3", "age"),
        ({"full_name": None}, "Seite 1 von 3", "full_name"),
        ({"children": "-3"}, "Seite 2 von 3", "children"),
    ],
)
def test_send_with_a_problem_on_an_earlier_page_goes_back_there(
    app, client, all_types_form, tampered, progress, field
):
    person = reach(client, 3)
    person.send(**PAGE_3, **tampered)
    assert person.status == 422
    assert person.progress == progress
    assert person.errors(field)
    assert 'aria-invalid="true"' in person.question(field)
    assert response_count(app) == 0
    # The last page's answers travel along, so nothing is lost.
    assert person.values["needs"] == PAGE_3["needs"]
    assert person.values["consent"] == ["yes"]


def test_arabic_and_persian_digits_are_read_as_numbers(app, submit):
    from tests.conftest import NEWCOMER_ANSWERS_BK, stored_answers

    answers = dict(NEWCOMER_ANSWERS_BK, adults="٢", children="۳", phone="٠١٧١ ٩٨٧٦٥٤٣")
    response = submit("newcomer", answers, "?lang=ar")
    assert response.status_code == 303
    [stored] = stored_answers(app)
    assert (stored["adults"], stored["children"]) == (["2"], ["3"])
    assert stored["phone"] == ["+491719876543"]


def test_switching_language_in_the_middle_keeps_every_answer(app, client, all_types_form):
    """The language buttons of a form submit it: page and answers stay, labels change."""
    from tests.conftest import form_payload

    page = client.get("/f/newcomer?lang=de").get_data(as_text=True)
    assert 'data-switch-lang="ar"' in page
    data = form_payload(page, {"name": "Samir Haddad", "adults": "2", "needs": ["housing"]})
    data["switch_lang"] = "ar"
    response = client.post("/f/newcomer?lang=de", data=data)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert 'value="Samir Haddad"' in html
    assert 'value="2"' in html
    assert re.search(r'value="housing"\s+checked', html)
    assert 'role="alert"' not in html  # nothing was checked yet
    # The choice is remembered for the next page view.
    assert '<html lang="ar"' in client.get("/f/volunteer").get_data(as_text=True)


def test_text_missing_in_a_language_falls_back_visibly(app, client):
    """A label the form lacks in French shows in German, marked as German, never a raw id."""
    import yaml

    from intake.engine.validation import validate
    from intake.extensions import db
    from intake.storage.forms import import_definition

    raw = yaml.safe_load(
        """
form: kurz
default_language: de
languages: [de, fr]
title: {de: Kurzes Formular, fr: Formulaire court}
fields:
  - name: municipality
    type: municipality
    required: true
    label: {de: Wohnort, fr: Lieu de résidence}
  - name: mood
    type: single_choice
    label: {de: Wie geht es Ihnen}
    choices:
      - {value: good, label: {de: Gut, fr: Bien}}
      - {value: bad, label: {de: Schlecht}}
"""
    )
    with app.app_context():
        import_definition(validate(raw, "kurz.yaml"))
        db.session.commit()
    app.config["LANGUAGES"] = [*app.config["LANGUAGES"], "fr"]
    html = client.get("/f/kurz?lang=fr").get_data(as_text=True)
    assert '<span lang="de" dir="ltr" class="fallback">Wie geht es Ihnen</span>' in html
    assert '<span lang="de" dir="ltr">Schlecht</span>' in html
    assert html.count('class="fallback-tag" lang="de">Deutsch</span>') == 2
    assert "Lieu de résidence" in html


def test_calculations_that_feed_each_other_cannot_grow_without_end():
    """Each calculation doubles the one before: 2**40 characters unbounded; each value
    is cut to the longest answer, so a form author's chain costs what ten answers cost."""
    from intake.engine import logic
    from intake.engine.definition import FormDefinition
    from intake.engine.validation import validate

    fields = [{"name": "seed", "type": "text", "label": {"de": "Text"}}]
    for number in range(40):
        before = fields[-1]["name"]
        fields.append(
            {
                "name": f"c{number}",
                "type": "calculate",
                "calculation": f"concat(${{{before}}}, ${{{before}}})",
            }
        )
    raw = {"form": "lang", "default_language": "de", "languages": ["de"], "title": {"de": "L"}}
    definition = FormDefinition(validate({**raw, "fields": fields}, "lang.yaml"))
    state = logic.evaluate_state(definition, {"seed": ["ab" * 5000]})
    assert len(state.values["c39"][0]) == logic.CALCULATED_MAX
