"""`forms import|publish|validate|list|export`: form definitions from and to files."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from intake import audit
from intake.engine.definition import FormDefinition
from intake.engine.loader import dump_any, load_any
from intake.engine.validation import DefinitionError
from intake.extensions import db
from intake.storage.forms import (
    all_published,
    draft_of,
    form_named,
    import_definition,
    publish_draft,
    published,
)
from intake.studio import checks


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
@click.option(
    "--publish", is_flag=True, help="Publish at once (after the same checks as the studio)."
)
def import_(file: Path, publish: bool) -> None:
    """Import a definition as the form's draft (respondents see it only once published)."""
    definition = _load(file)
    if publish:
        _refuse_if_problems(definition, file.name)
    version, created = import_definition(definition, "draft", publish=publish)
    db.session.commit()
    state = "published" if publish else "draft"
    if created:
        audit.record("form.import", None, f"form:{version.form.slug} {state} v{version.number}")
        if publish:
            click.echo(f"Imported and published '{version.form.slug}' as version {version.number}.")
        else:
            click.echo(
                f"Imported '{version.form.slug}' as draft version {version.number}; "
                f"publish it with: forms publish {version.form.slug}"
            )
    else:
        click.echo(f"'{version.form.slug}' is unchanged (version {version.number}).")


@forms.command("publish")
@click.argument("slug")
def publish_(slug: str) -> None:
    """Publish a form's draft, after the same checks as the studio."""
    form = form_named(slug)
    if form is None:
        raise click.BadParameter(f"no form called '{slug}'", param_hint="SLUG")
    draft = draft_of(form)
    if draft is None:
        raise click.BadParameter(f"'{slug}' has no draft to publish", param_hint="SLUG")
    _refuse_if_problems(draft.definition, slug)
    version = publish_draft(draft, None)
    db.session.commit()
    audit.record("form.publish", None, f"form:{slug} v{version.number}")
    click.echo(f"Published '{slug}' as version {version.number}.")


def _refuse_if_problems(definition: dict, source: str) -> None:
    problems = checks.publish_problems(FormDefinition(definition))
    if problems:
        for problem in problems:
            where = f" [{problem.field}]" if problem.field else ""
            click.echo(f"{source}{where}: {problem.message}", err=True)
        raise click.exceptions.Exit(1)


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
