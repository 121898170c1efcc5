"""Forms in languages without a catalog of their own, as a person sees them: Dari with the
Persian catalog's words, right to left; Nepali with English's (screenshots to look at)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import install_form


@pytest.mark.parametrize(
    ("lang", "direction", "send"), [("prs", "rtl", None), ("ne", "ltr", "Send answers")]
)
def test_a_form_in_a_language_beyond_our_catalogs(
    app, live_server, browser, screenshots, lang, direction, send
):
    install_form(app, "dari.yaml")
    page = browser.new_page(viewport={"width": 412, "height": 800})
    page.goto(f"{live_server}/f/dari?district=mainz-bingen&lang={lang}")
    expect(page.locator("html")).to_have_attribute("dir", direction)
    title = page.locator("h1 span")
    expect(title).to_have_attribute("lang", lang)
    expect(page.locator(".notice[role=note]").first).to_be_visible()
    nav = page.locator(".lang-nav")
    expect(nav).to_contain_text("دری")
    expect(nav).to_contain_text("नेपाली")
    if send:
        expect(page.locator('button[value="send"]').last).to_have_text(send)
    page.screenshot(path=str(screenshots / f"beyond-{lang}.png"), full_page=True)
    page.close()
