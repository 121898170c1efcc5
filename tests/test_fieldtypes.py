"""The field-type registry: every type is complete, and stored answers read as before."""

from __future__ import annotations

import csv
import io
import re
from html import unescape
from pathlib import Path

import pytest
from openpyxl import load_workbook

from intake.engine import fieldtypes
from intake.engine.definition import FormDefinition, load_file
from intake.engine.fieldtypes import FIELD_TYPES
from intake.engine.validation import DefinitionError, validate
from intake.engine.xlsform import write_xlsform
from intake.wtforms_adapter import FACTORIES
from tests.test_engine import ALL_TYPES, PAGE_1, PAGE_2, PAGE_3, Respondent, import_all_types

PARTIALS = Path(__file__).resolve().parent.parent / "templates" / "macros" / "fields"


@pytest.mark.parametrize("name", list(FIELD_TYPES))
def test_every_type_has_a_partial_and_a_form_field(name):
    kind = FIELD_TYPES[name]
    partials = {kind.partial, *(partial for _appearance, partial in kind.appearances)}
    if kind.page_break:
        assert partials == {None}  # the page template shows the page's title
    for partial in partials - {None}:
        assert (PARTIALS / f"{partial}.html").is_file(), partial
    # Only answers become form fields, and each answer type has its factory.
    assert (kind.wtforms in FACTORIES) is kind.answerable


def test_the_all_types_form_uses_every_type():
    used = {f["type"] for f in load_file(ALL_TYPES)["fields"]}
    assert used == set(FIELD_TYPES)


def _field_with(name: str, key: str | None = None) -> dict:
    """A field of type `name` (with choices when it needs them), plus one more `key`."""
    field: dict = {"name": "q", "type": name, "label": {"de": "Frage"}}
    if FIELD_TYPES[name].choice:
        field["choices"] = [{"value": "a", "label": {"de": "A"}}]
    if FIELD_TYPES[name].calculated:
        field["calculation"] = "1 + 1"
    entry = [{"name": "entry_q", "type": "text", "label": {"de": "Eintrag"}}]
    if FIELD_TYPES[name].repeat:
        field["fields"] = entry
    values = {
        "fields": entry,
        "min_count": 0,
        "max_count": 3,
        "repeat_count": "1 + 1",
        "default": "x",
        "choices": [{"value": "a", "label": {"de": "A"}}],
        "choice_filter": "true()",
        "appearance": (FIELD_TYPES[name].appearances or (("radio", ""),))[0][0],
        "other": True,
        "report_languages": "offered",
        "min": 1,
        "max": 5,
        "max_length": 10,
        "calculation": "concat('a', 'b')",
    }
    if key:
        field[key] = values[key]
    return field


def _problems(field: dict) -> list[str]:
    raw = {"form": "survey", "default_language": "de", "languages": ["de"]}
    raw.update(title={"de": "Umfrage"}, fields=[field])
    try:
        validate(raw, "survey.yaml")
    except DefinitionError as exc:
        return exc.problems
    return []


ALL_KEYS = sorted({key for kind in FIELD_TYPES.values() for key in kind.keys})


@pytest.mark.parametrize("name", list(FIELD_TYPES))
def test_a_type_takes_exactly_its_own_keys(name):
    kind = FIELD_TYPES[name]
    assert _problems(_field_with(name)) == []
    for key in ALL_KEYS:
        problems = _problems(_field_with(name, key))
        if key in kind.keys:
            assert problems == [], (key, problems)
        else:
            assert problems, key
            assert all(f"'{key}'" in problem for problem in problems), key


# --- a stored answer as a coordinator reads it ----------------------------------------

ANSWERS = {
    **PAGE_1,
    **dict(PAGE_2, rent="1200", housing_benefit="no"),
    **dict(PAGE_3, needs=["housing", "language", "other"], needs_other="Sprachcafé"),
    "german": "5",
    "course": "c1",
}
#: What the response page (in English) shows per question, by type.
SHOWN = {
    "How can we reach you?": ["Phone"],  # single_choice
    "Where are you staying?": ["Shared accommodation"],  # single_choice, appearance: select
    "What do you need help with?": ["Finding a flat", "Learning German", "Other"],  # multiple
    "What do you need help with? – Other": ["Sprachcafé"],  # its "please specify" text
    "How well do you speak German?": ["5 – very well"],  # rating
    "Do you receive housing benefit?": ["No"],  # yes_no
    "Do you need an interpreter?": ["Yes"],  # yes_no
    "I agree that the coordination office stores my details.": ["Yes"],  # consent
    "Where do you live?": ["VG Nieder-Olm (Nieder-Olm, Essenheim, Zornheim …)"],  # municipality
    "Your name": ["Layla Haddad"],  # text, as stored from here on
    "How old are you?": ["34"],  # integer
    "Phone number": ["+4915123456789"],  # phone
    "Since when have you been here?": ["2025-12-31"],  # date
    "Monthly rent in euros": ["1200"],  # decimal
    "How old are the children?": ["3 und 7"],  # textarea
}


@pytest.fixture
def answered(app, client, create_user, auth) -> str:
    """One response to the all-types form, sent page by page; a logged-in admin."""
    import_all_types(app)
    person = Respondent(client, "?lang=de")
    person.next(**PAGE_1)
    person.next(**{k: ANSWERS[k] for k in (*PAGE_2, "housing_benefit")})
    person.send(**{k: ANSWERS[k] for k in (*PAGE_3, "needs_other")})
    assert person.status == 303, person.summary
    create_user("admin@example.org", role="admin")
    auth.login("admin@example.org")
    html = client.get("/admin/responses?lang=en").get_data(as_text=True)
    return re.search(r"/admin/responses/(\d+)", html).group(1)


def test_the_response_page_names_each_answer_as_its_type_says(client, answered):
    html = client.get(f"/admin/responses/{answered}?lang=en").get_data(as_text=True)
    rows = {
        unescape(question): [unescape(v) for v in re.findall(r'<div dir="auto">(.*?)</div>', cell)]
        for question, cell in re.findall(
            r'<tr><th scope="row">(.*?)</th><td>(.*?)</td></tr>', html, re.S
        )
    }
    for question, shown in SHOWN.items():
        assert rows[question] == shown, question


def test_the_export_names_each_answer_as_its_type_says(client, answered):
    data = client.get("/admin/exports/mainz-bingen/all-types.csv?lang=en").data
    header, row = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    cells = dict(zip(header, row, strict=True))
    assert cells["How can we reach you?"] == "Phone"
    assert cells["Where are you staying?"] == "Shared accommodation"
    assert cells["How well do you speak German?"] == "5 – very well"
    assert cells["Do you receive housing benefit?"] == "No"
    assert cells["I agree that the coordination office stores my details."] == "Yes"
    assert cells["Where do you live?"].startswith("VG Nieder-Olm")
    assert cells["Phone number"] == "'+4915123456789"  # kept from running as a formula
    # A multiple choice gets a column per choice, marked 1 when ticked.
    assert cells["What do you need help with? – Learning German"] == "1"
    assert cells["What do you need help with? – Work"] == ""


def test_engine_texts_are_english_without_the_apps_gettext():
    definition = FormDefinition(load_file(ALL_TYPES))
    needs = definition.field("needs")
    assert needs.choice_label("other", "de").text == "Other"
    assert definition.field("needs_other").label("de").text == "Other, please specify"
    assert definition.field("interpreter").answer_label("no", "de", {}) == "No"
    translated = FormDefinition(load_file(ALL_TYPES), gettext=lambda text: f"<{text}>")
    assert translated.field("needs").choice_label("other", "de").text == "<Other>"
    assert (
        translated.field("needs_other").report_label("de") == "Wobei brauchen Sie Hilfe? – <Other>"
    )


# --- XLSForm: the registry's data is what the export writes ----------------------------


def test_the_xlsform_export_writes_the_registrys_types():
    definition = load_file(ALL_TYPES)
    book = load_workbook(io.BytesIO(write_xlsform(definition)))
    header, *rows = book["survey"].iter_rows(values_only=True)
    written = {row[header.index("name")]: dict(zip(header, row, strict=True)) for row in rows}
    for fdef in definition["fields"]:
        row = written[fdef["name"]]
        kind = FIELD_TYPES[fdef["type"]]
        if kind.page_break:
            assert (row["type"], row["appearance"]) == ("begin_group", kind.xlsform.appearance)
            continue
        assert (row["type"], row["appearance"]) == fieldtypes.xlsform_export(fdef), fdef["name"]
        assert row["intake_type"] == (fdef["type"] if kind.xlsform.intake_type else None)


def test_an_exported_form_reads_back_with_the_same_types(tmp_path):
    from intake.engine.xlsform import load_xlsform

    definition = load_file(ALL_TYPES)
    path = tmp_path / "all-types.xlsx"
    path.write_bytes(write_xlsform(definition))
    again, _notices = load_xlsform(path)
    assert [f["type"] for f in again["fields"]] == [f["type"] for f in definition["fields"]]
