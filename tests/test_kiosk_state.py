"""The kiosk's queue endpoint follows the event's and the form's state, and has a limit.

Issue #18: a closed kiosk, a closed form and a draft form still took queued answers,
and 110 of 110 from one address were stored. What a tablet may still send after
closing, and why, is in docs/kiosk.md ("Closing, and answers that arrive late").
"""

from __future__ import annotations

import io
import json
import secrets
import time
from datetime import date
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from intake.extensions import db
from intake.kiosk.queue import LATE_DAYS
from intake.storage.models import Event, Form, Response
from tests.conftest import VOLUNTEER_ANSWERS, csrf_token, form_payload, hidden, response_count

QUEUE = {"X-Intake-Queue": "1"}


@pytest.fixture
def coordinator(create_user, auth):
    """A Mainz-Bingen coordinator, logged in."""
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")


def page(client, token: str, lang: str = "de", slug: str = "volunteer") -> str:
    """The tablet opens the kiosk and a form (the page a kept copy is made of)."""
    client.get(f"/k/{token}")
    form_page = client.get(f"/k/{token}/f/{slug}?lang={lang}")
    assert form_page.status_code == 200
    return form_page.get_data(as_text=True)


def answer_from(html: str, **answers) -> dict:
    """What kiosk.js sends for one person's answers typed on `html`: the page's hidden
    fields, a key of its own (every load of a kept copy makes one), the answers."""
    data = form_payload(html, dict(VOLUNTEER_ANSWERS, **answers))
    data.pop("csrf_token")
    data.update(
        kiosk_gen=hidden(html, "kiosk_gen"), nav="send", idempotency_key=secrets.token_urlsafe(24)
    )
    return data


def send(client, token: str, data: dict, lang: str = "de", slug: str = "volunteer", **headers):
    return client.post(
        f"/k/{token}/f/{slug}?lang={lang}",
        data=urlencode(data, doseq=True),
        content_type="application/x-www-form-urlencoded",
        headers=dict(QUEUE, **headers),
    )


def event_row(token: str) -> Event:
    return db.session.scalar(sa.select(Event).where(Event.token == token))


def close_event(app, token: str) -> None:
    with app.app_context():
        event_row(token).active = False
        db.session.commit()


def set_form(app, slug: str, **values) -> None:
    with app.app_context():
        form = db.session.scalar(sa.select(Form).where(Form.slug == slug))
        for name, value in values.items():
            setattr(form, name, value)
        db.session.commit()


def days_later(monkeypatch, days: float) -> None:
    """The server's clock `days` on (the signed page stamp reads it through itsdangerous)."""
    later = time.time() + days * 24 * 3600
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)


# --- a closed event ---------------------------------------------------------------------


def test_a_closed_kiosk_refuses_answers_not_typed_on_one_of_its_pages(app, client, make_event):
    token = make_event()
    html = page(client, token)
    close_event(app, token)
    # Sent after closing without a page of the kiosk behind it (the flood of the issue:
    # a script with the link), or with a page stamp that is not ours.
    for stamp in ("", "forged.stamp.value", hidden(html, "src")[:-2] + "xx"):
        refused = send(client, token, dict(answer_from(html), src=stamp), lang="ar")
        assert refused.status_code == 410  # kiosk.js: refused for good, kept for staff
        assert refused.json["status"] == "closed"
        assert refused.json["message"] == "هذا الكشك مغلق"  # "This kiosk is closed", in Arabic
    assert response_count(app) == 0


def test_a_stamp_of_another_event_or_form_does_not_open_a_closed_kiosk(app, client, make_event):
    open_one = make_event(name="Offen", forms=("volunteer", "newcomer"))
    closed_one = make_event(name="Geschlossen", forms=("volunteer", "newcomer"))
    other_event_page = page(app.test_client(), open_one)
    newcomer_page = page(app.test_client(), closed_one, slug="newcomer")
    close_event(app, closed_one)
    stamp_of_other_event = dict(answer_from(other_event_page))
    stamp_of_other_form = dict(answer_from(other_event_page), src=hidden(newcomer_page, "src"))
    for data in (stamp_of_other_event, stamp_of_other_form):
        refused = send(client, closed_one, data)
        assert refused.status_code == 410
        assert refused.json["status"] == "closed"
        assert refused.json["message"] == "Dieser Kiosk ist geschlossen"
    assert response_count(app) == 0


def test_answers_typed_before_closing_arrive_later_and_are_stored_once(
    app, client, make_event, monkeypatch
):
    token = make_event()
    html = page(client, token)  # the tablet kept this page, then lost its connection
    first, second = answer_from(html, first_name="Vorher"), answer_from(html, first_name="Auch")
    close_event(app, token)
    days_later(monkeypatch, LATE_DAYS - 1)  # the tablet is back online days later
    stored = send(client, token, first)
    assert stored.status_code == 200
    assert stored.json["status"] == "stored"
    again = send(client, token, first)  # its acknowledgement was lost: sent once more
    assert again.status_code == 200
    assert again.json["reference"] == stored.json["reference"]
    assert send(client, token, second).status_code == 200
    assert response_count(app) == 2
    with app.app_context():
        assert set(db.session.scalars(sa.select(Response.event_id))) == {event_row(token).id}


def test_answers_arriving_after_the_grace_period_go_the_file_import_way(
    app, client, make_event, coordinator, monkeypatch
):
    token = make_event()
    tablet = app.test_client()
    html = page(tablet, token)
    data = answer_from(html, first_name="Spät")
    acknowledged = answer_from(html, first_name="Früh")
    close_event(app, token)
    assert send(tablet, token, acknowledged).status_code == 200
    days_later(monkeypatch, LATE_DAYS + 1)
    late = send(tablet, token, data, lang="uk")
    assert late.status_code == 410
    assert late.json["status"] == "closed"
    assert late.json["message"] == "Цей кіоск закрито"
    # A repeat of an answer stored in time is still acknowledged, so the tablet forgets it.
    assert send(tablet, token, acknowledged).status_code == 200
    # The tablet keeps the refused one ("Need staff attention"); staff save the file and
    # the coordinator imports it on the event's page: nothing is lost.
    monkeypatch.undo()  # back to today: the import ignores the clock, a login would not
    with app.app_context():
        event_id = event_row(token).id
    saved = {
        "format": "intake-kiosk-queue",
        "version": 1,
        "event": token,
        "eventId": event_id,
        "answers": [
            {
                "key": data["idempotency_key"],
                "form": "volunteer",
                "lang": "uk",
                "body": urlencode(data, doseq=True),
            }
        ],
    }
    detail = client.get(f"/admin/events/{event_id}").get_data(as_text=True)
    imported = client.post(
        f"/admin/events/{event_id}/import",
        data={
            "csrf_token": csrf_token(detail),
            "file": (io.BytesIO(json.dumps(saved).encode()), "intake-kiosk.json"),
        },
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "1 Antworten gespeichert, 0 waren schon gespeichert" in imported
    assert response_count(app) == 2


def test_a_page_open_on_a_tablet_without_javascript_is_still_taken_after_closing(
    app, client, make_event
):
    token = make_event()
    html = page(client, token)
    close_event(app, token)
    data = form_payload(html, VOLUNTEER_ANSWERS)
    data.update(kiosk_gen=hidden(html, "kiosk_gen"), nav="send")
    sent = client.post(f"/k/{token}/f/volunteer?lang=de", data=data)
    assert sent.status_code == 303
    assert sent.location == f"/k/{token}/thanks"
    assert response_count(app) == 1
    # Without the page's stamp it is the closed kiosk's page, and nothing is stored.
    data.update(src="", idempotency_key=secrets.token_urlsafe(24))
    closed = client.post(f"/k/{token}/f/volunteer?lang=de", data=data)
    assert closed.status_code == 410
    assert "Dieser Kiosk ist geschlossen" in closed.get_data(as_text=True)
    assert response_count(app) == 1


# --- closed, draft and unpublished forms -------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [{"status": "closed"}, {"status": "draft"}, {"closes_on": date(2020, 1, 1)}],
    ids=["closed", "draft", "past-its-closing-date"],
)
def test_a_form_that_takes_no_answers_refuses_queued_ones(app, client, make_event, state):
    token = make_event()
    html = page(client, token)
    set_form(app, "volunteer", **state)
    refused = send(client, token, dict(answer_from(html), src=""), lang="ar")
    assert refused.status_code == 410
    assert refused.json["status"] == "closed"
    # "This form is closed and no longer takes answers. Thank you for your interest."
    assert refused.json["message"] == "هذا النموذج مغلق ولم يعد يستقبل إجابات. شكرًا لاهتمامك."
    assert response_count(app) == 0
    # An answer typed on the form's page while it was open is one a person was promised.
    assert send(client, token, answer_from(html)).status_code == 200
    assert response_count(app) == 1


def test_a_form_without_a_published_version_refuses_queued_answers(app, client, make_event):
    token = make_event()
    html = page(client, token)
    with app.app_context():
        empty = Form(slug="leer", status="open")
        db.session.add(empty)
        event = event_row(token)
        event.forms.append(empty)
        db.session.commit()
    refused = send(client, token, answer_from(html), slug="leer")
    assert refused.status_code == 410
    assert refused.json["status"] == "gone"
    assert refused.json["message"].startswith("Dieses Formular ist geschlossen.")
    assert response_count(app) == 0


# --- events take only forms that take answers -------------------------------------------


def new_event_data(html: str, forms: list[str]) -> dict:
    return {
        "csrf_token": csrf_token(html),
        "name": "Begegnungscafé Bingen",
        "district": "mainz-bingen",
        "forms": forms,
        "pin": "246802",
        "idle_seconds": "120",
        "thanks_seconds": "15",
    }


def add_form_without_version(app, slug: str = "leer") -> None:
    with app.app_context():
        db.session.add(Form(slug=slug, status="open"))
        db.session.commit()


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"status": "draft"}, "The form volunteer is a draft: publish it first."),
        ({"status": "closed"}, "The form volunteer is closed: open it again first."),
        (
            {"closes_on": date(2020, 1, 1)},
            "The form volunteer is past its closing date and takes no more answers.",
        ),
    ],
    ids=["draft", "closed", "past-its-closing-date"],
)
def test_the_back_office_makes_no_event_with_a_form_that_takes_no_answers(
    app, client, coordinator, state, message
):
    html = client.get("/admin/events/new?lang=en").get_data(as_text=True)
    set_form(app, "volunteer", **state)  # meanwhile, in another tab
    refused = client.post("/admin/events/new?lang=en", data=new_event_data(html, ["volunteer"]))
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert message in text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0
    # Such a form is not offered in the first place.
    again = client.get("/admin/events/new?lang=en").get_data(as_text=True)
    assert 'value="volunteer"' not in again


def test_the_back_office_makes_no_event_with_a_form_without_a_version(app, client, coordinator):
    add_form_without_version(app)
    html = client.get("/admin/events/new?lang=en").get_data(as_text=True)
    refused = client.post("/admin/events/new?lang=en", data=new_event_data(html, ["leer"]))
    assert refused.status_code == 422
    assert "The form leer has no published version." in refused.get_data(as_text=True)


def test_a_closed_kiosk_does_not_open_again_with_a_draft_form(app, client, coordinator, make_event):
    token = make_event()
    with app.app_context():
        event_id = event_row(token).id
    detail = client.get(f"/admin/events/{event_id}?lang=en").get_data(as_text=True)
    client.post(
        f"/admin/events/{event_id}/active", data={"csrf_token": csrf_token(detail), "active": "0"}
    )
    set_form(app, "volunteer", status="draft")
    reopened = client.post(
        f"/admin/events/{event_id}/active?lang=en",
        data={"csrf_token": csrf_token(detail), "active": "1"},
        follow_redirects=True,
    )
    assert "The form volunteer is a draft: publish it first." in reopened.get_data(as_text=True)
    with app.app_context():
        assert event_row(token).active is False
    assert app.test_client().get(f"/k/{token}").status_code == 410


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"status": "draft"}, "the form 'volunteer' is a draft: publish it first"),
        ({"status": "closed"}, "the form 'volunteer' is closed: open it again first"),
    ],
    ids=["draft", "closed"],
)
def test_the_cli_makes_no_event_with_a_form_that_takes_no_answers(app, cli, state, message):
    set_form(app, "volunteer", **state)
    args = ("events", "create", "--name", "X", "--district", "mainz-bingen", "--form", "volunteer")
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
    add_form_without_version(app)
    result = cli("events", "create", "--name", "X", "--district", "mainz-bingen", "--form", "leer")
    assert result.exit_code == 2
    assert "the form 'leer' has no published version" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0


# --- how much one event's kiosk may store -------------------------------------------------


def test_one_events_kiosk_is_limited_per_event_not_by_the_public_per_address_limit(
    app, client, make_event
):
    # Smaller figures than the real ones (600 per event, 100 per address), same rules.
    app.config.update(
        KIOSK_LIMIT_PER_EVENT="4 per 10 minutes", SUBMIT_LIMIT_PER_ADDRESS="2 per 10 minutes"
    )
    token = make_event()
    other = make_event(name="Nebenan")
    html = page(client, token)
    # One tablet (one address) sends more than the public limit per address allows.
    answers = [answer_from(html, first_name=f"Person {i}") for i in range(5)]
    codes = [send(client, token, data).status_code for data in answers[:4]]
    assert codes == [200] * 4
    flooded = send(client, token, answers[4])
    assert flooded.status_code == 429
    assert flooded.json["status"] == "limited"
    assert int(flooded.headers["Retry-After"]) > 0  # kiosk.js keeps it and sends it later
    assert response_count(app) == 4
    # Repeats are not new answers: still acknowledged.
    assert send(client, token, answers[0]).status_code == 200
    # The ordinary (no JavaScript) post of the same kiosk counts against the same limit.
    data = form_payload(html, VOLUNTEER_ANSWERS)
    data.update(kiosk_gen=hidden(html, "kiosk_gen"), nav="send")
    assert client.post(f"/k/{token}/f/volunteer?lang=de", data=data).status_code == 429
    # Another event's kiosk, from the same address, has a limit of its own.
    other_html = page(client, other)
    assert send(client, other, answer_from(other_html)).status_code == 200
    assert response_count(app) == 5
