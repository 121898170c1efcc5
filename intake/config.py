"""Configuration layering: defaults, then instance/config.py, then INTAKE_* variables.

The secret key decides whether the app may start. In production (the default
environment) a missing, short or well-known key stops the app. In development
(`INTAKE_ENVIRONMENT=development`, set by `.flaskenv` and `make run`) a random key
is generated once into `instance/secret_key` so the demo runs with no set-up.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import limits
from flask import Flask, current_app

#: The project folder: templates/, translations/ and instance/ are beside the package.
ROOT = Path(__file__).resolve().parent.parent

MIN_SECRET_LENGTH = 32
WEAK_SECRETS = {"dev", "secret", "changeme", "change-me", "development", "password"}
#: Words of a placeholder left in place ("change-me-to-64-random-characters", as in
#: docs/deploy/intake.env.example). Six letters or more each, so a random key of 64
#: URL-safe characters holds one by chance less than once in a million keys.
PLACEHOLDER_WORDS = ("change", "replace", "random", "secret", "example", "placeholder")


def defaults(instance_path: Path) -> dict[str, Any]:
    """Settings used when nothing else says otherwise."""
    return {
        "ENVIRONMENT": "production",
        "SECRET_KEY": None,
        "DATABASE_URL": f"sqlite:///{instance_path / 'intake.sqlite3'}",
        # Languages with a UI catalog; the first is the fallback.
        "LANGUAGES": ["de", "en", "ar", "fa", "ps", "tr", "ku", "uk", "ru", "so", "ti", "fr"],
        "ADMIN_LANGUAGES": ["de", "en"],
        "DEFAULT_LANGUAGE": "de",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Berlin",
        # A respondent may take a long time on a phone; the CSRF token lives as
        # long as the session, and an expired one re-renders the form with the
        # answers kept instead of losing them.
        "WTF_CSRF_TIME_LIMIT": None,
        # The signed cookie is never accepted after this long (a working day).
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=10),
        # Back-office sessions end after this many minutes without a request, and
        # this many hours after the login, whatever happens in between.
        "ADMIN_IDLE_MINUTES": 30,
        "ADMIN_SESSION_HOURS": 10,
        # Failed logins (and wrong current passwords) allowed per account and per
        # client address; the address limit is higher because an office shares one.
        "LOGIN_LIMIT_PER_ACCOUNT": "5 per 15 minutes",
        "LOGIN_LIMIT_PER_ADDRESS": "30 per 15 minutes",
        # Logins from a browser where the account logged in before (a signed cookie)
        # skip the two limits above and have this one, per browser and account: an
        # outsider's wrong passwords cannot lock the owner out (admin/auth.py).
        "LOGIN_LIMIT_PER_DEVICE": "20 per 15 minutes",
        # New responses stored through public links per client address (a kiosk and a
        # personal invitation do not count); over it, the form comes back with every
        # answer and asks to send again later. Generous, as a shelter or an office
        # shares one address. "" turns it off.
        "SUBMIT_LIMIT_PER_ADDRESS": "100 per 10 minutes",
        # New answers one event's kiosks may store, all its tablets together (a busy
        # evening brings a few hundred in hours); a stolen kiosk link cannot flood the
        # database. "" turns it off. See intake/kiosk/queue.py.
        "KIOSK_LIMIT_PER_EVENT": "600 per 10 minutes",
        # Seconds a process keeps a published form and the districts for the public
        # pages; its own changes apply at once, another process's within this time
        # (intake/storage/cache.py). 0 turns it off.
        "PUBLIC_CACHE_SECONDS": 5,
        "RATELIMIT_STORAGE_URI": "memory://",
        # Redis gone: each process counts in memory until it answers again, rather than
        # refusing every login (Flask-Limiter); public submissions are then not limited.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": False,
        # Host names the app answers to (Flask checks the Host header), e.g.
        # INTAKE_TRUSTED_HOSTS='["intake.kreis-mainz-bingen.de"]'; in production it
        # defaults to PUBLIC_URL's host name.
        "TRUSTED_HOSTS": None,
        # Reverse proxies in front of the app (0: none). With 1, the client address
        # (for login throttling), scheme (HSTS, secure cookies) and host come from the
        # proxy's X-Forwarded-* headers; never set it higher than the real number.
        "PROXY_COUNT": 0,
        # The address people reach the app at. Every absolute link (password links,
        # kiosk links, invitations, posters) is built on it, never on the Host header a
        # request happens to carry. Required in production; development uses the local
        # server.
        "PUBLIC_URL": None,
        "RESET_LINK_HOURS": 72,
        # A PDF summary with more appendix rows than this is made in the background
        # (progress page, download when ready); its file is kept this many hours.
        "PDF_INLINE_MAX_ROWS": 3000,
        "PDF_INLINE_MAX_RESPONSES": 50_000,
        "REPORT_JOB_HOURS": 24,
        "REPORT_FOLDER": None,  # default: instance/reports
        # /readyz says "disk" (503) when the database's or the PDF folder's disk has
        # less free space than this.
        "READY_MIN_FREE_MB": 64,
        # With a Redis URL, background PDF summaries go to an RQ queue that any number of
        # `flask --app intake worker` processes take them from (several app instances);
        # without one, a thread of the web process makes them.
        "REDIS_URL": None,
        "REPORT_QUEUE": "intake-reports",
        # Outgoing email (weekly summaries; invitations later).
        "SMTP_HOST": None,
        "SMTP_PORT": 25,
        "SMTP_STARTTLS": False,
        "SMTP_USER": None,
        "SMTP_PASSWORD": None,
        "MAIL_FROM": "Intake <intake@localhost>",
        # Fernet keys for sensitive answers (storage/sealing.py); None: instance/data_keys.
        "DATA_KEYS": None,
        "DATA_KEYS_FILE": None,
        "MAIL_ATTEMPTS": 3,
        "MAIL_RETRY_SECONDS": 5,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": True,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "SQLITE_BUSY_TIMEOUT_MS": 15000,
        # PostgreSQL: seconds to wait for a connection (new or from the pool), and the
        # longest a statement may run (ms), so a silent server gives a 503 quickly.
        "DATABASE_CONNECT_TIMEOUT": 5,
        "DATABASE_STATEMENT_TIMEOUT_MS": 15000,
        "SHOW_DEMO_PASSWORDS": False,
    }


def load(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill app.config from defaults, the instance file, the environment, or a test mapping."""
    instance = Path(app.instance_path)
    app.config.from_mapping(defaults(instance))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("INTAKE")
    else:
        app.config.from_mapping(test_config)
    development = app.config["ENVIRONMENT"] == "development"
    if development:
        # Plain-HTTP localhost must still get its session cookie.
        if "INTAKE_SESSION_COOKIE_SECURE" not in os.environ:
            app.config["SESSION_COOKIE_SECURE"] = False
        app.config["SHOW_DEMO_PASSWORDS"] = True
        if not app.config["PUBLIC_URL"]:
            app.config["PUBLIC_URL"] = "http://127.0.0.1:5000"
        if not app.config["SECRET_KEY"]:
            app.config["SECRET_KEY"] = _development_secret(instance)
    check_secret_key(app.config.get("SECRET_KEY"))
    fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or []
    if not isinstance(fallbacks, list) or not all(
        isinstance(key, str) and key for key in fallbacks
    ):
        raise RuntimeError(
            "INTAKE_SECRET_KEY_FALLBACKS must be a JSON list of earlier secret keys, "
            """e.g. '["the-old-key"]'."""
        )
    app.config["SECRET_KEY_FALLBACKS"] = fallbacks
    check_limit("SUBMIT_LIMIT_PER_ADDRESS", app.config["SUBMIT_LIMIT_PER_ADDRESS"])
    check_limit("KIOSK_LIMIT_PER_EVENT", app.config["KIOSK_LIMIT_PER_EVENT"])
    seconds = app.config["PUBLIC_CACHE_SECONDS"]
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 <= seconds <= 3600
    ):
        raise RuntimeError(
            "INTAKE_PUBLIC_CACHE_SECONDS must be a number of seconds from 0 to 3600, "
            f"e.g. 5; got {seconds!r}."
        )
    if not development and not app.testing:
        check_public_url(app)
    if str(app.config["RATELIMIT_STORAGE_URI"]).startswith(("redis://", "rediss://")):
        # An unreachable Redis must cost a request a second, not the system's TCP timeout.
        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 1}
        )
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    if str(app.config["DATABASE_URL"]).startswith("postgresql"):
        _bound_database_waits(app)


def _bound_database_waits(app: Flask) -> None:
    """A database server that accepts connections and then never answers must cost a
    request seconds, not minutes: without these a request waited 95 s and gunicorn's
    worker timeout never fired. Connecting and handing out a pooled connection wait
    DATABASE_CONNECT_TIMEOUT seconds at most; the statement timeout is set per
    connection (storage/engine_events.py); a connection whose packets stop being
    acknowledged is given up by the kernel after the TCP user timeout."""
    seconds = int(app.config["DATABASE_CONNECT_TIMEOUT"])
    options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    connect_args = dict(options.get("connect_args", {}))
    connect_args.setdefault("connect_timeout", seconds)
    connect_args.setdefault("tcp_user_timeout", seconds * 1000)
    options["connect_args"] = connect_args
    options.setdefault("pool_timeout", seconds)
    options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def check_public_url(app: Flask) -> None:
    """Production needs the public address (links are built on it) and answers only to
    the host names it is told (by default, the public address's)."""
    url = app.config.get("PUBLIC_URL")
    parts = urlsplit(str(url or ""))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RuntimeError(
            "INTAKE_PUBLIC_URL is not set (or is not an http(s) address): links in emails, "
            "on posters and for kiosks are built on it. Set it to the address people open "
            "the app at, e.g. INTAKE_PUBLIC_URL=https://intake.example.org"
        )
    app.config["PUBLIC_URL"] = str(url).rstrip("/")
    if not app.config["TRUSTED_HOSTS"]:
        app.config["TRUSTED_HOSTS"] = [parts.hostname]


def check_secret_key(key: Any) -> None:
    """Refuse to run with a secret that could be guessed."""
    if not key or not isinstance(key, str | bytes):
        raise RuntimeError(
            "INTAKE_SECRET_KEY is not set. Set it to a random value of at least "
            f"{MIN_SECRET_LENGTH} characters, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
        )
    text = key.decode() if isinstance(key, bytes) else key
    repeated = re.fullmatch(r"(.{1,16})\1+", text) is not None  # "change-me" * 4
    placeholder = any(word in text.lower() for word in PLACEHOLDER_WORDS)
    if (
        len(text) < MIN_SECRET_LENGTH
        or text.lower() in WEAK_SECRETS
        or len(set(text)) < 8
        or repeated
        or placeholder
    ):
        raise RuntimeError(
            f"INTAKE_SECRET_KEY is too weak: use a random value of at least "
            f"{MIN_SECRET_LENGTH} characters."
        )


def secret_keys() -> list[str | bytes]:
    """Keys for itsdangerous: earlier ones (SECRET_KEY_FALLBACKS) still accepted, the
    current key last, which signs; the order Flask uses for the session cookie."""
    config = current_app.config
    return [*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"]]


def check_limit(name: str, value: Any) -> None:
    """A rate limit such as "100 per 10 minutes" (or "" for none) or a clear refusal."""
    if value == "":
        return
    try:
        limits.parse(value)
    except (ValueError, TypeError):
        raise RuntimeError(
            f"INTAKE_{name} is {value!r}; write it like '100 per 10 minutes', or '' for none."
        ) from None


def _development_secret(instance: Path) -> str:
    """Read or create the per-checkout development secret in instance/."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
