"""The district's website shows a form in an iframe: another site, so no cookies reach us.

The website is a second server on http://localhost:<port>; Intake is on
http://127.0.0.1:<port>. These are different sites to the browser, so the frame gets
our pages without our session cookie, as on a real district website.
"""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server
from werkzeug.wrappers import Response as WsgiResponse

from intake.extensions import db
from intake.storage.models import Form, Response
from tests.browser.pages import FormPage
from tests.browser.test_public_browser import TABLET, fill_volunteer_in_arabic


@pytest.fixture
def district_site(live_server):
    """A stand-in for the district's website: one page with an iframe of a form."""
    frames: dict[str, str] = {}

    def site(environ, start_response):
        src = frames.get(environ["PATH_INFO"], "")
        html = (
            "<!doctype html><html lang='de'><head><meta charset='utf-8'><title>Kreis</title>"
            "</head><body><h1>Landkreis: Ehrenamt</h1>"
            f"<iframe name='intake' src='{src}' title='Formular' "
            "style='width:100%;height:1400px;border:0'></iframe></body></html>"
        )
        return WsgiResponse(html, mimetype="text/html")(environ, start_response)

    server = make_server("127.0.0.1", 0, site, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin = f"http://localhost:{server.server_port}"

    def page_with(path: str, form_path: str) -> str:
        frames[path] = f"{live_server}{form_path}"
        return f"{origin}{path}"

    yield origin, page_with
    server.shutdown()
    thread.join(timeout=5)


def allow(app, form: str, *origins: str) -> None:
    with app.app_context():
        db.session.scalar(sa.select(Form).where(Form.slug == form)).embed_origins = list(origins)
        db.session.commit()


def frame_of(page, name: str = "intake", seconds: float = 10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        frame = page.frame(name=name)
        if frame is not None and frame.url.startswith("http"):
            return frame
        time.sleep(0.1)
    raise AssertionError("the form's frame did not load")


def test_a_form_embedded_on_the_district_site_is_filled_and_stored_once(
    app, live_server, browser, district_site, screenshots
):
    origin, page_with = district_site
    allow(app, "volunteer", origin)
    context = browser.new_context(viewport=TABLET, locale="ar")
    page = context.new_page()
    page.goto(page_with("/ehrenamt", "/f/volunteer?embed=1&district=mainz-bingen&lang=ar"))
    frame = frame_of(page)
    frame.wait_for_load_state("load")
    form = FormPage(frame, live_server)
    assert (form.lang, form.dir) == ("ar", "rtl")
    assert not frame.locator(".site-header").is_visible()  # the website has its own
    page.screenshot(path=screenshots / "embedded-form-ar.png")
    fill_volunteer_in_arabic(form)
    form.send("إرسال الإجابات")
    frame.locator(".reference bdi").wait_for()
    reference = form.reference
    # The site's page was scrolled down to the send button; the receipt is brought
    # into view instead of leaving the person before an empty frame.
    # (The receipt page's script asks the site to scroll once it has loaded: under load
    # that comes a moment after the reference is there.)
    deadline = time.monotonic() + 5
    while True:
        frame_top = page.evaluate("document.querySelector('iframe').getBoundingClientRect().top")
        receipt = "document.querySelector('.receipt').getBoundingClientRect().top"
        receipt_top = frame.evaluate(receipt)
        if -2 <= frame_top + receipt_top < TABLET["height"] / 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert -2 <= frame_top + receipt_top < TABLET["height"] / 2
    page.screenshot(path=screenshots / "embedded-thanks-ar.png")
    assert page.locator("h1").first.inner_text() == "Landkreis: Ehrenamt"  # still on the site
    # No cookie of ours was set in the frame (the browser would not send it back anyway).
    assert [c for c in context.cookies() if c["domain"] == "127.0.0.1"] == []
    with app.app_context():
        [stored] = db.session.scalars(sa.select(Response)).all()
        assert stored.reference == reference
        assert (stored.language, stored.district.slug) == ("ar", "mainz-bingen")
    context.close()


def test_a_site_that_is_not_allowed_cannot_show_the_form(app, live_server, browser, district_site):
    origin, page_with = district_site
    allow(app, "volunteer", "https://www.kreis-example.de")  # another site only
    context = browser.new_context(viewport=TABLET)
    page = context.new_page()
    page.goto(page_with("/fremd", "/f/volunteer?embed=1&district=mainz-bingen"))
    page.wait_for_load_state("load")
    time.sleep(1)
    frame = page.frame(name="intake")
    # Chromium replaces a refused frame with its own error page: no form inside.
    assert frame is None or frame.locator("#public-form").count() == 0
    context.close()
