"""Typed SQLAlchemy 2.x models.

Answers live one row per value in `answer` (a multiple-choice answer gives one row
per ticked choice), so "how many chose X for question Q" is a single GROUP BY.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin

from intake.extensions import db


def utcnow() -> datetime:
    """Timezone-aware now, stored as UTC."""
    return datetime.now(UTC)


def new_nonce() -> str:
    """A random value that identifies one generation of a user's sessions."""
    return secrets.token_hex(16)


class UTCDateTime(sa.types.TypeDecorator):
    """A DateTime that always comes back timezone-aware (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


user_district = sa.Table(
    "user_district",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("district_id", sa.ForeignKey("district.id", ondelete="CASCADE"), primary_key=True),
)


class District(db.Model):
    """A Landkreis whose office owns the responses from its area."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    municipalities: so.Mapped[list[Municipality]] = so.relationship(
        back_populates="district", order_by="Municipality.name", cascade="all, delete-orphan"
    )

    @property
    def group(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """Its pick-list group for a place question: (name, ((slug, name), ...))."""
        return self.name, tuple((m.slug, m.name) for m in self.municipalities)


class Municipality(db.Model):
    """A town or Verbandsgemeinde inside a district (place names are not translated)."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    district_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("district.id"))
    slug: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    district: so.Mapped[District] = so.relationship(back_populates="municipalities")


form_district = sa.Table(
    "form_district",
    db.metadata,
    sa.Column("form_id", sa.ForeignKey("form.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("district_id", sa.ForeignKey("district.id", ondelete="CASCADE"), primary_key=True),
)


class Form(db.Model):
    """A form known by a stable slug; its content lives in immutable versions.

    `status` is draft (only previews), open, or closed. An open form takes answers
    between `opens_on` and `closes_on` (German local dates, both optional), in the
    districts listed in `districts` (none listed: every district).
    """

    STATUSES = ("draft", "open", "closed")

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    slug: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="open", server_default="open")
    opens_on: so.Mapped[date | None] = so.mapped_column(sa.Date)
    closes_on: so.Mapped[date | None] = so.mapped_column(sa.Date)
    #: What a personal invitation link does once it has been answered: "refuse" (a
    #: page saying so, with the reference code) or "edit" (the earlier answers, to change).
    invitation_reuse: so.Mapped[str] = so.mapped_column(
        sa.String(8), default="refuse", server_default="refuse"
    )
    #: Origins (scheme://host[:port]) whose pages may show this form in an iframe;
    #: empty (the default): none may.
    embed_origins: so.Mapped[list[str]] = so.mapped_column(
        sa.JSON, default=list, server_default="[]"
    )
    versions: so.Mapped[list[FormVersion]] = so.relationship(
        back_populates="form", order_by="FormVersion.number"
    )
    districts: so.Mapped[list[District]] = so.relationship(
        secondary=form_district, order_by="District.name"
    )


class FormVersion(db.Model):
    """One definition of a form: a draft, or a published version.

    A draft (`published_at` is None) is the one version respondents never see; the
    studio edits it in place, `revision` counting its saves so that two people editing
    it never overwrite each other unseen. A form has at most one draft, numbered after
    its newest published version. Publishing sets `published_at`; from then on the
    version never changes, so each response keeps the questions it answered.
    """

    __table_args__ = (sa.UniqueConstraint("form_id", "number"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    form_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("form.id"))
    number: so.Mapped[int]
    checksum: so.Mapped[str] = so.mapped_column(sa.String(64))
    #: Read only when a process has not parsed this version yet (storage.forms.definition_of).
    definition: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, deferred=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    published_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    revision: so.Mapped[int] = so.mapped_column(default=1, server_default="1")
    updated_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    updated_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    form: so.Mapped[Form] = so.relationship(back_populates="versions")
    updated_by: so.Mapped[User | None] = so.relationship()

    @property
    def is_draft(self) -> bool:
        return self.published_at is None


class Response(db.Model):
    """One submitted form: stored once per client idempotency key."""

    STATUSES = ("new", "in_progress", "done")

    __table_args__ = (sa.Index("ix_response_scope", "form_id", "district_id", "created_at"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    form_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("form.id"))
    form_version_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("form_version.id"))
    district_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("district.id"))
    language: so.Mapped[str] = so.mapped_column(sa.String(16))
    source: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    #: The event whose kiosk took this response (its source is then "event-<id>").
    event_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("event.id", ondelete="SET NULL"), index=True
    )
    #: The personal invitation this response answers (at most one response each).
    invitation_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("invitation.id", ondelete="SET NULL"), unique=True
    )
    #: Set when the respondent changed their answers through their invitation link.
    updated_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    #: Set when `purge` removed what identifies the person (privacy/retention.py).
    anonymised_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    idempotency_key: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    reference: so.Mapped[str] = so.mapped_column(sa.String(16), unique=True)
    consent_version: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    #: Follow-up by the office: new, in_progress, done; with an internal note.
    status: so.Mapped[str] = so.mapped_column(sa.String(16), default="new", server_default="new")
    note: so.Mapped[str | None] = so.mapped_column(sa.Text)
    form: so.Mapped[Form] = so.relationship()
    form_version: so.Mapped[FormVersion] = so.relationship()
    district: so.Mapped[District] = so.relationship()
    event: so.Mapped[Event | None] = so.relationship()
    invitation: so.Mapped[Invitation | None] = so.relationship(
        foreign_keys=[invitation_id], back_populates="response"
    )
    answers: so.Mapped[list[Answer]] = so.relationship(
        back_populates="response", cascade="all, delete-orphan", passive_deletes=True
    )


class Answer(db.Model):
    """One value of one question of one response; a question inside a repeat has its
    answers of each entry under its own name, with the entry's number (from 1)."""

    __table_args__ = (sa.Index("ix_answer_response_field", "response_id", "field"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    response_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("response.id", ondelete="CASCADE"))
    field: so.Mapped[str] = so.mapped_column(sa.String(64))
    value: so.Mapped[str] = so.mapped_column(sa.Text)
    entry: so.Mapped[int | None] = so.mapped_column(sa.SmallInteger)
    response: so.Mapped[Response] = so.relationship(back_populates="answers")


class User(UserMixin, db.Model):
    """A coordinator account, bound to the districts whose people it may see."""

    ROLES = ("admin", "coordinator", "viewer")

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(255))
    role: so.Mapped[str] = so.mapped_column(sa.String(16))
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    # Part of the session cookie's user id; changing it ends every session of the user
    # (logout, password change), so a copied cookie stops working.
    session_nonce: so.Mapped[str] = so.mapped_column(sa.String(32), default=new_nonce)
    districts: so.Mapped[list[District]] = so.relationship(
        secondary=user_district, order_by="District.name"
    )

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        """Disabled accounts cannot log in or keep a session."""
        return self.active

    def get_id(self) -> str:
        """The session's user id: row id and the current session nonce."""
        return f"{self.id}.{self.session_nonce}"

    @property
    def sees_personal_data(self) -> bool:
        """Viewers see summaries only, never contact details."""
        return self.role in ("admin", "coordinator")


class AuditEvent(db.Model):
    """Who did what to which data, when. Never holds answer content."""

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("user.id"))
    action: so.Mapped[str] = so.mapped_column(sa.String(64))
    target: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    outcome: so.Mapped[str] = so.mapped_column(sa.String(16), default="ok")
    user: so.Mapped[User | None] = so.relationship()


class ReportJob(db.Model):
    """A PDF summary made in the background, for the user who asked for it only.

    The file lies in instance/reports/<id>.pdf; it holds what the report holds, so it
    is removed with the job REPORT_JOB_HOURS after it was asked for.
    """

    STATES = ("queued", "running", "done", "failed")

    id: so.Mapped[str] = so.mapped_column(sa.String(32), primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    #: What was asked: district slug (or all), form slug, and the report parameters.
    district: so.Mapped[str] = so.mapped_column(sa.String(64))
    form_slug: so.Mapped[str] = so.mapped_column(sa.String(64))
    params: so.Mapped[dict] = so.mapped_column(sa.JSON)
    state: so.Mapped[str] = so.mapped_column(sa.String(16), default="queued")
    #: 0-100, by step: counting, laying out, writing.
    progress: so.Mapped[int] = so.mapped_column(default=0)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    finished_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    filename: so.Mapped[str | None] = so.mapped_column(sa.String(128))


event_form = sa.Table(
    "event_form",
    db.metadata,
    sa.Column("event_id", sa.ForeignKey("event.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("form_id", sa.ForeignKey("form.id", ondelete="CASCADE"), primary_key=True),
)


class Event(db.Model):
    """An information evening or Begegnungscafé whose tablets run a kiosk.

    The kiosk link `/k/<token>` is the only way in; the token is random and can be
    replaced. Responses from the kiosk belong to the event's district and carry the
    event as their source. The staff PIN (argon2 hash) leaves kiosk mode on a tablet.
    """

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    token: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    held_on: so.Mapped[date | None] = so.mapped_column(sa.Date)
    district_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("district.id"))
    #: Language codes offered on the tablet, in the order shown; empty: every language.
    languages: so.Mapped[list[str]] = so.mapped_column(sa.JSON, default=list)
    pin_hash: so.Mapped[str] = so.mapped_column(sa.String(255))
    #: The PIN check for tablets without a connection (kiosk/store.pin_check_for).
    pin_check: so.Mapped[str] = so.mapped_column(sa.String(255))
    #: Seconds without a touch before a half-filled form is cleared.
    idle_seconds: so.Mapped[int] = so.mapped_column(default=120)
    #: Seconds the thank-you screen stays before the language picker comes back.
    thanks_seconds: so.Mapped[int] = so.mapped_column(default=15)
    active: so.Mapped[bool] = so.mapped_column(default=True)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    district: so.Mapped[District] = so.relationship()
    forms: so.Mapped[list[Form]] = so.relationship(secondary=event_form, order_by="Form.slug")

    @property
    def source(self) -> str:
        """The source/campaign value of this event's responses."""
        return f"event-{self.id}"


class Invitation(db.Model):
    """A personal link `/i/<token>` sent by email to one person, for one form.

    The token is the signed `key` (invitations/store.py) and holds no personal data.
    The link works until `expires_at`, unless revoked, and takes one response; what a
    second use does is the form's `invitation_reuse`. Email address and name are
    personal data: shown only to roles that see personal data in the district.
    """

    __table_args__ = (sa.Index("ix_invitation_scope", "form_id", "district_id"),)
    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    key: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)
    form_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("form.id"))
    district_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("district.id"))
    email: so.Mapped[str] = so.mapped_column(sa.String(254))
    name: so.Mapped[str] = so.mapped_column(sa.String(200))
    language: so.Mapped[str] = so.mapped_column(sa.String(16))
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL")
    )
    expires_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime())
    #: When the invitation email was accepted by the SMTP server (None: not yet).
    sent_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    #: Why the last send failed ("refused", "unreachable", "not_configured"); None when it did not.
    send_error: so.Mapped[str | None] = so.mapped_column(sa.String(32))
    send_attempts: so.Mapped[int] = so.mapped_column(default=0)
    reminders: so.Mapped[int] = so.mapped_column(default=0)
    reminded_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    revoked_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    form: so.Mapped[Form] = so.relationship()
    district: so.Mapped[District] = so.relationship()
    response: so.Mapped[Response | None] = so.relationship(
        back_populates="invitation", foreign_keys="Response.invitation_id"
    )
