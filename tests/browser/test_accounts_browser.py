"""An administrator creates an account in a real browser; the person sets a password."""

from __future__ import annotations

from tests.browser.pages import admin_login
from tests.browser.test_accessibility import violations
from tests.conftest import PASSWORD

NEW_PASSWORD = "eine lange neue Passphrase"


def test_admin_creates_account_and_person_sets_password(
    create_user, live_server, browser, screenshots
):
    create_user("admin@example.org", role="admin")
    admin = browser.new_context(viewport={"width": 1024, "height": 768}, locale="de-DE")
    page = admin.new_page()
    admin_login(page, live_server, "admin@example.org", PASSWORD)
    page.get_by_role("link", name="Konten").click()
    assert violations(page) == []
    page.get_by_role("link", name="Neues Konto").click()
    page.get_by_label("E-Mail").fill("lotsen@example.org")
    page.get_by_label("Lesend: nur Zusammenfassungen").check()
    page.get_by_label("Landkreis Bad Kreuznach").check()
    assert violations(page) == []
    page.screenshot(path=screenshots / "admin-account-new-de.png", full_page=True)
    page.get_by_role("button", name="Konto anlegen").click()
    assert "Das Konto lotsen@example.org wurde angelegt." in page.content()
    link = page.get_by_label("Link").input_value()
    assert violations(page) == []
    page.screenshot(path=screenshots / "admin-account-link-de.png", full_page=True)

    person = browser.new_context(viewport={"width": 390, "height": 844}, locale="de-DE")
    theirs = person.new_page()
    theirs.goto(link)
    assert violations(theirs) == []
    theirs.get_by_label("Neues Passwort", exact=True).fill(NEW_PASSWORD)
    theirs.get_by_label("Neues Passwort wiederholen").fill(NEW_PASSWORD)
    theirs.get_by_role("button", name="Passwort festlegen").click()
    assert "Ihr Passwort ist festgelegt." in theirs.content()
    admin_login(theirs, live_server, "lotsen@example.org", NEW_PASSWORD)
    assert theirs.locator("h1").inner_text() == "Übersicht"
    assert theirs.get_by_role("link", name="Antworten").count() == 0  # a viewer

    # The link works once.
    theirs.goto(link)
    assert "Dieser Link wurde schon benutzt." in theirs.content()

    page.goto(f"{live_server}/admin/users?lang=de")
    row = page.locator("tr", has_text="lotsen@example.org")
    assert "Lesend" in row.inner_text()
    assert "Landkreis Bad Kreuznach" in row.inner_text()
    page.screenshot(path=screenshots / "admin-accounts-de.png", full_page=True)
    person.close()
    admin.close()
