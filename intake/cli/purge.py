"""`purge [--dry-run]`: delete or anonymise what is past its form's retention period.

Meant for a daily timer (README, docs/privacy.md). Prints per form what it did (or, with
--dry-run, would do) in counts only, never content.
"""

from __future__ import annotations

import click

from intake.privacy.retention import purge as run_purge


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted or anonymised.")
def purge(dry_run: bool) -> None:
    """Delete or anonymise responses past their form's retention period."""

    def progress(slug: str, done: int) -> None:
        click.echo(f"  {slug}: {done} ...")

    result = run_purge(dry_run=dry_run, progress=progress)
    verb = {"delete": "delete" if dry_run else "deleted",
            "anonymise": "anonymise" if dry_run else "anonymised"}  # fmt: skip
    for form in result.forms:
        if form.days is None:
            click.echo(f"{form.slug}: no retention period set (privacy.retention_days); kept")
            continue
        click.echo(
            f"{form.slug}: {form.responses} responses older than {form.days} days "
            f"{'to ' if dry_run else ''}{verb[form.action]}, "
            f"{form.invitations} invitations {'to delete' if dry_run else 'deleted'}"
        )
    files = "background PDF summaries"
    if dry_run:
        click.echo(f"{result.files} {files} would be deleted if anything is purged.")
        click.echo("Dry run: nothing was changed.")
    else:
        click.echo(f"{result.files} {files} deleted.")
