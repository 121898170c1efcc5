"""Configuration: the secret key check, INTAKE_* variables, SQLite connection settings."""

from __future__ import annotations

import os
import secrets

import pytest
import sqlalchemy as sa

from intake import ROOT, create_app
from intake.extensions import db
from tests.conftest import sqlite_only

STRONG_KEY = secrets.token_urlsafe(48)


@pytest.fixture
def clean_env(monkeypatch):
    """No INTAKE_* variables from the shell or the Makefile (which sets development)."""
    for name in list(os.environ):
        if name.startswith("INTAKE_"):
            monkeypatch.delenv(name)
    if (ROOT / "instance" / "config.py").exists():
        pytest.skip("instance/config.py would change the settings under test")
    return monkeypatch


def make_app(tmp_path, **config):
    return create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'c.sqlite3'}",
            "PUBLIC_URL": "https://intake.example.org",
            **config,
        }
    )


@pytest.mark.parametrize("key", [None, ""])
def test_missing_secret_key_stops_the_app(tmp_path, key):
    with pytest.raises(RuntimeError) as caught:
        make_app(tmp_path, SECRET_KEY=key)
    message = str(caught.value)
    assert message.startswith("INTAKE_SECRET_KEY is not set.")
    assert "at least 32 characters" in message


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(secrets.token_urlsafe(48)[:31], id="random-one-character-short"),
        "changeme",
        "secret",
        "changeme" * 4,  # long enough, but only 7 different characters
        "password" * 4,
        "a" * 64,
        "0123456" * 10,
        pytest.param("change-me-to-64-random-characters", id="placeholder"),
        pytest.param("Replace_this_with_a_long_value_0123456789", id="replace-this"),
    ],
)
def test_weak_secret_key_stops_the_app(tmp_path, key):
    with pytest.raises(RuntimeError) as caught:
        make_app(tmp_path, SECRET_KEY=key)
    assert str(caught.value) == (
        "INTAKE_SECRET_KEY is too weak: use a random value of at least 32 characters."
    )


# Random values get names: parallel test processes must collect the same test ids.
@pytest.mark.parametrize(
    "key",
    [
        pytest.param(STRONG_KEY, id="urlsafe-64"),
        pytest.param(secrets.token_hex(16), id="hex-32"),
        pytest.param(STRONG_KEY.encode(), id="bytes"),
    ],
)
def test_strong_secret_key_is_accepted(tmp_path, key):
    app = make_app(tmp_path, SECRET_KEY=key)
    assert app.config["SECRET_KEY"] == key
    assert app.config["ENVIRONMENT"] == "production"


def test_production_without_secret_in_environment_refuses_to_start(clean_env, tmp_path):
    clean_env.setenv("INTAKE_DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    before = sorted(p.name for p in (ROOT / "instance").iterdir())
    with pytest.raises(RuntimeError, match="^INTAKE_SECRET_KEY is not set"):
        create_app()
    # No development secret is generated outside development.
    assert sorted(p.name for p in (ROOT / "instance").iterdir()) == before


def test_environment_variables_override_the_defaults(clean_env, tmp_path):
    url = f"sqlite:///{tmp_path}/x.sqlite3"
    clean_env.setenv("INTAKE_SECRET_KEY", STRONG_KEY)
    clean_env.setenv("INTAKE_DATABASE_URL", url)
    clean_env.setenv("INTAKE_PUBLIC_URL", "https://intake.example.org/")
    clean_env.setenv("INTAKE_SQLITE_BUSY_TIMEOUT_MS", "4321")
    clean_env.setenv("INTAKE_MAX_CONTENT_LENGTH", "2048")
    app = create_app()
    assert app.config["SECRET_KEY"] == STRONG_KEY
    assert app.config["DATABASE_URL"] == url
    assert app.config["SQLALCHEMY_DATABASE_URI"] == url
    assert app.config["MAX_CONTENT_LENGTH"] == 2048
    # Production defaults stay in place.
    assert app.config["ENVIRONMENT"] == "production"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SHOW_DEMO_PASSWORDS"] is False
    with app.app_context():
        assert db.engine.url.database == f"{tmp_path}/x.sqlite3"
        assert db.session.execute(sa.text("PRAGMA busy_timeout")).scalar() == 4321
        db.session.remove()
        db.engine.dispose()
    assert (tmp_path / "x.sqlite3").exists()


def test_environment_can_turn_off_secure_cookies(clean_env, tmp_path):
    clean_env.setenv("INTAKE_SECRET_KEY", STRONG_KEY)
    clean_env.setenv("INTAKE_DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    clean_env.setenv("INTAKE_SESSION_COOKIE_SECURE", "false")
    clean_env.setenv("INTAKE_PUBLIC_URL", "https://intake.example.org")
    assert create_app().config["SESSION_COOKIE_SECURE"] is False


@sqlite_only
def test_sqlite_uses_wal_busy_timeout_and_foreign_keys(app):
    with app.app_context():
        pragma = {
            name: db.session.execute(sa.text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "busy_timeout", "foreign_keys")
        }
    assert pragma == {"journal_mode": "wal", "busy_timeout": 15000, "foreign_keys": 1}


@pytest.mark.parametrize("url", [None, "", "intake.example.org", "ftp://intake.example.org"])
def test_production_without_a_public_address_refuses_to_start(tmp_path, url):
    with pytest.raises(RuntimeError, match="^INTAKE_PUBLIC_URL is not set"):
        make_app(tmp_path, SECRET_KEY=STRONG_KEY, PUBLIC_URL=url)


def test_production_answers_only_to_the_public_host_unless_told_more(tmp_path):
    app = make_app(tmp_path, SECRET_KEY=STRONG_KEY, PUBLIC_URL="https://intake.example.org/")
    assert app.config["TRUSTED_HOSTS"] == ["intake.example.org"]
    assert app.config["PUBLIC_URL"] == "https://intake.example.org"
    client = app.test_client()
    assert client.get("/healthz", base_url="https://intake.example.org").status_code == 200
    assert client.get("/healthz", base_url="https://evil.example").status_code == 400
    both = ["intake.example.org", "intake.kreis-mainz-bingen.de"]
    assert (
        make_app(tmp_path, SECRET_KEY=STRONG_KEY, TRUSTED_HOSTS=both).config["TRUSTED_HOSTS"]
        == both
    )
    development = make_app(tmp_path, SECRET_KEY=STRONG_KEY, ENVIRONMENT="development")
    assert development.config["TRUSTED_HOSTS"] is None  # localhost and 127.0.0.1 alike


def test_the_example_environment_file_cannot_be_used_unchanged(tmp_path):
    """docs/deploy/intake.env.example: its placeholder key stops the app, and its other
    settings are ones the app accepts."""
    example = ROOT / "docs" / "deploy" / "intake.env.example"
    settings = dict(
        line.split("=", 1)
        for line in example.read_text().splitlines()
        if line and not line.startswith("#")
    )
    with pytest.raises(RuntimeError, match="INTAKE_SECRET_KEY is too weak"):
        make_app(tmp_path, SECRET_KEY=settings["INTAKE_SECRET_KEY"])
    app = make_app(tmp_path, SECRET_KEY=STRONG_KEY, PUBLIC_URL=settings["INTAKE_PUBLIC_URL"])
    assert app.config["TRUSTED_HOSTS"] == [settings["INTAKE_PUBLIC_URL"].split("/")[2]]


@sqlite_only
def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path):
    import os
    import stat

    from flask_migrate import upgrade

    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    old_umask = os.umask(0o022)
    try:
        app = make_app(tmp_path, SECRET_KEY=STRONG_KEY, DATABASE_URL=url)
        with app.app_context():
            upgrade(directory=app.extensions["migrate"].directory)
            db.session.execute(sa.text("CREATE TABLE probe (x)"))  # the WAL now exists
            db.session.commit()
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.glob("new.sqlite3*")}
            db.session.remove()
            db.engine.dispose()
    finally:
        os.umask(old_umask)
    assert modes == {"new.sqlite3": 0o600, "new.sqlite3-wal": 0o600, "new.sqlite3-shm": 0o600}
