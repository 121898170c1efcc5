"""`seed-demo`: districts, demo forms, demo coordinators, synthetic responses."""

from __future__ import annotations

import time

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from intake import demo
from intake.accounts import AccountError, external_url
from intake.extensions import db
from intake.storage.models import District


@click.command("seed-demo")
@with_appcontext
@click.option(
    "--responses",
    type=click.IntRange(0, 1_000_000),
    default=0,
    show_default=True,
    help="Synthetic responses per demo form and district.",
)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has districts.")
@click.option("--reset-passwords", is_flag=True, help="Give the demo coordinators new passwords.")
def seed_demo(responses: int, if_empty: bool, reset_passwords: bool) -> None:
    """Create the demo districts, forms and coordinators (and N synthetic responses)."""
    if reset_passwords:
        if not current_app.config["SHOW_DEMO_PASSWORDS"]:
            raise click.UsageError(
                "--reset-passwords only works in development; use `users create` for real accounts"
            )
        _show_passwords(demo.reset_demo_passwords())
        return
    if if_empty and db.session.scalar(sa.select(sa.func.count()).select_from(District)):
        click.echo("The database already has data; demo not seeded.")
        return
    started = time.perf_counter()
    with click.progressbar(length=1, label="Synthetic responses", show_pos=True) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        result = demo.seed(responses, progress if responses else None, event=True)
    for name in result.forms_created:
        click.echo(f"Form imported: {name}")
    click.echo(f"Responses created: {result.responses} in {time.perf_counter() - started:.1f} s")
    _show_passwords(result.passwords)
    if result.kiosk:
        token, pin = result.kiosk
        try:
            link = external_url("kiosk.picker", token=token)
        except AccountError:
            link = f"/k/{token} (set INTAKE_PUBLIC_URL for the full link)"
        click.echo(f"Demo kiosk (tablets at an event): {link}")
        if current_app.config["SHOW_DEMO_PASSWORDS"]:
            click.echo(f"Demo kiosk staff PIN: {pin}")


def _show_passwords(passwords: dict[str, str]) -> None:
    """Print demo logins; the passwords only in development."""
    for email, password in passwords.items():
        if current_app.config["SHOW_DEMO_PASSWORDS"]:
            click.echo(f"Demo login: {email}  password: {password}")
        else:
            click.echo(f"Demo login: {email} (password not shown outside development)")
