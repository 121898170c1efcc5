"""The form studio in Chromium: a coordinator builds, previews, publishes; a respondent answers."""

from __future__ import annotations

import re

from tests.browser.pages import admin_login
from tests.browser.test_accessibility import violations
from tests.conftest import PASSWORD, stored_answers

CAR = "haben_sie_einen_fuehrerschein_und_ein_au"


def add_question(page, base: str, type_label: str, texts: dict[str, str], **choose) -> None:
    """Add a question through the edit page's "Add" form and its editor."""
    page.goto(f"{base}/admin/forms/fahrdienst/edit")
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


def test_a_coordinator_builds_a_two_page_form_in_german_and_arabic(
    app, create_user, live_server, browser, screenshots
):
    create_user("mz@example.org", districts=("mainz-bingen",))
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    admin_login(page, live_server, "mz@example.org", PASSWORD)
    page.goto(f"{live_server}/admin/forms/new")
    assert violations(page) == []
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
    assert violations(page) == []  # the question editor
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
    assert violations(page) == []
    page.screenshot(path=screenshots / "studio-edit-de.png", full_page=True)

    # The Arabic preview at phone width, right to left.
    page.goto(f"{live_server}/admin/forms/fahrdienst/preview?lang=ar&width=phone")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert "اسمك" in page.content()
    page.screenshot(path=screenshots / "studio-preview-ar-phone.png", full_page=True)

    page.goto(f"{live_server}/admin/forms/fahrdienst/publish")
    assert violations(page) == []
    page.get_by_role("button", name="Version 1 veröffentlichen").click()
    page.wait_for_url(f"{live_server}/admin/forms/fahrdienst")
    context.close()

    # A respondent with JavaScript: page 2 appears after "yes", the seat check holds.
    respondent = browser.new_context(locale="ar")
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
