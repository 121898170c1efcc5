"""The full privacy information in Arabic on a phone: right to left, readable, accessible."""

from __future__ import annotations

from tests.browser.test_accessibility import violations

PHONE = {"width": 390, "height": 844}


def test_privacy_information_in_arabic_reads_right_to_left(live_server, browser, screenshots):
    context = browser.new_context(viewport=PHONE, locale="ar")
    page = context.new_page()
    page.goto(f"{live_server}/f/newcomer/privacy?lang=ar")
    page.wait_for_load_state("load")
    assert page.get_attribute("html", "dir") == "rtl"
    styles = page.evaluate(
        "(() => { const s = getComputedStyle(document.querySelector('.privacy-page ul'));"
        " return [s.direction, s.paddingInlineStart, s.paddingRight, s.paddingLeft]; })()"
    )
    direction, _start, right, left = styles
    assert direction == "rtl"
    assert float(right.rstrip("px")) > float(left.rstrip("px"))
    # A fact the definition has in German only is marked as German, left to right.
    german = page.locator(".privacy-facts .fallback").first
    assert german.get_attribute("lang") == "de"
    assert german.get_attribute("dir") == "ltr"
    assert german.evaluate("e => getComputedStyle(e).textAlign") in ("start", "left")
    assert german.evaluate("e => getComputedStyle(e).display") == "block"
    assert violations(page) == []
    page.screenshot(path=screenshots / "privacy-ar-phone.png", full_page=True)
    context.close()
