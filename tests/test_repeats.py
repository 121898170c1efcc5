"""Repeats (#21): a household's members, each entry with its own questions.

Without JavaScript, over HTTP: the entries on the page, adding and removing one with
the page's buttons, the checks of each entry, what is stored (each entry's answers
under the question's own name with the entry's number), the definition's rules, and
count()/sum()/position() over the entries. The browser's side is in
tests/browser/test_repeats_browser.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from intake.engine import logic, repeats
from intake.engine.definition import FormDefinition, load_file
from intake.engine.validation import DefinitionError, validate
from intake.extensions import db
from intake.storage.models import Answer, Response
from tests.conftest import form_payload, install_form, response_count

URL = "/f/mitglieder?district=mainz-bingen"
NAMES = frozenset({"member_name", "member_age"})


def members() -> FormDefinition:
    return FormDefinition(load_file(Path(__file__).parent / "forms" / "members.yaml"))


def entries_shown(html: str) -> list[int]:
    """The numbers of the entries a person sees (the others wait hidden)."""
    return [
        int(number)
        for number, hidden in re.findall(
            r'<fieldset class="entry" data-entry="(\d+)"( hidden)?', html
        )
        if not hidden
    ]


def stored_rows(app) -> list[tuple[str, int | None, str]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Answer.field, Answer.entry, Answer.value).order_by(Answer.id)
        )
        return [tuple(row) for row in rows]


def test_a_household_of_three_is_stored_entry_by_entry(app, client):
    """Two members added with the page's own buttons (no JavaScript), answered, sent:
    each entry's answers keep their order, under the question's name and the entry's
    number; the count and the calculations over the entries are stored with them."""
    install_form(app, "members.yaml")
    page = client.get(URL).get_data(as_text=True)
    assert entries_shown(page) == [1]  # min_count 1: the first entry is open
    answers = {"contact": "Amal", "member_name-1": "Omar", "member_age-1": "41"}
    added = client.post(
        URL, data=form_payload(page, {**answers, "members": "1", "nav": "add:members"})
    )
    html = added.get_data(as_text=True)
    assert added.status_code == 200
    assert entries_shown(html) == [1, 2]
    assert "Please check your answers" not in html  # adding checks nothing yet
    assert 'value="Omar"' in html  # the first entry's answers stay
    assert response_count(app) == 0
    answers |= {"member_name-2": "Lina", "member_age-2": "9", "relation-2": "child"}
    again = client.post(
        URL, data=form_payload(html, {**answers, "members": "2", "nav": "add:members"})
    )
    answers |= {
        "member_name-3": "Yusuf",
        "member_age-3": "4",
        "relation-3": "child",
        "school-2": "yes",
    }
    sent = client.post(
        URL,
        data=form_payload(again.get_data(as_text=True), {**answers, "members": "3", "nav": "send"}),
    )
    assert sent.status_code == 303, sent.get_data(as_text=True)
    rows = stored_rows(app)
    assert ("members", None, "3") in rows
    assert [(e, v) for f, e, v in rows if f == "member_name"] == [
        (1, "Omar"),
        (2, "Lina"),
        (3, "Yusuf"),
    ]
    assert [(e, v) for f, e, v in rows if f == "member_age"] == [(1, "41"), (2, "9"), (3, "4")]
    assert [(e, v) for f, e, v in rows if f == "school"] == [(2, "yes")]  # 6 to 17 only
    assert [(e, v) for f, e, v in rows if f == "entry_no"] == [(1, "1"), (2, "2"), (3, "3")]
    assert ("size", None, "4") in rows  # count(${members}) + 1
    assert ("ages", None, "54") in rows  # sum(${member_age})


def test_removing_an_entry_moves_the_later_ones_up(app, client):
    install_form(app, "members.yaml")
    page = client.get(URL).get_data(as_text=True)
    answers = {
        "contact": "Amal",
        "members": "3",
        "member_name-1": "Omar",
        "member_name-2": "Lina",
        "member_age-2": "9",
        "member_name-3": "Yusuf",
        "member_age-3": "4",
    }
    removed = client.post(URL, data=form_payload(page, {**answers, "nav": "remove:members:2"}))
    html = removed.get_data(as_text=True)
    assert entries_shown(html) == [1, 2]
    assert re.search(r'name="member_name-2" value="Yusuf"', html)
    assert re.search(r'name="member_age-2" value="4"', html)
    assert 'value="Lina"' not in html
    assert 'name="members" value="2"' in html


def test_the_remove_button_is_not_offered_below_min_count(app, client):
    install_form(app, "members.yaml")
    html = client.get(URL).get_data(as_text=True)
    assert re.search(
        r'value="remove:members:1" class="button remove-entry" data-remove hidden', html
    )
    same = client.post(
        URL,
        data=form_payload(
            html, {"members": "1", "member_name-1": "Omar", "nav": "remove:members:1"}
        ),
    )
    assert entries_shown(same.get_data(as_text=True)) == [1]


@pytest.mark.parametrize(
    ("nav", "count"),
    [
        ("add:nothing", "1"),
        ("remove:members:9", "1"),
        ("remove:members:x", "1"),
        ("add:contact", "1"),
    ],
)
def test_a_tampered_button_changes_nothing(app, client, nav, count):
    install_form(app, "members.yaml")
    html = client.get(URL).get_data(as_text=True)
    again = client.post(URL, data=form_payload(html, {"members": "1", "nav": nav}))
    assert again.status_code == 200
    assert f'name="members" value="{count}"' in again.get_data(as_text=True)
    assert response_count(app) == 0


def test_each_entry_is_checked_and_the_summary_names_the_entry(app, client):
    install_form(app, "members.yaml")
    html = client.get(URL).get_data(as_text=True)
    answers = {"contact": "Amal", "members": "2", "member_name-1": "Omar", "member_age-1": "41"}
    answers |= {"member_name-2": "Lina", "member_age-2": "200"}
    sent = client.post(URL, data=form_payload(html, {**answers, "nav": "send"}))
    page = sent.get_data(as_text=True)
    assert sent.status_code == 422
    summary = page[page.index('class="error-summary"') : page.index("<form")]
    assert (
        '<span class="summary-question">Wie alt ist <bdi class="inserted" '
        'data-insert="member_name-2">Lina</bdi>? (Haushaltsmitglied 2)</span> '
        "Bitte geben Sie 120 oder weniger ein." in summary
    )
    assert response_count(app) == 0


@pytest.mark.parametrize("count", ["0", "7", "99", "-1", "abc"])
def test_a_count_outside_the_repeats_limits_is_refused(app, client, count):
    install_form(app, "members.yaml")
    html = client.get(URL).get_data(as_text=True)
    answers = {"contact": "Amal", "members": count, "member_name-1": "Omar", "member_age-1": "41"}
    sent = client.post(URL, data=form_payload(html, {**answers, "nav": "send"}))
    assert sent.status_code == 422
    assert response_count(app) == 0


def test_answers_of_entries_not_added_are_not_stored(app, client):
    install_form(app, "members.yaml")
    html = client.get(URL).get_data(as_text=True)
    answers = {"contact": "Amal", "members": "1", "member_name-1": "Omar", "member_age-1": "41"}
    answers |= {"member_name-2": "Ghost", "member_age-2": "5"}
    sent = client.post(URL, data=form_payload(html, {**answers, "nav": "send"}))
    assert sent.status_code == 303
    assert "Ghost" not in {v for _f, _e, v in stored_rows(app)}


def test_count_sum_min_max_position_and_indexed_repeat_over_entries():
    definition = members()
    answers = {
        "members": ["3"],
        "member_name-1": ["A"],
        "member_age-1": ["40"],
        "member_age-2": ["7"],
        "member_name-3": ["C"],
        "member_age-4": ["99"],  # entry 4 is not added
    }
    state = logic.evaluate_state(definition, answers)
    assert state.check("count(${members}) = 3")
    assert state.check("count(${member_name}) = 3")  # as ODK: every entry counts
    assert state.check("sum(${member_age}) = 47")
    assert state.check("max(${member_age}) = 40 and min(${member_age}) = 7")
    assert state.check("indexed-repeat(${member_name}, ${members}, 3) = 'C'")
    assert state.check("indexed-repeat(${member_name}, ${members}, 4) = ''")
    # Outside the repeat, any other reference reads the first entry (as ODK does):
    first = repeats.outside("${member_name} = 'A' and sum(${member_age}) > 0", NAMES)
    assert first == "${member_name-1} = 'A' and sum(${member_age}) > 0"
    assert state.check(first)
    assert state.values["entry_no-2"] == ["2"]
    assert state.relevant["school-2"]
    assert not state.relevant["school-1"]
    assert not state.relevant["member_age-4"]


def _household(**repeat) -> dict:
    return {
        "form": "h",
        "default_language": "de",
        "languages": ["de"],
        "title": {"de": "H"},
        "fields": [
            {"name": "members", "type": "repeat", "label": {"de": "Person"}, **repeat},
        ],
    }


@pytest.mark.parametrize(
    ("repeat", "problem"),
    [
        ({}, "field 'members' (fields[0]): a repeat needs 'fields', the questions of each entry"),
        (
            {"fields": [{"name": "p", "type": "page", "label": {"de": "P"}}]},
            "field 'p' (fields[0].fields[0]): a repeat cannot hold a page break",
        ),
        (
            {"fields": [{"name": "r", "type": "repeat", "label": {"de": "R"}, "fields": []}]},
            "field 'r' (fields[0].fields[0]): a repeat cannot be inside a repeat",
        ),
        (
            {"max_count": 51, "fields": [{"name": "a", "type": "text", "label": {"de": "A"}}]},
            "field 'members' (fields[0]): 'max_count' may be at most 50",
        ),
        (
            {
                "min_count": 3,
                "max_count": 2,
                "fields": [{"name": "a", "type": "text", "label": {"de": "A"}}],
            },
            "field 'members' (fields[0]): 'min_count' is greater than 'max_count'",
        ),
        (
            {"fields": [{"name": "a", "type": "text", "label": {"de": "A"}, "prefill": True}]},
            "field 'a' (fields[0].fields[0]): a question inside a repeat cannot be prefilled "
            "from a link",
        ),
    ],
)
def test_a_broken_repeat_is_refused_with_the_place_named(repeat, problem):
    with pytest.raises(DefinitionError) as caught:
        validate(_household(**repeat), "h.yaml")
    assert problem in caught.value.problems


def test_position_outside_a_repeat_is_refused():
    raw = _household(fields=[{"name": "a", "type": "text", "label": {"de": "A"}}])
    raw["fields"].append({"name": "n", "type": "calculate", "calculation": "position(..)"})
    with pytest.raises(DefinitionError) as caught:
        validate(raw, "h.yaml")
    assert (
        "field 'n': 'calculation': position(..) only works inside a repeat" in caught.value.problems
    )


def test_only_a_repeat_has_fields_and_counts():
    raw = _household(fields=[{"name": "a", "type": "text", "label": {"de": "A"}, "max_count": 3}])
    with pytest.raises(DefinitionError) as caught:
        validate(raw, "h.yaml")
    assert "field 'a' (fields[0].fields[0]): only a repeat has 'max_count'" in caught.value.problems


@pytest.mark.parametrize(
    ("source", "entry", "expected"),
    [
        ("${member_age} >= 6", 3, "${member_age-3} >= 6"),
        ("position(..) = 2", 2, "2 = 2"),
        ("position( .. ) + ${contact}", 4, "4 + ${contact}"),
        ("concat('${member_age}', ${member_age})", 1, "concat('${member_age}', ${member_age-1})"),
        ("sum(${member_age})", 5, "sum(${member_age-5})"),
    ],
)
def test_an_entrys_expressions_read_its_own_answers(source, entry, expected):
    """Rewritten by tokens: a name inside a quoted text stays as written."""
    assert repeats.in_entry(source, NAMES, entry) == expected


def test_every_entry_is_a_page_question_of_its_own():
    definition = members()
    assert [f.name for f in definition.children("members")] == [
        "member_name",
        "member_age",
        "relation",
        "school",
        "entry_no",
    ]
    assert len(definition.entries("members")) == 6  # max_count
    second = definition.field("member_age-2")
    assert (second.stored_name, second.entry, second.repeat) == ("member_age", 2, "members")
    assert second.label("de").text == "Wie alt ist ${member_name-2}?"
    assert definition.field("member_age").entry is None  # as stored: once


def _send_household(app, client, lang: str = "de") -> str:
    """A household of three sent without JavaScript; the response's reference."""
    install_form(app, "members.yaml")
    url = f"/f/mitglieder?district=mainz-bingen&lang={lang}"
    html = client.get(url).get_data(as_text=True)
    answers = {
        "contact": "Amal",
        "members": "3",
        "member_name-1": "Omar",
        "member_age-1": "41",
        "relation-1": "partner",
        "member_name-2": "Lina",
        "member_age-2": "9",
        "relation-2": "child",
        "school-2": "yes",
        "member_name-3": "يوسف",
        "member_age-3": "4",
    }
    sent = client.post(url, data=form_payload(html, {**answers, "nav": "send"}))
    assert sent.status_code == 303
    with app.app_context():
        return db.session.scalar(sa.select(Response.id))


def test_the_response_page_shows_each_entry_under_its_heading(app, client, auth, create_user):
    response_id = _send_household(app, client)
    create_user("mb@example.org", districts=("mainz-bingen",))
    auth.login("mb@example.org")
    html = client.get(f"/admin/responses/{response_id}?lang=de").get_data(as_text=True)
    table = re.sub(r"\s+", " ", html[html.index('<table class="data">') : html.index("</table>")])
    headings = re.findall(
        r'<tr class="entry-heading"><th colspan="2" scope="rowgroup">([^<]*)</th>', table
    )
    assert headings == ["Haushaltsmitglied 1", "Haushaltsmitglied 2", "Haushaltsmitglied 3"]
    # Entry 2's answers, in order, between its heading and the next one.
    second = table[table.index("Haushaltsmitglied 2") : table.index("Haushaltsmitglied 3")]
    assert re.findall(r'<div dir="auto">([^<]*)</div>', second) == ["Lina", "9", "Kind", "Ja", "2"]
    assert "يوسف" in table


def test_a_correction_shows_the_entries_again_and_keeps_them(app, client, auth, create_user):
    response_id = _send_household(app, client)
    create_user("mb@example.org", districts=("mainz-bingen",))
    auth.login("mb@example.org")
    page = client.get(f"/admin/responses/{response_id}/correct").get_data(as_text=True)
    assert entries_shown(page) == [1, 2, 3]
    assert 'name="member_name-3" value="يوسف"' in page


def test_a_repeat_count_made_from_an_answer_sets_the_entries(app, client):
    """repeat_count: "${children}": as many entries as children, whatever was posted as
    the count; no add or remove buttons; each entry checked."""
    install_form(app, "kinder.yaml")
    url = "/f/kinder?district=mainz-bingen"
    html = client.get(url).get_data(as_text=True)
    assert "data-add" not in html
    assert "data-remove" not in html
    answers = {"children": "2", "child": "7", "child_age-1": "9", "nav": "send"}
    refused = client.post(url, data=form_payload(html, answers))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert entries_shown(page) == [1, 2]  # the second child's age is missing
    assert 'name="child" value="2"' in page
    assert "Alter des <bdi" in page
    sent = client.post(url, data=form_payload(page, {**answers, "child_age-2": "4"}))
    assert sent.status_code == 303
    rows = stored_rows(app)
    assert ("child", None, "2") in rows
    assert [(e, v) for f, e, v in rows if f == "child_age"] == [(1, "9"), (2, "4")]
    # A tampered button changes nothing here either.
    fresh = client.get(url).get_data(as_text=True)
    again = client.post(url, data=form_payload(fresh, {"children": "1", "nav": "add:child"}))
    assert 'name="child" value="1"' in again.get_data(as_text=True)


def test_an_entrys_condition_may_grow_past_the_authors_limit():
    """A condition of 990 characters (under the 1,000 an author may write) gets the entry's
    own names and the repeat's condition: longer than 1,000, still read and checked."""
    long = " or ".join(["${a} = 'x'"] * 71)  # 991 characters
    assert len(long) <= 1000
    raw = _household(
        fields=[
            {"name": "a", "type": "text", "label": {"de": "A"}},
            {"name": "b", "type": "text", "label": {"de": "B"}, "relevant": long},
        ]
    )
    definition = FormDefinition(validate(raw, "h.yaml"))
    inside = definition.field("b-20").raw["relevant"]
    assert len(inside) > 1000
    state = logic.evaluate_state(definition, {"members": ["20"], "a-20": ["x"]})
    assert state.relevant["b-20"]
    assert not state.relevant["b-19"]
