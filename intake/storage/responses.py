"""Storing responses exactly once per idempotency key, with a short reference code."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from intake.extensions import db
from intake.privacy import crypto
from intake.storage.forms import definition_of
from intake.storage.models import Answer, District, FormVersion, Response, utcnow

CAMPAIGN_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def is_campaign(value: str | None) -> bool:
    """A campaign tag (`src=` of a link) is short plain text, and `event-...` is reserved
    for the kiosks of events, so a link cannot pose as one."""
    return bool(value) and bool(CAMPAIGN_RE.match(value)) and not value.lower().startswith("event-")


# No 0/O, 1/I/L, 5/S, 2/Z: the code is read aloud and typed from paper.
REFERENCE_ALPHABET = "346789ABCDEFGHJKMNPQRTUVWXY"
REFERENCE_LENGTH = 8


def make_reference() -> str:
    """A short code such as 'K7MX-4QRT' (27^8, about 2.8e11 possibilities)."""
    raw = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


@dataclass(frozen=True)
class Receipt:
    """What the respondent is told after a submission."""

    reference: str
    form_slug: str
    created: bool


class KeyConflict(Exception):
    """The idempotency key was already used for a different form."""


class InvitationAnswered(Exception):
    """The personal invitation already has its response (one per invitation)."""

    def __init__(self, response: Response) -> None:
        super().__init__("invitation answered")
        self.response = response


def find_by_key(key: str) -> Response | None:
    """The response stored under an idempotency key, if any."""
    return db.session.scalar(sa.select(Response).where(Response.idempotency_key == key))


def store_response(
    *,
    version: FormVersion,
    district: District,
    language: str,
    source: str | None,
    key: str,
    answers: dict[str, list[str]],
    consent_version: str | None,
    event_id: int | None = None,
    invitation_id: int | None = None,
) -> Receipt:
    """Store one response and its answers in one transaction, once per key.

    A repeat of a key that is already stored (a double click, a retry after a lost
    connection, a replay from an offline queue) returns the first receipt and
    writes nothing. A response to an invitation that already has one raises
    InvitationAnswered (also when two arrive at once: the column is unique).
    """
    slug = version.form.slug  # read now: the commit expires what the session holds
    sensitive = sensitive_names(version)
    for _attempt in range(5):
        existing = find_by_key(key)
        if existing is not None:
            return _repeat(existing, version)
        if invitation_id is not None:
            answered = db.session.scalar(
                sa.select(Response).where(Response.invitation_id == invitation_id)
            )
            if answered is not None:
                raise InvitationAnswered(answered)
        response = Response(
            form_id=version.form_id,
            form_version_id=version.id,
            district_id=district.id,
            language=language,
            source=source,
            event_id=event_id,
            invitation_id=invitation_id,
            idempotency_key=key,
            reference=(reference := make_reference()),
            consent_version=consent_version,
        )
        stored = crypto.seal_answers(answers, sensitive)
        db.session.add(response)
        try:
            db.session.flush()
            rows = [
                {"response_id": response.id, "field": name, "value": value}
                for name, values in stored.items()
                for value in values
            ]
            if rows:  # one statement for all of them
                db.session.execute(sa.insert(Answer), rows)
            db.session.commit()
        except IntegrityError:
            # Either a concurrent request stored this key first, or (very rarely)
            # the reference code collided; the loop tells the two apart.
            db.session.rollback()
            continue
        return Receipt(reference, slug, True)
    raise RuntimeError("could not store the response after 5 attempts")


def _repeat(existing: Response, version: FormVersion) -> Receipt:
    """The receipt of an earlier submission with the same key."""
    if existing.form_id != version.form_id:
        raise KeyConflict(existing.idempotency_key)
    return Receipt(existing.reference, existing.form.slug, False)


def replace_answers(response: Response, answers: dict[str, list[str]], language: str) -> None:
    """Put the respondent's changed answers in place of the earlier ones, in one
    transaction (their personal invitation link, when the form allows changes)."""
    db.session.execute(sa.delete(Answer).where(Answer.response_id == response.id))
    stored = crypto.seal_answers(answers, sensitive_names(response.form_version))
    db.session.add_all(
        Answer(response_id=response.id, field=name, value=value)
        for name, values in stored.items()
        for value in values
    )
    response.language = language
    response.updated_at = utcnow()
    db.session.commit()
    db.session.expire(response, ["answers"])


def answers_as_data(response: Response, multiple: set[str]) -> dict[str, str | list[str]]:
    """A stored response as form data, to show it again for changes; `multiple` names
    the questions that take several values (the others get their one value)."""
    values: dict[str, list[str]] = {}
    for answer in sorted(response.answers, key=lambda a: a.id):
        values.setdefault(answer.field, []).append(crypto.reveal(answer.value))
    return {name: found if name in multiple else found[0] for name, found in values.items()}


def sensitive_names(version: FormVersion) -> list[str]:
    """Questions of the version whose answers are encrypted (privacy/crypto.py)."""
    return [f.name for f in definition_of(version).fields if f.sensitive]
