"""Form versions in the database: import a definition, find what is published."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext

from intake.engine.definition import FormDefinition, checksum
from intake.extensions import db
from intake.storage.models import District, Form, FormVersion


def import_definition(
    definition: dict[str, Any], status_if_new: str = "open"
) -> tuple[FormVersion, bool]:
    """Store a validated definition as the form's next version unless it is unchanged.

    Returns the current version and whether it was created. Versions are never
    edited, so each response keeps the questions it answered. A new form starts with
    `status_if_new`; an existing form keeps its status.
    """
    digest = checksum(definition)
    form = db.session.scalar(sa.select(Form).where(Form.slug == definition["form"]))
    if form is None:
        form = Form(slug=definition["form"], status=status_if_new)
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


#: Parsed definitions by checksum, shared by the requests of this process. A version
#: never changes once stored, and its checksum names its content, so an entry can never
#: be stale; the bound only keeps a long-running process with many versions small.
_PARSED: dict[str, FormDefinition] = {}
_PARSED_MAX = 256


def definition_of(version: FormVersion) -> FormDefinition:
    """The version's definition, parsed once per process (the column is read only then)."""
    parsed = _PARSED.get(version.checksum)
    if parsed is None:
        # gettext reads each request's language: one parsed definition serves them all.
        parsed = FormDefinition(version.definition, gettext=gettext)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)), None)
        _PARSED[version.checksum] = parsed
    return parsed


def published(slug: str) -> tuple[Form, FormVersion, FormDefinition] | None:
    """The form called `slug` with its newest version, or None."""
    row = db.session.execute(
        sa.select(Form, FormVersion)
        .join(FormVersion, FormVersion.form_id == Form.id)
        .where(Form.slug == slug)
        .order_by(FormVersion.number.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    form, version = row
    return form, version, definition_of(version)


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
    return [(form, version, definition_of(version)) for form, version in rows]


def availability(form: Form, today: date | None = None) -> str:
    """'open', or why not: 'draft', 'closed', 'not_yet' (before opens_on), 'ended'."""
    today = today or local_today()
    if form.status != "open":
        return form.status
    if form.opens_on and today < form.opens_on:
        return "not_yet"
    if form.closes_on and today > form.closes_on:
        return "ended"
    return "open"


def offered_districts(form: Form) -> list[District]:
    """The districts a form takes answers for; none chosen means every district."""
    if form.districts:
        return sorted(form.districts, key=lambda d: d.name)
    return list(db.session.scalars(sa.select(District).order_by(District.name)))


def local_today() -> date:
    """Today in Germany, which is what opening and closing dates mean."""
    return datetime.now(ZoneInfo("Europe/Berlin")).date()
