"""Response headers that keep pages from loading or leaking anything off-site."""

from __future__ import annotations

from flask import Flask, Response, g, request

# No inline script or style, nothing from another host, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)


def init_app(app: Flask) -> None:
    """Add the headers to every response."""
    app.after_request(_headers)


def _headers(response: Response) -> Response:
    headers = response.headers
    framers = g.get("frame_ancestors")
    if framers:
        # An embedded form (public/embed.py): only the origins its form allows may
        # frame it. X-Frame-Options knows no list, and CSP takes precedence anyway.
        csp = CSP.replace("frame-ancestors 'none'", "frame-ancestors " + " ".join(framers))
        headers.setdefault("Content-Security-Policy", csp)
    else:
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # Invitation, kiosk and password links carry tokens; they must not travel to
    # another site in Referer. Same-origin requests keep it: Flask-WTF checks the
    # Referer of every HTTPS POST against our own host (WTF_CSRF_SSL_STRICT).
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.blueprint == "admin":
        headers["Cache-Control"] = "no-store"
    return response
