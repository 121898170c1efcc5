"""Screenshots of every public page in every language, at tablet and phone size.

They land in test-artifacts/screenshots/languages/ for people to look at (right-to-left
layout, scripts, line breaks). The test itself checks what a screenshot cannot: nothing
is wider than the screen.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.config import defaults

LANGUAGES = defaults(Path("/nonexistent"))["LANGUAGES"]
SIZES = {"1024x768": (1024, 768), "390x844": (390, 844)}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_public_pages_screenshots(live_server, browser, screenshots, lang, size):
    width, height = SIZES[size]
    folder = screenshots / "languages"
    folder.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    shots = [
        ("start", "/"),
        ("volunteer", "/f/volunteer"),
        ("newcomer", "/f/newcomer"),
    ]
    for name, path in shots:
        page.goto(f"{live_server}{path}?lang={lang}")
        _check_and_shoot(page, width, folder / f"{name}-{lang}-{size}.png")
    page.goto(f"{live_server}/f/newcomer?lang={lang}")
    page.locator("button[value=send]").click()
    page.wait_for_selector(".error-summary")
    _check_and_shoot(page, width, folder / f"newcomer-errors-{lang}-{size}.png")
    page.goto(f"{live_server}/f/no-such-form?lang={lang}")
    _check_and_shoot(page, width, folder / f"not-found-{lang}-{size}.png")
    _send_newcomer_form(page, live_server, lang)
    page.wait_for_selector(".reference")
    _check_and_shoot(page, width, folder / f"thanks-{lang}-{size}.png")
    context.close()


def _send_newcomer_form(page, live_server: str, lang: str) -> None:
    """Answer the required questions of the newcomer form by their field ids."""
    page.goto(f"{live_server}/f/newcomer?lang={lang}")
    page.select_option("#municipality", "budenheim")
    page.check("#needs-1")
    page.check("#languages-1")
    page.check("#german_level-2")
    page.fill("#adults", "2")
    page.fill("#children", "1")
    page.fill("#name", "Samir")
    page.check("#contact_method-1")
    page.check("#consent")
    page.locator("button[value=send]").click()


def _check_and_shoot(page, width: int, path: Path) -> None:
    # Measured once the page has its style sheets and fonts: an element found while the
    # page still loads can be laid out without them (wider than the screen) for a moment.
    page.wait_for_load_state("load")
    page.evaluate("document.fonts.ready.then(() => true)")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{path.name}: {scroll_width}px on a {width}px screen"
    page.screenshot(path=path, full_page=True)
