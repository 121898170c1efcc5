"""Coordinator accounts: create, change, disable, passwords and one-time reset links.

Shared by the back office and the `users` CLI, so nothing here reads the request.

A reset link is a signed token holding the user id and a fingerprint of the current
password hash. Setting a password changes the hash, so a link works once; it also
expires after RESET_LINK_HOURS. A new account starts with an unusable random password
and a reset link, so no administrator ever knows another person's password.
A password someone chooses must pass intake.passwords.weakness (length, not the email,
not guessable); AccountError's code then says why ("short", "long", "email", "guessable").
Every password change renews the user's session nonce: all other sessions of the
user (a copied cookie included) end at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from intake import config
from intake.extensions import db
from intake.passwords import hash_password, weakness
from intake.storage.models import District, User, new_nonce

_RESET_SALT = "intake.password-reset"


class AccountError(ValueError):
    """A change that would leave the accounts in a bad state; `code` names the reason."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class ResetCheck:
    """The outcome of reading a reset token: the user, or why the link does not work."""

    user: User | None
    problem: str | None  # "invalid", "expired", "used" or None


def by_email(email: str) -> User | None:
    """The account with this (case-insensitive) email address."""
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def create(email: str, role: str, districts: list[District], password: str | None = None) -> User:
    """A new account; without a password it can only be used through a reset link."""
    email = email.strip().lower()
    if role not in User.ROLES:
        raise AccountError("role")
    if by_email(email) is not None:
        raise AccountError("exists")
    if role != "admin" and not districts:
        raise AccountError("districts")
    if password is not None:
        check_password(password, email)
    user = User(
        email=email,
        role=role,
        districts=list(districts),
        password_hash=hash_password(password or secrets.token_urlsafe(32)),
    )
    db.session.add(user)
    db.session.commit()
    return user


def update(user: User, role: str, districts: list[District], active: bool, actor: User) -> None:
    """Change role, districts and whether the account may log in."""
    if role not in User.ROLES:
        raise AccountError("role")
    if role != "admin" and not districts:
        raise AccountError("districts")
    if user.id == actor.id and (role != user.role or not active):
        raise AccountError("self")
    if role != "admin":
        _keep_an_admin(user)
    set_active(user, active, commit=False)
    user.role = role
    user.districts = list(districts)
    db.session.commit()


def set_active(user: User, active: bool, commit: bool = True) -> None:
    """Allow or stop logins; disabling ends every open session at once."""
    if not active:
        _keep_an_admin(user)
        if user.active:
            user.session_nonce = new_nonce()
    user.active = active
    if commit:
        db.session.commit()


def _keep_an_admin(user: User) -> None:
    """Refuse to take away the last active administrator."""
    if user.role == "admin" and user.active and _other_active_admins(user) == 0:
        raise AccountError("last_admin")


def _other_active_admins(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(User)
        .where(User.role == "admin", User.active.is_(True), User.id != user.id)
    )


def check_password(password: str, email: str) -> None:
    """Refuse a new password that is too short, too long, the email, or guessable."""
    problem = weakness(password, email)
    if problem:
        raise AccountError(problem)


def set_password(user: User, password: str) -> None:
    """Store a new (acceptable) password and end every session of the user."""
    check_password(password, user.email)
    user.password_hash = hash_password(password)
    user.session_nonce = new_nonce()
    db.session.commit()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(config.secret_keys(), salt=_RESET_SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:24]


def reset_token(user: User) -> str:
    """A signed one-time token for setting the user's password."""
    return _serializer().dumps({"u": user.id, "f": _fingerprint(user)})


def check_reset_token(token: str) -> ResetCheck:
    """The user a reset token is for, or why it cannot be used (any more)."""
    max_age = int(current_app.config["RESET_LINK_HOURS"] * 3600)
    try:
        payload = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        return ResetCheck(None, "expired")
    except BadSignature:
        return ResetCheck(None, "invalid")
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        return ResetCheck(None, "invalid")
    user = db.session.get(User, payload["u"])
    if user is None or not user.active:
        return ResetCheck(None, "invalid")
    if not secrets.compare_digest(str(payload.get("f", "")), _fingerprint(user)):
        return ResetCheck(None, "used")
    return ResetCheck(user, None)


def reset_url(user: User) -> str:
    """The full reset link, on PUBLIC_URL."""
    return external_url("admin.reset_password", token=reset_token(user))


def external_url(endpoint: str, **values: object) -> str:
    """An absolute link to `endpoint` on PUBLIC_URL, in a request or outside one (CLI,
    background jobs).

    Never on the request's own Host header: a password link, a kiosk link or an
    invitation made from a request whose Host an attacker chose would send people to
    the attacker's site. Production refuses to start without PUBLIC_URL (config.py).
    """
    base = current_app.config.get("PUBLIC_URL")
    if not base:
        raise AccountError("public_url")
    with current_app.test_request_context(base_url=base):
        return url_for(endpoint, _external=True, **values)
