"""`backup FILE`: a consistent copy of the SQLite database while the app keeps running.

SQLite's online backup API copies the database page by page inside read transactions,
so submissions arriving meanwhile are either in the copy or not, never half. The copy
is written to FILE.part, checked with `PRAGMA integrity_check`, and only then renamed
to FILE. An existing FILE is never overwritten. PostgreSQL is backed up with its own
tools (pg_dump); see README, "Backup and restore".
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import click
from flask.cli import with_appcontext

from intake import audit
from intake.extensions import db


@click.command("backup")
@with_appcontext
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup(file: Path) -> None:
    """Copy the SQLite database to FILE (a new file), consistently, while the app runs."""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        raise click.UsageError(
            "this database is PostgreSQL: back it up with pg_dump "
            "(see README, 'Backup and restore')"
        )
    source = engine.url.database
    if not source or source == ":memory:":
        raise click.UsageError("the database is not a file")
    if file.exists():
        raise click.BadParameter(f"{file} exists already; choose a new file", param_hint="FILE")
    if not file.parent.is_dir():
        raise click.BadParameter(f"the folder {file.parent} does not exist", param_hint="FILE")
    partial = file.with_name(file.name + ".part")
    partial.unlink(missing_ok=True)

    def progress(_status: int, remaining: int, total: int) -> None:
        done = total - remaining
        click.echo(f"  {done} of {total} pages copied", err=True)

    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(partial)
    try:
        with dst:
            src.backup(dst, pages=256, progress=progress)
        dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        dst.close()
        src.close()
    if check != "ok":
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"the copy failed its integrity check: {check}")
    partial.replace(file)
    audit.record("backup", None, f"file:{file.name}")
    click.echo(f"Backed up to {file} ({file.stat().st_size // 1024} KB).")
