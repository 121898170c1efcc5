"""`report`: write a district summary PDF from the command line, or email it.

`--email` sends the summary to accounts (never to other addresses): each recipient
must be an active account that may see the district (or, for `all`, every district),
and a contact list only goes to roles that may see personal data. Each recipient gets
the summary as their role allows. `--last-days 7` makes the period the seven days up to
yesterday, which is what a weekly timer wants (see README, "Weekly summary by email").
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from intake import accounts, audit, mail, scope
from intake.reports import params as report_params
from intake.reports.pdf import render_summary
from intake.reports.summary import build_summary
from intake.storage.districts import all_districts, by_slug
from intake.storage.forms import local_today, published


@click.command("report")
@with_appcontext
@click.option("--district", required=True, help="District slug, or 'all' for every district.")
@click.option("--form", "form_slug", required=True, help="Form slug, e.g. volunteer.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="PDF file to write.")
@click.option(
    "--email", "emails", multiple=True, help="Send it to this account's address (repeatable)."
)
@click.option("--lang", default="de", show_default=True, help="Report language (de or en).")
@click.option("--from", "date_from", help="First day, YYYY-MM-DD.")
@click.option("--to", "date_to", help="Last day, YYYY-MM-DD.")
@click.option(
    "--last-days", type=click.IntRange(1, 366), help="The N days up to yesterday (e.g. 7)."
)
@click.option("--appendix", default="text", show_default=True, help="none, text or roster.")
def report(
    district: str,
    form_slug: str,
    out: Path | None,
    emails: tuple[str, ...],
    lang: str,
    date_from: str | None,
    date_to: str | None,
    last_days: int | None,
    appendix: str,
) -> None:
    """Write the PDF summary of FORM for DISTRICT to OUT, and/or email it to accounts."""
    if out is None and not emails:
        raise click.UsageError("give --out FILE.pdf, --email ADDRESS, or both")
    districts = all_districts() if district == "all" else [d for d in [by_slug(district)] if d]
    if not districts:
        raise click.BadParameter(f"no district called '{district}'", param_hint="--district")
    found = published(form_slug)
    if found is None:
        raise click.BadParameter(f"no form called '{form_slug}'", param_hint="--form")
    if last_days is not None:
        if date_from or date_to:
            raise click.UsageError("give either --last-days or --from/--to")
        yesterday = local_today() - timedelta(days=1)
        date_from = (yesterday - timedelta(days=last_days - 1)).isoformat()
        date_to = yesterday.isoformat()
    params, problems = report_params.parse(date_from, date_to, lang, appendix, "de")
    if problems:
        raise click.UsageError(" ".join(problems))
    if out is not None and not out.parent.is_dir():
        raise click.BadParameter(f"the folder {out.parent} does not exist", param_hint="--out")
    recipients = [_recipient(address, district, districts, appendix) for address in emails]
    form, _version, definition = found

    if out is not None:
        pdf = _render(form, definition, districts, params, True, "")
        out.write_bytes(pdf)
        audit.record("report.cli", None, f"report:{district}/{form_slug} appendix={appendix}")
        click.echo(f"Wrote {out} ({len(pdf) // 1024} KB).")
    failed = 0
    for user in recipients:
        pdf = _render(form, definition, districts, params, user.sees_personal_data, user.email)
        target = f"report:{district}/{form_slug} user:{user.id}"
        try:
            mail.send(_message(user.email, definition, districts, params, pdf, district))
        except mail.MailError as exc:
            failed += 1
            audit.record("report.email", user, target, outcome="failed")
            click.echo(f"Not sent to {user.email}: {exc}", err=True)
        else:
            audit.record("report.email", user, target)
            click.echo(f"Sent to {user.email}.")
    if failed:
        raise click.ClickException(f"{failed} of {len(recipients)} emails could not be sent")


def _recipient(address: str, district: str, districts, appendix: str):
    """The account behind an address, if it may see every district the summary covers."""
    user = accounts.by_email(address)
    if user is None or not user.active:
        raise click.BadParameter(
            f"no active account with the email {address}", param_hint="--email"
        )
    visible = {d.id for d in scope.visible_districts(user)}
    if not all(d.id in visible for d in districts):
        raise click.BadParameter(
            f"{address} may not see the district '{district}'", param_hint="--email"
        )
    if appendix == "roster" and not user.sees_personal_data:
        raise click.BadParameter(f"{address} may not receive contact lists", param_hint="--email")
    return user


def _render(form, definition, districts, params, personal: bool, who: str) -> bytes:
    started = time.perf_counter()
    click.echo(f"1/2 Counting answers{' for ' + who if who else ''} ...")
    with force_locale(params.lang):
        summary = build_summary(form, definition, districts, params, personal)
    click.echo(f"2/2 Rendering the summary of {summary.total} responses to PDF ...")
    pdf = render_summary(summary)
    click.echo(f"    done in {time.perf_counter() - started:.1f} s.")
    return pdf


def _message(to: str, definition, districts, params, pdf: bytes, district: str):
    with force_locale(params.lang):
        title = definition.title(params.lang).text
        names = ", ".join(d.name for d in districts)
        period = " – ".join(
            format_date(day, "medium") if day else "…" for day in (params.date_from, params.date_to)
        )
        subject = _("Summary: %(form)s, %(districts)s", form=title, districts=names)
        text = _(
            "Attached is the summary of “%(form)s” for %(districts)s, period %(period)s.\n\n"
            "It holds data about people: keep it within the office.",
            form=title,
            districts=names,
            period=period,
        )
    filename = f"intake-{district}-{definition.slug}-{params.date_to or local_today()}.pdf"
    return mail.message(to, subject, text, attachments=[(filename, "application/pdf", pdf)])
