"""Kiosk mode without a browser: pages, the lock, generations, the queue endpoint, the PIN."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import sqlalchemy as sa

from intake.extensions import db
from intake.storage.models import AuditEvent, Event, Response
from tests.conftest import (
    KIOSK_PIN,
    VOLUNTEER_ANSWERS,
    csrf_token,
    form_payload,
    hidden,
    response_count,
    stored_answers,
)

QUEUE = {"X-Intake-Queue": "1"}


def kiosk_form(client, token, lang="de", slug="volunteer"):
    client.get(f"/k/{token}")
    page = client.get(f"/k/{token}/f/{slug}?lang={lang}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def kiosk_payload(html, answers=VOLUNTEER_ANSWERS):
    data = form_payload(html, answers)
    data["kiosk_gen"] = hidden(html, "kiosk_gen")
    data["nav"] = "send"
    return data


def test_picker_shows_each_language_by_its_own_name_and_links_to_the_form(client, make_event):
    token = make_event(languages=["ar", "de", "uk"])
    html = client.get(f"/k/{token}").get_data(as_text=True)
    names = re.findall(r'class="big-button" href="([^"]+)"\s+lang="(\w+)"[^>]*>([^<]+)<', html)
    assert [(lang, name) for _href, lang, name in names] == [
        ("ar", "العربية"),
        ("de", "Deutsch"),
        ("uk", "Українська"),
    ]
    assert names[0][0] == f"/k/{token}/f/volunteer?lang=ar"
    assert "Infoabend Ingelheim" in html


def test_kiosk_form_fixes_district_and_has_no_autofill(client, make_event):
    token = make_event()
    html = kiosk_form(client, token)
    form_tag = re.search(r"<form [^>]*id=\"public-form\"[^>]*>", html).group(0)
    assert 'autocomplete="off"' in form_tag
    assert 'autocomplete="email"' not in html
    assert 'autocomplete="given-name"' not in html
    assert hidden(html, "district") == "mainz-bingen"
    # Only the event's district's places are offered.
    assert "vg-nieder-olm" in html
    assert "stadt-bad-kreuznach" not in html
    assert 'class="lang-nav"' not in html  # no way out to other pages


def test_submission_stores_once_with_the_event_as_source(app, client, make_event):
    token = make_event()
    html = kiosk_form(client, token)
    data = kiosk_payload(html)
    sent = client.post(f"/k/{token}/f/volunteer?lang=de", data=data)
    assert sent.status_code == 303
    assert sent.location == f"/k/{token}/thanks"
    thanks = client.get(sent.location).get_data(as_text=True)
    reference = re.search(r'<bdi dir="ltr">([A-Z0-9-]+)</bdi>', thanks).group(1)
    assert f'content="15;url=/k/{token}"' in thanks  # back to the picker by itself
    with app.app_context():
        response = db.session.scalar(sa.select(Response))
        event = db.session.scalar(sa.select(Event))
        assert response.reference == reference
        assert response.source == f"event-{event.id}"
        assert response.event_id == event.id
        assert response.district.slug == "mainz-bingen"
    # Reloading the receipt, or coming back to it, shows nothing of it.
    again = client.get(f"/k/{token}/thanks")
    assert again.status_code == 302
    assert again.location == f"/k/{token}"


def test_form_posted_again_from_history_lands_on_the_picker(app, client, make_event):
    token = make_event()
    html = kiosk_form(client, token)
    first = kiosk_payload(html)
    client.post(f"/k/{token}/f/volunteer?lang=de", data=first)
    client.get(f"/k/{token}")  # the next person's picker
    # The browser's "resend" of the first person's page, or a half-filled page with
    # an error that someone reaches with the back button.
    for data in (first, dict(first, email="not an email")):
        again = client.post(f"/k/{token}/f/volunteer?lang=de", data=data)
        assert again.status_code == 303
        assert again.location == f"/k/{token}"
    assert response_count(app) == 1


def test_invalid_answers_are_shown_again_with_messages(client, make_event):
    token = make_event()
    html = kiosk_form(client, token, lang="ar")
    data = kiosk_payload(html, dict(VOLUNTEER_ANSWERS, email="kein-at"))
    page = client.post(f"/k/{token}/f/volunteer?lang=ar", data=data)
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert 'class="error-summary"' in text
    assert 'lang="ar"' in text
    assert 'value="Jürgen"' in text  # the person's own answers stay while they correct them


def test_a_kiosk_browser_stays_in_the_kiosk_until_staff_leave_with_the_pin(
    client, make_event, create_user, auth
):
    create_user("staff@example.org", districts=("mainz-bingen",))
    token = make_event()
    client.get(f"/k/{token}")
    for path in ("/", "/f/volunteer", "/admin/", "/admin/login"):
        page = client.get(path)
        assert page.status_code == 302, path
        assert page.location == f"/k/{token}", path
    pin_page = client.get(f"/k/{token}/staff")
    wrong = client.post(
        f"/k/{token}/staff",
        data={"pin": "000000", "csrf_token": csrf_token(pin_page.get_data(as_text=True))},
    )
    assert wrong.status_code == 422
    assert "Diese PIN stimmt nicht." in wrong.get_data(as_text=True)
    right = client.post(
        f"/k/{token}/staff",
        data={"pin": KIOSK_PIN, "csrf_token": csrf_token(pin_page.get_data(as_text=True))},
    )
    assert right.status_code == 303
    panel = client.get(f"/k/{token}/staff").get_data(as_text=True)
    assert "Kiosk-Modus auf diesem Tablet verlassen" in panel
    left = client.post(f"/k/{token}/leave", data={"csrf_token": csrf_token(panel)})
    assert left.status_code == 303
    assert client.get("/").status_code == 200


def test_leaving_without_the_pin_is_refused(client, make_event):
    token = make_event()
    assert client.get(f"/k/{token}").status_code == 200  # kiosk mode on
    pin_page = client.get(f"/k/{token}/staff").get_data(as_text=True)
    left = client.post(f"/k/{token}/leave", data={"csrf_token": csrf_token(pin_page)})
    assert left.status_code == 303
    assert left.location == f"/k/{token}/staff"
    assert client.get("/").location == f"/k/{token}"  # still locked


def test_wrong_pins_are_audited_and_throttled(app, client, make_event):
    token = make_event()
    pin_page = client.get(f"/k/{token}/staff").get_data(as_text=True)
    codes = [
        client.post(
            f"/k/{token}/staff", data={"pin": "111111", "csrf_token": csrf_token(pin_page)}
        ).status_code
        for _ in range(11)
    ]
    assert codes[:10] == [422] * 10
    assert codes[10] == 429
    with app.app_context():
        denied = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "kiosk.staff")
        ).all()
        assert len(denied) == 10
        assert {e.outcome for e in denied} == {"denied"}


def test_unknown_and_closed_kiosks(app, client, make_event):
    assert client.get("/k/no-such-token").status_code == 404
    token = make_event()
    with app.app_context():
        db.session.scalar(sa.select(Event)).active = False
        db.session.commit()
    page = client.get(f"/k/{token}")
    assert page.status_code == 410
    assert "Dieser Kiosk ist geschlossen" in page.get_data(as_text=True)
    assert client.get("/").status_code == 200  # a closed kiosk locks nothing


def test_other_forms_are_not_reachable_through_a_kiosk(client, make_event):
    token = make_event()
    assert client.get(f"/k/{token}/f/newcomer?lang=de").status_code == 404


def test_public_links_cannot_pose_as_an_event(app, client, submit):
    submit("volunteer", VOLUNTEER_ANSWERS, "?src=event-1")
    with app.app_context():
        assert db.session.scalar(sa.select(Response.source)) is None


# --- the queue endpoint (kiosk.js, and the offline queue) ---------------------------


def queued(client, token, html, answers=VOLUNTEER_ANSWERS, headers=QUEUE, lang="de"):
    data = kiosk_payload(html, answers)
    data.pop("csrf_token")
    return client.post(
        f"/k/{token}/f/volunteer?lang={lang}",
        data=urlencode(data, doseq=True),
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )


def test_queued_submission_is_stored_once_and_a_repeat_gets_the_same_reference(
    app, client, make_event
):
    token = make_event()
    html = kiosk_form(client, token, lang="uk")
    first = queued(client, token, html, lang="uk")
    assert first.status_code == 200
    assert first.json["status"] == "stored"
    again = queued(client, token, html, lang="uk")
    assert again.status_code == 200
    assert again.json["status"] == "repeat"
    assert again.json["reference"] == first.json["reference"]
    assert response_count(app) == 1
    assert stored_answers(app)[0]["first_name"] == ["Jürgen"]
    with app.app_context():
        assert db.session.scalar(sa.select(Response.language)) == "uk"


def test_queued_submission_needs_no_csrf_token_and_survives_a_new_session(app, client, make_event):
    token = make_event()
    html = kiosk_form(client, token)
    # Hours later, after a restart of the tablet's browser: no cookie at all.
    client.delete_cookie("session")
    assert queued(client, token, html).status_code == 200
    # Even if the picker moved the generation on meanwhile.
    assert response_count(app) == 1


def test_queued_submission_from_another_site_is_refused(app, client, make_event):
    token = make_event()
    html = kiosk_form(client, token)
    for headers in (
        dict(QUEUE, Origin="https://evil.example"),
        dict(QUEUE, **{"Sec-Fetch-Site": "cross-site"}),
    ):
        assert queued(client, token, html, headers=headers).status_code == 400
    # Without the header it is an ordinary post, which needs the CSRF token.
    assert queued(client, token, html, headers={}).status_code == 400
    assert response_count(app) == 0


def test_queued_invalid_answers_are_refused_with_reasons(app, client, make_event):
    token = make_event()
    html = kiosk_form(client, token)
    answer = queued(client, token, html, dict(VOLUNTEER_ANSWERS, consent=""))
    assert answer.status_code == 422
    assert answer.json["status"] == "invalid"
    assert "consent" in answer.json["errors"]
    assert response_count(app) == 0


def test_queued_answers_still_count_after_the_event_closed(app, client, make_event):
    token = make_event()
    html = kiosk_form(client, token)
    with app.app_context():
        db.session.scalar(sa.select(Event)).active = False
        db.session.commit()
    assert queued(client, token, html).status_code == 200
    assert response_count(app) == 1
