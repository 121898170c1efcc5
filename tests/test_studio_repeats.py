"""Repeats in the form studio (#21): a coordinator builds "one entry per child" without a
file, adds its questions, moves and deletes them, publishes, and a respondent answers
two children; what cannot be inside a repeat is said at the input."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from intake.extensions import db
from intake.storage.models import Answer
from tests.conftest import form_payload
from tests.test_studio import add, draft, new_form, page_inputs, post_from


@pytest.fixture
def coordinator(create_user, auth):
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")


def build_children_form(client):
    """A form asking a parent's name, then per child a first name and an age."""
    new_form(client, slug="kinder", title="Kinderbetreuung")
    add(
        client,
        "kinder",
        "text",
        key="elternteil",
        label_de="Ihr Name",
        label_ar="اسمك",
        required="on",
    )
    add(
        client,
        "kinder",
        "repeat",
        key="kinder",
        label_de="Kind",
        label_ar="طفل",
        hint_de="Ein Eintrag pro Kind.",
        min_count="1",
        max_count="4",
    )
    add(
        client,
        "kinder",
        "text",
        after="in:kinder",
        key="vorname",
        label_de="Vorname",
        label_ar="الاسم",
        required="on",
    )
    add(
        client,
        "kinder",
        "integer",
        after="vorname",
        key="alter",
        label_de="Alter",
        label_ar="العمر",
    )


def test_a_coordinator_builds_a_repeat_and_a_respondent_answers_two_children(
    app, client, coordinator
):
    build_children_form(client)
    raw = draft(app, "kinder").definition
    repeat = next(f for f in raw["fields"] if f["type"] == "repeat")
    assert (repeat["min_count"], repeat["max_count"]) == (1, 4)
    assert [c["name"] for c in repeat["fields"]] == ["vorname", "alter"]
    edit = client.get("/admin/forms/kinder/edit").get_data(as_text=True)
    inner = edit[edit.index('class="studio-items studio-entry-items"') :]
    assert inner.index("Vorname") < inner.index("Alter")
    assert "1 bis 4 Einträge" in edit or "1 to 4 entries" in edit
    # Age first: it moves within the repeat, not among the form's questions.
    post_from(
        client,
        "/admin/forms/kinder/edit",
        "/admin/forms/kinder/edit/move",
        {"name": "alter", "direction": "up"},
    )
    assert [c["name"] for c in draft(app, "kinder").definition["fields"][-1]["fields"]] == [
        "alter",
        "vorname",
    ]
    post_from(
        client,
        "/admin/forms/kinder/edit",
        "/admin/forms/kinder/edit/move",
        {"name": "alter", "direction": "down"},
    )
    ok = client.get("/admin/forms/kinder/publish").get_data(as_text=True)
    assert client.post("/admin/forms/kinder/publish", data=page_inputs(ok)).status_code == 302

    public = app.test_client()
    url = "/f/kinder?district=mainz-bingen"
    page = public.get(url).get_data(as_text=True)
    added = public.post(
        url,
        data=form_payload(
            page, {"elternteil": "Amal", "kinder": "1", "vorname-1": "Lina", "nav": "add:kinder"}
        ),
    )
    html = added.get_data(as_text=True)
    assert re.findall(r'<fieldset class="entry" data-entry="(\d)">', html) == ["1", "2"]
    answers = {
        "elternteil": "Amal",
        "kinder": "2",
        "vorname-1": "Lina",
        "alter-1": "7",
        "vorname-2": "Yusuf",
        "alter-2": "4",
    }
    sent = public.post(url, data=form_payload(html, {**answers, "nav": "send"}))
    assert sent.status_code == 303, sent.get_data(as_text=True)[:2000]
    with app.app_context():
        rows = db.session.execute(
            sa.select(Answer.field, Answer.entry, Answer.value).order_by(Answer.id)
        ).all()
    assert [(e, v) for f, e, v in rows if f == "vorname"] == [(1, "Lina"), (2, "Yusuf")]


def test_a_repeat_without_questions_cannot_be_published(app, client, coordinator):
    new_form(client, slug="leer", title="Leer")
    add(client, "leer", "text", key="name", label_de="Name", label_ar="الاسم")
    add(client, "leer", "repeat", key="kinder", label_de="Kind", label_ar="طفل")
    refused = client.get("/admin/forms/leer/publish").get_data(as_text=True)
    assert "„Kind“ hat noch keine Fragen" in refused or "“Kind” has no questions yet" in refused


@pytest.mark.parametrize("ftype", ["page", "repeat"])
def test_a_page_or_repeat_inside_a_repeat_is_refused_at_the_input(app, client, coordinator, ftype):
    build_children_form(client)
    before = draft(app, "kinder").definition
    response = add(
        client, "kinder", ftype, after="vorname", expect=422, label_de="Innen", label_ar="داخل"
    )
    html = response.get_data(as_text=True)
    assert "kann keine Seite" in html or "cannot hold a page, a repeat or the municipality" in html
    assert draft(app, "kinder").definition == before


@pytest.mark.parametrize(
    ("value", "field"), [("51", "max_count"), ("x", "min_count"), ("0", "max_count")]
)
def test_bad_counts_get_a_message_at_the_input(app, client, coordinator, value, field):
    new_form(client, slug="zahl", title="Zahl")
    response = add(
        client,
        "zahl",
        "repeat",
        expect=422,
        key="k",
        label_de="Kind",
        label_ar="طفل",
        **{field: value},
    )
    assert 'id="' + field + '"' in response.get_data(as_text=True)
    assert re.search(
        rf'<input[^>]*id="{field}"[^>]*aria-invalid="true"', response.get_data(as_text=True)
    )


def test_deleting_a_repeat_whose_questions_are_read_elsewhere_is_refused(app, client, coordinator):
    build_children_form(client)
    add(
        client,
        "kinder",
        "text",
        key="betreuung",
        label_de="Betreuung",
        label_ar="رعاية",
        cond_q_0="alter",
        cond_op_0="less",
        cond_value_0="6",
    )
    response = post_from(
        client,
        "/admin/forms/kinder/edit",
        "/admin/forms/kinder/edit/delete",
        {"name": "kinder"},
        expect=409,
    )
    assert "betreuung" in response.get_data(as_text=True)  # the reader, by its key
    assert any(f["name"] == "kinder" for f in draft(app, "kinder").definition["fields"])
