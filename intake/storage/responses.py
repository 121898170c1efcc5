"""Storing responses exactly once per idempotency key, with a short reference code."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from intake.engine.definition import FormDefinition
from intake.engine.repeats import instance_name, split_instance
from intake.extensions import db
from intake.storage import sealing
from intake.storage.forms import definition_of
from intake.storage.models import Answer, District, Form, FormVersion, Response, utcnow

CAMPAIGN_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def is_campaign(value: str | None) -> bool:
    """A campaign tag (`src=` of a link) is short plain text, and `event-...` is reserved
    for the kiosks of events, so a link cannot pose as one."""
    return bool(value) and bool(CAMPAIGN_RE.match(value)) and not value.lower().startswith("event-")


# No 0/O, 1/I/L, 5/S, 2/Z: the code is read aloud and typed from paper.
REFERENCE_ALPHABET = "346789ABCDEFGHJKMNPQRTUVWXY"
REFERENCE_LENGTH = 8


def make_reference() -> str:
    """A short code such as 'K7MX-4QRT' (27^8, about 2.8e11 possibilities).

    One draw from the system's randomness for the whole code (not one per letter).
    """
    number = secrets.randbelow(len(REFERENCE_ALPHABET) ** REFERENCE_LENGTH)
    letters = []
    for _ in range(REFERENCE_LENGTH):
        number, index = divmod(number, len(REFERENCE_ALPHABET))
        letters.append(REFERENCE_ALPHABET[index])
    return f"{''.join(letters[:4])}-{''.join(letters[4:])}"


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


@dataclass(frozen=True)
class Stored:
    """What an idempotency key's stored response tells a repeat of its submission."""

    form_id: int
    invitation_id: int | None
    reference: str
    form_slug: str


# Built once: the two statements every submission runs, executed on the session's
# connection (Core, no ORM objects), so each costs its round trip and little else.
_STORED_UNDER = (
    sa.select(Response.form_id, Response.invitation_id, Response.reference, Form.slug)
    .join(Form, Form.id == Response.form_id)
    .where(Response.idempotency_key == sa.bindparam("key"))
)
_INSERT_RESPONSE = sa.insert(Response.__table__)
_INSERT_ANSWERS = sa.insert(Answer.__table__)


def stored_under(key: str) -> Stored | None:
    """The response stored under an idempotency key, as its receipt needs it, or None."""
    row = db.session.connection().execute(_STORED_UNDER, {"key": key}).first()
    return Stored(*row) if row is not None else None


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
    definition: FormDefinition | None = None,
) -> Receipt:
    """Store one response and its answers in one transaction, once per key.

    A repeat of a key that is already stored (a double click, a retry after a lost
    connection, a replay from an offline queue) returns the first receipt and
    writes nothing: the key's unique index refuses the second row (callers ask
    `stored_under` first, to answer a repeat without trying). A response to an
    invitation that already has one raises InvitationAnswered (also when two
    arrive at once: the column is unique).
    `version` and `district` need only their ids (the public pages pass the
    facts of storage/cache.py); `definition` is the version's, when known.
    """
    definition = definition or definition_of(version)
    stored = sealing.seal(answers, definition.sensitive_names)
    for _attempt in range(5):
        if invitation_id is not None:
            answered = db.session.scalar(
                sa.select(Response).where(Response.invitation_id == invitation_id)
            )
            if answered is not None:
                raise InvitationAnswered(answered)
        reference = make_reference()
        row = {
            "form_id": version.form_id,
            "form_version_id": version.id,
            "district_id": district.id,
            "language": language,
            "source": source,
            "event_id": event_id,
            "invitation_id": invitation_id,
            "idempotency_key": key,
            "reference": reference,
            "consent_version": consent_version,
        }
        try:
            # One transaction of its own, on the engine: the request's ORM session has
            # nothing to add to it, and its commit machinery costs more than the writes.
            with db.engine.begin() as connection:
                # The new id: SQLite's last row id, PostgreSQL's RETURNING.
                response_id = connection.execute(_INSERT_RESPONSE, row).inserted_primary_key[0]
                rows = [
                    {"response_id": response_id, "field": field, "value": value, "entry": entry}
                    for name, values in stored.items()
                    for field, entry in [split_instance(name)]
                    for value in values
                ]
                if rows:  # one statement for all of them
                    connection.execute(_INSERT_ANSWERS, rows)
        except IntegrityError:
            # A request with the same key stored it first (a double click, a retry
            # racing the first send), or (very rarely) the reference code collided,
            # or the invitation was answered meanwhile: the loop tells them apart.
            db.session.rollback()
            existing = stored_under(key)
            if existing is not None:
                return _repeat(existing, version, invitation_id)
            continue
        return Receipt(reference, definition.slug, True)
    raise RuntimeError("could not store the response after 5 attempts")


def _repeat(existing: Stored, version: FormVersion, invitation_id: int | None) -> Receipt:
    """The receipt of an earlier submission with the same key (of the same form, and of
    the same invitation when this one answers an invitation)."""
    if existing.form_id != version.form_id or (
        invitation_id is not None and existing.invitation_id != invitation_id
    ):
        raise KeyConflict(existing.form_slug)
    return Receipt(existing.reference, existing.form_slug, False)


def replace_answers(response: Response, answers: dict[str, list[str]], language: str) -> None:
    """Put the respondent's changed answers in place of the earlier ones, in one
    transaction (their personal invitation link, when the form allows changes)."""
    db.session.execute(sa.delete(Answer).where(Answer.response_id == response.id))
    stored = sealing.seal(answers, sensitive_names(response.form_version))
    db.session.add_all(
        Answer(response_id=response.id, field=field, value=value, entry=entry)
        for name, values in stored.items()
        for field, entry in [split_instance(name)]
        for value in values
    )
    response.language = language
    response.updated_at = utcnow()
    db.session.commit()
    db.session.expire(response, ["answers"])


def answers_as_data(response: Response, multiple: set[str]) -> dict[str, str | list[str]]:
    """A stored response as form data, to show it again for changes; `multiple` names
    the questions that take several values (the others get their one value)."""
    values = answer_values(response)
    return {
        name: found if split_instance(name)[0] in multiple else found[0]
        for name, found in values.items()
    }


def answer_values(response: Response) -> dict[str, list[str]]:
    """The answers of `response` as given (sensitive ones revealed), per question in the
    order they were stored: the one way readers get them back. A question inside a
    repeat gives an entry's answers as the pages name them ("age-2")."""
    values: dict[str, list[str]] = {}
    for answer in sorted(response.answers, key=lambda a: a.id):
        name = answer.field if answer.entry is None else instance_name(answer.field, answer.entry)
        values.setdefault(name, []).append(sealing.reveal(answer.value))
    return values


def sensitive_names(version: FormVersion) -> list[str]:
    """Questions of the version whose answers are sealed (storage/sealing.py)."""
    return definition_of(version).sensitive_names
