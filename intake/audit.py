"""The audit trail: who did what to which data, when. Never answer content."""

from __future__ import annotations

from intake.extensions import db
from intake.storage.models import AuditEvent, User


def record(action: str, user: User | None, target: str | None = None, outcome: str = "ok") -> None:
    """Write an audit event in its own transaction so it survives a failing action."""
    event = AuditEvent(
        action=action, user_id=user.id if user else None, target=target, outcome=outcome
    )
    db.session.add(event)
    db.session.commit()
