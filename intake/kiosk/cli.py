"""`events create` and `events list`: events and their kiosk links from the command line."""

from __future__ import annotations

import sys
from datetime import date

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from intake import audit, i18n
from intake.accounts import AccountError, external_url
from intake.extensions import db
from intake.kiosk.store import (
    IDLE_RANGE,
    PIN_RE,
    THANKS_RANGE,
    EventError,
    create_event,
    events_in,
    new_pin,
)
from intake.storage.districts import all_districts, by_slug
from intake.storage.models import Form


@click.group(cls=AppGroup)
def events() -> None:
    """Events with a kiosk for the tablets."""


@events.command("create")
@click.option("--name", required=True, help="Name of the event, e.g. 'Infoabend Ingelheim'.")
@click.option("--district", required=True, help="District slug the answers belong to.")
@click.option("--form", "forms", multiple=True, required=True, help="Form slug (repeatable).")
@click.option("--date", "held_on", help="Date of the event, YYYY-MM-DD.")
@click.option(
    "--language", "languages", multiple=True, help="Language code (repeatable; default all)."
)
@click.option(
    "--pin-stdin", is_flag=True, help="Read the staff PIN (6-8 digits) from standard input."
)
@click.option(
    "--idle-seconds",
    type=click.IntRange(*IDLE_RANGE),
    default=120,
    show_default=True,
    help="Clear a form left alone after this many seconds.",
)
@click.option(
    "--thanks-seconds",
    type=click.IntRange(*THANKS_RANGE),
    default=15,
    show_default=True,
    help="Show the thank-you screen this long.",
)
def create(
    name: str,
    district: str,
    forms: tuple[str, ...],
    held_on: str | None,
    languages: tuple[str, ...],
    pin_stdin: bool,
    idle_seconds: int,
    thanks_seconds: int,
) -> None:
    """Create an event and print its kiosk link (and the staff PIN, when made up here)."""
    place = by_slug(district)
    if place is None:
        known = ", ".join(d.slug for d in all_districts())
        raise click.BadParameter(
            f"no district '{district}' (known: {known})", param_hint="--district"
        )
    found = []
    for slug in forms:
        form = db.session.scalar(sa.select(Form).where(Form.slug == slug))
        if form is None:
            raise click.BadParameter(f"no form '{slug}' (see 'forms list')", param_hint="--form")
        found.append(form)
    day = None
    if held_on:
        try:
            day = date.fromisoformat(held_on)
        except ValueError:
            raise click.BadParameter(
                f"'{held_on}' is not a date like 2026-12-03", param_hint="--date"
            ) from None
    unknown = [code for code in languages if code not in i18n.ui_languages()]
    if unknown:
        raise click.BadParameter(
            f"unknown language {', '.join(unknown)} (known: {', '.join(i18n.ui_languages())})",
            param_hint="--language",
        )
    if pin_stdin:
        pin = sys.stdin.readline().strip()
        if not PIN_RE.match(pin):
            raise click.UsageError("the PIN must be 6 to 8 digits")
    else:
        pin = new_pin()
    try:
        event = create_event(
            name=name,
            district=place,
            forms=found,
            pin=pin,
            held_on=day,
            languages=languages,
            idle_seconds=idle_seconds,
            thanks_seconds=thanks_seconds,
        )
        db.session.flush()
    except EventError as exc:
        db.session.rollback()
        messages = {
            "name": "the name must be 1 to 200 characters",
            "form_district": f"the form '{exc.detail}' is not offered in {district}",
            "form_unknown": f"the form '{exc.detail}' has no published version",
            "form_draft": f"the form '{exc.detail}' is a draft: publish it first "
            "(on its page in the back office)",
            "form_closed": f"the form '{exc.detail}' is closed: open it again first "
            "(on its page in the back office)",
            "form_ended": f"the form '{exc.detail}' is past its closing date and takes "
            "no more answers",
        }
        raise click.UsageError(messages.get(exc.code, exc.code)) from None
    try:
        link = external_url("kiosk.picker", token=event.token)
    except AccountError:
        db.session.rollback()
        raise click.UsageError(
            "set INTAKE_PUBLIC_URL (the address people open the app at) to print kiosk links"
        ) from None
    db.session.commit()
    audit.record("event.create", None, f"event:{event.id}")
    click.echo(f"Created event {event.id} '{event.name}' in {place.slug}.")
    click.echo(f"Kiosk link (open it on the tablets): {link}")
    if not pin_stdin:
        click.echo(f"Staff PIN: {pin}")


@events.command("list")
def list_events() -> None:
    """Every event with its district, date, state and kiosk link."""
    for event in events_in(all_districts()):
        try:
            link = external_url("kiosk.picker", token=event.token)
        except AccountError:
            link = f"/k/{event.token}"
        state = "open" if event.active else "closed"
        when = event.held_on.isoformat() if event.held_on else "-"
        click.echo(f"{event.id}\t{event.name}\t{event.district.slug}\t{when}\t{state}\t{link}")
