"""The test app's teardown: no database connection outlives the test that opened it."""

from __future__ import annotations

import threading
import time

import pytest

from intake import create_app
from intake.extensions import db
from tests.conftest import app_config, close_database


@pytest.fixture
def bare_app(tmp_path, database_url):
    return create_app(app_config(tmp_path, database_url))


def test_a_connection_still_in_use_is_waited_for_then_closed(bare_app):
    with bare_app.app_context():
        connection = db.engine.connect()
        dbapi = db.engine.dialect.dbapi
    raw = connection.connection.dbapi_connection

    def finish_late():  # like a request thread of a live server that was just stopped
        time.sleep(0.3)
        connection.close()

    threading.Thread(target=finish_late).start()
    close_database(bare_app, timeout=10)
    with pytest.raises(dbapi.Error):  # closed, not left for the garbage collector
        raw.cursor().execute("SELECT 1")


def test_a_connection_never_given_back_fails_the_test_that_kept_it(bare_app):
    with bare_app.app_context():
        connection = db.engine.connect()
    try:
        with pytest.raises(AssertionError, match="1 database connection"):
            close_database(bare_app, timeout=0.2)
    finally:
        connection.invalidate()  # the pool it came from is gone: close it here
        connection.close()
