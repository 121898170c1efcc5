"""Form versions in the database: import, keep a draft, publish it, find what is published."""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext

from intake.engine.definition import FormDefinition, checksum
from intake.extensions import db
from intake.storage.models import District, Form, FormVersion, User, utcnow


class DraftChanged(Exception):
    """The draft was saved by someone else since the editor loaded it."""

    def __init__(self, draft: FormVersion):
        super().__init__(draft.revision)
        self.draft = draft


def form_named(slug: str) -> Form | None:
    return db.session.scalar(sa.select(Form).where(Form.slug == slug))


def import_definition(
    definition: dict[str, Any],
    status_if_new: str = "open",
    *,
    publish: bool = True,
    user: User | None = None,
) -> tuple[FormVersion, bool]:
    """Store a validated definition for its form; returns the version and whether it changed.

    With `publish` the definition becomes the form's next published version (unless
    the newest one is the same); a draft the form had is replaced by it. Without, it
    becomes the form's draft, which respondents never see (unless it is what is
    published already). A new form starts with `status_if_new`; an existing form keeps
    its status, except that publishing a form that was never published opens it.
    """
    form = form_named(definition["form"])
    if form is None:
        form = Form(slug=definition["form"], status=status_if_new)
        db.session.add(form)
        db.session.flush()
    digest = checksum(definition)
    live = latest_version(form)
    draft = draft_of(form)
    if publish:
        if draft is None and live is not None and live.checksum == digest:
            return live, False
        if draft is None:
            draft = _new_draft(form, definition, live, user)
        elif draft.checksum != digest:
            save_draft(draft, definition, expected_revision=draft.revision, user=user)
        return publish_draft(draft, user), True
    if draft is not None:
        if draft.checksum == digest:
            return draft, False
        return save_draft(draft, definition, expected_revision=draft.revision, user=user), True
    if live is not None and live.checksum == digest:
        return live, False
    return _new_draft(form, definition, live, user), True


def _new_draft(
    form: Form, definition: dict[str, Any], live: FormVersion | None, user: User | None
) -> FormVersion:
    draft = FormVersion(
        form=form,
        number=(live.number + 1) if live else 1,
        checksum=checksum(definition),
        definition=definition,
        updated_at=utcnow(),
        updated_by=user,
    )
    db.session.add(draft)
    db.session.flush()
    return draft


def start_draft(form: Form, user: User | None) -> FormVersion:
    """The form's draft; a new one, a copy of the published version, if it has none."""
    draft = draft_of(form)
    if draft is not None:
        return draft
    live = latest_version(form)
    if live is None:
        raise LookupError(form.slug)
    return _new_draft(form, copy.deepcopy(live.definition), live, user)


def save_draft(
    draft: FormVersion, definition: dict[str, Any], *, expected_revision: int, user: User | None
) -> FormVersion:
    """Replace the draft's definition if nobody saved it since `expected_revision`.

    The check and the write are one UPDATE, so of two saves of the same revision
    exactly one wins, on every database; the other raises DraftChanged with the draft
    as it is now.
    """
    if draft.published_at is not None:
        raise ValueError("a published version never changes")
    table = FormVersion.__table__
    done = db.session.execute(
        sa.update(table)
        .where(
            table.c.id == draft.id,
            table.c.revision == expected_revision,
            table.c.published_at.is_(None),
        )
        .values(
            definition=definition,
            checksum=checksum(definition),
            revision=expected_revision + 1,
            updated_at=utcnow(),
            updated_by_id=user.id if user is not None else None,
        )
    )
    db.session.expire(draft)
    if done.rowcount != 1:
        raise DraftChanged(draft)
    return draft


def publish_draft(draft: FormVersion, user: User | None) -> FormVersion:
    """Make the draft the form's newest published version, immutable from now on."""
    table = FormVersion.__table__
    now = utcnow()
    done = db.session.execute(
        sa.update(table)
        .where(table.c.id == draft.id, table.c.published_at.is_(None))
        .values(published_at=now, updated_at=now)
    )
    db.session.expire(draft)
    if done.rowcount != 1:
        raise DraftChanged(draft)
    form = draft.form
    if form.status == "draft":
        form.status = "open"
    db.session.flush()
    return draft


def discard_draft(draft: FormVersion) -> None:
    """Delete the draft (a form that was never published goes with it)."""
    form = draft.form
    db.session.delete(draft)
    db.session.flush()
    if latest_version(form) is None:
        form.districts = []
        db.session.delete(form)


def draft_of(form: Form) -> FormVersion | None:
    """The form's draft, if it has one."""
    return db.session.scalar(
        sa.select(FormVersion).where(
            FormVersion.form_id == form.id, FormVersion.published_at.is_(None)
        )
    )


def latest_version(form: Form) -> FormVersion | None:
    """The newest published version of a form."""
    return db.session.scalar(
        sa.select(FormVersion)
        .where(FormVersion.form_id == form.id, FormVersion.published_at.is_not(None))
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
        .where(Form.slug == slug, FormVersion.published_at.is_not(None))
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
        .where(FormVersion.published_at.is_not(None))
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


def all_drafts() -> dict[int, tuple[Form, FormVersion]]:
    """Every form's draft, by form id."""
    rows = db.session.execute(
        sa.select(Form, FormVersion)
        .join(FormVersion, FormVersion.form_id == Form.id)
        .where(FormVersion.published_at.is_(None))
    ).all()
    return {form.id: (form, version) for form, version in rows}
