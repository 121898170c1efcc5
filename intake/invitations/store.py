"""Personal invitations: one signed, expiring link `/i/<token>` per person and form.

The token is the invitation's random `key` signed with the app's secret key
(itsdangerous), so a link with one character changed is refused before any lookup,
and it holds no personal data (not even a row number). A new INTAKE_SECRET_KEY keeps the
links working while the old key stays in INTAKE_SECRET_KEY_FALLBACKS (docs/deployment.md).

Plain functions with no `request`: the back office and the CLI share them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.orm as so
from itsdangerous import BadSignature, Signer

from intake import config
from intake.extensions import db
from intake.storage.models import District, Form, Invitation, Response, utcnow

SALT = "intake.invitation"
#: How long a link works when nobody chooses (days), and the range one may choose.
DEFAULT_DAYS = 30
DAYS_RANGE = (1, 180)
#: A reminder goes at most once a day to the same person, whatever is clicked.
REMINDER_GAP = timedelta(hours=20)
REUSE_CHOICES = ("refuse", "edit")
#: States shown in the back office, in this order.
STATES = ("waiting", "sent", "failed", "answered", "expired", "revoked")


@dataclass(frozen=True)
class Person:
    """One checked row of an invitation list."""

    email: str
    name: str
    language: str
    district: District


def _signer() -> Signer:
    return Signer(config.secret_keys(), salt=SALT)


def token_for(invitation: Invitation) -> str:
    """The link token of an invitation (the same every time it is asked for)."""
    return _signer().sign(invitation.key).decode()


def from_token(token: str) -> Invitation | None:
    """The invitation of a token, or None when the token was changed or never issued."""
    if not token or len(token) > 200:
        return None
    try:
        key = _signer().unsign(token).decode()
    except (BadSignature, UnicodeDecodeError):
        return None
    return db.session.scalar(sa.select(Invitation).where(Invitation.key == key))


def create(
    form: Form,
    people: Sequence[Person],
    days: int = DEFAULT_DAYS,
    created_by_id: int | None = None,
) -> list[Invitation]:
    """Add one invitation per person (the caller commits); none is sent yet."""
    if not DAYS_RANGE[0] <= days <= DAYS_RANGE[1]:
        raise ValueError("days")
    now = utcnow()
    expires = now + timedelta(days=days)
    made = [
        Invitation(
            created_at=now,
            key=secrets.token_urlsafe(16),
            form_id=form.id,
            district_id=person.district.id,
            email=person.email,
            name=person.name,
            language=person.language,
            expires_at=expires,
            created_by_id=created_by_id,
        )
        for person in people
    ]
    db.session.add_all(made)
    return made


def state(invitation: Invitation, now: datetime | None = None) -> str:
    """One of STATES: what the person did, else what became of the email."""
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.response is not None:
        return "answered"
    if (now or utcnow()) >= invitation.expires_at:
        return "expired"
    if invitation.send_error:
        return "failed"
    return "sent" if invitation.sent_at else "waiting"


def problem(invitation: Invitation, reuse: str) -> str | None:
    """Why the link cannot be used now ("revoked", "expired", "answered"), or None."""
    if invitation.revoked_at is not None:
        return "revoked"
    if utcnow() >= invitation.expires_at:
        return "expired"
    if invitation.response is not None and reuse != "edit":
        return "answered"
    return None


def open_emails(form: Form, emails: Iterable[str]) -> set[str]:
    """Which of `emails` already have a usable invitation to `form` (not revoked,
    answered or expired), so a list sent twice does not invite anybody twice."""
    wanted = {e.lower() for e in emails}
    if not wanted:
        return set()
    rows = db.session.scalars(
        _usable(sa.select(Invitation.email), utcnow()).where(
            Invitation.form_id == form.id, sa.func.lower(Invitation.email).in_(wanted)
        )
    )
    return {email.lower() for email in rows}


def _usable(query, now: datetime):
    """`query` narrowed to invitations whose link still works: not answered, not
    withdrawn, not expired."""
    return query.outerjoin(Response, Response.invitation_id == Invitation.id).where(
        Response.id.is_(None), Invitation.revoked_at.is_(None), Invitation.expires_at > now
    )


def in_districts(districts: Sequence[District], form: Form | None = None):
    """A SELECT of the invitations in `districts` (the caller's scope), newest first."""
    query = (
        sa.select(Invitation)
        .where(Invitation.district_id.in_([d.id for d in districts]))
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        # `state` looks at the response: one query for all, not one per invitation.
        .options(so.selectinload(Invitation.response))
    )
    if form is not None:
        query = query.where(Invitation.form_id == form.id)
    return query


def failed(form: Form, districts: Sequence[District]) -> list[Invitation]:
    """Invitations whose last email failed and that can still be used (state "failed")."""
    usable = _usable(in_districts(districts, form), utcnow())
    return list(db.session.scalars(usable.where(Invitation.send_error.is_not(None))))


def to_remind(form: Form, districts: Sequence[District]) -> list[Invitation]:
    """Invitations that were sent, are still usable and unanswered, and were not sent
    or reminded within REMINDER_GAP."""
    now = utcnow()
    recent = now - REMINDER_GAP
    usable = _usable(in_districts(districts, form), now)
    return list(
        db.session.scalars(
            usable.where(
                Invitation.sent_at.is_not(None),
                Invitation.sent_at < recent,
                sa.or_(Invitation.reminded_at.is_(None), Invitation.reminded_at < recent),
            )
        )
    )


def revoke(invitation: Invitation) -> None:
    """The link stops working (the caller commits); an answer already given stays."""
    if invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
