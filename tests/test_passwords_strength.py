"""New passwords: common, repetitive and email-made passwords are refused (ASVS V6.2.4),
in the back office (one-time link, own password) and on the command line alike."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from intake.extensions import db
from intake.passwords import MAX_PASSWORD_LENGTH, password_problem
from intake.storage.models import User
from tests.conftest import PASSWORD, csrf_token

EMAIL = "anna.schmidt@example.org"
GUESSABLE = "This password is too easy to guess"
TOO_LONG = f"The password must have at most {MAX_PASSWORD_LENGTH} characters."
LONG_PASSPHRASE = " ".join(["Zugvögel über dem Rhein bei Bingerbrück"] * 8)[:MAX_PASSWORD_LENGTH]

#: (password, what the back office says); the CLI says the same in its own words.
REFUSED = [
    ("password1234", GUESSABLE),
    ("aaaaaaaaaaaa", GUESSABLE),
    ("qwertzuiop123", GUESSABLE),
    ("123456789012", GUESSABLE),
    ("anna.schmidt1234", GUESSABLE),  # the email's local part and a number
    (EMAIL, "The password must not contain the email address."),
    pytest.param(LONG_PASSPHRASE + "x", TOO_LONG, id="257-characters"),
]
#: The passwords the other tests set, and a long passphrase at the limit.
ACCEPTED = [
    PASSWORD,  # "correct horse battery staple"
    "a brand new passphrase",  # tests/test_accounts.py
    "a long enough passphrase",  # tests/test_cli.py
    "eine lange neue Passphrase",  # tests/browser/test_accounts_browser.py
    pytest.param(LONG_PASSPHRASE, id="256-characters"),
]
CLI_MESSAGES = {
    GUESSABLE: "Error: this password is too easy to guess",
    TOO_LONG: f"Error: the password must have at most {MAX_PASSWORD_LENGTH} characters",
    "The password must not contain the email address.": (
        "Error: the password must not contain the email address"
    ),
}


def password_hash(app) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(User.password_hash).where(User.email == EMAIL))


def post_page(client, url: str, data: dict):
    token = csrf_token(client.get(url).get_data(as_text=True))
    return client.post(url, data=dict(data, csrf_token=token))


@pytest.fixture
def reset_link(app, create_user) -> str:
    """The one-time link of a new account (as an administrator would hand it out)."""
    from intake import accounts

    user = create_user(EMAIL, districts=("mainz-bingen",))
    with app.app_context(), app.test_request_context():
        token = accounts.reset_token(db.session.get(User, user.id))
    return f"/admin/reset/{token}?lang=en"


@pytest.mark.parametrize(("password", "message"), REFUSED)
def test_the_one_time_link_refuses_guessable_passwords(app, client, reset_link, password, message):
    before = password_hash(app)
    response = post_page(client, reset_link, {"password": password, "confirm": password})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert password_hash(app) == before


@pytest.mark.parametrize("password", ACCEPTED)
def test_the_one_time_link_accepts_good_passwords(app, client, reset_link, password):
    before = password_hash(app)
    response = post_page(client, reset_link, {"password": password, "confirm": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert password_hash(app) != before
    token = csrf_token(client.get("/admin/login").get_data(as_text=True))
    login = client.post(
        "/admin/login", data={"email": EMAIL, "password": password, "csrf_token": token}
    )
    assert login.status_code == 302


def test_the_message_names_what_to_avoid_and_what_works(app, client, reset_link):
    data = {"password": "password1234", "confirm": "password1234"}
    response = post_page(client, reset_link, data)
    html = response.get_data(as_text=True)
    assert "avoid common passwords" in html
    assert "A sentence of four or more unusual words" in html
    assert 'aria-invalid="true"' in html


@pytest.mark.parametrize(("password", "message"), REFUSED)
def test_changing_ones_own_password_refuses_guessable_ones(
    app, client, auth, create_user, password, message
):
    create_user(EMAIL, districts=("mainz-bingen",))
    auth.login(EMAIL)
    before = password_hash(app)
    response = post_page(
        client,
        "/admin/account/password?lang=en",
        {"current": PASSWORD, "password": password, "confirm": password},
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert password_hash(app) == before


def test_guessable_new_passwords_do_not_use_up_the_wrong_password_allowance(
    app, client, auth, create_user
):
    """Only a wrong current password is a guess; trying weak new ones is not."""
    create_user(EMAIL, districts=("mainz-bingen",))
    auth.login(EMAIL)
    for _ in range(6):
        data = {"current": PASSWORD, "password": "password1234", "confirm": "password1234"}
        assert post_page(client, "/admin/account/password", data).status_code == 422
    good = "a brand new passphrase"
    data = {"current": PASSWORD, "password": good, "confirm": good}
    assert post_page(client, "/admin/account/password", data).status_code == 302


@pytest.mark.parametrize(("password", "message"), REFUSED)
def test_users_create_refuses_guessable_passwords(app, cli, password, message):
    result = cli(
        "users", "create", "--email", EMAIL, "--role", "coordinator",
        "--district", "mainz-bingen", "--password-stdin", input=f"{password}\n",
    )  # fmt: skip
    assert result.exit_code == 2
    assert CLI_MESSAGES[message] in result.output
    assert password not in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.email == EMAIL)) is None


@pytest.mark.parametrize(("password", "message"), REFUSED)
def test_users_set_password_refuses_guessable_passwords(app, cli, create_user, password, message):
    create_user(EMAIL, districts=("mainz-bingen",))
    before = password_hash(app)
    result = cli("users", "set-password", EMAIL, "--password-stdin", input=f"{password}\n")
    assert result.exit_code == 2
    assert CLI_MESSAGES[message] in result.output
    assert password_hash(app) == before


@pytest.mark.parametrize("password", ACCEPTED)
def test_the_cli_accepts_good_passwords(app, cli, auth, password):
    result = cli(
        "users", "create", "--email", EMAIL, "--role", "viewer",
        "--district", "mainz-bingen", "--password-stdin", input=f"{password}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert auth.login(EMAIL, password).status_code == 302


def test_judging_a_long_password_takes_bounded_time():
    """zxcvbn's time grows faster than the length (about a second for 256 repeated
    characters); only the start of a password is scored, so the longest allowed one is
    judged quickly, and a longer one is refused before zxcvbn sees it."""
    worst = ("ab1" * MAX_PASSWORD_LENGTH)[:MAX_PASSWORD_LENGTH]
    started = time.perf_counter()
    assert password_problem(worst, EMAIL) is not None
    assert password_problem("x" * 100_000, EMAIL) is not None
    assert time.perf_counter() - started < 2  # about 0.05 s; the whole 256: over a second
