"""Per-connection database settings (SQLite: WAL, busy timeout, foreign keys)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event

from intake.extensions import db


def init_app(app: Flask) -> None:
    """Attach connection hooks to the app's engine."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        timeout = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])
        event.listen(engine, "connect", _sqlite_pragmas(timeout))


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
