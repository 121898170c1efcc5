"""Login, logout, passwords and session lifetime of back-office accounts.

Sessions: the cookie's user id carries the account's session nonce, so logout and a
password change end every copy of a session. A session also ends after
ADMIN_IDLE_MINUTES without a request and ADMIN_SESSION_HOURS after the login.
Throttling (Flask-Limiter): failed logins count per account (hashed email) and per
client address, with separate limits; a wrong current password on the change form
counts per account too (a weak new password does not). Successful logins do not count.

Known devices: so that nobody can lock a coordinator out by typing wrong passwords
for their email (or from their office's shared address), a successful login leaves a
signed cookie (DEVICE_COOKIE, DEVICE_DAYS long, only sent to the login page) naming a
random device id and the ids of the accounts that logged in with it. A login for one of
those accounts from that browser is outside the per-account and per-address limits and
has a limit of its own (LOGIN_LIMIT_PER_DEVICE, per device and account), so a copied
cookie still gives only a few guesses. Trade-off: docs/deployment.md.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user, login_required, login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from intake import accounts, audit, config
from intake.admin.blueprint import bp
from intake.admin.forms import ChangePasswordForm, LoginForm, NewPasswordForm
from intake.errors import render_error
from intake.extensions import db, limiter, login_manager
from intake.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, verify_password
from intake.storage.models import User, new_nonce, utcnow

login_manager.login_view = "admin.login"
login_manager.login_message = None
login_manager.session_protection = "basic"

DEVICE_COOKIE = "intake_device"
DEVICE_DAYS = 90
DEVICE_ACCOUNTS = 5  # a shared office computer remembers this many accounts
_DEVICE_SALT = "intake.known-device"
#: Used when the config has no LOGIN_LIMIT_PER_DEVICE.
DEFAULT_LIMIT_PER_DEVICE = "20 per 15 minutes"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Find the session's user; a stale nonce (after logout elsewhere) finds nobody."""
    row_id, _sep, nonce = user_id.partition(".")
    if not row_id.isdigit() or not nonce:
        return None
    user = db.session.get(User, int(row_id))
    if user is None or not user.active or user.session_nonce != nonce:
        return None
    return user


def _failed(response) -> bool:
    """Only refused attempts use up the allowance."""
    return response.status_code == 422


def _wrong_current(response) -> bool:
    """On the change form only a wrong current password is a guess (not a weak new one)."""
    return response.status_code == 422 and g.get("wrong_current_password", False)


def _password_messages() -> dict[str, str]:
    """What the back office says for each of accounts.check_password's refusals."""
    return {
        "short": _("The password must have at least %(n)s characters.", n=MIN_PASSWORD_LENGTH),
        "long": _("The password must have at most %(n)s characters.", n=MAX_PASSWORD_LENGTH),
        "email": _("The password must not contain the email address."),
        "guessable": _(
            "This password is too easy to guess: avoid common passwords, single words, "
            "names, repeated characters and sequences. A sentence of four or more unusual "
            "words is easy to remember and hard to guess."
        ),
    }


def _store_new_password(user: User, form) -> bool:
    """Set the form's new password; False (and the reason on the field) when it is refused."""
    try:
        accounts.set_password(user, form.password.data)
    except accounts.AccountError as exc:
        form.password.errors = [_password_messages()[exc.code]]
        return False
    return True


def _login_account_key() -> str:
    email = (request.form.get("email") or "").strip().lower()
    return "account:" + hashlib.sha256(email.encode()).hexdigest()[:32]


def _current_account_key() -> str:
    return f"user:{current_user.get_id().partition('.')[0]}"


def _per_account() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _per_address() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ADDRESS"]


def _per_device() -> str:
    return current_app.config.get("LOGIN_LIMIT_PER_DEVICE") or DEFAULT_LIMIT_PER_DEVICE


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(config.secret_keys(), salt=_DEVICE_SALT)


def _device_cookie() -> dict | None:
    """This browser's known-device cookie, if it is genuine and not too old:
    {"d": random device id, "u": [account ids that logged in with it]}."""
    value = request.cookies.get(DEVICE_COOKIE)
    if not value:
        return None
    try:
        payload = _device_serializer().loads(value, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return None
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("d"), str)
        or not isinstance(payload.get("u"), list)
    ):
        return None
    return {"d": payload["d"], "u": [i for i in payload["u"] if isinstance(i, int)]}


def _known_device() -> str | None:
    """The device id when this login is for an account that logged in from this browser
    before (worked out once a request: the limits and the view all ask)."""
    if "known_device" not in g:
        g.known_device = None
        device = _device_cookie() if request.method == "POST" else None
        if device:
            user = accounts.by_email(request.form.get("email") or "")
            if user is not None and user.id in device["u"]:
                g.known_device = f"{device['d']}:{user.id}"
    return g.known_device


def _on_known_device() -> bool:
    return _known_device() is not None


def _on_other_device() -> bool:
    return _known_device() is None


def _device_key() -> str:
    return f"device:{_known_device()}"


def _remember_device(response, user: User):
    """Name this browser a known device of `user` for DEVICE_DAYS (from this login)."""
    device = _device_cookie() or {"d": secrets.token_urlsafe(16), "u": []}
    ids = [i for i in device["u"] if i != user.id][-(DEVICE_ACCOUNTS - 1) :] + [user.id]
    response.set_cookie(
        DEVICE_COOKIE,
        _device_serializer().dumps({"d": device["d"], "u": ids}),
        max_age=DEVICE_DAYS * 86400,
        path=url_for("admin.login"),
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.before_request
def _session_lifetime():
    """End a back-office session that was idle too long or is older than a working day."""
    if not current_user.is_authenticated:
        return None
    now = time.time()
    config = current_app.config
    started, seen = session.get("auth_at"), session.get("seen_at")
    if (
        not isinstance(started, int | float)
        or not isinstance(seen, int | float)
        or now - seen > config["ADMIN_IDLE_MINUTES"] * 60
        or now - started > config["ADMIN_SESSION_HOURS"] * 3600
    ):
        logout_user()
        session.clear()
        flash(_("Your session has ended. Please log in again."))
        target = request.full_path if request.method == "GET" else None
        return redirect(url_for("admin.login", next=safe_next(target)))
    session["seen_at"] = int(now)
    return None


def _start_session(user: User) -> None:
    """A fresh session: nothing from before the login carries over."""
    session.clear()
    login_user(user)
    now = int(time.time())
    session["auth_at"] = now
    session["seen_at"] = now


@bp.app_errorhandler(RateLimitExceeded)
def _throttled(exc: RateLimitExceeded):
    """Too many failed attempts: say so, and leave a trace for the administrators."""
    if request.endpoint == "admin.login":
        user = accounts.by_email(request.form.get("email") or "")
    else:
        user = current_user if current_user.is_authenticated else None
    action = {"admin.login": "login", "admin.change_password": "user.password_change"}
    audit.record(action.get(request.endpoint or "", "request"), user, outcome="throttled")
    return render_error(
        429, _("Too many failed attempts. Please wait a quarter of an hour and try again.")
    )


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    _per_account,
    key_func=_login_account_key,
    methods=["POST"],
    deduct_when=_failed,
    exempt_when=_on_known_device,
)
@limiter.limit(_per_address, methods=["POST"], deduct_when=_failed, exempt_when=_on_known_device)
@limiter.limit(
    _per_device,
    key_func=_device_key,
    methods=["POST"],
    deduct_when=_failed,
    exempt_when=_on_other_device,
)
def login():
    """Show the login form and sign a coordinator in."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.dashboard"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("admin/login.html", form=form), status
    email = form.email.data.strip().lower()
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if not verify_password(user.password_hash if user else None, form.password.data) or not (
        user and user.active
    ):
        audit.record("login", user, outcome="failed")
        form.password.errors = [_("Email or password is not correct.")]
        return render_template("admin/login.html", form=form), 422
    _start_session(user)
    user.last_login_at = utcnow()
    db.session.commit()
    audit.record("login", user)
    return _remember_device(redirect(safe_next(form.next.data) or url_for("admin.dashboard")), user)


@bp.post("/logout")
@login_required
def logout():
    """Sign out and end every copy of this session."""
    user = db.session.get(User, current_user.id)
    user.session_nonce = new_nonce()
    db.session.commit()
    audit.record("logout", user)
    logout_user()
    session.clear()
    return redirect(url_for("admin.login"))


def safe_next(target: str | None) -> str | None:
    """Only our own back-office paths are followed after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/admin/"):
        return None
    if "\\" in target or target.startswith("//"):
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in target):  # a line break: header injection
        return None
    return target


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit(
    _per_account, key_func=_current_account_key, methods=["POST"], deduct_when=_wrong_current
)
def change_password():
    """Change one's own password; every other session of the account ends."""
    user = db.session.get(User, current_user.id)
    form = ChangePasswordForm()
    form.account_email = user.email
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template(
            "admin/password.html", form=form, min_length=MIN_PASSWORD_LENGTH
        ), status
    if not verify_password(user.password_hash, form.current.data):
        g.wrong_current_password = True
        audit.record("user.password_change", user, f"user:{user.id}", outcome="failed")
        form.current.errors = [_("This is not your current password.")]
        return render_template(
            "admin/password.html", form=form, min_length=MIN_PASSWORD_LENGTH
        ), 422
    if not _store_new_password(user, form):
        return render_template(
            "admin/password.html", form=form, min_length=MIN_PASSWORD_LENGTH
        ), 422
    audit.record("user.password_change", user, f"user:{user.id}")
    _start_session(user)  # this browser stays logged in with the new nonce
    flash(_("Your password was changed. You were logged out everywhere else."))
    return redirect(url_for("admin.dashboard"))


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Set a password through a one-time link made by an administrator."""
    check = accounts.check_reset_token(token)
    if check.user is None:
        audit.record("user.password_reset", None, outcome=check.problem or "invalid")
        text = {
            "expired": _("This link has expired. Please ask your administrator for a new one."),
            "used": _("This link was used already. Please ask your administrator for a new one."),
        }.get(check.problem, _("This link is not valid. Please check that it is complete."))
        return render_error(410 if check.problem in ("expired", "used") else 404, text)
    user = check.user
    form = NewPasswordForm()
    form.account_email = user.email
    if not form.validate_on_submit() or not _store_new_password(user, form):
        status = 422 if request.method == "POST" else 200
        return render_template(
            "admin/reset_password.html", form=form, email=user.email, min_length=MIN_PASSWORD_LENGTH
        ), status
    audit.record("user.password_reset", user, f"user:{user.id}")
    if current_user.is_authenticated:
        logout_user()
    session.clear()
    flash(_("Your password is set. Please log in."))
    return redirect(url_for("admin.login"))
