"""Public submissions per client address: over the limit, nothing is stored and nothing lost."""

from __future__ import annotations

import secrets

import pytest

from intake import create_app
from tests.conftest import (
    VOLUNTEER_ANSWERS,
    app_config,
    close_database,
    csrf_token,
    form_payload,
    response_count,
)

FORM = "/f/volunteer?district=mainz-bingen&lang=de"


@pytest.fixture
def limited(app):
    app.config["SUBMIT_LIMIT_PER_ADDRESS"] = "2 per 10 minutes"
    return app


def fill(browser) -> dict:
    return form_payload(browser.get(FORM).get_data(as_text=True), VOLUNTEER_ANSWERS)


def test_over_the_limit_the_form_comes_back_with_every_answer_and_stores_later(limited):
    browser = limited.test_client()
    for _ in range(2):
        assert browser.post(FORM, data=fill(browser)).status_code == 303
    third = fill(browser)
    refused = browser.post(FORM, data=third)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 600
    html = refused.get_data(as_text=True)
    assert "Ihre Antworten sind noch nicht gespeichert" in html
    assert "Von Ihrem Netz wurden in den letzten Minuten viele Formulare gesendet" in html
    assert "Müller-Lüdenscheidt" in html
    assert "Jugendamt" in html  # nothing typed is lost
    assert f'value="{third["idempotency_key"]}"' in html  # the same key for the later send
    assert response_count(limited) == 2
    # Once the window has passed (here: the limit raised by the operator), the same
    # page stores the answers once.
    limited.config["SUBMIT_LIMIT_PER_ADDRESS"] = "3 per 10 minutes"
    assert browser.post(FORM, data=third).status_code == 303
    assert browser.post(FORM, data=third).status_code == 303  # a repeat: same receipt
    assert response_count(limited) == 3


def test_repeats_pages_and_errors_do_not_count(limited):
    browser = limited.test_client()
    data = fill(browser)
    for _ in range(3):  # a double click and retries of one stored response
        assert browser.post(FORM, data=data).status_code == 303
    for _ in range(3):  # answers with mistakes are shown again, not stored
        wrong = {**fill(browser), "email": "not-an-address"}
        assert browser.post(FORM, data=wrong).status_code == 422
    assert browser.post(FORM, data=fill(browser)).status_code == 303
    assert response_count(limited) == 2


def test_the_limit_is_per_address(limited):
    first, second = limited.test_client(), limited.test_client()
    office = {"REMOTE_ADDR": "192.0.2.10"}
    for _ in range(2):
        data = form_payload(
            first.get(FORM, environ_base=office).get_data(as_text=True), VOLUNTEER_ANSWERS
        )
        assert first.post(FORM, data=data, environ_base=office).status_code == 303
    assert first.post(FORM, data=fill(first), environ_base=office).status_code == 429
    assert second.post(FORM, data=fill(second)).status_code == 303  # another address
    assert response_count(limited) == 3


def test_an_ipv6_network_counts_as_one_address(limited):
    browser = limited.test_client()

    def send_from(address: str) -> int:
        where = {"REMOTE_ADDR": address}
        page = browser.get(FORM, environ_base=where).get_data(as_text=True)
        return browser.post(FORM, data=form_payload(page, VOLUNTEER_ANSWERS), environ_base=where)

    codes = [
        send_from("2001:db8:1:2::10").status_code,
        send_from("2001:db8:1:2:aaaa::99").status_code,  # the same /64
        send_from("2001:db8:1:2:ffff::1").status_code,
        send_from("2001:db8:1:3::10").status_code,  # another network
    ]
    assert codes == [303, 303, 429, 303]
    assert response_count(limited) == 3


def test_an_empty_limit_turns_it_off(app):
    app.config["SUBMIT_LIMIT_PER_ADDRESS"] = ""
    browser = app.test_client()
    for _ in range(3):
        assert browser.post(FORM, data=fill(browser)).status_code == 303
    assert response_count(app) == 3


@pytest.mark.parametrize("value", ["100 every minute", "many", "per 10 minutes"])
def test_a_limit_that_cannot_be_read_stops_the_start(value):
    with pytest.raises(RuntimeError, match="^INTAKE_SUBMIT_LIMIT_PER_ADDRESS is .*100 per 10"):
        create_app(
            {
                "SECRET_KEY": secrets.token_urlsafe(48),
                "DATABASE_URL": "sqlite://",
                "SUBMIT_LIMIT_PER_ADDRESS": value,
            }
        )


@pytest.fixture
def redis_gone(app, database_url, tmp_path):
    """The app again, on the same database, with a Redis that refuses connections."""
    gone = create_app(
        app_config(
            tmp_path,
            database_url,
            SECRET_KEY=app.config["SECRET_KEY"],
            RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",
            SUBMIT_LIMIT_PER_ADDRESS="1 per 10 minutes",
        )
    )
    yield gone
    close_database(gone)
    # The limiter is one object for every app of the process (as in production, where
    # a process has one app). Having seen this app's Redis fail, it keeps counting in its
    # in-memory fallback until a request finds the storage again: the next test's app
    # must start with its own storage, not with this one's dead state.
    from intake.extensions import limiter

    limiter._storage_dead = False


def test_without_its_redis_the_app_stores_answers_and_still_limits_logins(
    redis_gone, create_user, caplog
):
    browser = redis_gone.test_client()
    for _ in range(2):  # the limit cannot be counted: answers go first
        assert browser.post(FORM, data=fill(browser)).status_code == 303
    assert response_count(redis_gone) == 2
    assert "rate limit storage unreachable" in caplog.text
    # Failed logins are counted in this process's memory until Redis is back.
    create_user("mz@example.org", districts=("mainz-bingen",))
    page = browser.get("/admin/login").get_data(as_text=True)
    wrong = {
        "email": "mz@example.org",
        "password": "wrong password!",
        "csrf_token": csrf_token(page),
    }
    codes = [browser.post("/admin/login", data=wrong).status_code for _ in range(6)]
    assert codes == [422] * 5 + [429]
