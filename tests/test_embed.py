"""A form inside another site's page: allowed origins only, and no session needed."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from intake.extensions import db
from intake.public import embed
from intake.storage.models import Form
from tests.conftest import VOLUNTEER_ANSWERS, csrf_token, response_count, stored_answers

SITE = "https://www.kreis-example.de"


def allow(app, *origins: str, form: str = "volunteer") -> None:
    with app.app_context():
        db.session.scalar(sa.select(Form).where(Form.slug == form)).embed_origins = list(origins)
        db.session.commit()


def embedded_payload(html: str, answers: dict) -> dict:
    fields = ("idempotency_key", "district", "src", "embed_sig")
    data = {
        name: re.search(rf'name="{name}"[^>]*value="([^"]*)"', html).group(1) for name in fields
    }
    return dict(data, **answers)


def action_of(html: str) -> str:
    found = re.search(r'<form method="post" action="([^"]+)"[^>]*id="public-form"', html)
    return found.group(1).replace("&amp;", "&")


def test_forms_are_not_framed_unless_allowed(app, client):
    for path in (
        "/f/volunteer?district=mainz-bingen",
        "/f/volunteer?district=mainz-bingen&embed=1",
    ):
        response = client.get(path)
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"


def test_an_allowed_site_may_frame_the_embedded_form_only(app, client):
    allow(app, SITE, "http://localhost:8000")
    framed = client.get("/f/volunteer?district=mainz-bingen&embed=1")
    policy = framed.headers["Content-Security-Policy"]
    assert f"frame-ancestors {SITE} http://localhost:8000" in policy
    assert "X-Frame-Options" not in framed.headers
    # The same form outside embedding, and every other page, stay unframeable.
    for path in ("/f/volunteer?district=mainz-bingen", "/", "/f/newcomer?embed=1"):
        assert "frame-ancestors 'none'" in client.get(path).headers["Content-Security-Policy"]


def test_embedded_form_works_without_any_cookie(app):
    allow(app, SITE)
    browser = app.test_client(use_cookies=False)  # a cross-site frame gets no cookies
    page = browser.get("/f/volunteer?district=mainz-bingen&embed=1&lang=ar")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Set-Cookie" not in page.headers
    assert 'name="csrf_token"' not in html
    assert '<html lang="ar" dir="rtl">' in html
    assert 'class="public embedded"' in html
    action = action_of(html)
    assert "embed=1" in action
    assert "lang=ar" in action
    sent = browser.post(action, data=embedded_payload(html, VOLUNTEER_ANSWERS))
    assert sent.status_code == 303
    assert "Set-Cookie" not in sent.headers
    thanks = browser.get(sent.headers["Location"])
    text = thanks.get_data(as_text=True)
    assert thanks.status_code == 200
    assert "Set-Cookie" not in thanks.headers
    [stored] = stored_answers(app)
    assert stored["first_name"] == ["Jürgen"]
    with app.app_context():
        from intake.storage.models import Response

        reference = db.session.scalar(sa.select(Response.reference))
    assert reference in text
    assert '<html lang="ar" dir="rtl">' in text
    assert f"frame-ancestors {SITE}" in thanks.headers["Content-Security-Policy"]
    # Sent again (a retry): the same receipt, nothing more stored.
    again = browser.post(action, data=embedded_payload(html, VOLUNTEER_ANSWERS))
    assert again.status_code == 303
    assert response_count(app) == 1


def test_embedded_post_needs_the_signed_key_of_a_rendered_page(app):
    allow(app, SITE)
    browser = app.test_client(use_cookies=False)
    html = browser.get("/f/volunteer?district=mainz-bingen&embed=1&lang=en").get_data(as_text=True)
    data = embedded_payload(html, VOLUNTEER_ANSWERS)
    for forged in ("", "x" + data["embed_sig"], embed_signature_of_other_key(app)):
        response = browser.post(action_of(html), data=dict(data, embed_sig=forged))
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert "This page was open for a long time" in page
        assert 'value="Jürgen"' in page  # nothing typed is lost
    assert response_count(app) == 0


def embed_signature_of_other_key(app) -> str:
    with app.test_request_context():
        return embed.sign_key("another-key-another-key-1234")


def test_a_changed_receipt_link_shows_no_reference(app):
    allow(app, SITE)
    browser = app.test_client(use_cookies=False)
    response = browser.get("/f/volunteer/thanks?embed=1&r=forged")
    assert response.status_code == 302
    assert "embed=1" in response.headers["Location"]


@pytest.mark.parametrize(
    ("text", "origins", "reasons"),
    [
        ("https://www.kreis-example.de", ["https://www.kreis-example.de"], []),
        ("HTTPS://WWW.Kreis-Example.de:443/", ["https://www.kreis-example.de"], []),
        ("https://a.example:8443\nhttps://a.example:8443", ["https://a.example:8443"], []),
        ("http://localhost:8000", ["http://localhost:8000"], []),
        ("http://www.kreis-example.de", [], ["scheme"]),
        ("https://www.kreis-example.de/formulare", [], ["path"]),
        ("https://user@www.kreis-example.de", [], ["path"]),
        ("www.kreis-example.de", [], ["format"]),
        ("https://*.example.de", [], ["format"]),
        ("javascript:alert(1)", [], ["format"]),
        ("https://a.example 'unsafe-inline'", [], ["format"]),
        ("https://a.example;script-src", [], ["format"]),
    ],
)
def test_origins_are_checked(text, origins, reasons):
    found, problems = embed.parse_origins(text)
    assert found == origins
    assert [reason for _line, reason in problems] == reasons


def test_the_form_page_saves_sharing_settings_with_precise_messages(app, client, auth, create_user):
    create_user("boss@example.org", role="admin")
    auth.login("boss@example.org")
    page = client.get("/admin/forms/volunteer").get_data(as_text=True)
    token = csrf_token(page)
    bad = client.post(
        "/admin/forms/volunteer/sharing",
        data={"csrf_token": token, "invitation_reuse": "edit", "embed_origins": "http://evil.de"},
    )
    assert bad.status_code == 422
    assert "„http://evil.de“ muss mit https:// beginnen" in bad.get_data(as_text=True)
    good = client.post(
        "/admin/forms/volunteer/sharing",
        data={"csrf_token": token, "invitation_reuse": "edit", "embed_origins": SITE + "/\n"},
    )
    assert good.status_code == 302
    with app.app_context():
        form = db.session.scalar(sa.select(Form).where(Form.slug == "volunteer"))
        assert form.embed_origins == [SITE]
        assert form.invitation_reuse == "edit"
    page = client.get("/admin/forms/volunteer").get_data(as_text=True)
    assert "&lt;iframe src=&#34;" in page or "&lt;iframe src=" in page
    assert "embed=1" in page


def test_the_district_choice_stays_embedded(app):
    from pathlib import Path

    from intake.engine.definition import load_file
    from intake.storage.forms import import_definition

    with app.app_context():  # a form without a place question asks for the district first
        import_definition(load_file(Path(__file__).parent / "forms" / "kiosk_short.yaml"))
        db.session.commit()
    allow(app, SITE, form="kiosk-short")
    browser = app.test_client(use_cookies=False)
    page = browser.get("/f/kiosk-short?embed=1&lang=de")
    html = page.get_data(as_text=True)
    assert f"frame-ancestors {SITE}" in page.headers["Content-Security-Policy"]
    assert "Wählen Sie Ihren Landkreis" in html
    links = re.findall(r'class="big-button" href="([^"]+)"', html)
    assert len(links) == 2
    assert all("embed=1" in link for link in links)
