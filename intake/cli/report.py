"""`report`: write a district summary PDF from the command line."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from intake import audit
from intake.reports import params as report_params
from intake.reports.pdf import render_summary
from intake.reports.summary import build_summary
from intake.storage.districts import all_districts, by_slug
from intake.storage.forms import published


@click.command("report")
@with_appcontext
@click.option("--district", required=True, help="District slug, or 'all' for every district.")
@click.option("--form", "form_slug", required=True, help="Form slug, e.g. volunteer.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", default="de", show_default=True, help="Report language (de or en).")
@click.option("--from", "date_from", help="First day, YYYY-MM-DD.")
@click.option("--to", "date_to", help="Last day, YYYY-MM-DD.")
@click.option("--appendix", default="text", show_default=True, help="none, text or roster.")
def report(
    district: str,
    form_slug: str,
    out: Path,
    lang: str,
    date_from: str | None,
    date_to: str | None,
    appendix: str,
) -> None:
    """Write the PDF summary of FORM for DISTRICT to OUT (operators see every district)."""
    districts = all_districts() if district == "all" else [d for d in [by_slug(district)] if d]
    if not districts:
        raise click.BadParameter(f"no district called '{district}'", param_hint="--district")
    found = published(form_slug)
    if found is None:
        raise click.BadParameter(f"no form called '{form_slug}'", param_hint="--form")
    params, problems = report_params.parse(date_from, date_to, lang, appendix, "de")
    if problems:
        raise click.UsageError(" ".join(problems))
    if not out.parent.is_dir():
        raise click.BadParameter(f"the folder {out.parent} does not exist", param_hint="--out")
    form, _version, definition = found
    started = time.perf_counter()
    click.echo("1/3 Counting answers ...")
    summary = build_summary(form, definition, districts, params, may_see_personal=True)
    click.echo(
        f"2/3 Rendering the summary of {summary.total} responses to PDF "
        f"({time.perf_counter() - started:.1f} s so far) ..."
    )
    pdf = render_summary(summary)
    out.write_bytes(pdf)
    audit.record("report.cli", None, f"report:{district}/{form_slug} appendix={appendix}")
    click.echo(f"3/3 Wrote {out} ({len(pdf) // 1024} KB) in {time.perf_counter() - started:.1f} s.")
