"""A respondent fills the volunteer form in Arabic, in a real browser, on a tablet-sized screen."""

from __future__ import annotations

import re

import sqlalchemy as sa

from intake.extensions import db
from intake.storage.models import Response
from tests.browser.pages import FormPage
from tests.conftest import stored_answers

TABLET = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}


def fill_volunteer_in_arabic(form: FormPage) -> None:
    form.type("الاسم الأول", "ليلى")
    form.type("اسم العائلة", "الحسن")
    form.type("البريد الإلكتروني", "layla@example.org")
    form.type("رقم الهاتف (اختياري)", "0151 23456789")
    form.select("أين تسكن؟", "Ingelheim am Rhein")
    form.choose("لغتي الأم")
    form.choose("العربية", question="ما اللغات الأخرى التي تتحدثها بشكل جيد يكفي للترجمة الشفهية؟")
    form.choose("مرافقة الأشخاص إلى الطبيب")
    form.choose("في عطلة نهاية الأسبوع")
    form.choose("نعم")
    form.choose("عطلة نهاية الأسبوع: 6 و7 مارس 2027")
    form.type("هل تود أن تخبرنا بشيء آخر؟ (اختياري)", "أستطيع الترجمة عند الطبيب")
    form.choose(
        "أوافق على أن يحفظ مكتب التنسيق بياناتي ويتواصل معي. يمكنني سحب هذه الموافقة في أي وقت."
    )


def test_volunteer_form_in_arabic_on_a_tablet(app, live_server, browser, screenshots):
    context = browser.new_context(viewport=TABLET, locale="ar")
    page = context.new_page()
    form = FormPage(page, live_server).open("volunteer", lang="ar")
    assert (form.lang, form.dir) == ("ar", "rtl")
    page.screenshot(path=screenshots / "volunteer-ar-1024x768.png", full_page=True)

    fill_volunteer_in_arabic(form)
    form.send("إرسال الإجابات")

    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", form.reference)
    assert "شكرًا" in page.locator("h1").inner_text()
    page.screenshot(path=screenshots / "thanks-ar-1024x768.png", full_page=True)
    [answers] = stored_answers(app, form.reference)
    assert answers["first_name"] == ["ليلى"]
    assert answers["municipality"] == ["ingelheim-am-rhein"]
    assert answers["languages_fluent"] == ["ar"]
    assert answers["phone"] == ["+4915123456789"]
    with app.app_context():
        response = db.session.scalar(sa.select(Response))
        assert (response.language, response.district.slug) == ("ar", "mainz-bingen")
    context.close()


def test_missing_answers_show_arabic_errors_with_focus_on_summary(app, live_server, browser):
    context = browser.new_context(viewport=PHONE, locale="ar")
    page = context.new_page()
    form = FormPage(page, live_server).open("volunteer", lang="ar")
    form.type("الاسم الأول", "ليلى")
    form.send("إرسال الإجابات")
    assert form.dir == "rtl"
    summary = form.error_summary
    assert "اسم العائلة" in summary
    # The summary has focus, so a screen reader announces it first.
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    # Its links jump to the fields.
    page.locator(".error-summary a").first.click()
    assert page.evaluate("document.activeElement.id") == "last_name"
    # What was typed is still there.
    assert page.get_by_label("الاسم الأول", exact=True).input_value() == "ليلى"
    context.close()


def test_german_form_and_phone_layout_screenshots(live_server, browser, screenshots):
    for lang in ("de", "en", "ar"):
        for size, viewport in (("1024x768", TABLET), ("390x844", PHONE)):
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            FormPage(page, live_server).open("newcomer", lang=lang)
            # Nothing is wider than the screen: no sideways scrolling on a phone.
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            page.screenshot(path=screenshots / f"newcomer-{lang}-{size}.png", full_page=True)
            context.close()


def test_switching_language_mid_form_keeps_answers(live_server, browser):
    context = browser.new_context(viewport=TABLET)
    page = context.new_page()
    form = FormPage(page, live_server).open("volunteer", lang="de")
    form.type("Vorname", "Lina")
    form.choose("Muttersprache")
    with page.expect_navigation():
        page.locator(".lang-nav a[data-switch-lang=ar]").click()
    assert (form.lang, form.dir) == ("ar", "rtl")
    assert page.get_by_label("الاسم الأول", exact=True).input_value() == "Lina"
    assert page.get_by_label("لغتي الأم", exact=True).is_checked()
    # Enter in a text field still means "send", not "switch language".
    page.get_by_label("اسم العائلة", exact=True).fill("Haddad")
    with page.expect_navigation():
        page.get_by_label("اسم العائلة", exact=True).press("Enter")
    assert form.lang == "ar"
    assert "اسم العائلة" not in form.error_summary  # answered, so no error for it
    context.close()


def test_back_from_the_receipt_then_send_again_stores_nothing_new(
    app, live_server, browser, screenshots
):
    """The browser's Back button from the receipt brings the form page again (loaded anew:
    it is never cached). It gets the key it was sent with and says so; sending it again
    shows the same receipt and stores no second response. A fresh form is one link away."""
    from tests.browser.test_screenshots import _send_newcomer_form

    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    _send_newcomer_form(page, live_server, "ar")
    first = page.locator(".reference").inner_text().strip()
    # The receipt is shown once its page has loaded (its script notes what was sent); Back
    # pressed while the page is still loading is a race no person can run.
    page.wait_for_load_state("load")
    page.go_back()
    page.wait_for_load_state("load")
    notice = page.locator("[data-sent-notice]")
    notice.wait_for(state="visible")
    assert first in notice.inner_text()
    page.screenshot(path=screenshots / "back-after-sending-ar.png", full_page=True)
    for field, value in (("#adults", "2"), ("#children", "1"), ("#name", "Samir")):
        page.fill(field, value)  # whatever the browser restored, the same answers again
    for box in ("#needs-1", "#languages-1", "#german_level-2", "#contact_method-1", "#consent"):
        page.check(box)
    page.select_option("#municipality", "budenheim")
    page.locator("button[value=send]").click()
    page.wait_for_selector(".reference")
    assert page.locator(".reference").inner_text().strip() == first
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 1
    page.wait_for_load_state("load")
    page.go_back()
    page.wait_for_load_state("load")
    page.locator("[data-sent-notice] a").click()  # another person: an empty form
    page.wait_for_load_state("load")
    assert page.locator("[data-sent-notice]").is_hidden()
    _send_newcomer_form(page, live_server, "ar")
    assert page.locator(".reference").inner_text().strip() != first
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Response)) == 2
    context.close()
