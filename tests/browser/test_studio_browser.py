"""The form studio in Chromium: a coordinator builds, previews, publishes; a respondent answers."""

from __future__ import annotations

import re

import pytest

from tests.browser.pages import admin_login
from tests.browser.test_accessibility import violations
from tests.conftest import PASSWORD, stored_answers

CAR = "haben_sie_einen_fuehrerschein_und_ein_au"


def add_question(
    page, base: str, type_label: str, texts: dict[str, str], slug: str = "fahrdienst", **choose
) -> None:
    """Add a question through the edit page's "Add" form and its editor."""
    page.goto(f"{base}/admin/forms/{slug}/edit")
    page.select_option("#type", type_label)
    page.get_by_role("button", name="Hinzufügen").click()
    for input_id, text in texts.items():
        page.fill(f"#{input_id}", text)
    for input_id, value in choose.items():
        if value is True:
            page.check(f"#{input_id}")
        else:
            page.select_option(f"#{input_id}", value)
    page.get_by_role("button", name="Speichern").click()
    page.wait_for_url(re.compile(r"/edit(#.*)?$"))


def check_accessible(page, scripts: bool) -> None:
    """axe runs as a script in the page: only where the page may run scripts."""
    if scripts:
        assert violations(page) == []


@pytest.mark.parametrize("scripts", [True, False], ids=["with-javascript", "without-javascript"])
def test_a_coordinator_builds_a_two_page_form_in_german_and_arabic(
    app, create_user, live_server, browser, screenshots, scripts
):
    """Built, previewed (Arabic, right to left; side by side with German), published and
    answered, with JavaScript and without: every step of the studio is a plain form."""
    create_user("mz@example.org", districts=("mainz-bingen",))
    context = browser.new_context(locale="de-DE", java_script_enabled=scripts)
    page = context.new_page()
    admin_login(page, live_server, "mz@example.org", PASSWORD)
    page.goto(f"{live_server}/admin/forms/new")
    check_accessible(page, scripts)
    page.fill("#title", "Fahrdienst zum Amt")
    page.fill("#slug", "fahrdienst")
    page.check("#language_ar")
    page.get_by_role("button", name="Entwurf anlegen").click()
    page.wait_for_url(f"{live_server}/admin/forms/fahrdienst/edit")

    page.goto(f"{live_server}/admin/forms/fahrdienst/edit/details")
    page.fill("#title_ar", "خدمة التوصيل إلى الدوائر")
    page.fill("#notice_de", "Verantwortlich ist die Kreisverwaltung Mainz-Bingen.")
    page.fill("#notice_ar", "الجهة المسؤولة هي إدارة دائرة ماينز-بينغن.")
    page.get_by_role("button", name="Speichern").click()

    add_question(
        page,
        live_server,
        "text",
        {"label_de": "Ihr Name", "label_ar": "اسمك"},
        required=True,
        personal=True,
    )
    add_question(
        page,
        live_server,
        "yes_no",
        {
            "label_de": "Haben Sie einen Führerschein und ein Auto?",
            "label_ar": "هل لديك رخصة قيادة وسيارة؟",
        },
        required=True,
    )
    add_question(
        page,
        live_server,
        "page",
        {"label_de": "Ihr Auto", "label_ar": "سيارتك", "cond_value_0": "yes"},
        cond_q_0=CAR,
    )
    page.goto(f"{live_server}/admin/forms/fahrdienst/edit")
    page.select_option("#type", "integer")
    page.get_by_role("button", name="Hinzufügen").click()
    check_accessible(page, scripts)  # the question editor
    page.fill("#label_de", "Wie viele freie Sitze?")
    page.fill("#label_ar", "كم عدد المقاعد الفارغة؟")
    page.check("#required")
    page.check("#check-range")
    page.fill("#check_low", "1")
    page.fill("#check_high", "8")
    page.fill("#check_message_de", "Bitte 1 bis 8 Sitze.")
    page.fill("#check_message_ar", "من 1 إلى 8 مقاعد من فضلك.")
    page.get_by_role("button", name="Speichern").click()
    add_question(
        page,
        live_server,
        "consent",
        {"label_de": "Ich bin einverstanden.", "label_ar": "أنا موافق.", "key": "consent"},
        required=True,
    )
    page.goto(f"{live_server}/admin/forms/fahrdienst/edit")
    check_accessible(page, scripts)
    shot = "" if scripts else "-nojs"
    page.screenshot(path=screenshots / f"studio-edit-de{shot}.png", full_page=True)

    # The Arabic preview at phone width, right to left.
    page.goto(f"{live_server}/admin/forms/fahrdienst/preview?lang=ar&width=phone")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert "اسمك" in page.content()
    page.screenshot(path=screenshots / f"studio-preview-ar-phone{shot}.png", full_page=True)

    # German and Arabic side by side, each in its own frame and direction.
    page.set_viewport_size({"width": 1200, "height": 900})
    page.goto(f"{live_server}/admin/forms/fahrdienst/edit")
    page.get_by_role("link", name="Zwei Sprachen nebeneinander").click()
    frames = page.locator(".preview-pair iframe")
    assert frames.count() == 2
    german, arabic = (frames.nth(i).content_frame for i in range(2))
    assert german.locator("html").get_attribute("dir") == "ltr"
    assert arabic.locator("html").get_attribute("dir") == "rtl"
    assert german.get_by_text("Ihr Name").count() == 1
    assert arabic.get_by_text("اسمك").count() == 1
    check_accessible(page, scripts)
    page.screenshot(path=screenshots / f"studio-preview-side-by-side{shot}.png", full_page=True)

    page.goto(f"{live_server}/admin/forms/fahrdienst/publish")
    check_accessible(page, scripts)
    page.get_by_role("button", name="Version 1 veröffentlichen").click()
    page.wait_for_url(f"{live_server}/admin/forms/fahrdienst")
    context.close()

    # A respondent (with the same scripts or none): page 2 after "yes", the seat check holds.
    respondent = browser.new_context(locale="ar", java_script_enabled=scripts)
    form = respondent.new_page()
    form.goto(f"{live_server}/f/fahrdienst?lang=ar&district=mainz-bingen")
    form.fill("#ihr_name", "Samira")
    form.check(f"#{CAR}-1")  # yes
    form.screenshot(path=screenshots / "studio-respondent-ar.png", full_page=True)
    # Page 2 was not due when the page was made; after "yes" the server shows it next.
    form.locator("button[value=send], button[value=next]").first.click()
    form.fill("#wie_viele_freie_sitze", "12")
    form.check("#consent")
    form.locator("button[value=send]").click()
    form.wait_for_selector(".error-summary")
    assert "من 1 إلى 8 مقاعد من فضلك." in form.content()
    form.fill("#wie_viele_freie_sitze", "3")
    form.locator("button[value=send]").click()
    form.wait_for_selector(".reference")
    [answers] = stored_answers(app)
    assert answers["wie_viele_freie_sitze"] == ["3"]
    assert answers[CAR] == ["yes"]
    respondent.close()


def test_two_browsers_editing_one_draft_never_overwrite_each_other(
    app, create_user, live_server, browser
):
    """Two coordinators open the same question; the second to save is told, sees the
    other's change and keeps what they typed on the screen; the draft holds the first."""
    create_user("mz@example.org", districts=("mainz-bingen",))
    create_user("mz2@example.org", districts=("mainz-bingen",))
    first = browser.new_context(locale="de-DE")
    second = browser.new_context(locale="de-DE")
    mine, theirs = first.new_page(), second.new_page()
    admin_login(mine, live_server, "mz@example.org", PASSWORD)
    admin_login(theirs, live_server, "mz2@example.org", PASSWORD)
    mine.goto(f"{live_server}/admin/forms/new")
    mine.fill("#title", "Fahrdienst zum Amt")
    mine.fill("#slug", "fahrdienst")
    mine.get_by_role("button", name="Entwurf anlegen").click()
    add_question(mine, live_server, "text", {"label_de": "Ihr Name"})

    question = f"{live_server}/admin/forms/fahrdienst/edit/questions/ihr_name"
    mine.goto(question)
    theirs.goto(question)
    theirs.fill("#label_de", "Vor- und Nachname")
    theirs.get_by_role("button", name="Speichern").click()
    theirs.wait_for_url(re.compile(r"/edit(#.*)?$"))
    mine.fill("#label_de", "Name der Person")
    mine.get_by_role("button", name="Speichern").click()
    alert = mine.get_by_role("alert")
    assert "mz2@example.org" in alert.inner_text()
    assert mine.get_by_role("heading", level=1).inner_text() == (
        "Nicht gespeichert: Der Entwurf wurde inzwischen geändert"
    )
    assert mine.get_by_text("Vor- und Nachname").count() == 1  # their change, shown
    assert mine.get_by_text("Name der Person").count() == 1  # mine, still on the screen
    mine.get_by_role("link", name="Den Entwurf in seinem jetzigen Stand öffnen").click()
    questions = mine.locator(".studio-items")
    assert questions.get_by_text("Vor- und Nachname").count() == 1
    assert questions.get_by_text("Name der Person").count() == 0
    first.close()
    second.close()


def test_the_studio_with_the_keyboard_only(app, create_user, live_server, browser):
    """Tab, arrow keys, space and Enter: a question added, then moved above another."""
    from tests.browser.test_logic_browser import focused, tab_to

    create_user("mz@example.org", districts=("mainz-bingen",))
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    admin_login(page, live_server, "mz@example.org", PASSWORD)
    page.goto(f"{live_server}/admin/forms/new")
    tab_to(page, "title")
    page.keyboard.type("Sprachcafé")
    tab_to(page, "slug")
    page.keyboard.type("sprachcafe")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/admin/forms/sprachcafe/edit")
    add_question(page, live_server, "text", {"label_de": "Ihr Name"}, slug="sprachcafe")

    tab_to(page, "type", limit=80)
    page.keyboard.press("End")  # the menu's last entry: a new page
    tab_to(page, "after")
    page.keyboard.press("Home")  # after the first entry: the form's first page
    page.keyboard.press("Tab")  # to "Hinzufügen"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/questions/new\?type=page"))
    tab_to(page, "label_de")
    page.keyboard.type("Über Sie")
    for _ in range(80):  # on to the Save button
        page.keyboard.press("Tab")
        if focused(page) == "BUTTON" and page.evaluate("document.activeElement.type") == "submit":
            break
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/edit(#.*)?$"))
    labels = page.locator(".studio-items > li .studio-label").all_inner_texts()
    assert [label.split("·")[0].strip() for label in labels] == [
        "Seite: Sprachcafé",
        "Seite: Über Sie",
        "Ihr Name",
    ]

    # The first item cannot go up, the last one not down; the others both ways.
    assert page.get_by_role("button", name="Nach oben: Sprachcafé").is_disabled()
    assert page.get_by_role("button", name="Nach unten: Ihr Name").is_disabled()
    assert page.get_by_role("button", name="Nach unten: Über Sie").is_enabled()
    up = page.get_by_role("button", name="Nach oben: Ihr Name")
    up.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    labels = page.locator(".studio-items > li .studio-label").all_inner_texts()
    assert [label.split("·")[0].strip() for label in labels][1:] == ["Ihr Name", "Seite: Über Sie"]
    context.close()
