"""A form shown inside another site's page (an iframe on the district's website).

Off by default: a form lists the origins allowed to frame it (Form.embed_origins,
set on its page in the back office), and only a request with `?embed=1` for such a
form gets `Content-Security-Policy: frame-ancestors <origins>` instead of 'none'.

In a cross-site iframe the browser does not send our session cookie (SameSite=Lax,
and browsers block third-party cookies more and more), so an embedded form works
without the session: the CSRF token, the remembered language and the receipt in the
session are replaced by
- a signed, time-limited copy of the page's idempotency key (`embed_sig`): a POST
  must come from a page we rendered within EMBED_MAX_AGE;
- the language in the URL (the form's action and the language links carry it);
- a signed receipt in the thank-you URL (`r`, valid RECEIPT_MAX_AGE), which shows
  the reference code and nothing else.
No cookie is set in embedded mode. See docs/embedding.md.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import g, request
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from intake import config

SALT_KEY = "intake.embed.key"
SALT_RECEIPT = "intake.embed.receipt"
#: How long an embedded page may stay open before sending (like the CSRF token's limit).
EMBED_MAX_AGE = 24 * 3600
#: How long the thank-you URL shows its reference code.
RECEIPT_MAX_AGE = 3600
MAX_ORIGINS = 10
#: Plain http is accepted for these hosts only (a test page on one's own computer).
LOCAL_HOSTS = ("localhost", "127.0.0.1")


def requested() -> bool:
    """Whether this request is for the embedded form."""
    return request.args.get("embed") == "1"


def allow_framing(origins: list[str]) -> None:
    """Let the listed origins frame this response (security.py writes the header)."""
    if origins:
        g.frame_ancestors = list(origins)


def sign_key(key: str) -> str:
    return TimestampSigner(config.secret_keys(), salt=SALT_KEY).sign(key).decode()


def key_signed(key: str | None, signature: str | None) -> bool:
    """Whether `signature` is ours, for this key, and not older than EMBED_MAX_AGE."""
    if not key or not signature:
        return False
    signer = TimestampSigner(config.secret_keys(), salt=SALT_KEY)
    try:
        return signer.unsign(signature, max_age=EMBED_MAX_AGE).decode() == key
    except (BadSignature, SignatureExpired, UnicodeDecodeError):
        return False


def _receipts() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(config.secret_keys(), salt=SALT_RECEIPT)


def receipt_token(slug: str, reference: str) -> str:
    return _receipts().dumps([slug, reference])


def receipt_from(token: str | None, slug: str) -> str | None:
    """The reference code a thank-you URL carries for this form, or None."""
    if not token:
        return None
    try:
        form_slug, reference = _receipts().loads(token, max_age=RECEIPT_MAX_AGE)
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        return None
    return reference if form_slug == slug else None


def parse_origins(text: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Origins from the admin's text (one per line) -> (origins, [(line, reason)]).

    An origin is https://host or https://host:port, nothing after it; http only for
    localhost. Reasons: "format", "scheme", "path", "too_many".
    """
    origins: list[str] = []
    problems: list[tuple[str, str]] = []
    for raw in text.replace(",", "\n").splitlines():
        line = raw.strip()
        if not line:
            continue
        origin, reason = _origin(line)
        if reason:
            problems.append((line, reason))
        elif origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        problems.append(("", "too_many"))
    return origins, problems


def _origin(text: str) -> tuple[str, str | None]:
    if any(ch.isspace() for ch in text) or len(text) > 200:
        return "", "format"
    try:
        parts = urlsplit(text.rstrip("/") if text.count("/") == 3 else text)
        port = parts.port
    except ValueError:
        return "", "format"
    host = (parts.hostname or "").lower()
    if parts.scheme.lower() not in ("https", "http") or not host:
        return "", "format"
    if parts.scheme.lower() == "http" and host not in LOCAL_HOSTS:
        return "", "scheme"
    if parts.username or parts.password or parts.path or parts.query or parts.fragment:
        return "", "path"
    if not all(label and label.replace("-", "").isalnum() for label in host.split(".")):
        return "", "format"
    scheme = parts.scheme.lower()
    default = {"https": 443, "http": 80}[scheme]
    suffix = f":{port}" if port and port != default else ""
    return f"{scheme}://{host}{suffix}", None
