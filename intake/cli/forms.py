"""`forms import|validate|list|export`: form definitions from and to files."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from intake import audit
from intake.engine.loader import dump_any, load_any
from intake.engine.validation import DefinitionError
from intake.extensions import db
from intake.storage.forms import all_published, import_definition, published


@click.group(cls=AppGroup)
def forms() -> None:
    """Import, check, list and export form definitions (YAML, JSON or XLSForm .xlsx)."""


def _load(path: Path) -> dict:
    """The validated definition; every problem printed with the file, exit 1."""
    try:
        definition, notices = load_any(path)
    except DefinitionError as exc:
        for problem in exc.problems:
            click.echo(f"{exc.source}: {problem}", err=True)
        raise click.exceptions.Exit(1) from None
    for notice in notices:
        click.echo(f"{path.name}: note: {notice}", err=True)
    return definition


@forms.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def validate(file: Path) -> None:
    """Check a definition file and report every problem."""
    definition = _load(file)
    click.echo(
        f"{file.name}: OK, form '{definition['form']}' with {len(definition['fields'])} fields"
    )


@forms.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--draft", is_flag=True, help="A new form starts as a draft (preview only).")
def import_(file: Path, draft: bool) -> None:
    """Import a definition; a changed form gets a new version."""
    definition = _load(file)
    version, created = import_definition(definition, "draft" if draft else "open")
    db.session.commit()
    if created:
        audit.record("form.import", None, f"form:{version.form.slug} v{version.number}")
        click.echo(f"Imported '{version.form.slug}' as version {version.number}.")
    else:
        click.echo(f"'{version.form.slug}' is unchanged (version {version.number}).")


@forms.command("list")
def list_() -> None:
    """List forms with their newest version, status and languages."""
    for form, version, definition in all_published():
        click.echo(
            f"{form.slug}\tv{version.number}\t{form.status}\t{', '.join(definition.languages)}"
        )


@forms.command("export")
@click.argument("slug")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="FILE.xlsx (XLSForm), FILE.yaml or FILE.json.",
)
def export(slug: str, out: Path) -> None:
    """Write the newest version of a form to an XLSForm or YAML/JSON file."""
    found = published(slug)
    if found is None:
        raise click.BadParameter(f"no form called '{slug}'", param_hint="SLUG")
    if not out.parent.is_dir():
        raise click.BadParameter(f"the folder {out.parent} does not exist", param_hint="--out")
    notices: list[str] = []
    try:
        data = dump_any(found[1].definition, out.suffix.lower(), notices)
    except ValueError:
        raise click.BadParameter(
            "the file must end in .xlsx, .yaml or .json", param_hint="--out"
        ) from None
    out.write_bytes(data)
    for notice in notices:
        click.echo(f"{out.name}: note: {notice}", err=True)
    click.echo(f"Wrote {out}.")
