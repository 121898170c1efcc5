"""Login and logout of coordinators (Flask-Login, argon2id)."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from intake import audit
from intake.admin import bp
from intake.admin.forms import LoginForm
from intake.extensions import db, login_manager
from intake.passwords import verify_password
from intake.storage.models import User, new_nonce, utcnow

login_manager.login_view = "admin.login"
login_manager.login_message = None
login_manager.session_protection = "basic"


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


@bp.route("/login", methods=["GET", "POST"])
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
    # A fresh session at login: nothing from before the login carries over.
    session.clear()
    login_user(user)
    user.last_login_at = utcnow()
    db.session.commit()
    audit.record("login", user)
    return redirect(safe_next(form.next.data) or url_for("admin.dashboard"))


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
    return target
