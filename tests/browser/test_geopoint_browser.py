"""A location question in Chromium: the browser's location only when the person presses
the button (and the browser was allowed to give it), typed otherwise; right to left."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from intake.extensions import db
from intake.storage.models import Answer
from intake.storage.sealing import reveal
from tests.conftest import install_form

URL = "/f/ort?district=mainz-bingen"
MAINZ = {"latitude": 49.992862, "longitude": 8.247253}


def home(app) -> str:
    with app.app_context():
        return reveal(db.session.scalar(sa.select(Answer.value).where(Answer.field == "home")))


def test_the_location_comes_from_the_browser_when_asked(app, live_server, browser, screenshots):
    install_form(app, "location.yaml")
    context = browser.new_context(
        geolocation=MAINZ,
        permissions=["geolocation"],
        locale="ar",
        viewport={"width": 412, "height": 915},
    )
    page = context.new_page()
    page.goto(f"{live_server}{URL}&lang=ar")
    field = page.locator('input[name="home"]')
    expect(field).to_have_value("")  # nothing is asked before the person presses the button
    button = page.locator('[data-geolocate="home"] button')
    expect(button).to_be_visible()
    button.click()
    expect(field).to_have_value("49.992862, 8.247253")
    status = page.locator('[data-geolocate="home"] [data-geo-status]')
    expect(status).to_have_text(status.get_attribute("data-found"))
    page.screenshot(path=str(screenshots / "geopoint-ar.png"), full_page=True)
    page.locator('input[name="name"]').fill("أمل")
    page.locator('button[name="nav"][value="send"]').last.click()
    expect(page.locator(".receipt")).to_be_visible()
    assert home(app) == "49.992862 8.247253"
    context.close()


def test_without_permission_the_person_is_told_and_types_it(app, live_server, browser):
    install_form(app, "location.yaml")
    context = browser.new_context(locale="de")  # the location is not allowed
    page = context.new_page()
    page.goto(f"{live_server}{URL}")
    page.locator('[data-geolocate="home"] button').click()
    status = page.locator('[data-geolocate="home"] [data-geo-status]')
    expect(status).to_have_text(status.get_attribute("data-denied"))
    page.locator('input[name="home"]').fill("49,9929; 8,2473")
    page.locator('input[name="name"]').fill("Amal")
    page.locator('button[name="nav"][value="send"]').last.click()
    expect(page.locator(".receipt")).to_be_visible()
    assert home(app) == "49.9929 8.2473"
    context.close()
