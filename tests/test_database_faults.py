"""A database that cannot be written: a clear 503, no partial row, nothing lost."""

from __future__ import annotations

import http.cookiejar
import re
import sqlite3
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from werkzeug.serving import make_server

from tests.conftest import (
    ON_POSTGRESQL,
    VOLUNTEER_ANSWERS,
    form_payload,
    response_count,
    sqlite_only,
)


@pytest.fixture
def locked_database(app):
    """Another process holds SQLite's write lock; the app gives up after 0.2 s."""
    app.config["SQLITE_BUSY_TIMEOUT_MS"] = 200
    from intake.extensions import db

    with app.app_context():
        db.engine.dispose()  # new connections get the short busy timeout
        path = db.engine.url.database
    from intake.storage import engine_events

    engine_events.init_app(app)
    holder = sqlite3.connect(path, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    yield holder
    holder.rollback()
    holder.close()


@sqlite_only
def test_locked_database_keeps_the_answers_and_stores_once_later(app, client, locked_database):
    page = client.get("/f/volunteer?lang=en").get_data(as_text=True)
    data = form_payload(page, VOLUNTEER_ANSWERS)
    response = client.post("/f/volunteer", data=data)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    html = response.get_data(as_text=True)
    assert "Your answers are not saved yet" in html
    assert 'value="Müller-Lüdenscheidt"' in html
    assert f'value="{data["idempotency_key"]}"' in html  # the same key, so a retry stores once
    locked_database.rollback()  # the other process lets go
    assert response_count(app) == 0
    again = client.post("/f/volunteer", data=data)
    assert again.status_code == 303
    assert client.post("/f/volunteer", data=data).status_code == 303  # a double click
    assert response_count(app) == 1


@sqlite_only
def test_back_office_write_on_locked_database_is_a_503_in_the_users_language(
    app, client, auth, create_user, submit, locked_database
):
    locked_database.rollback()
    submit("volunteer", VOLUNTEER_ANSWERS)
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    from tests.conftest import csrf_token
    from tests.test_responses_admin import ids

    response_id = ids(app)["mainz-bingen"]
    page = client.get(f"/admin/responses/{response_id}?lang=de").get_data(as_text=True)
    locked_database.execute("BEGIN IMMEDIATE")
    result = client.post(
        f"/admin/responses/{response_id}",
        data={"csrf_token": csrf_token(page), "status": "done", "note": "Rückruf"},
    )
    assert result.status_code == 503
    assert result.headers["Retry-After"] == "60"
    html = result.get_data(as_text=True)
    assert "Bitte versuchen Sie es in ein paar Minuten noch einmal." in html
    locked_database.rollback()
    with app.app_context():
        from intake.extensions import db
        from intake.storage.models import Response

        stored = db.session.get(Response, response_id)
        assert (stored.status, stored.note) == ("new", None)


def test_ready_when_the_schema_is_current(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready"}


def test_not_ready_before_the_migrations_ran(tmp_path):
    import secrets

    from flask_migrate import upgrade

    from intake import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'old.sqlite3'}",
        }
    )
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="8d7537dca033")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "reason": "migrations"}
    assert app.test_client().get("/healthz").status_code == 200  # alive all the same


def test_not_ready_without_a_database(tmp_path):
    import secrets

    from intake import create_app

    missing = tmp_path / "no-such-folder" / "x.sqlite3"
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": f"sqlite:///{missing}",
        }
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["reason"] == "database"


def test_a_database_server_that_does_not_answer_gives_a_503_in_the_persons_language():
    """PostgreSQL down (nothing listens on its port): every page says so, in the
    person's language, with a time to come back; the app itself keeps running."""
    import secrets

    from intake import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": "postgresql+psycopg://intake@127.0.0.1:1/intake",
            "SESSION_COOKIE_SECURE": False,
        }
    )
    browser = app.test_client()
    for method, path, title in [
        ("GET", "/f/volunteer?lang=ar&district=mainz-bingen", "غير متاح مؤقتًا"),
        # Answers sent meanwhile come back to be sent again (the resend page).
        ("POST", "/f/volunteer?lang=ar", "لم يتم حفظ إجاباتك بعد"),
    ]:
        response = browser.open(path, method=method, data={"first_name": "Amira"})
        html = response.get_data(as_text=True)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "60"
        assert '<html lang="ar" dir="rtl">' in html
        assert title in html
    assert browser.get("/readyz").get_json() == {"status": "unavailable", "reason": "database"}
    assert browser.get("/healthz").status_code == 200


def test_twenty_concurrent_submissions_all_stored_once(app, tmp_path):
    """Twenty browsers send at the same moment through a real threaded server."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    ready = threading.Barrier(20)
    statuses: list[int] = []

    def respondent(n: int) -> None:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
        html = opener.open(f"{base}/f/volunteer?lang=de", timeout=30).read().decode()
        data = {
            name: re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html).group(1)
            for name in ("csrf_token", "idempotency_key")
        }
        data.update(VOLUNTEER_ANSWERS, experience=f"Gleichzeitig {n}")
        body = urllib.parse.urlencode(data, doseq=True).encode()
        ready.wait(timeout=30)
        try:
            statuses.append(opener.open(f"{base}/f/volunteer", body, timeout=60).status)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)

    try:
        workers = [threading.Thread(target=respondent, args=(n,)) for n in range(20)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=90)
    finally:
        server.shutdown()
        thread.join(timeout=5)
    assert statuses == [303] * 20
    assert response_count(app) == 20


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report the 303 of a stored submission instead of following it."""

    def redirect_request(self, *args, **kwargs):
        return None


@sqlite_only
def test_full_disk_keeps_the_answers_writes_no_partial_row_and_stores_once_later(app, client):
    """SQLITE_FULL, as on a full disk: SQLite's page limit is fixed at the file's size, so
    people submit until the database is full. The one who hits it gets the answers back
    (503, in their language), no row of that response or its answers is left, and once
    there is room again the same page stores it once."""
    import sqlalchemy as sa

    from intake.extensions import db

    limit = {"pages": None}

    def cap(dbapi_connection, _record):
        if limit["pages"]:
            dbapi_connection.execute(f"PRAGMA max_page_count = {limit['pages']}")

    sa.event.listen(sa.engine.Engine, "connect", cap)
    try:
        with app.app_context():
            db.engine.dispose()
            with db.engine.connect() as connection:
                limit["pages"] = connection.exec_driver_sql("PRAGMA page_count").scalar_one()
            db.engine.dispose()
        stored = 0
        for _ in range(200):
            page = client.get("/f/volunteer?lang=ar").get_data(as_text=True)
            data = form_payload(page, dict(VOLUNTEER_ANSWERS, experience="x" * 1900))
            response = client.post("/f/volunteer?lang=ar", data=data)
            if response.status_code != 303:
                break
            stored += 1
        assert response.status_code == 503, "the database never filled up"
        html = response.get_data(as_text=True)
        assert 'lang="ar"' in html
        assert 'value="Müller-Lüdenscheidt"' in html
        assert f'value="{data["idempotency_key"]}"' in html
        assert response_count(app) == stored
        with app.app_context():
            orphans = db.session.scalar(
                sa.text(
                    "SELECT count(*) FROM answer WHERE response_id NOT IN (SELECT id FROM response)"
                )
            )
            key_rows = db.session.scalar(
                sa.text("SELECT count(*) FROM response WHERE idempotency_key = :k"),
                {"k": data["idempotency_key"]},
            )
            assert orphans == 0
            assert key_rows == 0
            limit["pages"] = None  # room again
            db.session.remove()
            db.engine.dispose()
        assert client.post("/f/volunteer?lang=ar", data=data).status_code == 303
        assert client.post("/f/volunteer?lang=ar", data=data).status_code == 303
        assert response_count(app) == stored + 1
    finally:
        sa.event.remove(sa.engine.Engine, "connect", cap)


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB file system of its own (tmpfs; needs root, as in CI)."""
    import subprocess

    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=True)


def test_not_ready_when_the_disk_is_full(app, small_disk, tmp_path):
    """The PDF folder on a disk that fills up: ready while there is room, then 503."""
    app.config.update(REPORT_FOLDER=str(small_disk / "reports"), READY_MIN_FREE_MB=1)
    client = app.test_client()
    assert client.get("/readyz").get_json() == {"status": "ready"}
    with open(small_disk / "filler", "wb") as filler:
        filler.write(b"\0" * (3 * 1024 * 1024 + 512 * 1024))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "reason": "disk"}
    assert client.get("/healthz").status_code == 200  # alive all the same
    (small_disk / "filler").unlink()
    assert client.get("/readyz").status_code == 200


def without_database(app, client):
    """A client of another instance of the app, same secret and the same session as
    `client`, whose database does not answer (gone between two pages)."""
    from intake import create_app

    cut = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": app.config["SECRET_KEY"],
            "DATABASE_URL": "postgresql+psycopg://intake@127.0.0.1:1/intake",
            "SESSION_COOKIE_SECURE": False,
        }
    )
    gone = cut.test_client()
    gone.set_cookie("session", client.get_cookie("session").value)
    return gone


def test_the_database_gone_at_send_gives_the_answers_back_to_send_again(app, client):
    """The page was loaded, then the database went away before "send" (another instance
    of the app, same secret, whose database does not answer). The person gets a page in
    their language holding every answer and the same key; sending it once the database
    is back stores the response once."""
    from tests.conftest import NEWCOMER_ANSWERS_BK

    page = client.get("/f/newcomer?lang=ar").get_data(as_text=True)
    data = form_payload(page, dict(NEWCOMER_ANSWERS_BK, name="سمير <b>"))
    gone = without_database(app, client)
    refused = gone.post("/f/newcomer?lang=ar", data=data)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "60"
    html = refused.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert 'action="/f/newcomer?lang=ar"' in html
    assert f'name="idempotency_key" value="{data["idempotency_key"]}"' in html
    assert 'value="سمير &lt;b&gt;"' in html  # escaped, never markup
    assert response_count(app) == 0
    kept = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    kept = {k: v.replace("&lt;", "<").replace("&gt;", ">") for k, v in kept.items()}
    assert kept["name"] == "سمير <b>"
    assert kept["municipality"] == "stadt-bad-kreuznach"
    again = client.post("/f/newcomer?lang=ar", data={**kept, "nav": "send"})
    assert again.status_code == 303
    assert client.post("/f/newcomer?lang=ar", data={**kept, "nav": "send"}).status_code == 303
    assert response_count(app) == 1


def test_the_database_gone_under_a_logged_in_coordinator_gives_the_translated_503(
    app, client, create_user, auth
):
    """Every page asks who is logged in; with the database away that question failed
    again while the 503 page was made, which gave a bare 500 to a coordinator who had
    the public form or the back office open."""
    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    gone = without_database(app, client)
    pages = (("/f/volunteer", "uk", "Тимчасово недоступно"), ("/admin/responses", "en", "Temp"))
    for page, lang, title in pages:
        response = gone.get(f"{page}?lang={lang}")
        assert response.status_code == 503, page
        html = response.get_data(as_text=True)
        assert f'<html lang="{lang}"' in html
        assert f"<h1>{title}" in html


def test_a_database_server_that_accepts_but_never_answers_gives_a_503_in_seconds():
    """A server that takes the TCP connection and then says nothing (a hung database, a
    firewall that swallows packets): the person gets the 503 page after the connect
    timeout, not after minutes."""
    import secrets
    import socket
    import time

    from intake import create_app

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepted by the kernel, never read, never answered
    port = silent.getsockname()[1]
    try:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": secrets.token_urlsafe(48),
                "DATABASE_URL": f"postgresql+psycopg://intake@127.0.0.1:{port}/intake",
                "DATABASE_CONNECT_TIMEOUT": 2,
                "SESSION_COOKIE_SECURE": False,
            }
        )
        started = time.monotonic()
        response = app.test_client().get("/f/volunteer?lang=uk")
        took = time.monotonic() - started
        assert response.status_code == 503
        assert '<html lang="uk"' in response.get_data(as_text=True)
        assert took < 10, f"{took:.1f} s"
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        silent.close()


@pytest.mark.skipif(not ON_POSTGRESQL, reason="cuts PostgreSQL's connections; this run is SQLite")
def test_connections_cut_under_requests_give_the_translated_page_never_a_bare_500(
    app, client, create_user, auth
):
    """The database server ends the app's connections again and again (a restart, a
    failover, an administrator): each page is the page or the translated 503, never the
    bare 500 that a failed rollback at the end of the request used to make."""
    import threading

    import sqlalchemy as sa

    from tests.conftest import TEST_DATABASE_URL

    name = sa.make_url(app.config["DATABASE_URL"]).database
    admin = sa.create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    stop = threading.Event()

    def cut() -> None:
        with admin.connect() as connection:
            while not stop.is_set():
                connection.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
                time.sleep(0.02)

    create_user("mz@example.org", districts=("mainz-bingen",))
    auth.login("mz@example.org")
    cutter = threading.Thread(target=cut)
    cutter.start()
    statuses = []
    try:
        # The public form asks nothing of the database (forms and districts are
        # cached); a coordinator's list of answers always does. A cut lands inside a
        # request now and then: ask until a few did, or give up.
        for number in range(3000):
            if statuses.count(503) >= 3:
                break
            # (the back office speaks German and English only)
            page, lang = ("/f/volunteer", "uk") if number % 4 == 0 else ("/admin/responses", "en")
            response = client.get(f"{page}?lang={lang}")
            html = response.get_data(as_text=True)
            statuses.append(response.status_code)
            assert response.status_code in (200, 503), html[:300]
            assert f'<html lang="{lang}"' in html
    finally:
        stop.set()
        cutter.join(timeout=10)
        admin.dispose()
    assert 503 in statuses  # the cuts did reach requests
