"""Whether the database can serve this version of the code, and the disk can take what
it writes (for /readyz)."""

from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from intake.extensions import db

MIGRATIONS = Path(__file__).parent / "migrations"


def expected_heads() -> set[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return set(ScriptDirectory.from_config(config).get_heads())


def schema_problem() -> str | None:
    """None when ready; 'database' when it cannot be reached, 'migrations' when behind."""
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except sa.exc.SQLAlchemyError:
        return "database"
    if current != expected_heads():
        return "migrations"
    return None


def disk_problem(folders: list[Path], min_free_bytes: int) -> str | None:
    """'disk' when a folder the app writes to (the SQLite database's, the PDF folder) has
    less than `min_free_bytes` free: a full disk refuses every submission, so the load
    balancer should send people to an instance that can store them."""
    for folder in folders:
        existing = next((p for p in (folder, *folder.parents) if p.is_dir()), None)
        if existing is not None and shutil.disk_usage(existing).free < min_free_bytes:
            return "disk"
    return None
