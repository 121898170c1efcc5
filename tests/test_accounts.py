"""Accounts: created by admins, one-time password links, own password, disabling, sessions."""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa

from intake.extensions import db
from intake.storage.models import AuditEvent, User
from tests.conftest import PASSWORD, csrf_token

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def admin(create_user, auth):
    create_user("admin@example.org", role="admin")
    auth.login("admin@example.org")


def audit_actions(app) -> list[tuple[str, str | None, str]]:
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))
        return [(e.action, e.target, e.outcome) for e in rows]


def user_row(app, email: str) -> User:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        db.session.expunge(user)
        return user


def post_page(client, page_url: str, data: dict, action: str | None = None):
    """Fill the CSRF token from a page and post to its form (or `action`)."""
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    return client.post(action or page_url, data=dict(data, csrf_token=token))


def link_from(html: str) -> str:
    match = re.search(r'id="reset-link" value="http://localhost(/admin/reset/[^"]+)"', html)
    assert match, "page shows no password link"
    return match.group(1)


def set_password_through(client, link: str, password: str = NEW_PASSWORD):
    return post_page(client, link, {"password": password, "confirm": password})


@pytest.fixture
def mz_link(app, client, admin, create_user):
    """A coordinator account and a password link an admin made for it: (user, link)."""
    create_user("mz@example.org", districts=("mainz-bingen",))
    user = user_row(app, "mz@example.org")
    html = post_page(
        client, f"/admin/users/{user.id}", {}, f"/admin/users/{user.id}/reset-link?lang=en"
    ).get_data(as_text=True)
    return user, link_from(html)


def test_admin_creates_an_account_and_the_person_sets_their_password(app, client, admin):
    response = post_page(
        client,
        "/admin/users/new?lang=en",
        {"email": " New.Person@Example.org ", "role": "coordinator", "districts": "bad-kreuznach"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "The account new.person@example.org was created." in html
    link = link_from(html)

    person = app.test_client()
    page = person.get(link + "?lang=en").get_data(as_text=True)
    assert "For the account new.person@example.org." in page
    done = set_password_through(person, link)
    assert done.status_code == 302
    assert done.headers["Location"] == "/admin/login"
    # The message is in the language of the request that set the password (German).
    login_page = person.get("/admin/login").get_data(as_text=True)
    assert "Ihr Passwort ist festgelegt. Bitte melden Sie sich an." in login_page

    token = csrf_token(login_page)
    login = person.post(
        "/admin/login",
        data={"email": "new.person@example.org", "password": NEW_PASSWORD, "csrf_token": token},
    )
    assert login.status_code == 302
    dashboard = person.get("/admin/?lang=en").get_data(as_text=True)
    assert re.search(r"Your districts: [^<]*Bad Kreuznach</p>", dashboard)
    assert "/admin/reports/mainz-bingen/" not in dashboard
    user = user_row(app, "new.person@example.org")
    actions = audit_actions(app)
    assert ("user.create", f"user:{user.id} role=coordinator", "ok") in actions
    assert ("user.password_reset", f"user:{user.id}", "ok") in actions
    assert all(NEW_PASSWORD not in (target or "") for _a, target, _o in actions)


def test_a_password_link_works_once(app, mz_link):
    _user, link = mz_link
    other = app.test_client()
    assert set_password_through(other, link).status_code == 302
    again = other.get(link + "?lang=en")
    assert again.status_code == 410
    assert "This link was used already." in again.get_data(as_text=True)


def test_old_password_keeps_working_until_the_link_is_used(app, mz_link):
    other = app.test_client()
    token = csrf_token(other.get("/admin/login").get_data(as_text=True))
    login = other.post(
        "/admin/login", data={"email": "mz@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert login.status_code == 302


def test_tampered_and_expired_links_get_a_clear_page(app, mz_link, monkeypatch):
    _user, link = mz_link
    anonymous = app.test_client()

    tampered = anonymous.get(link[:-3] + "abc?lang=en")
    assert tampered.status_code == 404
    assert "This link is not valid." in tampered.get_data(as_text=True)

    later = time.time() + 73 * 3600  # the link lives 72 hours
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    expired = anonymous.get(link + "?lang=de")
    assert expired.status_code == 410
    assert "Dieser Link ist abgelaufen." in expired.get_data(as_text=True)
    assert ("user.password_reset", None, "expired") in audit_actions(app)


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short", "short", "The password must have at least 12 characters."),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "The two passwords are not the same."),
        ("x-mz@example.org-x", "x-mz@example.org-x", "must not contain the email address"),
        ("", "", "Please enter a new password."),
    ],
)
def test_unacceptable_new_password_is_explained(app, mz_link, password, confirm, message):
    user, link = mz_link
    person = app.test_client()
    response = post_page(person, link + "?lang=en", {"password": password, "confirm": confirm})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert user_row(app, "mz@example.org").password_hash == user.password_hash


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({"email": "not-an-address", "role": "viewer", "districts": "mainz-bingen"}, "valid email"),
        ({"email": "admin@example.org", "role": "admin"}, "exists already"),
        ({"email": "v@example.org", "role": "viewer"}, "at least one district"),
        ({"email": "v@example.org", "role": "superuser", "districts": "mainz-bingen"}, "offered"),
    ],
)
def test_bad_new_account_is_explained_and_not_created(app, client, admin, data, field_message):
    def accounts() -> int:
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(User))

    before, users_before = len(audit_actions(app)), accounts()
    response = post_page(client, "/admin/users/new?lang=en", data)
    assert response.status_code == 422
    assert field_message in response.get_data(as_text=True)
    assert accounts() == users_before
    assert not [a for a in audit_actions(app)[before:] if a[0] == "user.create"]


def test_accounts_pages_are_for_admins_only(app, client, auth, create_user):
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    token = csrf_token(client.get("/admin/").get_data(as_text=True))
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users/new").status_code == 403
    user = user_row(app, "mz@example.org")
    assert client.get(f"/admin/users/{user.id}").status_code == 403
    made = client.post(f"/admin/users/{user.id}/reset-link", data={"csrf_token": token})
    assert made.status_code == 403
    nav = client.get("/admin/?lang=en").get_data(as_text=True)
    assert "/admin/users" not in nav
    assert "/admin/account/password" in nav


def test_admin_changes_role_and_districts_but_never_the_email(app, client, admin, create_user):
    create_user("mz@example.org", districts=("mainz-bingen",))
    user = user_row(app, "mz@example.org")
    response = post_page(
        client,
        f"/admin/users/{user.id}",
        {
            "email": "attacker@example.org",
            "role": "viewer",
            "districts": ["mainz-bingen", "bad-kreuznach"],
            "active": "y",
            "password_hash": "x",
        },
    )
    assert response.status_code == 303
    changed = user_row(app, "mz@example.org")
    assert changed.role == "viewer"
    assert changed.password_hash == user.password_hash
    with app.app_context():
        districts = {d.slug for d in db.session.get(User, user.id).districts}
    assert districts == {"mainz-bingen", "bad-kreuznach"}
    assert ("user.update", f"user:{user.id} role=viewer active", "ok") in audit_actions(app)


def test_disabling_an_account_ends_its_session_at_once(app, client, admin, create_user):
    create_user("mz@example.org", districts=("mainz-bingen",))
    user = user_row(app, "mz@example.org")
    theirs = app.test_client()
    token = csrf_token(theirs.get("/admin/login").get_data(as_text=True))
    theirs.post(
        "/admin/login", data={"email": "mz@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert theirs.get("/admin/").status_code == 200
    post_page(
        client, f"/admin/users/{user.id}", {"role": "coordinator", "districts": "mainz-bingen"}
    )
    assert theirs.get("/admin/").status_code == 302
    list_html = client.get("/admin/users?lang=en").get_data(as_text=True)
    assert "disabled" in list_html


def test_admin_cannot_lock_themselves_or_the_last_admin_out(app, client, admin):
    me = user_row(app, "admin@example.org")
    response = post_page(
        client,
        f"/admin/users/{me.id}?lang=en",
        {"role": "coordinator", "districts": "mainz-bingen"},
    )
    assert response.status_code == 422
    assert "cannot change your own role" in response.get_data(as_text=True)
    assert user_row(app, "admin@example.org").active
    assert user_row(app, "admin@example.org").role == "admin"


def test_change_own_password_ends_every_other_session(app, client, auth, create_user):
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    copied = client.get_cookie("session").value
    laptop = app.test_client()
    token = csrf_token(laptop.get("/admin/login").get_data(as_text=True))
    laptop.post(
        "/admin/login", data={"email": "mz@example.org", "password": PASSWORD, "csrf_token": token}
    )

    response = post_page(
        client,
        "/admin/account/password",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    page = client.get("/admin/")
    assert page.status_code == 200  # this browser stays logged in
    assert "Überall sonst wurden Sie abgemeldet." in page.get_data(as_text=True)
    assert laptop.get("/admin/").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", copied)
    assert replay.get("/admin/").status_code == 302

    fresh = app.test_client()
    token = csrf_token(fresh.get("/admin/login").get_data(as_text=True))
    old = fresh.post(
        "/admin/login", data={"email": "mz@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert old.status_code == 422
    user = user_row(app, "mz@example.org")
    assert ("user.password_change", f"user:{user.id}", "ok") in audit_actions(app)


def test_wrong_current_password_changes_nothing(app, client, auth, create_user):
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    before = user_row(app, "mz@example.org")
    response = post_page(
        client,
        "/admin/account/password?lang=en",
        {"current": "not my password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 422
    assert "This is not your current password." in response.get_data(as_text=True)
    after = user_row(app, "mz@example.org")
    assert (after.password_hash, after.session_nonce) == (
        before.password_hash,
        before.session_nonce,
    )
    assert ("user.password_change", f"user:{before.id}", "failed") in audit_actions(app)


def test_idle_session_ends(app, client, auth, create_user):
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    with client.session_transaction() as session:
        session["seen_at"] = int(time.time()) - 31 * 60
    response = client.get("/admin/responses?status=new")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login?next=/admin/responses?status%3Dnew"
    page = client.get("/admin/login").get_data(as_text=True)
    assert "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an." in page
    assert client.get("/admin/").status_code == 302


def test_session_ends_after_a_working_day_even_when_busy(app, client, auth, create_user):
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    with client.session_transaction() as session:
        session["auth_at"] = int(time.time()) - 10 * 3600 - 60
    assert client.get("/admin/").status_code == 302


def test_activity_keeps_the_session_alive(app, client, auth, create_user):
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    with client.session_transaction() as session:
        session["seen_at"] = int(time.time()) - 29 * 60
    assert client.get("/admin/").status_code == 200
    with client.session_transaction() as session:
        assert time.time() - session["seen_at"] < 60


def test_the_product_hashes_at_full_cost_while_the_tests_use_the_cheapest():
    """The suite's cheap hashes (conftest.fast_password_hashes) must not be the product's."""
    from argon2 import Type, extract_parameters
    from argon2.profiles import RFC_9106_LOW_MEMORY

    from tests.conftest import PRODUCT_HASHER, PRODUCT_PIN_CHECK_ROUNDS

    parameters = extract_parameters(PRODUCT_HASHER.hash(PASSWORD))
    assert parameters.type is Type.ID
    assert parameters.memory_cost >= RFC_9106_LOW_MEMORY.memory_cost  # 64 MiB
    assert parameters.time_cost >= RFC_9106_LOW_MEMORY.time_cost
    assert PRODUCT_PIN_CHECK_ROUNDS >= 600_000
