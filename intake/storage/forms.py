"""Form versions in the database: import a definition, find what is published."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from intake.engine.definition import FormDefinition, checksum
from intake.extensions import db
from intake.storage.models import Form, FormVersion


def import_definition(definition: dict[str, Any]) -> tuple[FormVersion, bool]:
    """Store a validated definition as the form's next version unless it is unchanged.

    Returns the current version and whether it was created. Versions are never
    edited, so each response keeps the questions it answered.
    """
    digest = checksum(definition)
    form = db.session.scalar(sa.select(Form).where(Form.slug == definition["form"]))
    if form is None:
        form = Form(slug=definition["form"])
        db.session.add(form)
        db.session.flush()
    latest = latest_version(form)
    if latest is not None and latest.checksum == digest:
        return latest, False
    version = FormVersion(
        form=form,
        number=(latest.number + 1) if latest else 1,
        checksum=digest,
        definition=definition,
    )
    db.session.add(version)
    db.session.flush()
    return version, True


def latest_version(form: Form) -> FormVersion | None:
    """The newest version of a form."""
    return db.session.scalar(
        sa.select(FormVersion)
        .where(FormVersion.form_id == form.id)
        .order_by(FormVersion.number.desc())
        .limit(1)
    )


def published(slug: str) -> tuple[Form, FormVersion, FormDefinition] | None:
    """The form called `slug` with its newest version, or None."""
    form = db.session.scalar(sa.select(Form).where(Form.slug == slug))
    if form is None:
        return None
    version = latest_version(form)
    if version is None:
        return None
    return form, version, FormDefinition(version.definition)


def all_published() -> list[tuple[Form, FormVersion, FormDefinition]]:
    """Every form with its newest version, by slug."""
    newest = (
        sa.select(FormVersion.form_id, sa.func.max(FormVersion.number).label("n"))
        .group_by(FormVersion.form_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Form, FormVersion)
        .join(FormVersion, FormVersion.form_id == Form.id)
        .join(newest, sa.and_(newest.c.form_id == Form.id, newest.c.n == FormVersion.number))
        .order_by(Form.slug)
    ).all()
    return [(form, version, FormDefinition(version.definition)) for form, version in rows]
