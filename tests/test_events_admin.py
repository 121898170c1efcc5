"""Events in the back office and on the command line: create, scope, QR, close, import."""

from __future__ import annotations

import io
import json
import re
from urllib.parse import urlencode

import pytest
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
)


@pytest.fixture
def coordinator(create_user, auth):
    """A Mainz-Bingen coordinator, logged in."""
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")


@pytest.fixture
def event(app, make_event) -> tuple[str, int]:
    """A Mainz-Bingen event: its kiosk token and id."""
    token = make_event()
    with app.app_context():
        return token, db.session.scalar(sa.select(Event.id).where(Event.token == token))


def new_event_data(page_html: str, **overrides) -> dict:
    data = {
        "csrf_token": csrf_token(page_html),
        "name": "Begegnungscafé Bingen",
        "held_on": "2026-12-03",
        "district": "mainz-bingen",
        "forms": ["volunteer"],
        "languages": ["ar", "de", "fa"],
        "pin": "246802",
        "idle_seconds": "90",
        "thanks_seconds": "10",
    }
    data.update(overrides)
    return data


def test_coordinator_creates_an_event_and_gets_link_and_qr(app, client, coordinator):
    page = client.get("/admin/events/new").get_data(as_text=True)
    # A coordinator can only choose their own district.
    assert 'value="mainz-bingen"' in page
    assert 'value="bad-kreuznach"' not in page
    created = client.post("/admin/events/new", data=new_event_data(page))
    assert created.status_code == 303
    detail = client.get(created.location).get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        assert event.languages == ["ar", "de", "fa"]
        assert event.idle_seconds == 90
        assert event.pin_hash != "246802"
        token = event.token
    assert f"/k/{token}" in detail
    qr = client.get(f"/admin/events/{event.id}/qr.svg")
    assert qr.status_code == 200
    assert qr.mimetype == "image/svg+xml"
    assert b"<svg" in qr.data
    listing = client.get("/admin/events").get_data(as_text=True)
    assert "Begegnungscafé Bingen" in listing


def test_event_form_errors_are_precise_and_nothing_is_stored(app, client, coordinator):
    page = client.get("/admin/events/new").get_data(as_text=True)
    for overrides, message in [
        ({"pin": "1234"}, "PIN mit 6 bis 8 Ziffern"),
        ({"pin": "abcd"}, "PIN mit 6 bis 8 Ziffern"),
        ({"name": ""}, "Bitte geben Sie einen Namen ein."),
        ({"idle_seconds": "5"}, "30 bis 1800 Sekunden"),
        ({"forms": []}, "mindestens ein Formular"),
        ({"district": "bad-kreuznach"}, "eine der vorgegebenen Antworten"),
        ({"held_on": "3.12.2026"}, "Datum"),
    ]:
        response = client.post("/admin/events/new", data=new_event_data(page, **overrides))
        assert response.status_code == 422, overrides
        assert message in response.get_data(as_text=True), overrides
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0


def test_events_of_other_districts_are_not_found(client, coordinator, make_event):
    other = make_event(district="bad-kreuznach", forms=("newcomer",))
    with client.application.app_context():
        event_id = db.session.scalar(sa.select(Event.id).where(Event.token == other))
    for path in ("", "/qr.svg"):
        assert client.get(f"/admin/events/{event_id}{path}").status_code == 404
    page = client.get("/admin/events").get_data(as_text=True)
    assert "Infoabend" not in page
    token = csrf_token(page)
    for path in ("/active", "/token", "/import"):
        assert (
            client.post(f"/admin/events/{event_id}{path}", data={"csrf_token": token}).status_code
            == 404
        )


def test_viewers_see_no_events(client, create_user, auth):
    create_user("v@example.org", role="viewer", districts=("mainz-bingen",))
    auth.login("v@example.org")
    assert client.get("/admin/events").status_code == 403
    assert "/admin/events" not in client.get("/admin/").get_data(as_text=True)


def test_closing_the_kiosk_and_a_new_link(app, client, coordinator, event):
    token, event_id = event
    page = client.get(f"/admin/events/{event_id}").get_data(as_text=True)
    client.post(
        f"/admin/events/{event_id}/active", data={"csrf_token": csrf_token(page), "active": "0"}
    )
    tablet = app.test_client()
    assert tablet.get(f"/k/{token}").status_code == 410
    client.post(
        f"/admin/events/{event_id}/active", data={"csrf_token": csrf_token(page), "active": "1"}
    )
    assert tablet.get(f"/k/{token}").status_code == 200
    client.post(f"/admin/events/{event_id}/token", data={"csrf_token": csrf_token(page)})
    assert tablet.get(f"/k/{token}").status_code == 404
    short = client.post(
        f"/admin/events/{event_id}/pin",
        data={"csrf_token": csrf_token(page), "pin": "12345"},
        follow_redirects=True,
    )
    assert "Bitte wählen Sie eine PIN mit 6 bis 8 Ziffern." in short.get_data(as_text=True)
    client.post(
        f"/admin/events/{event_id}/pin", data={"csrf_token": csrf_token(page), "pin": "7654321"}
    )
    with app.app_context():
        from intake.kiosk.store import check_pin

        event = db.session.get(Event, event_id)
        assert check_pin(event, "7654321")
        assert not check_pin(event, KIOSK_PIN)
    with app.app_context():
        actions = set(db.session.scalars(sa.select(AuditEvent.action)))
        assert {"event.close", "event.open", "event.new_link", "event.new_pin"} <= actions


def saved_file(app, token: str, count: int, **extra) -> bytes:
    """A file as the kiosk's staff page saves it: `count` answers never sent."""
    tablet = app.test_client()
    tablet.get(f"/k/{token}")
    answers = []
    for i in range(count):
        html = tablet.get(f"/k/{token}/f/volunteer?lang=de").get_data(as_text=True)
        data = form_payload(html, dict(VOLUNTEER_ANSWERS, first_name=f"Person {i}"))
        data.update(kiosk_gen=hidden(html, "kiosk_gen"), nav="send")
        answers.append(
            {
                "key": data["idempotency_key"],
                "url": f"http://localhost/k/{token}/f/volunteer?lang=de",
                "body": urlencode(data, doseq=True),
                "form": "volunteer",
                "lang": "de",
                "state": "waiting",
            }
        )
    with app.app_context():
        event_id = db.session.scalar(sa.select(Event.id).where(Event.token == token))
    content = {"format": "intake-kiosk-queue", "version": 1, "event": token, "eventId": event_id}
    content.update(answers=answers, **extra)
    return json.dumps(content).encode()


def test_import_of_a_saved_file_stores_each_answer_once(app, client, coordinator, event):
    token, event_id = event
    file = saved_file(app, token, 3)
    page = client.get(f"/admin/events/{event_id}").get_data(as_text=True)

    def upload(content: bytes, name: str = "intake-kiosk.json"):
        return client.post(
            f"/admin/events/{event_id}/import",
            data={"csrf_token": csrf_token(page), "file": (io.BytesIO(content), name)},
            follow_redirects=True,
        ).get_data(as_text=True)

    first = upload(file)
    assert "3 Antworten gespeichert, 0 waren schon gespeichert" in first
    again = upload(file)  # the tablet sent them meanwhile, or the file is imported twice
    assert "0 Antworten gespeichert, 3 waren schon gespeichert" in again
    assert response_count(app) == 3
    with app.app_context():
        sources = set(db.session.scalars(sa.select(Response.event_id)))
        assert sources == {event_id}


def test_import_refuses_other_files_with_a_clear_message(app, client, coordinator, make_event):
    token = make_event()
    other = make_event(name="Anderes Fest")
    with app.app_context():
        event_id = db.session.scalar(sa.select(Event.id).where(Event.token == token))
    page = client.get(f"/admin/events/{event_id}").get_data(as_text=True)
    for content, message in [
        (b"\xff\xfe not json", "keine Datei mit gespeicherten Antworten"),
        (b'{"format": "something else", "answers": []}', "keine Datei mit gespeicherten Antworten"),
        (saved_file(app, other, 1), "Antworten einer anderen Veranstaltung"),
    ]:
        html = client.post(
            f"/admin/events/{event_id}/import",
            data={"csrf_token": csrf_token(page), "file": (io.BytesIO(content), "x.json")},
            follow_redirects=True,
        ).get_data(as_text=True)
        assert message in html
    assert response_count(app) == 0


def test_import_reports_answers_that_do_not_pass_the_checks(app, client, coordinator, event):
    token, event_id = event
    content = json.loads(saved_file(app, token, 2))
    content["answers"][1]["body"] = content["answers"][1]["body"].replace("consent=y", "consent=")
    page = client.get(f"/admin/events/{event_id}").get_data(as_text=True)
    html = client.post(
        f"/admin/events/{event_id}/import",
        data={
            "csrf_token": csrf_token(page),
            "file": (io.BytesIO(json.dumps(content).encode()), "x.json"),
        },
        follow_redirects=True,
    ).get_data(as_text=True)
    assert (
        "1 Antworten gespeichert, 0 waren schon gespeichert, 1 konnten nicht gespeichert werden"
        in html
    )
    assert response_count(app) == 1


def test_summary_and_export_name_the_event(app, client, coordinator, make_event):
    token = make_event(name="Infoabend Ingelheim")
    tablet = app.test_client()
    tablet.get(f"/k/{token}")
    html = tablet.get(f"/k/{token}/f/volunteer?lang=de").get_data(as_text=True)
    data = form_payload(html, VOLUNTEER_ANSWERS)
    data.update(kiosk_gen=hidden(html, "kiosk_gen"), nav="send")
    assert tablet.post(f"/k/{token}/f/volunteer?lang=de", data=data).status_code == 303
    export = client.get("/admin/exports/mainz-bingen/volunteer.csv")
    text = export.get_data().decode("utf-8-sig")
    export.close()
    assert "Infoabend Ingelheim" in text
    with app.app_context():
        response_id = db.session.scalar(sa.select(Response.id))
    detail = client.get(f"/admin/responses/{response_id}").get_data(as_text=True)
    assert "Veranstaltung: Infoabend Ingelheim" in detail
    from pypdf import PdfReader

    pdf = client.get("/admin/reports/mainz-bingen/volunteer.pdf?appendix=none")
    reader = PdfReader(io.BytesIO(pdf.data))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert re.search(r"Veranstaltung:\s*Infoabend\s+Ingelheim", text)


# --- command line ---------------------------------------------------------------------


def test_cli_events_create_prints_link_and_pin(app, runner):
    app.config["PUBLIC_URL"] = "https://intake.example"
    result = runner.invoke(
        args=[
            "events",
            "create",
            "--name",
            "Infoabend",
            "--district",
            "mainz-bingen",
            "--form",
            "volunteer",
            "--date",
            "2026-12-03",
            "--language",
            "ar",
            "--language",
            "de",
        ]
    )
    assert result.exit_code == 0, result.output
    link = re.search(r"Kiosk link \(open it on the tablets\): (\S+)", result.output).group(1)
    pin = re.search(r"Staff PIN: (\d{6})", result.output).group(1)
    token = link.rsplit("/", 1)[1]
    with app.app_context():
        from intake.kiosk.store import by_token, check_pin

        event = by_token(token)
        assert event.languages == ["ar", "de"]
        assert check_pin(event, pin)
    listed = runner.invoke(args=["events", "list"])
    assert "Infoabend" in listed.output
    assert token in listed.output


def test_cli_events_create_refuses_bad_arguments(app, runner):
    base = ["events", "create", "--name", "X", "--district", "mainz-bingen", "--form", "volunteer"]
    for extra, message in [
        (["--date", "03.12.2026"], "is not a date like 2026-12-03"),
        (["--language", "xx"], "unknown language xx"),
        (["--idle-seconds", "5"], "5 is not in the range 30<=x<=1800"),
    ]:
        result = runner.invoke(args=base + extra)
        assert result.exit_code == 2, result.output
        assert message in result.output, result.output
    wrong = runner.invoke(
        args=["events", "create", "--name", "X", "--district", "nowhere", "--form", "volunteer"]
    )
    assert wrong.exit_code == 2
    assert "no district 'nowhere'" in wrong.output
    pin = runner.invoke(args=base + ["--pin-stdin"], input="12\n")
    assert pin.exit_code == 2
    assert "the PIN must be 6 to 8 digits" in pin.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0
