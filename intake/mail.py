"""Sending email over the configured SMTP server.

Configuration: SMTP_HOST, SMTP_PORT (25), SMTP_STARTTLS (false), SMTP_USER,
SMTP_PASSWORD, MAIL_FROM. A send is tried MAIL_ATTEMPTS times with a growing pause; if
every try fails, MailError says why (the caller reports it, nothing is silently lost).
Addresses and contents are never logged.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from email.message import EmailMessage

from flask import current_app


class MailError(RuntimeError):
    """The message could not be handed to the SMTP server.

    `reason` is "not_configured", "refused" (the server refused the recipient: trying
    again will not help) or "unreachable" (every try failed).
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def message(
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
) -> EmailMessage:
    """A message with a plain-text part, an optional HTML part and attachments."""
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for filename, mimetype, data in attachments:
        maintype, subtype = mimetype.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def send(msg: EmailMessage) -> None:
    """Hand `msg` to the SMTP server, trying again on temporary failures."""
    config = current_app.config
    if not config.get("SMTP_HOST"):
        raise MailError("no SMTP server is configured (INTAKE_SMTP_HOST)", "not_configured")
    attempts = max(1, int(config["MAIL_ATTEMPTS"]))
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            _deliver(msg, config)
            return
        except smtplib.SMTPRecipientsRefused as exc:  # permanent: trying again will not help
            raise MailError("the SMTP server refused the recipient", "refused") from exc
        except (smtplib.SMTPException, OSError) as exc:
            last = exc
            if attempt + 1 < attempts:
                time.sleep(config["MAIL_RETRY_SECONDS"] * (attempt + 1))
    raise MailError(
        f"the SMTP server could not be reached: {type(last).__name__}", "unreachable"
    ) from last


def _deliver(msg: EmailMessage, config) -> None:
    with smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=30) as smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"] or "")
        smtp.send_message(msg)
