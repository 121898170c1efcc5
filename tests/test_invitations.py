"""Personal invitations: lists, emails over a real SMTP server, the links and their uses."""

from __future__ import annotations

import io
import logging
import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from intake import accounts, create_app
from intake.extensions import db
from intake.invitations import store
from intake.invitations.store import Person
from intake.public import embed
from intake.storage.districts import by_slug
from intake.storage.models import AuditEvent, Form, Invitation, Response, utcnow
from tests.conftest import (
    VOLUNTEER_ANSWERS,
    AuthActions,
    csrf_token,
    form_payload,
    free_port,
    response_count,
    stored_answers,
)

PUBLIC = "https://intake.kreis-example.de"


@pytest.fixture(autouse=True)
def public_url(app):
    """Emails carry links on the public address (INTAKE_PUBLIC_URL)."""
    app.config["PUBLIC_URL"] = PUBLIC


def invite(app, *people: tuple[str, str, str, str], form: str = "volunteer", days: int = 30):
    """Invitations made directly in storage; returns their link paths."""
    with app.app_context():
        form_row = db.session.scalar(sa.select(Form).where(Form.slug == form))
        made = store.create(
            form_row,
            [
                Person(email, name, lang, by_slug(district))
                for email, name, lang, district in people
            ],
            days,
        )
        db.session.commit()
        return [f"/i/{store.token_for(i)}" for i in made]


def set_reuse(app, value: str, form: str = "volunteer") -> None:
    with app.app_context():
        db.session.scalar(sa.select(Form).where(Form.slug == form)).invitation_reuse = value
        db.session.commit()


def answer(client, path: str, answers: dict, query: str = ""):
    """Open an invitation link and send the form from it, as a browser does."""
    page = client.get(path + query)
    assert page.status_code == 200, page.status_code
    data = form_payload(page.get_data(as_text=True), answers)
    return client.post(path + query, data=data)


def write_csv(tmp_path, text: str, name: str = "people.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def link_in(message) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()
    [link] = re.findall(r"https://\S+", body)
    return link


# --- the CLI and the emails --------------------------------------------------------------


def test_cli_sends_each_person_an_email_in_their_language(app, cli, smtp, tmp_path, client):
    path = write_csv(
        tmp_path,
        "email;name;language\nanna@example.org;Anna Schmidt;de\nsamir@example.org;سمير;ar\n",
    )
    result = cli("invitations", "send", "--form", "volunteer", "--district", "mainz-bingen",
                 "--file", str(path))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "2 invitations made" in result.output
    assert "Sent: 2. Failed: 0." in result.output
    german, arabic = sorted(smtp.messages, key=lambda m: m["To"])
    assert german["To"] == "anna@example.org"
    assert german["Subject"] == (
        "Ihr persönlicher Link: Ehrenamtlich helfen und Integrationslotse werden"
    )
    text = german.get_body(preferencelist=("plain",)).get_content()
    assert text.startswith("Guten Tag Anna Schmidt,")
    assert "Landkreis Mainz-Bingen" in text
    html = german.get_body(preferencelist=("html",)).get_content()
    assert '<html lang="de" dir="ltr">' in html
    # Arabic: subject, text and a right-to-left HTML part.
    assert arabic["To"] == "samir@example.org"
    assert "التطوع معنا" in arabic["Subject"]
    html = arabic.get_body(preferencelist=("html",)).get_content()
    assert '<html lang="ar" dir="rtl">' in html
    assert '<body dir="rtl"' in html
    assert "text-align:right" in html
    assert "سمير" in arabic.get_body(preferencelist=("plain",)).get_content()
    # The link is on the public address, holds no personal data, and opens the form
    # in the person's language with their district.
    link = link_in(arabic)
    assert link.startswith(f"{PUBLIC}/i/")
    assert "samir" not in link.lower()
    assert "example" not in link.split("/i/")[1]
    assert f'href="{link}"' in html
    page = client.get(urlsplit(link).path)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="ar" dir="rtl">' in text
    assert 'name="district" type="hidden" value="mainz-bingen"' in text
    assert "Bad Kreuznach (Stadt)" not in text  # only the district's own places


def test_cli_refuses_a_list_with_mistakes_and_invites_nobody(app, cli, smtp, tmp_path):
    path = write_csv(
        tmp_path,
        "E-Mail,Name,Sprache,Landkreis\n"
        "anna@example.org,Anna,de,\n"
        "not-an-address,Bob,de,\n"
        "anna@example.org,Anna again,de,\n"
        "c@example.org,Chris,xx,\n"
        "d@example.org,Dana,de,bad-kreuznach\n",
    )
    result = cli("invitations", "send", "--form", "volunteer", "--district", "mainz-bingen",
                 "--file", str(path))  # fmt: skip
    assert result.exit_code == 1
    assert "row 3, column 'E-Mail': This is not an email address." in result.output
    assert "row 4, column 'E-Mail': This address is already in row 2." in result.output
    assert "row 5, column 'Sprache': This form has no language “xx”." in result.output
    assert "row 6, column 'Landkreis': “bad-kreuznach” is not one of the districts" in (
        result.output
    )
    assert "4 problems in people.csv; nobody was invited" in result.output
    assert smtp.messages == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--form", "nope", "--district", "mainz-bingen"), "no open or closed form called 'nope'"),
        (("--form", "volunteer", "--district", "atlantis"), "no district called 'atlantis'"),
        (("--form", "volunteer", "--district", "mainz-bingen", "--days", "0"), "0 is not in"),
    ],
)
def test_cli_arguments_are_checked(cli, tmp_path, args, message):
    path = write_csv(tmp_path, "email\na@example.org\n")
    result = cli("invitations", "send", "--file", str(path), *args)
    assert result.exit_code == 2
    assert message in result.output


def test_cli_needs_the_public_address(app, cli, tmp_path, smtp):
    app.config["PUBLIC_URL"] = None
    path = write_csv(tmp_path, "email\na@example.org\n")
    result = cli("invitations", "send", "--form", "volunteer", "--district", "mainz-bingen",
                 "--file", str(path))  # fmt: skip
    assert result.exit_code == 2
    assert "INTAKE_PUBLIC_URL is not set" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0


def test_failed_sends_are_kept_and_sent_again(app, cli, tmp_path, smtp):
    working_port = app.config["SMTP_PORT"]
    app.config.update(SMTP_PORT=free_port(), MAIL_RETRY_SECONDS=0)  # nobody listens there
    path = write_csv(tmp_path, "email,name\na@example.org,A\nb@example.org,B\n")
    result = cli("invitations", "send", "--form", "volunteer", "--district", "mainz-bingen",
                 "--file", str(path))  # fmt: skip
    assert result.exit_code == 1
    assert "2 emails could not be sent; they are marked as failed" in result.output
    status = cli("invitations", "status", "--form", "volunteer", "--district", "mainz-bingen")
    assert re.search(r"failed\s+2", status.output)
    with app.app_context():
        errors = db.session.scalars(sa.select(Invitation.send_error)).all()
        assert errors == ["unreachable", "unreachable"]
    # The server is back: `retry` sends both, and the state says so.
    app.config["SMTP_PORT"] = working_port
    result = cli("invitations", "retry", "--form", "volunteer", "--district", "mainz-bingen")
    assert result.exit_code == 0
    assert "Sent: 2. Failed: 0." in result.output
    assert sorted(m["To"] for m in smtp.messages) == ["a@example.org", "b@example.org"]
    status = cli("invitations", "status", "--form", "volunteer", "--district", "mainz-bingen")
    assert re.search(r"sent\s+2", status.output)
    assert re.search(r"failed\s+0", status.output)


def test_reminders_go_to_those_who_have_not_answered_once_a_day(app, cli, smtp, client):
    answered, waiting = invite(
        app,
        ("a@example.org", "A", "de", "mainz-bingen"),
        ("b@example.org", "Berhane", "ti", "mainz-bingen"),
    )
    with app.app_context():
        for invitation in db.session.scalars(sa.select(Invitation)):
            invitation.sent_at = utcnow() - timedelta(days=2)
        db.session.commit()
    assert answer(client, answered, VOLUNTEER_ANSWERS).status_code == 303
    result = cli("invitations", "remind", "--form", "volunteer", "--district", "mainz-bingen")
    assert result.exit_code == 0
    assert "Sent: 1." in result.output
    [reminder] = smtp.messages
    assert reminder["To"] == "b@example.org"
    text = reminder.get_body(preferencelist=("plain",)).get_content()
    assert "Berhane" in text
    assert link_in(reminder).endswith(waiting)
    assert '<html lang="ti" dir="ltr">' in reminder.get_body(preferencelist=("html",)).get_content()
    # A second click the same day reminds nobody.
    again = cli("invitations", "remind", "--form", "volunteer", "--district", "mainz-bingen")
    assert "Nobody to send to." in again.output
    assert len(smtp.messages) == 1
    with app.app_context():
        reminded = db.session.scalar(sa.select(Invitation).where(Invitation.reminders == 1))
        assert reminded.email == "b@example.org"


def test_hostile_names_are_text_in_the_email(app, smtp):
    from intake.invitations import sending

    invite(app, ("x@example.org", '<a href="https://evil.example">Klick</a>', "de", "mainz-bingen"))
    with app.app_context():
        invitation = db.session.scalar(sa.select(Invitation))
        message = sending.compose(invitation, PUBLIC)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "evil.example" in html
    assert '<a href="https://evil.example">' not in html
    assert "&lt;a href=&#34;https://evil.example&#34;&gt;Klick&lt;/a&gt;" in html


# --- the link ---------------------------------------------------------------------------


def test_the_response_is_tied_to_its_invitation(app, client):
    [path] = invite(app, ("a@example.org", "A", "de", "bad-kreuznach"))
    answers = dict(VOLUNTEER_ANSWERS, municipality="stadt-bad-kreuznach")
    sent = answer(client, path, answers)
    assert sent.status_code == 303
    thanks = client.get(sent.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        response = db.session.scalar(sa.select(Response))
        assert response.invitation.email == "a@example.org"
        assert response.district.slug == "bad-kreuznach"
        assert store.state(response.invitation) == "answered"
        assert response.reference in thanks


def test_a_reused_link_says_so_in_the_persons_language(app, client):
    [path] = invite(app, ("a@example.org", "A", "fa", "mainz-bingen"))
    assert answer(client, path, VOLUNTEER_ANSWERS).status_code == 303
    other = app.test_client()  # another phone, no session, browser in German
    page = other.get(path, headers={"Accept-Language": "de"})
    html = page.get_data(as_text=True)
    assert page.status_code == 409
    assert '<html lang="fa" dir="rtl">' in html
    with app.app_context():
        reference = db.session.scalar(sa.select(Response.reference))
    assert reference in html
    assert "<form" not in html
    # Sending a second page from that link stores nothing.
    assert answer_from_old_page(other, path) == 409
    assert response_count(app) == 1


def answer_from_old_page(client, path: str) -> int:
    """POST a complete form to a link whose first page was loaded elsewhere."""
    data = dict(VOLUNTEER_ANSWERS, idempotency_key="k" * 32, district="mainz-bingen", src="")
    return client.post(path, data=data).status_code


def test_two_pages_of_one_link_sent_at_once_store_one_response(app, client):
    [path] = invite(app, ("a@example.org", "A", "de", "mainz-bingen"))
    first = client.get(path).get_data(as_text=True)
    second = app.test_client()
    second_page = second.get(path).get_data(as_text=True)
    assert client.post(path, data=form_payload(first, VOLUNTEER_ANSWERS)).status_code == 303
    late = second.post(path, data=form_payload(second_page, VOLUNTEER_ANSWERS))
    # The second page was loaded before the first answer: it is refused, not stored.
    assert late.status_code == 409
    assert response_count(app) == 1
    # A double click on the first page gets the same receipt.
    again = client.post(path, data=form_payload(first, VOLUNTEER_ANSWERS))
    assert again.status_code == 303
    assert response_count(app) == 1


def test_a_tampered_link_gets_a_page_in_the_browsers_language(app, client):
    [path] = invite(app, ("a@example.org", "A", "de", "mainz-bingen"))
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    page = client.get(tampered, headers={"Accept-Language": "uk"})
    html = page.get_data(as_text=True)
    assert page.status_code == 404
    assert '<html lang="uk" dir="ltr">' in html
    assert "Посилання недійсне" in html or "недійсн" in html
    assert client.get("/i/x", headers={"Accept-Language": "en"}).status_code == 404
    assert client.post(tampered, data=dict(VOLUNTEER_ANSWERS)).status_code == 404
    assert response_count(app) == 0


def test_a_new_secret_key_keeps_links_working_while_the_old_one_is_a_fallback(
    app, client, create_user
):
    [path] = invite(app, ("a@example.org", "A", "de", "mainz-bingen"))
    user = create_user("reset@example.org")
    with app.test_request_context():
        reset = accounts.reset_token(user)
        signature = embed.sign_key("k" * 24)
    old_key = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "a-new-key-" + old_key[::-1]
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert client.get(path).status_code == 200
    with app.test_request_context():
        assert accounts.check_reset_token(reset).problem is None
        assert embed.key_signed("k" * 24, signature)
        fresh = store.token_for(db.session.scalar(sa.select(Invitation)))
    assert fresh != path.removeprefix("/i/")  # links made now are signed with the new key
    assert client.get(f"/i/{fresh}").status_code == 200
    # Once the old key is dropped, what it signed stops working.
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get(path).status_code == 404
    assert client.get(f"/i/{fresh}").status_code == 200
    with app.test_request_context():
        assert accounts.check_reset_token(reset).problem == "invalid"
        assert not embed.key_signed("k" * 24, signature)


@pytest.mark.parametrize("value", ['"one-old-key"', "[1, 2]", '[""]'])
def test_fallback_keys_must_be_a_list_of_keys(value, monkeypatch):
    monkeypatch.setenv("INTAKE_SECRET_KEY", "x" * 8 + "Ab1-" * 10 + "zyxwvut")
    monkeypatch.setenv("INTAKE_SECRET_KEY_FALLBACKS", value)
    monkeypatch.setenv("INTAKE_DATABASE_URL", "sqlite://")
    with pytest.raises(RuntimeError, match="^INTAKE_SECRET_KEY_FALLBACKS must be a JSON list"):
        create_app()


def test_an_expired_link_says_until_when_it_worked(app, client):
    [path] = invite(app, ("a@example.org", "A", "ar", "mainz-bingen"))
    with app.app_context():
        invitation = db.session.scalar(sa.select(Invitation))
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    page = client.get(path, headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 410
    assert '<html lang="ar" dir="rtl">' in html
    assert "Landkreis Mainz-Bingen" in html  # whom to ask
    assert answer_from_old_page(client, path) == 410
    assert response_count(app) == 0


def test_a_withdrawn_link_stops_working(app, client):
    [path] = invite(app, ("a@example.org", "A", "en", "mainz-bingen"))
    with app.app_context():
        store.revoke(db.session.scalar(sa.select(Invitation)))
        db.session.commit()
    page = client.get(path)
    assert page.status_code == 410
    assert "This link was withdrawn" in page.get_data(as_text=True)
    assert answer_from_old_page(client, path) == 410
    assert response_count(app) == 0


def test_a_second_use_can_change_the_earlier_answers(app, client):
    set_reuse(app, "edit")
    [path] = invite(app, ("a@example.org", "A", "de", "mainz-bingen"))
    assert answer(client, path, VOLUNTEER_ANSWERS).status_code == 303
    other = app.test_client()
    page = other.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Sie können sie ändern" in html or "ändern" in html
    assert 'value="juergen@example.org"' in html  # the earlier answers are filled in
    with app.app_context():
        reference = db.session.scalar(sa.select(Response.reference))
    assert reference in html
    changed = dict(VOLUNTEER_ANSWERS, experience="Jetzt mit mehr Zeit.", help_areas=["school"])
    sent = other.post(path, data=form_payload(html, changed))
    assert sent.status_code == 303
    thanks = other.get(sent.headers["Location"]).get_data(as_text=True)
    assert reference in thanks
    assert "Ihre Änderungen sind gespeichert." in thanks
    assert response_count(app) == 1
    [stored] = stored_answers(app)
    assert stored["experience"] == ["Jetzt mit mehr Zeit."]
    assert stored["help_areas"] == ["school"]
    with app.app_context():
        assert db.session.scalar(sa.select(Response.updated_at)) is not None


def test_changed_answers_are_checked_like_new_ones(app, client):
    set_reuse(app, "edit")
    [path] = invite(app, ("a@example.org", "A", "en", "mainz-bingen"))
    assert answer(client, path, VOLUNTEER_ANSWERS).status_code == 303
    bad = answer(client, path, dict(VOLUNTEER_ANSWERS, email="not an address"))
    assert bad.status_code == 422
    assert "Please enter an email address like name@example.org." in bad.get_data(as_text=True)
    assert stored_answers(app)[0]["email"] == ["juergen@example.org"]


# --- the back office --------------------------------------------------------------------


@pytest.fixture
def coordinator(app, client, auth, create_user):
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    return client


def upload(client, filename: str, data: bytes, **fields):
    page = client.get("/admin/invitations?form=volunteer")
    token = csrf_token(page.get_data(as_text=True))
    payload = {"csrf_token": token, "form": "volunteer", "days": "14", **fields}
    payload["file"] = (io.BytesIO(data), filename)
    return client.post("/admin/invitations/upload", data=payload)


def wait_for(check, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def states(app) -> list[str]:
    with app.app_context():
        return sorted(store.state(i) for i in db.session.scalars(sa.select(Invitation)))


def test_upload_an_xlsx_list_and_follow_the_states(app, coordinator, smtp):
    book = Workbook()
    sheet = book.active
    sheet.append(["Email", "Name", "Language", "District"])
    sheet.append(["olena@example.org", "Olena", "Українська", "Landkreis Mainz-Bingen"])
    sheet.append(["ali@example.org", "Ali", "ps", None])
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(coordinator, "liste.xlsx", buffer.getvalue(), district="mainz-bingen")
    assert response.status_code == 302
    assert wait_for(lambda: states(app) == ["sent", "sent"]), states(app)
    by_to = {m["To"]: m for m in smtp.messages}
    assert (
        '<html lang="uk" dir="ltr">'
        in by_to["olena@example.org"].get_body(preferencelist=("html",)).get_content()
    )
    pashto = by_to["ali@example.org"].get_body(preferencelist=("html",)).get_content()
    assert '<html lang="ps" dir="rtl">' in pashto
    # The link is on the public address (PUBLIC_URL) and works.
    body = by_to["ali@example.org"].get_body(preferencelist=("plain",)).get_content()
    [link] = re.findall(r"http\S+/i/\S+", body)
    assert coordinator.application.test_client().get(urlsplit(link).path).status_code == 200
    page = coordinator.get("/admin/invitations?form=volunteer").get_data(as_text=True)
    assert "olena@example.org" in page
    assert "verschickt" in page
    with app.app_context():
        invitation = db.session.scalar(sa.select(Invitation))
        assert (invitation.expires_at - invitation.created_at).days == 14
        audit = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "invitations.upload")
        )
        assert audit.target == "form:volunteer people=2"
        assert "@" not in audit.target


def test_upload_with_mistakes_lists_each_with_row_and_column(app, coordinator, smtp):
    data = "email,name,language\nok@example.org,Ok,de\nkaputt,Bob,de\n".encode("cp1252")
    response = upload(coordinator, "people.csv", data, district="mainz-bingen")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Die Liste wurde nicht übernommen" in html
    assert "Zeile 3, Spalte „email“: Das ist keine E-Mail-Adresse." in html
    assert states(app) == []


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        (
            "people.txt",
            b"email\na@example.org\n",
            "Bitte laden Sie eine .csv- oder .xlsx-Datei hoch.",
        ),
        ("people.xlsx", b"this is no spreadsheet", "Die Datei kann nicht als XLSX gelesen werden."),
        ("people.csv", b"", "Die Datei ist leer."),
        ("people.csv", b"name\nAnna\n", "eine Spalte „email“ fehlt"),
        ("people.csv", b"email\na@example.org\n", "Bitte nennen Sie den Landkreis"),
    ],
)
def test_unreadable_lists_get_a_precise_message(app, coordinator, filename, data, message):
    response = upload(coordinator, filename, data, district="")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert states(app) == []


def test_the_number_of_days_is_checked(app, coordinator):
    response = upload(coordinator, "p.csv", b"email\na@example.org\n", days="999")
    assert response.status_code == 422
    assert "Bitte geben Sie eine Anzahl Tage von 1 bis 180 ein." in response.get_data(as_text=True)


def test_a_person_is_not_invited_twice_while_the_link_works(app, coordinator, smtp):
    invite(app, ("a@example.org", "A", "de", "mainz-bingen"))
    response = upload(coordinator, "p.csv", b"email\nA@example.org\n", district="mainz-bingen")
    assert response.status_code == 422
    assert "hat schon eine Einladung" in response.get_data(as_text=True)


def test_withdraw_and_scope(app, coordinator, create_user):
    invite(app, ("a@example.org", "A", "de", "mainz-bingen"))
    invite(app, ("b@example.org", "B", "de", "bad-kreuznach"))
    page = coordinator.get("/admin/invitations?form=volunteer").get_data(as_text=True)
    assert "a@example.org" in page
    assert "b@example.org" not in page  # own district only
    with app.app_context():
        mine, theirs = db.session.scalars(sa.select(Invitation.id).order_by(Invitation.id))
    token = csrf_token(page)
    assert coordinator.post(f"/admin/invitations/{theirs}/revoke",
                            data={"csrf_token": token}).status_code == 404  # fmt: skip
    assert coordinator.post(f"/admin/invitations/{mine}/revoke",
                            data={"csrf_token": token}).status_code == 302  # fmt: skip
    assert states(app) == ["revoked", "waiting"]
    create_user("viewer@example.org", role="viewer", districts=("mainz-bingen",))
    viewer = app.test_client()
    AuthActions(viewer).login("viewer@example.org")
    assert viewer.get("/admin/invitations").status_code == 403


def test_reminders_and_retries_from_the_back_office(app, coordinator, smtp):
    invite(app, ("a@example.org", "A", "de", "mainz-bingen"))
    with app.app_context():
        invitation = db.session.scalar(sa.select(Invitation))
        invitation.sent_at = utcnow() - timedelta(days=1)
        db.session.commit()
    page = coordinator.get("/admin/invitations?form=volunteer").get_data(as_text=True)
    assert "Erinnerung an 1 Personen" in page or "Erinnerung" in page
    token = csrf_token(page)
    response = coordinator.post(
        "/admin/invitations/remind", data={"csrf_token": token, "form": "volunteer"}
    )
    assert response.status_code == 302
    assert wait_for(lambda: len(smtp.messages) == 1)
    assert smtp.messages[0]["Subject"].startswith("Erinnerung: ")


def test_invitation_links_and_addresses_stay_out_of_the_logs(
    app, cli, tmp_path, live_log_server, caplog
):
    caplog.set_level(logging.DEBUG)
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), MAIL_RETRY_SECONDS=0)
    path = write_csv(tmp_path, "email,name\ncanary-person@example.org,Canary Name\n")
    cli("invitations", "send", "--form", "volunteer", "--district", "mainz-bingen",
        "--file", str(path))  # fmt: skip
    with app.app_context():
        invitation = db.session.scalar(sa.select(Invitation))
        assert invitation.send_error == "unreachable"  # the failure was logged, by id
        token = store.token_for(invitation)
    assert live_log_server(f"/i/{token}?lang=de") == 200
    deadline = time.monotonic() + 5
    while "GET /i/" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "GET /i/[redacted]?[redacted]" in caplog.text
    assert "not sent: unreachable" in caplog.text
    assert token not in caplog.text
    assert "canary" not in caplog.text.lower()
