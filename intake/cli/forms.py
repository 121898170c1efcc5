"""`forms import|validate|list`: form definitions from files."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from intake.engine.definition import DefinitionError, load_file
from intake.extensions import db
from intake.storage.forms import all_published, import_definition


@click.group(cls=AppGroup)
def forms() -> None:
    """Import, check and list form definitions."""


def _load(path: Path) -> dict:
    try:
        return load_file(path)
    except DefinitionError as exc:
        for problem in exc.problems:
            click.echo(f"{exc.source}: {problem}", err=True)
        raise click.exceptions.Exit(1) from None


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
def import_(file: Path) -> None:
    """Import a definition; a changed form gets a new version."""
    definition = _load(file)
    version, created = import_definition(definition)
    db.session.commit()
    if created:
        click.echo(f"Imported '{version.form.slug}' as version {version.number}.")
    else:
        click.echo(f"'{version.form.slug}' is unchanged (version {version.number}).")


@forms.command("list")
def list_() -> None:
    """List forms with their newest version and languages."""
    for form, version, definition in all_published():
        click.echo(f"{form.slug}\tv{version.number}\t{', '.join(definition.languages)}")
