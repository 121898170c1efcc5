"""Retention: what `flask --app intake purge` deletes or anonymises, and when.

A form's definition sets `privacy.retention_days` (kept this many days after it was
sent) and `privacy.on_expiry`:
- `delete`: the response and all its answers go;
- `anonymise`: the answers that can identify a person go (questions marked
  `personal: true` or `sensitive: true`, and every free-text, email, phone, date and
  hidden answer, since people write names into free text), the office's note goes,
  and the response stays with its choices and numbers for the statistics; it is
  marked `anonymised_at`.
In both cases the personal invitation it answered (email address, name) is deleted,
and so is every invitation to the form older than the period. The newest version's
setting counts for all responses of a form. A form without `retention_days` is left
alone; `purge` names it, so nobody mistakes that for "nothing to do".

Finished background PDF summaries are deleted by every purge that changed data, as they
may hold what was just deleted (they are made again on request). Work goes in batches
of BATCH responses, each its own transaction: a purge that stops halfway leaves every
response either done or untouched, and the next run finishes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from intake import audit
from intake.engine.definition import FormDefinition
from intake.extensions import db
from intake.reports import jobs
from intake.storage.forms import all_published, definition_of
from intake.storage.models import Answer, FormVersion, Invitation, Response, utcnow

BATCH = 500


@dataclass
class FormPurge:
    """What a purge does (or would do) to one form."""

    slug: str
    days: int | None
    action: str
    responses: int = 0
    invitations: int = 0


@dataclass
class Purge:
    forms: list[FormPurge] = field(default_factory=list)
    files: int = 0

    @property
    def changed(self) -> bool:
        return any(f.responses or f.invitations for f in self.forms) or bool(self.files)


def identifying_fields(definition: FormDefinition) -> set[str]:
    """Answers that anonymising removes."""
    return {
        f.name
        for f in definition.answer_fields
        # `identifying` types can name a person whatever the question (see the module text).
        if f.personal or f.sensitive or f.kind.identifying
    }


def purge(
    dry_run: bool = False,
    now: datetime | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> Purge:
    """Delete or anonymise what has expired; with `dry_run` only count it."""
    now = now or utcnow()
    result = Purge()
    for form, _version, definition in all_published():
        days = definition.retention_days
        plan = FormPurge(form.slug, days, definition.on_expiry)
        result.forms.append(plan)
        if days is None:
            continue
        cutoff = now - timedelta(days=days)
        expired = sa.select(Response.id).where(
            Response.form_id == form.id, Response.created_at < cutoff
        )
        if plan.action == "anonymise":
            expired = expired.where(Response.anonymised_at.is_(None))
        old_invitations = sa.select(Invitation.id).where(
            Invitation.form_id == form.id,
            sa.or_(
                Invitation.created_at < cutoff,
                Invitation.id.in_(
                    sa.select(Response.invitation_id).where(Response.id.in_(expired))
                ),
            ),
        )
        if dry_run:
            plan.responses = _count(expired)
            plan.invitations = _count(old_invitations)
            continue
        plan.invitations = _delete_invitations(old_invitations)
        while True:
            ids = list(db.session.scalars(expired.order_by(Response.id).limit(BATCH)))
            if not ids:
                break
            if plan.action == "anonymise":
                _anonymise(ids, now)
            else:
                _delete(ids)
            plan.responses += len(ids)
            if progress:
                progress(form.slug, plan.responses)
        if plan.responses or plan.invitations:
            audit.record(
                "purge",
                None,
                f"form:{form.slug} {plan.action}={plan.responses} invitations={plan.invitations}",
            )
    if dry_run:
        result.files = _count(jobs.finished_jobs())
    elif any(f.responses or f.invitations for f in result.forms):
        result.files = jobs.discard_finished()
        db.session.commit()
    return result


def _count(query) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))


def _delete_invitations(query) -> int:
    ids = list(db.session.scalars(query))
    if ids:
        db.session.execute(
            sa.update(Response).where(Response.invitation_id.in_(ids)).values(invitation_id=None)
        )
        db.session.execute(sa.delete(Invitation).where(Invitation.id.in_(ids)))
        db.session.commit()
    return len(ids)


def _delete(ids: list[int]) -> None:
    db.session.execute(sa.delete(Answer).where(Answer.response_id.in_(ids)))
    db.session.execute(sa.delete(Response).where(Response.id.in_(ids)))
    db.session.commit()


def _anonymise(ids: list[int], now: datetime) -> None:
    versions = db.session.scalars(
        sa.select(Response.form_version_id).where(Response.id.in_(ids)).distinct()
    ).all()
    for version_id in versions:
        version = db.session.get(FormVersion, version_id)
        names = identifying_fields(definition_of(version))
        in_version = sa.select(Response.id).where(
            Response.id.in_(ids), Response.form_version_id == version_id
        )
        db.session.execute(
            sa.delete(Answer).where(Answer.response_id.in_(in_version), Answer.field.in_(names))
        )
    db.session.execute(
        sa.update(Response)
        .where(Response.id.in_(ids))
        .values(note=None, anonymised_at=now, invitation_id=None)
    )
    db.session.commit()
