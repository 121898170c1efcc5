"""Hardening that spans every route: CSRF, headers, hosts, sizes, cookies, login throttling."""

from __future__ import annotations

import io
import secrets

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from intake import accounts, create_app, demo
from intake.extensions import db
from intake.invitations import store as invitation_store
from intake.invitations.store import Person
from intake.kiosk.store import create_event
from intake.storage.districts import by_slug
from intake.storage.models import AuditEvent, Event, Form, Invitation, Response, User
from tests.conftest import PASSWORD, VOLUNTEER_ANSWERS, csrf_token, form_payload, response_count


def login(client, email: str, password: str = PASSWORD, address: str = "127.0.0.1"):
    environ = {"REMOTE_ADDR": address}
    token = csrf_token(client.get("/admin/login", environ_base=environ).get_data(as_text=True))
    return client.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base=environ,
    )


@pytest.fixture
def people(create_user):
    create_user("a@example.org", districts=("mainz-bingen",))
    create_user("b@example.org", districts=("mainz-bingen",))
    create_user("boss@example.org", role="admin")


# --- throttling ------------------------------------------------------------------------


def test_failed_logins_are_throttled_per_account_not_globally(app, people):
    attacker = app.test_client()
    for _ in range(5):
        assert login(attacker, "a@example.org", "guess guess guess").status_code == 422
    blocked = login(attacker, "A@example.org ", PASSWORD)  # even the right password, any spelling
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.get_data(as_text=True) or (
        "Zu viele" in blocked.get_data(as_text=True)
    )
    # From another address the account stays locked: the limit belongs to the account.
    assert login(app.test_client(), "a@example.org", PASSWORD, "10.9.8.7").status_code == 429
    # Another account, even from the attacker's address, is not affected.
    assert login(attacker, "b@example.org").status_code == 302
    with app.app_context():
        throttled = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.outcome == "throttled")
        ).all()
        assert [(e.action, e.user.email) for e in throttled] == [
            ("login", "a@example.org"),
            ("login", "a@example.org"),
        ]


def test_failed_logins_are_throttled_per_address(app, people):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "3 per 15 minutes"
    for n in range(3):
        response = login(app.test_client(), f"nobody{n}@example.org", "x" * 12, "10.0.0.1")
        assert response.status_code == 422
    assert login(app.test_client(), "a@example.org", PASSWORD, "10.0.0.1").status_code == 429
    assert login(app.test_client(), "a@example.org", PASSWORD, "10.0.0.2").status_code == 302


def test_successful_logins_do_not_use_up_the_allowance(app, people):
    client = app.test_client()
    for _ in range(8):
        assert login(client, "a@example.org").status_code == 302
        token = csrf_token(client.get("/admin/").get_data(as_text=True))
        client.post("/admin/logout", data={"csrf_token": token})


def test_wrong_current_passwords_are_throttled_per_account(app, people):
    client = app.test_client()
    login(client, "a@example.org")
    for _ in range(5):
        token = csrf_token(client.get("/admin/account/password").get_data(as_text=True))
        data = {"current": "wrong wrong wrong", "password": "x" * 16, "confirm": "x" * 16}
        wrong = client.post("/admin/account/password", data=dict(data, csrf_token=token))
        assert wrong.status_code == 422
    token = csrf_token(client.get("/admin/account/password").get_data(as_text=True))
    data = {
        "current": PASSWORD,
        "password": "a fresh new passphrase",
        "confirm": "a fresh new passphrase",
        "csrf_token": token,
    }
    assert client.post("/admin/account/password", data=data).status_code == 429
    other = app.test_client()
    login(other, "b@example.org")
    token = csrf_token(other.get("/admin/account/password").get_data(as_text=True))
    data["csrf_token"] = token
    assert other.post("/admin/account/password", data=data).status_code == 302


# --- CSRF ------------------------------------------------------------------------------


def _route_values(app) -> dict[str, str | int]:
    """Real values for every URL argument, so each POST reaches its view."""
    with app.app_context():
        response = db.session.scalar(sa.select(Response))
        user = db.session.scalar(sa.select(User).where(User.email == "a@example.org"))
        event = db.session.scalar(sa.select(Event)) or create_event(
            name="Sweep",
            district=by_slug("mainz-bingen"),
            forms=[db.session.scalar(sa.select(Form).where(Form.slug == "volunteer"))],
            pin="123456",
        )
        volunteer = db.session.scalar(sa.select(Form).where(Form.slug == "volunteer"))
        person = Person("guest@example.org", "Guest", "de", by_slug("mainz-bingen"))
        [invitation] = invitation_store.create(volunteer, [person])
        db.session.commit()
        return {
            "invitation_id": invitation.id,
            "invitation_token": invitation_store.token_for(invitation),
            "event_id": event.id,
            "kiosk_token": event.token,
            "slug": "volunteer",
            "name": "first_name",
            "form_slug": "volunteer",
            "district": "mainz-bingen",
            "response_id": response.id,
            "user_id": user.id,
            "token": accounts.reset_token(user),
            "fmt": "csv",
            "job_id": "no-such-job",
        }


def _build(rule, values) -> str:
    """The URL of `rule` with real values (kiosk routes take the event's token)."""
    if rule.endpoint.startswith("kiosk."):
        values = dict(values, token=values["kiosk_token"])
    if rule.endpoint == "public.invitation":
        values = dict(values, token=values["invitation_token"])
    return rule.build({k: values[k] for k in rule.arguments})[1]


def _state(app) -> tuple:
    with app.app_context():
        return (
            db.session.scalar(sa.select(sa.func.count()).select_from(Response)),
            tuple(db.session.scalars(sa.select(Response.status).order_by(Response.id))),
            tuple(db.session.scalars(sa.select(Form.status).order_by(Form.id))),
            tuple(db.session.execute(sa.select(Event.token, Event.active).order_by(Event.id))),
            tuple(db.session.scalars(sa.select(Invitation.revoked_at).order_by(Invitation.id))),
            tuple(db.session.scalars(sa.select(Form.embed_origins).order_by(Form.id))),
            tuple(
                db.session.execute(
                    sa.select(User.password_hash, User.role, User.active).order_by(User.id)
                )
            ),
        )


def test_every_post_without_csrf_token_gets_400_and_changes_nothing(app, people, submit):
    submit("volunteer", VOLUNTEER_ANSWERS)
    client = app.test_client()
    login(client, "boss@example.org")
    values = _route_values(app)
    before = _state(app)
    posted = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint == "static":
            continue
        url = _build(rule, values)
        data = {
            "kiosk_gen": "0",
            "status": "done",
            "note": "x",
            "confirm": "yes",
            "role": "viewer",
            "password": "n" * 16,
            "confirm_password": "n" * 16,
            "email": "boss@example.org",
            "file": (io.BytesIO(b"{}"), "form.json"),
        }
        public = ("public.form", "public.invitation")
        data.update(VOLUNTEER_ANSWERS if rule.endpoint in public else {})
        data["embed_origins"] = "https://www.kreis-example.de"
        data["invitation_reuse"] = "edit"
        response = client.post(url, data=data)
        assert response.status_code == 400, (rule.rule, response.status_code)
        posted.append(rule.endpoint)
    assert _state(app) == before
    assert client.get("/admin/").status_code == 200  # the logout POST did not log out
    assert {"admin.login", "admin.logout", "public.form", "admin.user_new"} <= set(posted)
    assert {"public.invitation", "admin.invitation_revoke", "admin.form_sharing"} <= set(posted)
    assert len(posted) >= 12


def test_public_form_without_token_keeps_the_answers(app, client):
    page = client.get("/f/volunteer?lang=en").get_data(as_text=True)
    data = form_payload(page, VOLUNTEER_ANSWERS)
    del data["csrf_token"]
    response = client.post("/f/volunteer", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Your answers are still here" in html
    assert 'value="Müller-Lüdenscheidt"' in html
    assert response_count(app) == 0


# --- headers ---------------------------------------------------------------------------

SECURITY_HEADERS = {
    "Content-Security-Policy": "script-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


#: Pages another page of this site may show in a frame (the side-by-side preview).
FRAMED_BY_THIS_SITE = {"admin.form_preview"}


def _assert_headers(response, where: str, https: bool = False, framed: bool = False) -> None:
    csp = response.headers["Content-Security-Policy"]
    if framed:
        assert csp.endswith("frame-ancestors 'self'"), where
        assert "X-Frame-Options" not in response.headers, where
    else:
        for name, expected in SECURITY_HEADERS.items():
            assert expected in response.headers.get(name, ""), (where, name)
        assert "frame-ancestors 'none'" in csp, where
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"], where
    if https:
        assert response.headers["Strict-Transport-Security"].startswith("max-age="), where


@pytest.mark.parametrize("https", [False, True])
def test_security_headers_on_every_response(app, people, submit, https):
    submit("volunteer", VOLUNTEER_ANSWERS)
    base = "https://localhost" if https else "http://localhost"
    values = _route_values(app)
    anonymous, admin = app.test_client(), app.test_client()
    login(admin, "boss@example.org")
    checked, seen_as_admin = 0, 0
    # The back office first: a kiosk's start page ends any session of its browser.
    rules = sorted(app.url_map.iter_rules(), key=lambda r: not r.rule.startswith("/admin/"))
    for rule in rules:
        if "GET" not in rule.methods:
            continue
        args = dict(values, filename="intake.css")
        url = _build(rule, args)
        for who, client in (("anonymous", anonymous), ("admin", admin)):
            response = client.get(url, base_url=base)
            response.close()
            framed = who == "admin" and rule.endpoint in FRAMED_BY_THIS_SITE
            where = f"{who} GET {url} -> {response.status_code}"
            _assert_headers(response, where, https, framed and response.status_code == 200)
            if url.startswith("/admin/") and response.status_code == 200:
                assert response.headers["Cache-Control"] == "no-store", url
                seen_as_admin += who == "admin"
            checked += 1
    for method, url in (("GET", "/nowhere"), ("PUT", "/f/volunteer"), ("POST", "/admin/logout")):
        _assert_headers(anonymous.open(url, method=method, base_url=base), url, https)
    assert checked >= 40
    assert seen_as_admin >= 30  # the back office's pages themselves, not its login page


def test_pdfs_and_exports_are_never_cached(app, people, submit):
    submit("volunteer", VOLUNTEER_ANSWERS)
    client = app.test_client()
    login(client, "a@example.org")
    for url in (
        "/admin/reports/mainz-bingen/volunteer.pdf?appendix=none",
        "/admin/exports/mainz-bingen/volunteer.csv",
        "/admin/exports/mainz-bingen/volunteer.xlsx",
    ):
        response = client.get(url)
        response.close()  # a streamed export keeps its context until it is closed
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url


# --- hosts, sizes, cookies -------------------------------------------------------------


@pytest.fixture
def production_app(tmp_path):
    """An app with production cookie settings and a host list."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
            "TRUSTED_HOSTS": ["intake.example.org"],
        }
    )
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        demo.seed()
    return app


def test_only_trusted_host_names_are_answered(production_app):
    client = production_app.test_client()
    good = client.get("/f/volunteer?lang=en", base_url="https://intake.example.org")
    assert good.status_code == 200
    bad = client.get("/f/volunteer?lang=en", base_url="https://evil.example.net")
    assert bad.status_code == 400
    assert "The request could not be understood" in bad.get_data(as_text=True)
    _assert_headers(bad, "untrusted host")


def test_session_cookie_is_secure_httponly_samesite_and_renewed_at_login(production_app):
    with production_app.app_context():
        db.session.add(
            User(
                email="a@example.org",
                role="admin",
                password_hash=accounts.hash_password(PASSWORD),
            )
        )
        db.session.commit()
    client = production_app.test_client()
    base = "https://intake.example.org"
    page = client.get("/admin/login", base_url=base)
    before = client.get_cookie("session", domain="intake.example.org").value
    token = csrf_token(page.get_data(as_text=True))
    response = client.post(
        "/admin/login",
        data={"email": "a@example.org", "password": PASSWORD, "csrf_token": token},
        base_url=base,
        headers={"Referer": f"{base}/admin/login"},  # what Referrer-Policy same-origin sends
    )
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    after = client.get_cookie("session", domain="intake.example.org").value
    assert after != before
    # The cookie from before the login does not carry the login.
    old = production_app.test_client()
    old.set_cookie("session", before, domain="intake.example.org")
    assert old.get("/admin/", base_url=base).status_code == 302


def test_too_large_submission_gets_413_and_stores_nothing(app, client):
    page = client.get("/f/volunteer?lang=en").get_data(as_text=True)
    data = form_payload(page, dict(VOLUNTEER_ANSWERS, experience="x" * (2 * 1024 * 1024)))
    response = client.post("/f/volunteer", data=data)
    assert response.status_code == 413
    assert "What you sent is too large" in response.get_data(as_text=True)
    assert response_count(app) == 0


def test_too_large_upload_gets_413(app, people):
    client = app.test_client()
    login(client, "boss@example.org")
    token = csrf_token(client.get("/admin/forms?lang=en").get_data(as_text=True))
    # A body built here in memory: the test client would spool a large upload to a
    # temporary file that it never closes.
    boundary = "intake-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="form.yaml"\r\n'
            "Content-Type: application/x-yaml\r\n\r\n"
        ).encode()
        + b"a" * app.config["MAX_CONTENT_LENGTH"]
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.post(
        "/admin/forms/upload?lang=en",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 413
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Form)) == 2


def test_behind_one_proxy_client_address_and_scheme_come_from_it(app, people):
    proxied = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": app.config["DATABASE_URL"],
            "SQLALCHEMY_ENGINE_OPTIONS": app.config["SQLALCHEMY_ENGINE_OPTIONS"],
            "PROXY_COUNT": 1,
            "LOGIN_LIMIT_PER_ADDRESS": "2 per 15 minutes",
        }
    )
    client = proxied.test_client()

    def attempt(forwarded_for: str):
        headers = {"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https"}
        page = client.get("/admin/login", headers=headers)
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        token = csrf_token(page.get_data(as_text=True))
        return client.post(
            "/admin/login",
            data={"email": "nobody@example.org", "password": "x" * 12, "csrf_token": token},
            headers={**headers, "Referer": "https://localhost/admin/login"},
        )

    try:
        assert attempt("203.0.113.7").status_code == 422
        assert attempt("203.0.113.7").status_code == 422
        assert attempt("203.0.113.7").status_code == 429  # that client is limited ...
        assert attempt("198.51.100.9").status_code == 422  # ... another behind the proxy not
    finally:
        with proxied.app_context():
            db.engine.dispose()  # it shares the test's database; close its connections


# --- links are built on PUBLIC_URL, never on the request's Host ------------------------


def test_links_never_come_from_the_host_a_request_names(app, people, make_event):
    """A request whose Host an attacker chose (no trusted-host list, as in development)
    still gets every absolute link on the public address."""
    app.config["PUBLIC_URL"] = "https://intake.example.org"
    token = make_event()
    client = app.test_client()
    client.environ_base["HTTP_HOST"] = "attacker.example"
    assert login(client, "boss@example.org").status_code == 302
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "a@example.org"))
        event = db.session.scalar(sa.select(Event).where(Event.token == token))
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    made = client.post(
        f"/admin/users/{user.id}/reset-link?lang=en", data={"csrf_token": csrf_token(page)}
    ).get_data(as_text=True)
    event_page = client.get(f"/admin/events/{event.id}").get_data(as_text=True)
    form_page = client.get("/admin/forms/volunteer").get_data(as_text=True)
    for html, path in (
        (made, "/admin/reset/"),
        (event_page, f"/k/{token}"),
        (form_page, "/f/volunteer"),
    ):
        assert f"https://intake.example.org{path}" in html
        assert "attacker.example" not in html
