"""The one submission service, called as the CLI or a test would (no request), and the
caches of the public path: what a respondent sees must never be another's or stale."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from intake import create_app, submissions
from intake.extensions import db
from intake.storage import cache
from intake.storage.districts import by_slug
from intake.storage.forms import published
from intake.storage.models import Form
from intake.submissions import Target, new_key
from tests.conftest import (
    VOLUNTEER_ANSWERS,
    app_config,
    hidden,
    response_count,
    stored_answers,
)


def _kiosk_target(app, **changes) -> Target:
    """The volunteer form as a kiosk in Mainz-Bingen would store it (no request needed)."""
    _form, version, definition = published("volunteer")
    return Target("kiosk", version, definition, by_slug("mainz-bingen"), **changes)


def _answers(**changes) -> MultiDict:
    data = MultiDict(dict(VOLUNTEER_ANSWERS, district="mainz-bingen", src=""))
    for name, value in changes.items():
        data.setlist(name, value if isinstance(value, list) else [value])
    return data


def test_a_submission_is_stored_once_per_key_without_a_request(app):
    with app.app_context():
        key = new_key()
        first = submissions.submit(
            _kiosk_target(app), _answers(idempotency_key=key), "de", queued=True
        )
        again = submissions.submit(
            _kiosk_target(app), _answers(idempotency_key=key), "de", queued=True
        )
    assert first.status == "stored"
    assert re.fullmatch(r"[3-9A-Y]{4}-[3-9A-Y]{4}", first.reference)
    assert (again.status, again.reference) == ("repeat", first.reference)
    assert response_count(app) == 1


@pytest.mark.parametrize(
    ("lang", "message"),
    [
        ("de", "Bitte geben Sie eine E-Mail-Adresse wie name@example.org ein."),
        ("en", "Please enter an email address like name@example.org."),
    ],
)
def test_invalid_answers_come_back_with_messages_in_the_language(app, lang, message):
    with app.app_context():
        data = _answers(idempotency_key=new_key(), email="not an address")
        outcome = submissions.submit(_kiosk_target(app), data, lang, queued=True)
    assert outcome.status == "invalid"
    assert outcome.errors["email"] == message
    assert response_count(app) == 0


def test_a_closed_channel_still_acknowledges_what_it_stored(app):
    with app.app_context():
        key = new_key()
        stored = submissions.submit(
            _kiosk_target(app), _answers(idempotency_key=key), "de", queued=True
        )
        closed = _kiosk_target(app, closed="event")
        repeat = submissions.submit(closed, _answers(idempotency_key=key), "de", queued=True)
        refused = submissions.submit(closed, _answers(idempotency_key=new_key()), "de", queued=True)
    assert (repeat.status, repeat.reference) == ("repeat", stored.reference)
    assert (refused.status, refused.closed) == ("closed", "event")
    assert response_count(app) == 1


def test_the_key_of_another_form_is_a_conflict(app):
    with app.app_context():
        key = new_key()
        assert submissions.submit(
            _kiosk_target(app), _answers(idempotency_key=key), "de", queued=True
        ).acknowledged
        _form, version, definition = published("newcomer")
        other = Target("kiosk", version, definition, by_slug("mainz-bingen"))
        outcome = submissions.submit(other, MultiDict({"idempotency_key": key}), "de", queued=True)
    assert outcome.status == "conflict"
    assert response_count(app) == 1


def test_a_correction_replaces_the_answers_and_stores_no_new_response(app, submit):
    submit("volunteer", VOLUNTEER_ANSWERS)
    with app.app_context():
        from intake.storage.models import Response

        response = db.session.scalar(sa.select(Response))
        _form, _version, definition = published("volunteer")
        target = Target(
            "correction", response.form_version, definition, response.district, replaces=response
        )
        changed = _answers(first_name="Jürgen Karl")
        outcome = submissions.submit(target, changed, "de", meta={"csrf": False})
        reference = response.reference
    assert (outcome.status, outcome.reference) == ("changed", reference)
    assert response_count(app) == 1
    assert stored_answers(app)[0]["first_name"] == ["Jürgen Karl"]


# --- the caches of the public path --------------------------------------------------------


def test_each_fresh_page_has_its_own_key_and_token(app):
    first, second = app.test_client(), app.test_client()
    pages = [
        c.get("/f/volunteer?lang=ar&district=mainz-bingen").get_data(as_text=True)
        for c in (first, second, first)
    ]
    keys = [hidden(page, "idempotency_key") for page in pages]
    tokens = [hidden(page, "csrf_token") for page in pages]
    assert len(set(keys)) == 3
    assert tokens[0] != tokens[1]  # two people, two sessions
    assert "intake-fresh-page" not in "".join(pages)
    # Everything else is the same page, in Arabic.
    assert pages[0].replace(keys[0], "").replace(tokens[0], "") == pages[2].replace(
        keys[2], ""
    ).replace(tokens[2], "")
    assert 'lang="ar" dir="rtl"' in pages[0]


def test_a_page_sent_from_the_cache_is_stored(app):
    client = app.test_client()
    for _ in range(2):
        page = client.get("/f/volunteer?district=mainz-bingen").get_data(as_text=True)
        data = dict(
            VOLUNTEER_ANSWERS,
            **{n: hidden(page, n) for n in ("csrf_token", "idempotency_key", "district", "src")},
        )
        assert client.post("/f/volunteer?district=mainz-bingen", data=data).status_code == 303
    assert response_count(app) == 2


def test_a_change_in_this_process_shows_at_once(app, client):
    assert client.get("/f/volunteer?district=mainz-bingen").status_code == 200
    with app.app_context():
        db.session.scalar(sa.select(Form).where(Form.slug == "volunteer")).status = "closed"
        db.session.commit()
    assert client.get("/f/volunteer?district=mainz-bingen").status_code == 410


def test_another_process_sees_a_change_within_the_cache_time(
    app, tmp_path, database_url, monkeypatch
):
    other = create_app(app_config(tmp_path, database_url))  # another worker on the same database
    now = [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: now[0])
    visitor = other.test_client()
    assert visitor.get("/f/volunteer?district=mainz-bingen").status_code == 200
    with app.app_context():
        db.session.scalar(sa.select(Form).where(Form.slug == "volunteer")).status = "closed"
        db.session.commit()
    now[0] += app.config["PUBLIC_CACHE_SECONDS"] - 1
    assert visitor.get("/f/volunteer?district=mainz-bingen").status_code == 200
    now[0] += 2
    assert visitor.get("/f/volunteer?district=mainz-bingen").status_code == 410
    with other.app_context():
        db.engine.dispose()


def test_made_up_links_do_not_grow_the_cache(app, client):
    for n in range(cache.MAX_ENTRIES + 50):
        client.get(f"/f/no-such-form-{n}")
        client.get(f"/f/volunteer?district=mainz-bingen&src=poster{n}")
    assert len(app.extensions["intake_public_cache"].entries) <= cache.MAX_ENTRIES


@pytest.mark.parametrize("value", [-1, "5", 7200, True])
def test_a_wrong_cache_time_is_refused_at_start(tmp_path, database_url, value):
    with pytest.raises(RuntimeError, match="INTAKE_PUBLIC_CACHE_SECONDS must be a number"):
        create_app(app_config(tmp_path, database_url, PUBLIC_CACHE_SECONDS=value))


def test_the_language_cookie_is_sent_only_when_the_language_changes(client):
    first = client.get("/f/volunteer?lang=fa&district=mainz-bingen")
    again = client.get("/f/volunteer?lang=fa&district=mainz-bingen")
    other = client.get("/f/volunteer?lang=tr&district=mainz-bingen")
    assert "session=" in first.headers.get("Set-Cookie", "")
    assert "Set-Cookie" not in again.headers
    assert "session=" in other.headers.get("Set-Cookie", "")


def test_one_persons_answers_and_messages_never_reach_the_next_form(app):
    """Fields are copies of one bound field per form class: each person's are their own."""
    first, second = app.test_client(), app.test_client()
    page = first.get("/f/volunteer?district=mainz-bingen").get_data(as_text=True)
    data = dict(VOLUNTEER_ANSWERS, email="erste-person@@example", first_name="Erste Person")
    data.update({n: hidden(page, n) for n in ("csrf_token", "idempotency_key", "district", "src")})
    refused = first.post("/f/volunteer?district=mainz-bingen", data=data)
    assert refused.status_code == 422
    assert "Erste Person" in refused.get_data(as_text=True)
    page = second.get("/f/volunteer?district=mainz-bingen").get_data(as_text=True)
    empty = {n: hidden(page, n) for n in ("csrf_token", "idempotency_key", "district", "src")}
    shown = second.post("/f/volunteer?district=mainz-bingen", data=empty).get_data(as_text=True)
    assert "Erste Person" not in shown
    assert "erste-person@@example" not in shown
    assert "E-Mail-Adresse wie name@example.org" not in shown  # the first person's message
    assert "Bitte beantworten Sie diese Frage." in shown  # the second person's own


def test_a_key_stored_by_another_invitation_is_a_conflict_not_its_receipt(app, client):
    """Two people's invitation pages: a key replayed on the other link never shows the
    first person's reference code (it is refused, 400, and nothing is stored)."""
    from tests.test_invitations import invite

    first, second = invite(
        app,
        ("a@example.org", "A", "de", "mainz-bingen"),
        ("b@example.org", "B", "de", "mainz-bingen"),
    )
    page = client.get(first).get_data(as_text=True)
    data = dict(VOLUNTEER_ANSWERS)
    data.update({n: hidden(page, n) for n in ("csrf_token", "idempotency_key", "district", "src")})
    assert client.post(first, data=data).status_code == 303
    replayed = client.post(second, data=data)
    assert replayed.status_code == 400
    assert response_count(app) == 1
