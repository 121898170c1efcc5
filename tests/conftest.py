"""Fixtures: an app on a database of its own with the demo districts, forms and accounts."""

from __future__ import annotations

import email
import logging
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Callable
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from argon2 import PasswordHasher
from flask_migrate import upgrade
from hypothesis import settings

from intake import background, create_app, demo, passwords
from intake.extensions import db
from intake.kiosk import store as events
from intake.passwords import hash_password
from intake.reports import jobs
from intake.storage.districts import by_slug
from intake.storage.models import Answer, Response, User

#: Tests slower than the limit in pyproject.toml fail (tests/timelimit.py); pytester runs
#: pytest inside a test (test_timelimit.py).
pytest_plugins = ("tests.timelimit", "pytester")

# Property tests explore new random cases on developer machines; in CI (CI=true) they
# replay a fixed sequence, so a green run can be reproduced.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

PASSWORD = "correct horse battery staple"


#: INTAKE_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/test runs every test
#: that uses the `app` fixture on PostgreSQL, each in a database of its own on that server.
TEST_DATABASE_URL = os.environ.get("INTAKE_TEST_DATABASE_URL", "")
ON_POSTGRESQL = TEST_DATABASE_URL.startswith("postgresql")
#: Tests of SQLite itself (file backup, WAL pragmas, file locks).
sqlite_only = pytest.mark.skipif(
    ON_POSTGRESQL, reason="tests SQLite itself; this run is on PostgreSQL"
)


#: Tests hash passwords and PINs at the smallest cost: argon2id with one pass over 8 KiB
#: and the tablet's PBKDF2 PIN check with 1,000 rounds take well under a millisecond instead
#: of about 0.1 s and 0.3 s, which the suite would pay hundreds of times. What is tested
#: (hashes are argon2id and PBKDF2, checked against what is stored, wrong ones refused)
#: stays the same; test_accounts checks that the product itself hashes at full cost.
PRODUCT_HASHER = passwords._hasher
PRODUCT_PIN_CHECK_ROUNDS = events.PIN_CHECK_ROUNDS
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashes():
    """Swap the product's hashing cost for the cheapest one for the whole run."""
    patch = pytest.MonkeyPatch()
    patch.setattr(passwords, "_hasher", FAST_HASHER)
    patch.setattr(passwords, "_DUMMY_HASH", FAST_HASHER.hash("intake-no-such-account"))
    patch.setattr(events, "PIN_CHECK_ROUNDS", 1000)
    yield
    patch.undo()


def _postgresql_admin() -> sa.Engine:
    """A connection to the test server outside any transaction (CREATE/DROP DATABASE)."""
    return sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)


def _postgresql_url(database: str) -> str:
    return sa.make_url(TEST_DATABASE_URL).set(database=database).render_as_string(False)


@pytest.fixture(scope="session")
def template_database(tmp_path_factory, fast_password_hashes):
    """A database migrated with the real migrations and seeded with the demo set-up, once per
    test process; every test gets a copy of it (`database_url`) instead of migrating and
    seeding its own.

    SQLite: a file that is copied. PostgreSQL: a database that `CREATE DATABASE ... TEMPLATE`
    copies (about 20 ms). Its name is random, so two runs on one server never meet.
    """
    if ON_POSTGRESQL:
        name = f"intake_template_{secrets.token_hex(5)}"
        admin = _postgresql_admin()
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        _migrate_and_seed(_postgresql_url(name), tmp_path_factory.mktemp("template"))
        yield name
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
        return
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.sqlite3"
    _migrate_and_seed(f"sqlite:///{path}", folder)
    # The last connection's close checkpoints the write-ahead log into the file: the
    # copy needs the file alone.
    assert not path.with_name(path.name + "-wal").exists(), "template still has a WAL"
    yield path


def _migrate_and_seed(url: str, folder) -> None:
    app = create_app(app_config(folder, (url, {})))
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        demo.seed()
        db.engine.dispose()


@pytest.fixture
def database_url(tmp_path, template_database):
    """A database of this test's own, migrated and holding the demo districts, forms and
    accounts: a copy of the template, on SQLite in tmp_path or as a PostgreSQL database."""
    if not ON_POSTGRESQL:
        target = tmp_path / "test.sqlite3"
        shutil.copyfile(template_database, target)
        yield f"sqlite:///{target}", {}
        return
    name = f"intake_test_{secrets.token_hex(6)}"
    admin = _postgresql_admin()
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"'))
    yield _postgresql_url(name), {}
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def app_config(tmp_path, database_url, **changes) -> dict:
    """The settings of a test app on `database_url` (the `database_url` fixture's value)."""
    url, engine_options = database_url
    return {
        "TESTING": True,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "SESSION_COOKIE_SECURE": False,
        "PUBLIC_URL": "http://localhost",
        "REPORT_FOLDER": str(tmp_path / "reports"),
        "DATA_KEYS_FILE": str(tmp_path / "data_keys"),
        **changes,
    }


@pytest.fixture
def app(tmp_path, database_url):
    """An app on its own database (migrated with the real migrations, with the demo forms)."""
    app = create_app(app_config(tmp_path, database_url))
    yield app
    close_database(app)


def close_database(app, timeout: float = 15) -> None:
    """Close `app`'s database connections once nothing uses them any more.

    Work of the test may still be running when it ends: a summary or an email in the
    app's background thread, a request in a live server's thread. A connection such
    work has checked out is not closed by `dispose()`; it would stay open until the
    garbage collector finds it, in whichever later test that happens (a ResourceWarning,
    so an error there). So the background work is waited for, then every connection's
    return to the pool, and a test that keeps one fails here, under its own name.
    """
    background.wait_idle(timeout)
    jobs.wait_idle(timeout)
    with app.app_context():
        pool = db.engine.pool
        deadline = time.monotonic() + timeout
        while pool.checkedout() and time.monotonic() < deadline:
            time.sleep(0.05)
        in_use = pool.checkedout()
        db.engine.dispose()
    assert not in_use, f"{in_use} database connection(s) still in use {timeout} s after the test"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def cli(app, runner):
    """Run a command like `flask --app intake ...` does: inside an app context."""

    def invoke(*args: str, input: str | None = None):
        with app.app_context():
            return runner.invoke(args=list(args), input=input)

    return invoke


@pytest.fixture
def create_user(app) -> Callable[..., User]:
    """Factory: a user with a role and districts, password PASSWORD."""

    def make(email: str, role: str = "coordinator", districts: tuple[str, ...] = ()) -> User:
        with app.app_context():
            user = User(
                email=email,
                role=role,
                password_hash=hash_password(PASSWORD),
                districts=[by_slug(slug) for slug in districts],
            )
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make


class AuthActions:
    """Log a test client in and out of the back office."""

    def __init__(self, client):
        self._client = client

    def login(self, email: str, password: str = PASSWORD):
        page = self._client.get("/admin/login")
        token = csrf_token(page.get_data(as_text=True))
        return self._client.post(
            "/admin/login", data={"email": email, "password": password, "csrf_token": token}
        )

    def logout(self):
        page = self._client.get("/admin/")
        token = csrf_token(page.get_data(as_text=True))
        return self._client.post("/admin/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return AuthActions(client)


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "page has no CSRF token"
    return match.group(1)


def hidden(html: str, name: str) -> str:
    """The value of a hidden input."""
    match = re.search(rf'id="{name}" name="{name}" type="hidden" value="([^"]*)"', html)
    assert match, f"page has no hidden field {name}"
    return match.group(1)


def form_payload(html: str, answers: dict) -> dict:
    """The hidden fields of a rendered public form plus the given answers."""
    data = {
        name: hidden(html, name) for name in ("csrf_token", "idempotency_key", "district", "src")
    }
    data.update(answers)
    return data


VOLUNTEER_ANSWERS = {
    "first_name": "Jürgen",
    "last_name": "Müller-Lüdenscheidt",
    "email": "juergen@example.org",
    "phone": "0151 23456789",
    "municipality": "vg-nieder-olm",
    "german_level": "native",
    "languages_fluent": ["ar", "fr"],
    "help_areas": ["offices", "language"],
    "availability": ["weekend"],
    "lotsen_training": "yes",
    "training_dates": ["block_spring"],
    "experience": "Ich habe zehn Jahre im Jugendamt gearbeitet.",
    "consent": "y",
}


@pytest.fixture
def submit(client):
    """Factory: fill and submit a demo form through the public pages like a browser."""

    def send(form: str, answers: dict, query: str = "", follow: bool = False):
        page = client.get(f"/f/{form}{query}")
        assert page.status_code == 200
        data = form_payload(page.get_data(as_text=True), answers)
        return client.post(f"/f/{form}{query}", data=data, follow_redirects=follow)

    return send


def stored_answers(app, reference: str | None = None) -> list[dict[str, list[str]]]:
    """Answers of stored responses, each as {field: [values]}."""
    with app.app_context():
        query = sa.select(Response)
        if reference:
            query = query.where(Response.reference == reference)
        out = []
        for response in db.session.scalars(query):
            answers: dict[str, list[str]] = {}
            for answer in db.session.scalars(
                sa.select(Answer).where(Answer.response_id == response.id).order_by(Answer.id)
            ):
                answers.setdefault(answer.field, []).append(answer.value)
            out.append(answers)
        return out


def install_form(app, filename: str) -> str:
    """Import and publish one of the test forms in tests/forms; its address."""
    from intake.engine.definition import load_file
    from intake.storage.forms import import_definition

    with app.app_context():
        version, _created = import_definition(load_file(Path(__file__).parent / "forms" / filename))
        db.session.commit()
        return version.form.slug


def response_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Response))


NEWCOMER_ANSWERS_BK = {
    "municipality": "stadt-bad-kreuznach",
    "needs": ["housing"],
    "languages": ["ar"],
    "german_level": "basic",
    "adults": "1",
    "children": "0",
    "name": "Samir",
    "contact_method": "phone",
    "phone": "0171 9876543",
    "consent": "y",
}


@pytest.fixture
def live_log_server(app):
    """Serve the app on 127.0.0.1 with werkzeug's request log and fetch one path."""
    import threading
    import urllib.request

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def fetch(path: str) -> int:
        url = f"http://127.0.0.1:{server.server_port}{path}"
        with urllib.request.urlopen(url) as response:  # noqa: S310 - our own test server
            return response.status

    yield fetch
    server.shutdown()
    thread.join(timeout=5)


KIOSK_PIN = "271828"


@pytest.fixture
def make_event(app) -> Callable[..., str]:
    """Factory: an event with a kiosk; returns its token (staff PIN KIOSK_PIN)."""
    from intake.kiosk.store import create_event
    from intake.storage.models import Form

    def make(
        district: str = "mainz-bingen", forms: tuple[str, ...] = ("volunteer",), **options
    ) -> str:
        with app.app_context():
            event = create_event(
                name=options.pop("name", "Infoabend Ingelheim"),
                district=by_slug(district),
                forms=[db.session.scalar(sa.select(Form).where(Form.slug == s)) for s in forms],
                pin=KIOSK_PIN,
                **options,
            )
            db.session.commit()
            return event.token

    return make


class Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        parsed = email.message_from_bytes(envelope.content, policy=policy.default)
        parsed["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(parsed)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(app):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_FROM="intake@kreis.example")
    yield inbox
    controller.stop()


# --- no personal data in logs, across the whole run ---------------------------------------

#: Answers the tests send again and again (VOLUNTEER_ANSWERS, NEWCOMER_ANSWERS_BK, the
#: invitations' people): none of them may ever reach a log line, whatever the test does.
CANARIES = (
    "Jürgen",
    "Müller-Lüdenscheidt",
    "juergen@example.org",
    "23456789",
    "Jugendamt",
    "Samir",
    "9876543",
    "سمير",
    "ليلى",
    "Diabetes-Kanarienvogel",
    "canary-person",
)


class _LogCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is not ours to judge
            return
        if record.exc_info and record.exc_info[1] is not None:
            text += " " + str(record.exc_info[1])
        for canary in CANARIES:
            if canary in text:
                self.leaks.append(f"{record.name}: {text[:300]}")


@pytest.fixture(scope="session", autouse=True)
def no_personal_data_in_logs():
    """Every log record of every test passes here; a canary in any of them fails the run."""
    collector = _LogCollector()
    root = logging.getLogger()
    root.addHandler(collector)
    # Levels stay as configured: turning on DEBUG everywhere would make SQLAlchemy log
    # statement parameters, which is not what the product does.
    app_logger = logging.getLogger("intake")
    previous = app_logger.level
    app_logger.setLevel(logging.DEBUG)
    yield collector
    root.removeHandler(collector)
    app_logger.setLevel(previous)
    assert collector.leaks == [], "personal data reached the logs:\n" + "\n".join(collector.leaks)
