"""`worker`: make background PDF summaries taken from the RQ queue (REDIS_URL)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from intake import background


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Stop when the queue is empty (for tests and cron).")
def worker(burst: bool) -> None:
    """Make the summaries app processes have queued; run one or more beside gunicorn."""
    if not current_app.config.get("REDIS_URL"):
        raise click.UsageError(
            "set INTAKE_REDIS_URL (e.g. redis://127.0.0.1:6379/0); without it the app "
            "makes summaries in its own processes and needs no worker"
        )
    background.work(burst=burst)
