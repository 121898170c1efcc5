"""Command line: `flask --app intake <command>`. Commands call the same plain modules as views."""

from __future__ import annotations

from flask import Flask

from intake.cli import (
    backup,
    datakeys,
    forms,
    purge,
    report,
    seed,
    translate,
    users,
    worker,
)
from intake.invitations import cli as invitations
from intake.kiosk import cli as events


def init_app(app: Flask) -> None:
    """Register the command groups."""
    app.cli.add_command(seed.seed_demo)
    app.cli.add_command(users.users)
    app.cli.add_command(report.report)
    app.cli.add_command(forms.forms)
    app.cli.add_command(translate.translate)
    app.cli.add_command(backup.backup)
    app.cli.add_command(events.events)
    app.cli.add_command(invitations.invitations)
    app.cli.add_command(purge.purge)
    app.cli.add_command(datakeys.data_keys)
    app.cli.add_command(worker.worker)
