"""The coordinator's side: login, scoping by district, the PDF summary."""

from __future__ import annotations

import io
import re
import unicodedata

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from intake.extensions import db
from intake.storage.models import AuditEvent
from tests.conftest import NEWCOMER_ANSWERS_BK, VOLUNTEER_ANSWERS


def pdf_text(data: bytes) -> str:
    """All text of a PDF, NFKC-normalised (Arabic presentation forms -> letters)."""
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return unicodedata.normalize("NFKC", text)


@pytest.fixture
def mainz(create_user):
    return create_user("mz@example.org", districts=("mainz-bingen",))


def test_login_page_in_german_and_english(client):
    assert 'lang="de"' in client.get("/admin/login").get_data(as_text=True)
    html = client.get("/admin/login?lang=en").get_data(as_text=True)
    assert 'lang="en"' in html
    assert "Log in" in html


def test_admin_pages_never_use_a_respondent_language(client):
    html = client.get("/admin/login?lang=ar", headers={"Accept-Language": "ar"}).get_data(
        as_text=True
    )
    assert '<html lang="de" dir="ltr">' in html


def test_login_and_logout(client, auth, mainz):
    response = auth.login("mz@example.org")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert "Landkreis Mainz-Bingen" in client.get("/admin/").get_data(as_text=True)
    auth.logout()
    assert client.get("/admin/").status_code == 302


def test_wrong_password_is_refused_and_audited(app, auth, mainz):
    response = auth.login("mz@example.org", "wrong password!")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "mz@example.org" in html  # the email is kept in the field
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert (event.action, event.outcome, event.user_id) == ("login", "failed", mainz.id)


def test_unknown_account_gets_the_same_message(auth, mainz):
    known = auth.login("mz@example.org", "wrong password!").get_data(as_text=True)
    unknown = auth.login("nobody@example.org", "wrong password!").get_data(as_text=True)
    message = re.compile(r'<ul class="field-errors" id="password-error"><li>([^<]+)</li>')
    assert message.search(known).group(1) == message.search(unknown).group(1)


def test_session_cookie_does_not_work_after_logout(app, client, auth, mainz):
    auth.login("mz@example.org")
    cookie = client.get_cookie("session").value
    auth.logout()
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/admin/").status_code == 302


@pytest.mark.parametrize(
    "target",
    ["/admin/", "/admin/reports/mainz-bingen/volunteer.pdf"],
)
def test_back_office_needs_login(client, target):
    response = client.get(target)
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/admin/reports/mainz-bingen/volunteer.pdf", "/admin/reports/mainz-bingen/volunteer.pdf"),
        ("https://evil.example/admin/", "/admin/"),
        ("//evil.example/admin/", "/admin/"),
        ("/f/volunteer", "/admin/"),
    ],
)
def test_next_redirect_only_to_own_back_office(client, mainz, next_url, expected):
    from tests.conftest import PASSWORD, csrf_token

    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    response = client.post(
        "/admin/login",
        data={
            "email": "mz@example.org",
            "password": PASSWORD,
            "csrf_token": token,
            "next": next_url,
        },
    )
    assert response.headers["Location"] == expected


def test_login_without_csrf_token_is_refused(client, mainz):
    response = client.post("/admin/login", data={"email": "mz@example.org", "password": "x"})
    assert response.status_code == 400
    assert "reload" in response.get_data(as_text=True).lower() or "neu" in response.get_data(
        as_text=True
    )


def test_dashboard_counts_only_own_districts(client, auth, mainz, submit):
    submit("volunteer", VOLUNTEER_ANSWERS)  # Mainz-Bingen
    submit("newcomer", NEWCOMER_ANSWERS_BK)  # Bad Kreuznach
    auth.login("mz@example.org")
    html = client.get("/admin/").get_data(as_text=True)
    main = html[html.index("<main") : html.index("</main>")]
    assert "Landkreis Mainz-Bingen" in main
    assert "Landkreis Bad Kreuznach" not in main
    assert "/admin/reports/bad-kreuznach/" not in main
    counts = re.findall(r'<span class="count">(\d+)</span>', main)
    assert counts == ["0", "1"]  # newcomer, volunteer in Mainz-Bingen


@pytest.mark.parametrize(
    "path",
    [
        "/admin/reports/bad-kreuznach/volunteer.pdf",
        "/admin/reports/bad-kreuznach/newcomer.pdf?appendix=none",
        "/admin/reports/atlantis/volunteer.pdf",
        "/admin/reports/mainz-bingen/nope.pdf",
    ],
)
def test_other_or_unknown_district_is_404(client, auth, mainz, path):
    auth.login("mz@example.org")
    assert client.get(path).status_code == 404


def test_pdf_contains_own_german_and_arabic_answers_and_nothing_else(client, auth, mainz, submit):
    arabic_note = "أحتاج إلى مساعدة في الأوراق الرسمية"
    german_note = "Ich kann samstags in Bingen helfen"
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience=german_note))
    submit(
        "volunteer",
        dict(VOLUNTEER_ANSWERS, experience=arabic_note, municipality="ingelheim-am-rhein"),
        "?lang=ar",
    )
    submit(
        "volunteer",
        dict(
            VOLUNTEER_ANSWERS,
            experience="Geheimnis aus Bad Kreuznach",
            municipality="vg-kirner-land",
        ),
    )
    auth.login("mz@example.org")
    response = client.get("/admin/reports/mainz-bingen/volunteer.pdf?lang=de")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    text = pdf_text(response.data)
    assert german_note in text
    assert arabic_note in text
    assert "Geheimnis aus Bad Kreuznach" not in text
    assert "Landkreis Mainz-Bingen" in text
    # Two responses; the language table names Arabic and German by their own names.
    assert re.search(r"Anzahl der Antworten\s*2", text) or "2" in text
    assert "العربية" in text
    assert "Deutsch" in text


def test_pdf_counts_per_choice(client, auth, mainz, submit):
    for fluent in (["ar"], ["ar", "fr"], ["fa"]):
        submit("volunteer", dict(VOLUNTEER_ANSWERS, languages_fluent=fluent))
    auth.login("mz@example.org")
    text = pdf_text(client.get("/admin/reports/mainz-bingen/volunteer.pdf?lang=en").data)
    # "Arabic (العربية)" chosen twice of three responses: 66.7 %.
    # (pypdf may read a space between a shaped right-to-left word and the next glyph)
    assert re.search(r"Arabic \(العربية\s?\)\s*2\s*66\.7", text), text
    assert re.search(r"French \(Français\)\s*1\s*33\.3", text)


def test_joint_report_only_for_users_with_both_districts(client, auth, create_user, submit):
    create_user("both@example.org", districts=("mainz-bingen", "bad-kreuznach"))
    create_user("bk@example.org", districts=("bad-kreuznach",))
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience="Aus Mainz-Bingen"))
    submit(
        "volunteer",
        dict(VOLUNTEER_ANSWERS, experience="Aus Bad Kreuznach", municipality="vg-nahe-glan"),
    )
    auth.login("both@example.org")
    text = pdf_text(client.get("/admin/reports/all/volunteer.pdf").data)
    assert "Aus Mainz-Bingen" in text
    assert "Aus Bad Kreuznach" in text
    auth.logout()
    auth.login("bk@example.org")
    text = pdf_text(client.get("/admin/reports/all/volunteer.pdf").data)
    assert "Aus Bad Kreuznach" in text
    assert "Aus Mainz-Bingen" not in text


def test_roster_only_for_roles_that_see_personal_data(client, auth, mainz, create_user, submit):
    submit("volunteer", VOLUNTEER_ANSWERS)
    create_user("viewer@example.org", role="viewer", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    text = pdf_text(client.get("/admin/reports/mainz-bingen/volunteer.pdf?appendix=roster").data)
    assert "juergen@example.org" in text
    default = pdf_text(client.get("/admin/reports/mainz-bingen/volunteer.pdf").data)
    assert "juergen@example.org" not in default  # contact details only in the roster
    auth.logout()
    auth.login("viewer@example.org")
    assert (
        client.get("/admin/reports/mainz-bingen/volunteer.pdf?appendix=roster").status_code == 403
    )
    text = pdf_text(client.get("/admin/reports/mainz-bingen/volunteer.pdf?appendix=none").data)
    assert "juergen@example.org" not in text


def test_period_filter(app, client, auth, mainz, submit):
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience="Heute abgeschickt"))
    auth.login("mz@example.org")
    text = pdf_text(
        client.get("/admin/reports/mainz-bingen/volunteer.pdf?from=2020-01-01&to=2020-12-31").data
    )
    assert "Heute abgeschickt" not in text
    assert "01.01.2020" in text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=31.12.2026", "YYYY-MM-DD"),
        ("from=2026-02-30", "YYYY-MM-DD"),
        ("from=2026-05-01&to=2026-04-01", "from"),
        ("appendix=everything", "none, text, roster"),
        ("lang=ar", "de, en"),
    ],
)
def test_bad_report_parameters_get_a_clear_400(client, auth, mainz, query, message):
    auth.login("mz@example.org")
    response = client.get(
        f"/admin/reports/mainz-bingen/volunteer.pdf?{query}&lang=en"
        if "lang=" not in query
        else f"/admin/reports/mainz-bingen/volunteer.pdf?{query}"
    )
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_report_builder_redirects_to_stable_url(client, auth, mainz):
    auth.login("mz@example.org")
    response = client.get(
        "/admin/reports?form=volunteer&district=mainz-bingen&from=2026-01-01&appendix=none&to="
    )
    assert response.status_code == 302
    assert response.headers["Location"] == (
        "/admin/reports/mainz-bingen/volunteer.pdf?from=2026-01-01&appendix=none"
    )


def test_pdf_download_is_audited_without_answer_content(app, client, auth, mainz, submit):
    submit("volunteer", VOLUNTEER_ANSWERS)
    auth.login("mz@example.org")
    client.get("/admin/reports/mainz-bingen/volunteer.pdf")
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent)).all()
        assert any(e.action == "report.pdf" and e.outcome == "ok" for e in events)
        for event in events:
            assert "Jürgen" not in (event.target or "")


def test_hostile_answer_is_text_in_pdf(client, auth, mainz, submit):
    hostile = '"><svg onload=alert(1)> <img src="http://127.0.0.1:9/x.png"> @import url(file:///etc/passwd)'
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience=hostile))
    auth.login("mz@example.org")
    response = client.get("/admin/reports/mainz-bingen/volunteer.pdf")
    assert response.status_code == 200
    assert '"><svg onload=alert(1)>' in pdf_text(response.data)


def test_undrawable_characters_are_marked_not_dropped(client, auth, mainz, submit):
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience="Gerne 🙂 helfen"))
    auth.login("mz@example.org")
    text = pdf_text(client.get("/admin/reports/mainz-bingen/volunteer.pdf").data)
    assert "Gerne \ufffd helfen" in text


def test_pdf_prints_tigrinya_and_cyrillic_answers(client, auth, mainz, submit):
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience="ኣብ ሓኪም ክተርጉም ይኽእል"), "?lang=ti")
    submit("volunteer", dict(VOLUNTEER_ANSWERS, experience="Могу помочь с переводом"), "?lang=ru")
    auth.login("mz@example.org")
    text = pdf_text(client.get("/admin/reports/mainz-bingen/volunteer.pdf").data)
    assert "ኣብ ሓኪም ክተርጉም ይኽእል" in text
    assert "Могу помочь с переводом" in text
    assert "Tigrinya (ትግርኛ)" in text or "Tigrinisch (ትግርኛ)" in text


@pytest.mark.parametrize(
    "document",
    [
        "/admin/reports/mainz-bingen/volunteer.pdf?lang=en&appendix=none",
        "/admin/exports/mainz-bingen/volunteer.csv?lang=en",
        "/admin/exports/mainz-bingen/volunteer.xlsx?lang=en",
        "/admin/links?form=volunteer&lang=en",
        "/admin/forms/volunteer/preview?lang=en",
    ],
)
def test_a_document_in_english_leaves_the_back_office_in_german(
    client, auth, create_user, document
):
    """`lang` on a report, export, link or preview URL is the language of what it makes."""
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    assert client.get(document).status_code == 200
    page = client.get("/admin/").get_data(as_text=True)
    assert '<html lang="de"' in page
