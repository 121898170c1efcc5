"""`backup FILE` and restoring from it."""

from __future__ import annotations

import secrets
import shutil
import sqlite3

import pytest
import sqlalchemy as sa

from intake import create_app
from intake.extensions import db
from intake.storage.models import Answer, Response
from tests.conftest import ON_POSTGRESQL, VOLUNTEER_ANSWERS, sqlite_only


@sqlite_only
def test_backup_while_running_restores_every_response(app, runner, submit, tmp_path):
    for n in range(3):
        assert (
            submit("volunteer", dict(VOLUNTEER_ANSWERS, experience=f"Antwort {n}")).status_code
            == 303
        )
    target = tmp_path / "backup.sqlite3"
    with app.app_context():
        result = runner.invoke(args=["backup", str(target)])
        references = set(db.session.scalars(sa.select(Response.reference)))
    assert result.exit_code == 0, result.output
    assert f"Backed up to {target}" in result.output
    assert "pages copied" in result.output
    assert target.stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "backup.sqlite3.part").exists()
    with sqlite3.connect(target) as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # Restore: the backup file becomes the database of a fresh app.
    restored_path = tmp_path / "restored" / "intake.sqlite3"
    restored_path.parent.mkdir()
    shutil.copy(target, restored_path)
    restored = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": f"sqlite:///{restored_path}",
        }
    )
    with restored.app_context():
        assert set(db.session.scalars(sa.select(Response.reference))) == references
        values = set(
            db.session.scalars(sa.select(Answer.value).where(Answer.field == "experience"))
        )
        assert values == {"Antwort 0", "Antwort 1", "Antwort 2"}
    client = restored.test_client()
    assert client.get("/f/volunteer").status_code == 200


@sqlite_only
def test_backup_never_overwrites(app, runner, tmp_path):
    target = tmp_path / "exists.sqlite3"
    target.write_text("keep me")
    with app.app_context():
        result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 2
    assert "exists already; choose a new file" in result.output
    assert target.read_text() == "keep me"


@sqlite_only
def test_backup_into_missing_folder_is_explained(app, runner, tmp_path):
    with app.app_context():
        result = runner.invoke(args=["backup", str(tmp_path / "nowhere" / "b.sqlite3")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


@pytest.mark.skipif(not ON_POSTGRESQL, reason="only on PostgreSQL")
def test_backup_on_postgresql_points_to_pg_dump(app, runner, tmp_path):
    with app.app_context():
        result = runner.invoke(args=["backup", str(tmp_path / "b.sqlite3")])
    assert result.exit_code == 2
    assert "back it up with pg_dump" in result.output
