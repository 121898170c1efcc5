"""Per-connection database settings (SQLite: WAL, busy timeout, foreign keys), and a new
SQLite file readable by its owner only."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError

from intake.extensions import db


def init_app(app: Flask) -> None:
    """Attach connection hooks to the app's engine, and end each request's session safely."""
    # Registered after Flask-SQLAlchemy's own teardown, so it runs first (teardowns run
    # in reverse): a connection the database dropped during the request (a restart, a
    # cut) made the session's closing rollback raise after the page was made, and that
    # turned the translated page into a bare 500.
    app.teardown_appcontext(_end_session)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        event.listen(
            engine, "connect", _statement_timeout(int(app.config["DATABASE_STATEMENT_TIMEOUT_MS"]))
        )
    if engine.dialect.name == "sqlite":
        _create_private(engine.url.database)
        timeout = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
        event.listen(engine, "connect", _sqlite_pragmas(timeout))


def _end_session(_error: BaseException | None) -> None:
    try:
        db.session.remove()
    except SQLAlchemyError:
        session = db.session.registry()
        try:
            session.invalidate()  # the connection is gone: never give it back to the pool
        except SQLAlchemyError:
            pass
        db.session.registry.clear()


def _statement_timeout(timeout_ms: int):
    """Return a connect hook: PostgreSQL ends a statement that runs longer."""

    def on_connect(dbapi_connection, _record) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {int(timeout_ms)}")
        dbapi_connection.autocommit = autocommit

    return on_connect


def _sqlite_pragmas(timeout_ms: int):
    """Return a connect hook; WAL lets readers work while one request writes."""

    def on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    return on_connect


def _create_private(database: str | None) -> None:
    """Create a new SQLite file as owner-only (0600) before SQLite does (0644 under the
    usual umask): it holds every answer. SQLite gives its -wal and -shm files the
    database file's permissions. An existing file is left as the operator set it."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists() or not path.parent.is_dir():
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:  # another process made it just now
        pass
