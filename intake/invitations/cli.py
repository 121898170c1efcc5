"""`invitations send|remind|retry|status`: personal invitations from the command line.

`send` checks the whole list first (nothing is sent when a row is wrong, every
problem is printed with its row), then sends each email in this process with
progress, and exits non-zero when some could not be sent (they stay "failed" for
`retry`). Links are built on PUBLIC_URL, which must be set. No personal data is
printed except the rows' own problems.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from intake import audit, i18n
from intake.extensions import db
from intake.invitations import lists, sending, store
from intake.storage.districts import by_slug
from intake.storage.forms import offered_districts, published


@click.group(cls=AppGroup)
def invitations() -> None:
    """Personal invitation links sent by email."""


def _form_and_district(form_slug: str, district_slug: str):
    found = published(form_slug)
    if found is None or found[0].status == "draft":
        raise click.BadParameter(
            f"no open or closed form called '{form_slug}'", param_hint="--form"
        )
    district = by_slug(district_slug)
    if district is None:
        raise click.BadParameter(f"no district called '{district_slug}'", param_hint="--district")
    if district not in offered_districts(found[0]):
        raise click.BadParameter(
            f"the form '{form_slug}' is not offered in '{district_slug}'", param_hint="--district"
        )
    return found[0], found[2], district


def _base_url() -> str:
    base = current_app.config.get("PUBLIC_URL")
    if not base:
        raise click.UsageError(
            "INTAKE_PUBLIC_URL is not set: the links in the emails need the address "
            "people reach Intake at, e.g. https://intake.kreis-example.de"
        )
    return base


def _send(ids: list[int], kind: str) -> None:
    base = _base_url()
    if not ids:
        click.echo("Nobody to send to.")
        return

    def progress(done: int, total: int) -> None:
        if done == total or done % 10 == 0:
            click.echo(f"  {done}/{total}")

    click.echo(f"Sending {len(ids)} emails ({kind}) ...")
    outcome = sending.send(ids, base, kind, progress)
    click.echo(f"Sent: {outcome.sent}. Failed: {outcome.failed}. Skipped: {outcome.skipped}.")
    if outcome.failed:
        raise click.ClickException(
            f"{outcome.failed} emails could not be sent; they are marked as failed "
            "('invitations retry' sends them again)"
        )


@invitations.command("send")
@click.option("--form", "form_slug", required=True, help="Form slug.")
@click.option("--district", "district_slug", required=True, help="District slug of the list.")
@click.option(
    "--file",
    "path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV or XLSX with the columns email, name, language (district optional).",
)
@click.option(
    "--days",
    type=click.IntRange(*store.DAYS_RANGE),
    default=store.DEFAULT_DAYS,
    show_default=True,
    help="How long the links work.",
)
def send(form_slug: str, district_slug: str, path: Path, days: int) -> None:
    """Invite everyone on a list: check it whole, then send each person their link."""
    form, definition, district = _form_and_district(form_slug, district_slug)
    _base_url()  # before anything is made: without it no link can be sent
    if not path.is_file():
        raise click.BadParameter(f"no file {path}", param_hint="--file")
    rows, problems = lists.read(path.name, path.read_bytes())
    if not problems:
        languages = [code for code in definition.languages if code in i18n.ui_languages()]
        default = definition.default_language
        checked = lists.check(
            rows,
            languages,
            default if default in languages else languages[0],
            [district],
            district,
            lambda emails: store.open_emails(form, emails),
        )
        problems = checked.problems
    if problems:
        for problem in problems:
            where = f"row {problem.row}" if problem.row else str(path.name)
            if problem.column:
                where += f", column '{problem.column}'"
            click.echo(f"{where}: {problem.message}", err=True)
        raise click.ClickException(f"{len(problems)} problems in {path.name}; nobody was invited")
    made = store.create(form, checked.people, days)
    db.session.commit()
    audit.record("invitations.cli", None, f"form:{form.slug} people={len(made)}")
    click.echo(f"{len(made)} invitations made; links work for {days} days.")
    _send([i.id for i in made], "invitation")


@invitations.command("remind")
@click.option("--form", "form_slug", required=True, help="Form slug.")
@click.option("--district", "district_slug", required=True, help="District slug.")
def remind(form_slug: str, district_slug: str) -> None:
    """Remind everyone invited who has not answered (at most once a day each)."""
    form, _definition, district = _form_and_district(form_slug, district_slug)
    chosen = store.to_remind(form, [district])
    audit.record("invitations.reminder", None, f"form:{form.slug} people={len(chosen)}")
    _send([i.id for i in chosen], "reminder")


@invitations.command("retry")
@click.option("--form", "form_slug", required=True, help="Form slug.")
@click.option("--district", "district_slug", required=True, help="District slug.")
def retry(form_slug: str, district_slug: str) -> None:
    """Send the invitation again to everyone whose email failed."""
    form, _definition, district = _form_and_district(form_slug, district_slug)
    chosen = store.failed(form, [district])
    audit.record("invitations.invitation", None, f"form:{form.slug} people={len(chosen)}")
    _send([i.id for i in chosen], "invitation")


@invitations.command("status")
@click.option("--form", "form_slug", required=True, help="Form slug.")
@click.option("--district", "district_slug", required=True, help="District slug.")
def status(form_slug: str, district_slug: str) -> None:
    """How many invitations are in each state (no names or addresses)."""
    form, _definition, district = _form_and_district(form_slug, district_slug)
    counts = dict.fromkeys(store.STATES, 0)
    for invitation in db.session.scalars(store.in_districts([district], form)):
        counts[store.state(invitation)] += 1
    for name, count in counts.items():
        click.echo(f"{name:10} {count}")
