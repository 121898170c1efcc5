"""WCAG 2.1 AA checks with axe-core (offline, in headless Chromium) on every page.

Public pages are checked in a left-to-right (de) and a right-to-left (ar) language.
Back-office pages exist in German and English only (DESIGN.md), so they are checked in
both; their right-to-left case is the form preview, which shows the form in Arabic.
"""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.pages import FormPage
from tests.conftest import PASSWORD, VOLUNTEER_ANSWERS

AXE = Axe()
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}

PUBLIC = [
    "/",
    "/f/volunteer",
    "/f/newcomer",
    "/f/newcomer?district=bad-kreuznach",
    "/f/does-not-exist",
]
ADMIN = [
    "/admin/",
    "/admin/forms",
    "/admin/forms/volunteer",
    "/admin/forms/newcomer/preview?lang=ar",
]


def violations(page) -> list[str]:
    results = AXE.run(page, options=WCAG)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(n["target"][0] for n in v["nodes"][:3])
        for v in results.response["violations"]
    ]


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    yield context
    context.close()


@pytest.mark.parametrize("lang", ["de", "ar"])
@pytest.mark.parametrize("path", PUBLIC)
def test_public_page_has_no_violations(live_server, context, path, lang):
    page = context.new_page()
    sep = "&" if "?" in path else "?"
    page.goto(f"{live_server}{path}{sep}lang={lang}")
    assert violations(page) == []


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_form_with_errors_and_thanks_page_have_no_violations(live_server, context, lang):
    page = context.new_page()
    form = FormPage(page, live_server).open("newcomer", lang=lang)
    page.locator("button[type=submit][value=send]").click()
    assert page.locator(".error-summary").is_visible()
    assert violations(page) == []
    form.open("volunteer", lang=lang)
    page.fill("#first_name", "Lina")
    page.fill("#last_name", "Haddad")
    page.fill("#email", "lina@example.org")
    page.select_option("#municipality", "budenheim")
    page.check("#german_level-1")
    page.check("#help_areas-1")
    page.check("#availability-4")
    page.check("#lotsen_training-2")
    page.check("#consent")
    page.locator("button[type=submit][value=send]").click()
    assert page.locator(".reference").is_visible()
    assert violations(page) == []


@pytest.mark.parametrize("lang", ["de", "en"])
def test_back_office_pages_have_no_violations(live_server, context, create_user, submit, lang):
    submit("volunteer", VOLUNTEER_ANSWERS)
    create_user("mz@example.org", districts=("mainz-bingen",))
    page = context.new_page()
    page.goto(f"{live_server}/admin/login?lang={lang}")
    assert violations(page) == []
    page.fill("#email", "mz@example.org")
    page.fill("#password", "wrong password!")
    page.locator("button[type=submit]").click()
    assert violations(page) == []  # the login page with its error
    page.fill("#password", PASSWORD)
    page.locator("button[type=submit]").click()
    for path in ADMIN:
        page.goto(f"{live_server}{path}")
        assert violations(page) == [], path


def test_volunteer_form_fits_at_200_percent_zoom(live_server, browser):
    # 200 % zoom of a 1024 px wide window leaves 512 CSS pixels.
    for lang in ("de", "ar"):
        context = browser.new_context(viewport={"width": 512, "height": 384})
        page = context.new_page()
        for slug in ("volunteer", "newcomer"):
            page.goto(f"{live_server}/f/{slug}?lang={lang}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 512, f"{slug} {lang}: {width}px wide"
        context.close()


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_volunteer_form_by_keyboard_alone(app, live_server, browser, lang):
    from tests.conftest import stored_answers

    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    page.goto(f"{live_server}/f/volunteer?lang={lang}")
    keys = page.keyboard

    def tab_to(selector: str) -> None:
        for _ in range(80):
            keys.press("Tab")
            if page.evaluate(f"document.activeElement.matches({selector!r})"):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("#first_name")
    keys.type("Lina")
    tab_to("#last_name")
    keys.type("Haddad")
    tab_to("#email")
    keys.type("lina@example.org")
    tab_to("#municipality")
    keys.press("ArrowDown")  # the first place after "please choose"
    tab_to("#german_level-1")
    keys.press("Space")
    tab_to("#help_areas-2")
    keys.press("Space")
    tab_to("#availability-4")
    keys.press("Space")
    tab_to("#lotsen_training-1")
    keys.press("Space")
    tab_to("#consent")
    keys.press("Space")
    tab_to("button[value=send]")
    keys.press("Enter")
    page.wait_for_selector(".reference")
    reference = page.locator(".reference bdi").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", reference)
    [answers] = stored_answers(app, reference)
    assert answers["help_areas"] == ["offices"]
    assert answers["lotsen_training"] == ["yes"]
    context.close()


def test_newcomer_form_by_keyboard_alone(app, live_server, browser):
    from tests.conftest import stored_answers

    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live_server}/f/newcomer?lang=fa")
    keys = page.keyboard

    def tab_to(selector: str) -> None:
        for _ in range(80):
            keys.press("Tab")
            if page.evaluate(f"document.activeElement.matches({selector!r})"):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("#municipality")
    keys.press("ArrowDown")
    for box in ("#needs-3", "#languages-1", "#german_level-1"):
        tab_to(box)
        keys.press("Space")
    tab_to("#adults")
    keys.type("۲")  # Persian digits, as a Persian keyboard types them
    tab_to("#children")
    keys.type("0")
    tab_to("#name")
    keys.type("زهرا احمدی")
    tab_to("#contact_method-1")  # Tab enters a radio group, arrows choose within it
    keys.press("ArrowDown")
    tab_to("#consent")
    keys.press("Space")
    tab_to("button[value=send]")
    keys.press("Enter")
    page.wait_for_selector(".reference")
    [answers] = stored_answers(app, page.locator(".reference bdi").inner_text())
    assert answers["adults"] == ["2"]
    assert answers["needs"] == ["housing"]
    assert answers["name"] == ["زهرا احمدی"]
    assert answers["contact_method"] == ["messenger"]
    context.close()
