"""Data protection: retention and purge, access (Art. 15) and erasure (Art. 17)."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from datetime import timedelta

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from intake.engine.validation import DefinitionError, validate
from intake.extensions import db
from intake.invitations import store as invitation_store
from intake.storage.districts import by_slug
from intake.storage.models import Answer, AuditEvent, Form, Invitation, ReportJob, Response
from tests.conftest import NEWCOMER_ANSWERS_BK, VOLUNTEER_ANSWERS, csrf_token, form_payload


def age(app, reference: str, days: int) -> None:
    """Move a response `days` into the past (the clock past its retention period)."""
    with app.app_context():
        response = db.session.scalar(sa.select(Response).where(Response.reference == reference))
        response.created_at -= timedelta(days=days)
        db.session.commit()


def reference_of(client, sent) -> str:
    html = client.get(sent.headers["Location"]).get_data(as_text=True)
    return re.search(r"[3-9A-Y]{4}-[3-9A-Y]{4}", html).group(0)


def answers_of(app, reference: str) -> dict[str, list[str]] | None:
    with app.app_context():
        response = db.session.scalar(sa.select(Response).where(Response.reference == reference))
        if response is None:
            return None
        out: dict[str, list[str]] = {}
        for answer in db.session.scalars(
            sa.select(Answer).where(Answer.response_id == response.id).order_by(Answer.id)
        ):
            out.setdefault(answer.field, []).append(answer.value)
        return out


def test_purge_deletes_or_anonymises_what_has_expired(app, client, submit, cli, create_user):
    owner = create_user("mz@example.org", districts=("mainz-bingen",))
    old_volunteer = reference_of(client, submit("volunteer", VOLUNTEER_ANSWERS))
    new_volunteer = reference_of(client, submit("volunteer", VOLUNTEER_ANSWERS))
    old_newcomer = reference_of(client, submit("newcomer", NEWCOMER_ANSWERS_BK))
    age(app, old_volunteer, 731)  # volunteer: 730 days, then delete
    age(app, new_volunteer, 729)
    age(app, old_newcomer, 366)  # newcomer: 365 days, then anonymise
    with app.app_context():  # an old invitation (contact data) and a finished PDF
        form = db.session.scalar(sa.select(Form).where(Form.slug == "volunteer"))
        person = invitation_store.Person("old@example.org", "Old", "de", by_slug("mainz-bingen"))
        [invitation] = invitation_store.create(form, [person])
        invitation.created_at -= timedelta(days=800)
        from intake.reports import jobs

        pdf = jobs.folder() / "old.pdf"
        pdf.write_bytes(b"%PDF- with names")
        db.session.add(
            ReportJob(id="old", user_id=owner.id, district="all", form_slug="volunteer",
                      params={}, state="done", filename="old.pdf")
        )  # fmt: skip
        db.session.commit()

    dry = cli("purge", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "volunteer: 1 responses older than 730 days to delete, 1 invitations to delete" in (
        dry.output
    )
    assert "newcomer: 1 responses older than 365 days to anonymise" in dry.output
    assert "Dry run: nothing was changed." in dry.output
    assert answers_of(app, old_volunteer) is not None
    assert pdf.exists()

    done = cli("purge")
    assert done.exit_code == 0, done.output
    assert "volunteer: 1 responses older than 730 days deleted" in done.output
    assert answers_of(app, old_volunteer) is None
    assert answers_of(app, new_volunteer)["first_name"] == ["Jürgen"]  # not expired yet
    anonymised = answers_of(app, old_newcomer)
    assert "name" not in anonymised
    assert "phone" not in anonymised  # who it was: gone
    assert anonymised["needs"] == ["housing"]
    assert anonymised["languages"] == ["ar"]  # counts stay
    assert not pdf.exists()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0
        response = db.session.scalar(sa.select(Response).where(Response.reference == old_newcomer))
        assert response.anonymised_at is not None
        assert response.note is None
        targets = db.session.scalars(
            sa.select(AuditEvent.target).where(AuditEvent.action == "purge")
        ).all()
        assert sorted(targets) == [
            "form:newcomer anonymise=1 invitations=0",
            "form:volunteer delete=1 invitations=1",
        ]
    # Nothing is left to do the next day.
    again = cli("purge")
    assert "volunteer: 0 responses" in again.output
    assert "newcomer: 0 responses" in again.output


def test_a_form_without_retention_is_named_not_purged(app, cli):
    from pathlib import Path

    from intake.engine.definition import load_file
    from intake.storage.forms import import_definition

    with app.app_context():
        import_definition(load_file(Path(__file__).parent / "forms" / "kiosk_short.yaml"))
        db.session.commit()
    result = cli("purge", "--dry-run")
    assert "kiosk-short: no retention period set (privacy.retention_days); kept" in result.output


BASE = {
    "form": "t",
    "default_language": "de",
    "languages": ["de"],
    "title": {"de": "T"},
    "fields": [{"name": "a", "type": "text", "label": {"de": "A"}}],
}


@pytest.mark.parametrize(
    ("privacy", "message"),
    [
        ({"retention_days": 0}, "'retention_days' must be a whole number of days from 1 to 3650"),
        ({"retention_days": "1 Jahr"}, "'retention_days' must be a whole number"),
        ({"retention_days": 30, "on_expiry": "archive"}, "'on_expiry' must be 'delete' or"),
        ({"on_expiry": "delete"}, "'on_expiry' needs 'retention_days'"),
        ({"legal_basis": ""}, "'legal_basis' must be text of at most 1000 characters"),
        ({"keep": 3}, "unknown keys: keep"),
    ],
)
def test_retention_settings_are_checked(privacy, message):
    raw = dict(BASE, privacy={"version": "1", "notice": {"de": "Hinweis"}, **privacy})
    with pytest.raises(DefinitionError) as error:
        validate(raw, "t.yaml")
    assert any(message in problem for problem in error.value.problems), error.value.problems


# --- the person's rights -----------------------------------------------------------------


@pytest.fixture
def coordinator(app, client, auth, create_user):
    create_user("bk@example.org", districts=("bad-kreuznach",))
    auth.login("bk@example.org")
    return client


def newcomer_in_arabic(app) -> tuple[int, str]:
    browser = app.test_client()
    page = browser.get("/f/newcomer?lang=ar&district=bad-kreuznach").get_data(as_text=True)
    answers = dict(NEWCOMER_ANSWERS_BK, name="سمير الحلبي")
    sent = browser.post("/f/newcomer?lang=ar", data=form_payload(page, answers))
    reference = reference_of(browser, sent)
    with app.app_context():
        return db.session.scalar(sa.select(Response.id)), reference


def test_access_export_as_json_and_pdf(app, coordinator):
    response_id, reference = newcomer_in_arabic(app)
    found = coordinator.get(f"/admin/responses?q={reference}").get_data(as_text=True)
    assert f"/admin/responses/{response_id}" in found  # found by the code the person has
    by_name = coordinator.get("/admin/responses?q=الحلبي").get_data(as_text=True)
    assert f"/admin/responses/{response_id}" in by_name  # or by what they wrote
    data = coordinator.get(f"/admin/responses/{response_id}/data.json")
    assert data.status_code == 200
    assert data.headers["Cache-Control"] == "no-store"
    assert "attachment" in data.headers["Content-Disposition"]
    stored = json.loads(data.get_data(as_text=True))
    assert stored["reference"] == reference
    assert stored["language"] == "ar"
    by_question = {a["question"]: a for a in stored["answers"]}
    assert by_question["name"]["values"] == ["سمير الحلبي"]
    assert by_question["needs"]["shown"] == ["Wohnung"]
    assert by_question["needs"]["label_in_language"] != by_question["needs"]["label"]
    pdf = coordinator.get(f"/admin/responses/{response_id}/data.pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.get_data())).pages)
    text = unicodedata.normalize("NFKC", text)
    assert reference in text
    assert "Art. 15" in text
    assert "Wohnung" in text
    assert "سمير" in text or "ﺳﻤﻴﺮ" in text
    with app.app_context():
        targets = db.session.scalars(
            sa.select(AuditEvent.target).where(AuditEvent.action == "response.access_export")
        ).all()
        assert targets == [f"response:{response_id} json", f"response:{response_id} pdf"]


def test_access_export_is_scoped(app, client, auth, create_user):
    response_id, _reference = newcomer_in_arabic(app)  # a Bad Kreuznach response
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    assert client.get(f"/admin/responses/{response_id}/data.json").status_code == 404
    assert client.get(f"/admin/responses/{response_id}/data.pdf").status_code == 404


def test_erasure_removes_the_response_its_answers_and_its_invitation(app, coordinator):
    with app.app_context():
        form = db.session.scalar(sa.select(Form).where(Form.slug == "newcomer"))
        person = invitation_store.Person(
            "samir@example.org", "Samir", "ar", by_slug("bad-kreuznach")
        )
        [invitation] = invitation_store.create(form, [person])
        db.session.commit()
        path = f"/i/{invitation_store.token_for(invitation)}"
    browser = app.test_client()
    page = browser.get(path).get_data(as_text=True)
    assert browser.post(path, data=form_payload(page, NEWCOMER_ANSWERS_BK)).status_code == 303
    with app.app_context():
        response_id = db.session.scalar(sa.select(Response.id))
    detail = coordinator.get(f"/admin/responses/{response_id}").get_data(as_text=True)
    assert "samir@example.org" in detail
    token = csrf_token(detail)
    erased = coordinator.post(
        f"/admin/responses/{response_id}/delete", data={"csrf_token": token, "confirm": "yes"}
    )
    assert erased.status_code == 302
    with app.app_context():
        for model in (Response, Answer, Invitation):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0
        audit = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "response.delete")
        )
        assert audit.target == f"response:{response_id}"
        assert audit.outcome == "ok"
    # The link is gone with its invitation.
    assert browser.get(path).status_code == 404


def test_record_of_processing_comes_from_the_definition(app, client, auth, create_user):
    create_user("viewer@example.org", role="viewer", districts=("mainz-bingen",))
    auth.login("viewer@example.org")
    page = client.get("/admin/forms/newcomer/record")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Art. 9 Abs. 2 lit. a DSGVO" in html  # the legal basis from the definition
    assert "keine Weitergabe an die Ausländerbehörde" in html
    data = client.get("/admin/forms/newcomer/record.json").get_json()
    assert data["retention_days"] == 365
    assert data["on_expiry"] == "anonymise"
    assert data["missing"] == []
    by_name = {f["name"]: f for f in data["fields"]}
    assert by_name["phone"]["identifying"]
    assert not by_name["needs"]["identifying"]
    assert set(data["districts"]) == {"Landkreis Mainz-Bingen", "Landkreis Bad Kreuznach"}


def test_full_privacy_information_in_the_persons_language(client):
    form = client.get("/f/volunteer?lang=en&district=mainz-bingen").get_data(as_text=True)
    assert 'href="/f/volunteer/privacy?lang=en" target="_blank"' in form
    page = client.get("/f/volunteer/privacy?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "The German text is binding" in html
    assert 'href="/f/volunteer/privacy?lang=de"' in html
    # Facts the definition gives in German only are shown in German, marked as such.
    assert (
        '<span lang="de" dir="ltr" class="fallback">Art. 6 Abs. 1 lit. a DSGVO (Einwilligung)'
        in html
    )
    assert "730 days after you send the form. Then your answers are deleted." in html
    assert "datenschutz@kreis-mz.example" in html
    assert "withdraw your consent at any time" in html
    german = client.get("/f/volunteer/privacy?lang=de").get_data(as_text=True)
    assert "Deutsche Fassung" not in german
    assert 'class="fallback"' not in german
    arabic = client.get("/f/newcomer/privacy?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in arabic
    assert "365" in arabic


def test_forms_without_a_privacy_block_have_no_such_page(app, client):
    from pathlib import Path

    from intake.engine.definition import load_file
    from intake.storage.forms import import_definition

    with app.app_context():
        import_definition(load_file(Path(__file__).parent / "forms" / "kiosk_short.yaml"))
        db.session.commit()
    assert client.get("/f/kiosk-short/privacy").status_code == 404
    assert client.get("/f/nope/privacy").status_code == 404


def test_a_coordinator_corrects_answers_at_the_persons_request(app, coordinator):
    response_id, reference = newcomer_in_arabic(app)
    page = coordinator.get(f"/admin/responses/{response_id}/correct")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert reference in html
    assert 'value="0171 9876543"' in html or "+491719876543" in html  # the stored answers
    data = form_payload(html, dict(NEWCOMER_ANSWERS_BK, phone="not a number"))
    wrong = coordinator.post(f"/admin/responses/{response_id}/correct", data=data)
    assert wrong.status_code == 422  # checked like an answer; nothing changed
    assert answers_of(app, reference)["phone"] == ["+491719876543"]
    data = form_payload(html, dict(NEWCOMER_ANSWERS_BK, name="Samir Haddad", needs=["work"]))
    saved = coordinator.post(f"/admin/responses/{response_id}/correct", data=data)
    assert saved.status_code == 302
    answers = answers_of(app, reference)
    assert answers["name"] == ["Samir Haddad"]
    assert answers["needs"] == ["work"]
    with app.app_context():
        response = db.session.get(Response, response_id)
        assert response.updated_at is not None
        assert response.language == "ar"
        audit = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "response.correct")
        )
        assert audit.target == f"response:{response_id}"


def test_consent_is_never_ticked_beforehand_and_its_version_is_kept(app, client, submit):
    # Even a link that tries to tick it leaves the box empty.
    html = client.get("/f/volunteer?district=mainz-bingen&consent=yes&lang=de").get_data(
        as_text=True
    )
    box = re.search(r'<input type="checkbox" id="consent"[^>]*>', html).group(0)
    assert "checked" not in box
    reference = reference_of(client, submit("volunteer", VOLUNTEER_ANSWERS))
    with app.app_context():
        response = db.session.scalar(sa.select(Response).where(Response.reference == reference))
        assert response.consent_version == "2026-11-01"  # the notice the person saw
        assert response.created_at is not None  # and when
