"""Invitation and reminder emails: one per person, in their language, with their link.

Each email has a plain-text and an HTML part; the HTML part of a right-to-left
language (ar, fa, ps) is laid out right to left. The link is built on PUBLIC_URL (or
the address the office used, when sending from the back office without it).

Every send is recorded on the invitation before the next one starts: accepted by the
SMTP server (`sent_at` / `reminded_at`), or failed with the reason (`send_error`),
after intake.mail's retries. A failed invitation stays in the list as "failed" and is
sent again with "send again" (back office) or `invitations retry` (CLI); nothing is
dropped. If the process stops between the server's "accepted" and our record, that
person can get the email twice; never none.

Plain module: no request access (it runs in a background thread or an RQ worker).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from intake import mail
from intake.engine.definition import FormDefinition
from intake.extensions import db
from intake.i18n import direction
from intake.invitations import store
from intake.storage.forms import published
from intake.storage.models import Invitation, utcnow

KINDS = ("invitation", "reminder")


@dataclass
class Outcome:
    sent: int = 0
    failed: int = 0
    skipped: int = 0


def link(invitation: Invitation, base_url: str) -> str:
    """The person's link, on `base_url` (scheme://host[/prefix])."""
    with current_app.test_request_context(base_url=base_url):
        return url_for("public.invitation", token=store.token_for(invitation), _external=True)


def compose(
    invitation: Invitation,
    base_url: str,
    kind: str = "invitation",
    definition: FormDefinition | None = None,
):
    """The email to one person (an EmailMessage), in their language; `definition` is the
    form's newest, when the caller has it already."""
    definition = definition or published(invitation.form.slug)[2]
    lang = invitation.language
    if lang not in definition.languages:
        lang = definition.default_language
    with force_locale(lang):
        title = definition.title(lang).text
        context = {
            "kind": kind,
            "mail_lang": lang.replace("_", "-"),
            "mail_dir": direction(lang),
            "name": invitation.name,
            "title": title,
            "district": invitation.district.name,
            "link": link(invitation, base_url),
            "expires": invitation.expires_at,
        }
        if kind == "reminder":
            subject = _("Reminder: %(form)s", form=title)
        else:
            subject = _("Your personal link: %(form)s", form=title)
        text = render_template("mail/invitation.txt", **context)
        html = render_template("mail/invitation.html", **context)
    return mail.message(invitation.email, subject, text, html)


def send(
    ids: Sequence[int],
    base_url: str,
    kind: str = "invitation",
    progress: Callable[[int, int], None] | None = None,
) -> Outcome:
    """Send the email of `kind` to each invitation that can still be used."""
    if kind not in KINDS:
        raise ValueError(kind)
    outcome = Outcome()
    definitions: dict[int, FormDefinition] = {}  # parsed once per form, not per email
    for done, invitation_id in enumerate(ids, start=1):
        invitation = db.session.get(Invitation, invitation_id)
        usable = invitation is not None and store.state(invitation) in ("waiting", "sent", "failed")
        if not usable:
            outcome.skipped += 1
        else:
            if invitation.form_id not in definitions:
                definitions[invitation.form_id] = published(invitation.form.slug)[2]
            _send_one(invitation, base_url, kind, outcome, definitions[invitation.form_id])
        if progress:
            progress(done, len(ids))
    return outcome


def _send_one(
    invitation: Invitation, base_url: str, kind: str, outcome: Outcome, definition
) -> None:
    invitation.send_attempts += 1
    try:
        mail.send(compose(invitation, base_url, kind, definition))
    except mail.MailError as exc:
        invitation.send_error = exc.reason
        outcome.failed += 1
        current_app.logger.warning("invitation %s not sent: %s", invitation.id, exc.reason)
    else:
        invitation.send_error = None
        if kind == "reminder" and invitation.sent_at is not None:
            invitation.reminders += 1
            invitation.reminded_at = utcnow()
        else:
            invitation.sent_at = utcnow()
        outcome.sent += 1
    db.session.commit()


def send_in_background(ids: Sequence[int], base_url: str, kind: str = "invitation"):
    """Queue `send` (intake.background): the page that asked does not wait for SMTP."""
    from intake import background

    return background.submit(send, list(ids), base_url, kind)
