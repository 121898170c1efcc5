"""The kiosk on a tablet, in headless Chromium: offline queue, server failures, the next
person, idle reset, and how it looks in Arabic and German in both orientations."""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from werkzeug.serving import make_server

from intake.engine.definition import load_file
from intake.extensions import db
from intake.storage.forms import import_definition
from intake.storage.models import Answer, Event
from tests.conftest import KIOSK_PIN, response_count

SHORT_FORM = Path(__file__).resolve().parents[1] / "forms" / "kiosk_short.yaml"
CACHE = "intake-kiosk-v1"


class Server:
    """The app on a fixed port of 127.0.0.1 that a test can stop and start again.

    `drop_next_queued` makes the next queued submission be stored and then the
    connection dropped before any answer reaches the browser, as when the server
    dies in the middle of a request.
    """

    def __init__(self, app):
        self.app = app
        self.port = 0
        self.drop_next_queued = False
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wsgi(self, environ, start_response):
        queued = environ.get("HTTP_X_INTAKE_QUEUE") == "1"
        if self.drop_next_queued and queued and environ["REQUEST_METHOD"] == "POST":
            self.drop_next_queued = False
            body = self.app(environ, lambda *args, **kwargs: None)
            b"".join(body)  # the view ran: the answer is stored
            getattr(body, "close", lambda: None)()
            environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
        # The whole body is made and the app's iterator closed before anything is sent:
        # werkzeug's development server skips closing it (a static file stays open)
        # when the browser resets the connection, which these tests do on purpose.
        body = self.app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            getattr(body, "close", lambda: None)()

    def start(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.wsgi, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server(app):
    running = Server(app)
    yield running
    running.stop()


@pytest.fixture
def short_form(app) -> str:
    with app.app_context():
        import_definition(load_file(SHORT_FORM))
        db.session.commit()
    return "kiosk-short"


@pytest.fixture
def tablet(browser):
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="de-DE")
    yield context
    context.close()


def wait_until(check, seconds: float = 30, message: str = "condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {message}")


def cached_urls(page) -> list[str]:
    return page.evaluate(f"caches.open('{CACHE}').then(c => c.keys()).then(k => k.map(r => r.url))")


def open_kiosk(page, server, token: str, lang_link: str = "Deutsch") -> None:
    """The picker, with the service worker in control and the pages kept for offline use."""
    page.goto(f"{server.url}/k/{token}")
    wait_until(
        lambda: page.evaluate("navigator.serviceWorker.controller !== null"),
        message="the service worker to control the page",
    )
    wait_until(
        lambda: (
            any("/f/kiosk-short?lang=de" in url for url in cached_urls(page))
            and any(url.endswith("kiosk.js") for url in cached_urls(page))
        ),
        message="the service worker to keep the kiosk pages",
    )


def fill_short(page, name: str) -> None:
    page.get_by_label("Ihr Name").fill(name)
    page.get_by_label("Sprachkurs").check()


def stored_names(app) -> list[str]:
    with app.app_context():
        return sorted(
            db.session.scalars(sa.select(Answer.value).where(Answer.field == "full_name"))
        )


def test_three_offline_submissions_survive_a_reload_and_are_sent_once_online(
    app, server, tablet, short_form, make_event
):
    token = make_event(forms=(short_form,))
    page = tablet.new_page()
    open_kiosk(page, server, token)
    tablet.set_offline(True)
    for i in range(3):
        page.get_by_role("link", name="Deutsch").click()
        fill_short(page, f"Offline {i}")
        page.get_by_role("button", name="Antworten senden").click()
        expect(
            page.get_by_text("Ihre Antworten sind auf diesem Tablet gespeichert")
        ).to_be_visible()
        expect(page.locator("form#public-form")).to_have_count(0)
        page.get_by_role("link", name="Nächste Person").click()
        expect(page.get_by_role("heading", name="Wählen Sie Ihre Sprache")).to_be_visible()
    queue = page.locator("[data-kiosk-queue]")
    expect(queue).to_have_text("Warten auf Senden: 3")
    page.reload()  # still offline: the service worker's copy, the queue in IndexedDB
    expect(queue).to_have_text("Warten auf Senden: 3")
    assert response_count(app) == 0
    tablet.set_offline(False)
    wait_until(lambda: response_count(app) == 3, message="three stored responses")
    expect(queue).to_be_hidden()
    time.sleep(1)  # any duplicate send would arrive now
    assert response_count(app) == 3
    assert stored_names(app) == ["Offline 0", "Offline 1", "Offline 2"]


def test_server_dying_during_a_submission_stores_it_exactly_once(
    app, server, tablet, short_form, make_event
):
    token = make_event(forms=(short_form,))
    page = tablet.new_page()
    open_kiosk(page, server, token)
    page.get_by_role("link", name="Deutsch").click()
    fill_short(page, "Mitten im Absturz")
    server.drop_next_queued = True
    page.get_by_role("button", name="Antworten senden").click()
    # Stored, but the browser never heard: it keeps the answer and tells the person so.
    expect(page.get_by_text("Ihre Antworten sind auf diesem Tablet gespeichert")).to_be_visible()
    assert response_count(app) == 1
    server.stop()
    page.get_by_role("link", name="Nächste Person").click()  # from the service worker
    expect(page.locator("[data-kiosk-queue]")).to_have_text("Warten auf Senden: 1")
    server.start()  # same port
    expect(page.locator("[data-kiosk-queue]")).to_be_hidden(timeout=30_000)
    assert response_count(app) == 1
    assert stored_names(app) == ["Mitten im Absturz"]


def test_next_person_sees_nothing_after_back_forward_and_reload(
    app, server, tablet, short_form, make_event
):
    token = make_event(forms=(short_form,))
    page = tablet.new_page()
    page.goto(f"{server.url}/k/{token}")
    page.get_by_role("link", name="Deutsch").click()
    fill_short(page, "Erste Person")
    page.get_by_label("E-Mail").fill("erste@example.org")
    page.get_by_role("button", name="Antworten senden").click()
    reference = page.locator(".reference bdi")
    expect(reference).to_have_text(re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$"))
    assert response_count(app) == 1

    def shows_nothing_of_the_first_person():
        html = page.content()
        assert "Erste Person" not in html
        assert "erste@example.org" not in html
        assert reference.count() == 0 or reference.inner_text() == ""
        for field in page.locator("input[type=text], input[type=email]").all():
            assert field.input_value() == ""

    page.reload()
    expect(page.get_by_label("Ihr Name")).to_be_visible()
    shows_nothing_of_the_first_person()
    page.go_back()
    shows_nothing_of_the_first_person()
    page.go_forward()
    shows_nothing_of_the_first_person()
    # Chromium offers nothing typed before: no form history was saved.
    assert page.locator("form#public-form").get_attribute("autocomplete") == "off"
    assert response_count(app) == 1


def form_left_alone(app, server, tablet, short_form, make_event, name: str):
    """A kiosk whose forms are cleared after 4 s, a name typed into its form."""
    token = make_event(forms=(short_form,))
    with app.app_context():
        db.session.scalar(sa.select(Event)).idle_seconds = 4  # below the back office's minimum
        db.session.commit()
    page = tablet.new_page()
    page.goto(f"{server.url}/k/{token}")
    page.get_by_role("link", name="Deutsch").click()
    page.get_by_label("Ihr Name").fill(name)
    return token, page


def test_idle_form_is_cleared_and_the_picker_comes_back(
    app, server, tablet, short_form, make_event
):
    token, page = form_left_alone(app, server, tablet, short_form, make_event, "Halb ausgefüllt")
    expect(page.get_by_text("Sind Sie noch da?")).to_be_visible(timeout=6_000)
    expect(page.get_by_role("heading", name="Wählen Sie Ihre Sprache")).to_be_visible(timeout=6_000)
    assert page.url == f"{server.url}/k/{token}"
    page.get_by_role("link", name="Deutsch").click()
    assert page.get_by_label("Ihr Name").input_value() == ""
    page.go_back()
    page.go_back()
    assert "Halb ausgefüllt" not in page.content()
    assert response_count(app) == 0


def test_touching_the_screen_keeps_the_form(app, server, tablet, short_form, make_event):
    _token, page = form_left_alone(app, server, tablet, short_form, make_event, "Noch da")
    expect(page.get_by_text("Sind Sie noch da?")).to_be_visible(timeout=6_000)
    page.get_by_role("button", name="Weiter").click()
    expect(page.get_by_text("Sind Sie noch da?")).to_be_hidden()
    assert page.get_by_label("Ihr Name").input_value() == "Noch da"


def test_staff_pin_leaves_kiosk_mode(app, server, tablet, short_form, make_event):
    token = make_event(forms=(short_form,))
    page = tablet.new_page()
    page.goto(f"{server.url}/k/{token}")
    page.goto(f"{server.url}/")
    assert page.url == f"{server.url}/k/{token}"  # locked
    page.get_by_role("link", name="Personal").click()
    page.get_by_label("PIN des Personals dieser Veranstaltung").fill("999999")
    page.get_by_role("button", name="Weiter").click()
    expect(page.get_by_text("Diese PIN stimmt nicht.")).to_be_visible()
    page.get_by_label("PIN des Personals dieser Veranstaltung").fill(KIOSK_PIN)
    page.get_by_role("button", name="Weiter").click()
    expect(page.get_by_text("Nichts wartet")).to_be_visible()
    page.get_by_role("button", name="Kiosk-Modus auf diesem Tablet verlassen").click()
    page.goto(f"{server.url}/")
    assert page.url == f"{server.url}/"


def test_offline_staff_save_answers_to_a_file_that_the_back_office_imports(
    app, server, tablet, short_form, make_event, create_user, tmp_path
):
    from tests.browser.pages import admin_login
    from tests.conftest import PASSWORD

    token = make_event(forms=(short_form,))
    page = tablet.new_page()
    open_kiosk(page, server, token)
    tablet.set_offline(True)  # a venue without Wi-Fi, all evening
    page.get_by_role("link", name="Deutsch").click()
    fill_short(page, "In der Datei")
    page.get_by_role("button", name="Antworten senden").click()
    expect(page.get_by_text("Ihre Antworten sind auf diesem Tablet gespeichert")).to_be_visible()
    page.get_by_role("link", name="Nächste Person").click()
    page.get_by_role("link", name="Personal").click()  # the service worker's copy
    pin = page.get_by_label("PIN des Personals dieser Veranstaltung")
    pin.fill("999999")
    page.get_by_role("button", name="Weiter").click()
    expect(page.get_by_text("Diese PIN stimmt nicht.")).to_be_visible()
    expect(page.locator("[data-kiosk-queue]")).to_have_text("Warten auf Senden: 1")
    pin.fill(KIOSK_PIN)
    page.get_by_role("button", name="Weiter").click()
    expect(page.get_by_role("heading", name="Antworten auf diesem Tablet")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Wartende Antworten in eine Datei speichern").click()
    saved = tmp_path / "saved.json"
    download.value.save_as(saved)
    assert "In+der+Datei" in saved.read_text(encoding="utf-8")
    assert response_count(app) == 0

    # In the office: a coordinator imports the file.
    create_user("mz@example.org", districts=("mainz-bingen",))
    office = tablet.browser.new_context(locale="de-DE")
    desk = office.new_page()
    admin_login(desk, server.url, "mz@example.org", PASSWORD)
    desk.get_by_role("link", name="Veranstaltungen").click()
    desk.get_by_role("link", name="Infoabend Ingelheim").click()
    desk.get_by_label("Datei mit gespeicherten Antworten (.json)").set_input_files(saved)
    desk.get_by_role("button", name="Importieren").click()
    expect(
        desk.get_by_text("Import: 1 Antworten gespeichert, 0 waren schon gespeichert")
    ).to_be_visible()
    office.close()
    assert stored_names(app) == ["In der Datei"]

    # The tablet gets a connection again: it sends, hears "stored before", forgets it.
    tablet.set_offline(False)
    page.goto(f"{server.url}/k/{token}")
    expect(page.locator("[data-kiosk-queue]")).to_be_hidden(timeout=30_000)
    assert response_count(app) == 1


SIZES = {"landscape": (1024, 768), "portrait": (768, 1024)}
LANGUAGE_BUTTON = {"ar": "العربية", "de": "Deutsch"}
SEND = {"ar": "إرسال الإجابات", "de": "Antworten senden"}
THANKS = {"ar": "شكرًا لك!", "de": "Vielen Dank!"}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", ["ar", "de"])
def test_kiosk_screens_in_arabic_and_german(
    app, server, browser, screenshots, short_form, make_event, lang, size
):
    """Picker, the volunteer form and the receipt on a tablet held both ways.

    Right-to-left must mirror: in Arabic the event name sits at the right edge, the
    questions' labels start at the right, and nothing scrolls sideways.
    """
    width, height = SIZES[size]
    token = make_event(forms=("volunteer",), languages=["de", "ar", "fa", "uk", "ti", "en"])
    short = make_event(forms=(short_form,), name="Begegnungscafé Bingen")
    context = browser.new_context(viewport={"width": width, "height": height}, locale="de-DE")
    page = context.new_page()

    def shot(name: str) -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= width, name
        page.screenshot(path=screenshots / f"kiosk-{name}-{lang}-{width}x{height}.png")

    page.goto(f"{server.url}/k/{token}")
    buttons = page.locator(".kiosk-languages .big-button")
    expect(buttons).to_have_count(6)
    for button, native in zip(
        buttons.all(),
        ["Deutsch", "العربية", "فارسی / دری", "Українська", "ትግርኛ", "English"],
        strict=True,
    ):
        expect(button).to_have_text(native)
        assert button.bounding_box()["height"] >= 90  # large enough for any finger
    shot("picker")
    page.get_by_role("link", name=LANGUAGE_BUTTON[lang]).click()
    assert page.get_attribute("html", "dir") == ("rtl" if lang == "ar" else "ltr")
    brand = page.locator(".brand").bounding_box()
    label = page.locator(".public-form label").first.bounding_box()
    if lang == "ar":
        assert brand["x"] + brand["width"] > width * 0.6  # at the right
        assert label["x"] + label["width"] > width * 0.6
    else:
        assert brand["x"] < width * 0.4
    shot("form")

    page.goto(f"{server.url}/k/{short}")
    page.get_by_role("link", name=LANGUAGE_BUTTON[lang]).click()
    page.locator("input[name=full_name]").fill("Test" if lang == "de" else "سمير")
    page.locator("input[name=wish]").first.check()
    page.get_by_role("button", name=SEND[lang]).click()
    expect(page.get_by_role("heading", name=THANKS[lang])).to_be_visible()
    shot("receipt")
    context.close()


@pytest.mark.parametrize("lang", ["de", "ar"])
def test_kiosk_pages_have_no_accessibility_violations(server, browser, make_event, lang):
    from tests.browser.test_accessibility import violations

    token = make_event(forms=("volunteer",))
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale=lang)
    page = context.new_page()
    for path in (f"/k/{token}", f"/k/{token}/f/volunteer?lang={lang}", f"/k/{token}/staff"):
        page.goto(f"{server.url}{path}")
        assert violations(page) == [], path
    page.goto(f"{server.url}/k/{token}/f/volunteer?lang={lang}")
    page.locator("button[type=submit]").click()  # nothing filled in: the messages
    expect(page.locator(".error-summary")).to_be_visible()
    assert violations(page) == []
    context.close()


def test_kiosk_without_javascript_goes_back_to_the_picker_and_forgets(
    app, server, browser, short_form, make_event
):
    """Without JavaScript: a plain post, the receipt page, then the picker by itself;
    back and reload never show the answers again."""
    token = make_event(forms=(short_form,), thanks_seconds=5)
    context = browser.new_context(java_script_enabled=False, locale="de-DE")
    page = context.new_page()
    page.goto(f"{server.url}/k/{token}")
    page.get_by_role("link", name="Deutsch").click()
    fill_short(page, "Ohne Skript")
    page.get_by_role("button", name="Antworten senden").click()
    expect(page.locator(".reference bdi")).to_have_text(re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$"))
    page.wait_for_url(f"{server.url}/k/{token}", timeout=10_000)  # the meta refresh
    page.go_back()
    assert "Ohne Skript" not in page.content()
    page.reload()
    assert "Ohne Skript" not in page.content()
    assert response_count(app) == 1
    context.close()


def test_the_kiosk_lists_what_to_correct_in_the_forms_order(
    app, server, tablet, short_form, make_event
):
    """The name (full_name) comes before the wish on the form, and so in the list, though
    the server's answer names them alphabetically (email, full_name, wish)."""
    token = make_event(forms=(short_form,))
    page = tablet.new_page()
    page.goto(f"{server.url}/k/{token}")
    page.get_by_role("link", name="Deutsch").click()
    page.get_by_label("E-Mail").fill("keine-adresse")
    page.get_by_role("button", name="Antworten senden").click()
    items = page.locator(".error-summary li")
    expect(items).to_have_count(3)
    texts = items.all_inner_texts()
    assert [t.split()[0] for t in texts] == ["Ihr", "E-Mail", "Was"]
    assert response_count(app) == 0


def test_answers_to_correct_are_shown_in_place_and_nothing_is_lost(
    app, server, tablet, short_form, make_event
):
    """With JavaScript a wrong answer is reported on the page itself (no reload), in the
    person's language; after correcting it the same page is sent and stored once."""
    token = make_event(forms=(short_form,))
    page = tablet.new_page()
    page.goto(f"{server.url}/k/{token}")
    page.get_by_role("link", name="Deutsch").click()
    url = page.url
    fill_short(page, "Korrigiert")
    page.get_by_label("E-Mail").fill("keine-adresse")
    page.get_by_role("button", name="Antworten senden").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("E-Mail")
    assert page.url == url
    assert page.get_by_label("Ihr Name").input_value() == "Korrigiert"
    assert page.get_by_label("E-Mail").get_attribute("aria-invalid") == "true"
    assert response_count(app) == 0
    page.get_by_label("E-Mail").fill("korrigiert@example.org")
    page.get_by_role("button", name="Antworten senden").click()
    expect(page.locator(".reference bdi")).to_have_text(re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$"))
    assert response_count(app) == 1
    expect(page.locator("[data-kiosk-queue]")).to_be_hidden()
