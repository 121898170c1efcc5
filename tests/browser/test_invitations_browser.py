"""Invitations in a real browser: the office uploads a list, the Arabic email and link pages."""

from __future__ import annotations

import time
from datetime import timedelta

import sqlalchemy as sa

from intake.extensions import db
from intake.invitations import sending, store
from intake.storage.models import Invitation, utcnow
from tests.browser.pages import admin_login
from tests.browser.test_accessibility import violations
from tests.conftest import PASSWORD

TABLET = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}


def direction_of(page, selector: str) -> tuple[str, str]:
    return page.evaluate(
        f"(() => {{ const s = getComputedStyle(document.querySelector({selector!r}));"
        " return [s.direction, s.textAlign]; })()"
    )


def test_the_office_uploads_a_list_and_sees_who_was_sent_what(
    app, smtp, create_user, live_server, browser, screenshots, tmp_path
):
    create_user("mz@example.org", districts=("mainz-bingen",))
    people = tmp_path / "lotsen.csv"
    people.write_text(
        "E-Mail;Name;Sprache\nleila@example.org;Leila Haddad;ar\nolga@example.org;Olga;uk\n",
        encoding="utf-8",
    )
    context = browser.new_context(viewport=TABLET, locale="de-DE")
    page = context.new_page()
    admin_login(page, live_server, "mz@example.org", PASSWORD)
    page.get_by_role("link", name="Einladungen").click()
    page.get_by_label("Formular").select_option(
        label="Ehrenamtlich helfen und Integrationslotse werden"
    )
    page.get_by_role("button", name="Anzeigen").click()
    page.get_by_label("Liste der Personen (.csv oder .xlsx)").set_input_files(str(people))
    page.get_by_role("button", name="Liste prüfen und Einladungen verschicken").click()
    assert "2 Einladungen werden verschickt" in page.locator(".flashes").inner_text()
    deadline = time.monotonic() + 20
    while len(smtp.messages) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    page.reload()
    table = page.locator("table.data").inner_text()
    assert "leila@example.org" in table
    assert table.count("verschickt") == 2
    assert violations(page) == []
    page.screenshot(path=screenshots / "admin-invitations-de.png", full_page=True)
    context.close()


def test_the_arabic_email_and_link_pages_read_right_to_left(app, live_server, browser, screenshots):
    from intake.storage.districts import by_slug
    from intake.storage.models import Form

    with app.app_context():
        form = db.session.scalar(sa.select(Form).where(Form.slug == "volunteer"))
        person = store.Person("leila@example.org", "ليلى حداد", "ar", by_slug("mainz-bingen"))
        [invitation] = store.create(form, [person])
        db.session.commit()
        html = sending.compose(invitation, live_server).get_body(("html",)).get_content()
        token = store.token_for(invitation)
    context = browser.new_context(viewport=PHONE, locale="ar")
    page = context.new_page()
    page.set_content(html)
    assert direction_of(page, "div[dir]") == ["rtl", "right"]
    assert direction_of(page, "a[dir=ltr]")[0] == "ltr"  # the link itself stays left to right
    page.screenshot(path=screenshots / "invitation-email-ar.png", full_page=True)
    # The link opens the form in Arabic, right to left.
    page.goto(f"{live_server}/i/{token}")
    assert page.get_attribute("html", "dir") == "rtl"
    assert direction_of(page, "h1")[0] == "rtl"
    # Once expired, the page says so in Arabic, right to left, with nobody's data.
    with app.app_context():
        db.session.scalar(sa.select(Invitation)).expires_at = utcnow() - timedelta(days=1)
        db.session.commit()
    page.goto(f"{live_server}/i/{token}")
    assert page.get_attribute("html", "lang") == "ar"
    assert direction_of(page, ".link-problem p")[0] == "rtl"
    assert "ليلى" not in page.content()
    assert violations(page) == []
    page.screenshot(path=screenshots / "invitation-expired-ar.png", full_page=True)
    context.close()
