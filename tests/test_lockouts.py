"""Limits that an outsider cannot turn against a known user: a browser that logged in
before keeps its way in, and wrong kiosk PINs make one tablet wait, not lock the staff out."""

from __future__ import annotations

import base64
import json
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.conftest import KIOSK_PIN, PASSWORD, csrf_token

DEVICE_COOKIE = "intake_device"
OFFICE = "192.0.2.10"


def login(client, email: str, password: str = PASSWORD, address: str = "127.0.0.1"):
    environ = {"REMOTE_ADDR": address}
    token = csrf_token(client.get("/admin/login", environ_base=environ).get_data(as_text=True))
    return client.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base=environ,
    )


def logout(client) -> None:
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 302


@pytest.fixture
def laptop(app, create_user):
    """The coordinator's own browser: it logged in once (and out again) before."""
    create_user("a@example.org", districts=("mainz-bingen",))
    create_user("b@example.org", districts=("mainz-bingen",))
    browser = app.test_client()
    assert login(browser, "a@example.org", address=OFFICE).status_code == 302
    logout(browser)
    return browser


def lock_account(app, email: str = "a@example.org") -> None:
    attacker = app.test_client()
    for _ in range(5):
        assert login(attacker, email, "guess guess guess", "203.0.113.66").status_code == 422
    assert login(app.test_client(), email).status_code == 429


# --- the known device ------------------------------------------------------------------


def test_a_browser_that_logged_in_before_still_gets_in_when_the_account_is_locked(app, laptop):
    lock_account(app)
    assert login(laptop, "a@example.org", address=OFFICE).status_code == 302
    # Anyone else, also with the right password, waits as before.
    assert login(app.test_client(), "a@example.org", address=OFFICE).status_code == 429


def test_a_browser_that_logged_in_before_still_gets_in_when_the_office_address_is_locked(
    app, laptop
):
    for n in range(30):  # a colleague's script, or a visitor on the office network
        guess = login(app.test_client(), f"nobody{n}@example.org", "x" * 12, OFFICE)
        assert guess.status_code == 422
    assert login(app.test_client(), "b@example.org", address=OFFICE).status_code == 429
    assert login(laptop, "a@example.org", address=OFFICE).status_code == 302


def test_a_known_browser_has_a_limit_of_its_own(app, laptop):
    """A copied cookie is no licence to guess: 20 wrong passwords, then it waits too."""
    for _ in range(20):
        assert login(laptop, "a@example.org", "guess guess guess", OFFICE).status_code == 422
    blocked = login(laptop, "a@example.org", address=OFFICE)
    assert blocked.status_code == 429
    assert "Zu viele" in blocked.get_data(as_text=True)
    # Its wrong passwords were its own: the account is open to its other browsers.
    assert login(app.test_client(), "a@example.org").status_code == 302


def test_the_browser_is_known_only_for_the_accounts_that_logged_in_with_it(app, laptop):
    lock_account(app, "b@example.org")
    assert login(laptop, "b@example.org", address=OFFICE).status_code == 429


def test_a_shared_browser_remembers_each_account_that_logged_in(app, laptop):
    assert login(laptop, "b@example.org", address=OFFICE).status_code == 302
    logout(laptop)
    lock_account(app, "a@example.org")
    lock_account(app, "b@example.org")
    assert login(laptop, "a@example.org", address=OFFICE).status_code == 302
    logout(laptop)
    assert login(laptop, "b@example.org", address=OFFICE).status_code == 302


def test_a_forged_or_outdated_cookie_counts_for_nothing(app, laptop):
    lock_account(app)
    value = laptop.get_cookie(DEVICE_COOKIE, path="/admin/login").value
    payload = json.loads(base64.urlsafe_b64decode(value.split(".")[0] + "=="))

    forged = app.test_client()
    forged.set_cookie(DEVICE_COOKIE, value[:-2] + "xx", path="/admin/login")
    assert login(forged, "a@example.org", address=OFFICE).status_code == 429

    class NinetyOneDaysAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 91 * 86400

    with app.app_context():
        old = URLSafeTimedSerializer(
            app.secret_key, salt="intake.known-device", signer=NinetyOneDaysAgo
        ).dumps(payload)
    outdated = app.test_client()
    outdated.set_cookie(DEVICE_COOKIE, old, path="/admin/login")
    assert login(outdated, "a@example.org", address=OFFICE).status_code == 429


def test_the_device_cookie_is_long_lived_http_only_and_names_no_one(app, create_user):
    create_user("a@example.org", districts=("mainz-bingen",))
    app.config["SESSION_COOKIE_SECURE"] = True
    response = login(app.test_client(), "a@example.org")
    assert response.status_code == 302
    header = next(
        h for h in response.headers.getlist("Set-Cookie") if h.startswith(DEVICE_COOKIE + "=")
    )
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")}
    assert {"httponly", "secure", "max-age", "path"} <= attributes
    assert "Max-Age=7776000" in header  # 90 days
    assert "SameSite=Lax" in header
    assert "Path=/admin/login" in header
    value = header.split(";")[0].split("=", 1)[1]
    payload = base64.urlsafe_b64decode(value.split(".")[0] + "==").decode()
    assert "a@example.org" not in payload
    assert "@" not in payload
    assert set(json.loads(payload)) == {"d", "u"}


def test_failed_logins_set_no_device_cookie(app, create_user):
    create_user("a@example.org", districts=("mainz-bingen",))
    response = login(app.test_client(), "a@example.org", "guess guess guess")
    assert response.status_code == 422
    assert not any(h.startswith(DEVICE_COOKIE) for h in response.headers.getlist("Set-Cookie"))


# --- kiosk PINs ------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """Time that the test moves on (limits' windows, the staff session's end)."""
    now = [float(int(time.time()))]  # whole seconds: the waits come out exact
    monkeypatch.setattr(time, "time", lambda: now[0])

    def advance(seconds: float) -> None:
        now[0] += seconds

    return advance


def try_pin(tablet, token: str, pin: str, address: str = OFFICE):
    environ = {"REMOTE_ADDR": address}
    page = tablet.get(f"/k/{token}/staff", environ_base=environ).get_data(as_text=True)
    return tablet.post(
        f"/k/{token}/staff?lang=en",
        data={"pin": pin, "csrf_token": csrf_token(page)},
        environ_base=environ,
    )


def test_wrong_pins_on_one_tablet_do_not_lock_the_staff_out_of_the_others(app, make_event):
    token = make_event()
    playful, other = app.test_client(), app.test_client()
    for tablet in (playful, other):
        tablet.get(f"/k/{token}", environ_base={"REMOTE_ADDR": OFFICE})  # kiosk mode
    for _ in range(10):
        assert try_pin(playful, token, "123456").status_code == 422
    assert try_pin(playful, token, KIOSK_PIN).status_code == 429
    assert try_pin(other, token, KIOSK_PIN).status_code == 303  # same event, same Wi-Fi


def test_a_tablet_waits_a_growing_time_after_ten_wrong_pins_never_more_than_five_minutes(
    app, make_event, clock
):
    token = make_event()
    tablet = app.test_client()
    for _ in range(10):
        assert try_pin(tablet, token, "123456").status_code == 422
    waits = []
    for _ in range(6):
        refused = try_pin(tablet, token, KIOSK_PIN)  # not even checked while it waits
        assert refused.status_code == 429
        waits.append(int(refused.headers["Retry-After"]))
        clock(waits[-1] + 1)
        assert try_pin(tablet, token, "654321").status_code == 422  # checked again, wrong
    assert waits == [15, 30, 60, 120, 240, 300]
    refused = try_pin(tablet, token, KIOSK_PIN)
    assert refused.status_code == 429
    assert "Too many wrong PINs. Please wait" in refused.get_data(as_text=True)
    # 13 minutes after the first wrong PIN: the quarter of an hour ends before 5 minutes.
    assert int(refused.headers["Retry-After"]) == 15 * 60 - sum(w + 1 for w in waits)
    clock(int(refused.headers["Retry-After"]))
    assert try_pin(tablet, token, KIOSK_PIN).status_code == 303  # staff get in after the wait


def test_the_right_pin_starts_the_tablets_count_afresh(app, make_event):
    token = make_event()
    tablet = app.test_client()
    for _ in range(9):
        assert try_pin(tablet, token, "123456").status_code == 422
    assert try_pin(tablet, token, KIOSK_PIN).status_code == 303
    panel = tablet.get(f"/k/{token}/staff").get_data(as_text=True)
    left = tablet.post(f"/k/{token}/leave", data={"csrf_token": csrf_token(panel)})
    assert left.status_code == 303
    for _ in range(10):  # the next respondent on this tablet
        assert try_pin(tablet, token, "123456").status_code == 422
    assert try_pin(tablet, token, "123456").status_code == 429


def test_a_client_that_drops_its_cookie_is_counted_by_its_address(app, make_event):
    token = make_event()
    for _ in range(30):  # a fresh session every time
        assert try_pin(app.test_client(), token, "123456", "203.0.113.66").status_code == 422
    assert try_pin(app.test_client(), token, KIOSK_PIN, "203.0.113.66").status_code == 429
    # The tablets at the venue (another address) are not affected.
    assert try_pin(app.test_client(), token, KIOSK_PIN).status_code == 303
