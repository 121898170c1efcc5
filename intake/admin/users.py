"""Accounts, for administrators: list, create, change, disable, one-time reset links.

Only admins reach these pages (403 for others). Every change is audited with the
account id, never a password. A new account gets no password from the administrator:
the page shows a one-time link that the person uses to set their own.
"""

from __future__ import annotations

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from intake import accounts, audit
from intake.admin.blueprint import bp
from intake.admin.forms import UserForm
from intake.extensions import db
from intake.storage.districts import all_districts
from intake.storage.models import User


def _require_admin() -> None:
    if current_user.role != "admin":
        abort(403)


def _role_labels() -> dict[str, str]:
    return {
        "admin": _("Administrator: accounts, forms and all districts"),
        "coordinator": _("Coordinator: responses, exports and summaries of their districts"),
        "viewer": _("Viewer: summaries only, no personal data"),
    }


def _account_messages() -> dict[str, str]:
    return {
        "exists": _("An account with this email address exists already."),
        "districts": _("Coordinators and viewers need at least one district."),
        "self": _("You cannot change your own role or disable your own account."),
        "last_admin": _("This is the last active administrator; that must stay so."),
        "role": _("Please choose one of the offered answers."),
    }


def _user_form(user: User | None) -> UserForm:
    form = UserForm(obj=None)
    form.role.choices = list(_role_labels().items())
    districts = all_districts()
    form.districts.choices = [(d.slug, d.name) for d in districts]
    if request.method == "GET":
        form.role.data = user.role if user else "coordinator"
        form.districts.data = [d.slug for d in user.districts] if user else []
        form.active.data = user.active if user else True
    return form


def _chosen_districts(form: UserForm):
    by_slug = {d.slug: d for d in all_districts()}
    return [by_slug[slug] for slug in form.districts.data or [] if slug in by_slug]


def _valid_email(form: UserForm) -> str | None:
    try:
        address = (form.email.data or "").strip()
        return validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        form.email.errors = [_("Please enter a valid email address, like name@example.org.")]
        return None


@bp.get("/users")
@login_required
def users_list():
    """Every account with its role, districts and state."""
    _require_admin()
    users = db.session.scalars(sa.select(User).order_by(User.email)).all()
    return render_template("admin/users.html", users=users, roles=_role_labels())


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def user_new():
    """Create an account and show its one-time link for setting a password."""
    _require_admin()
    form = _user_form(None)
    if request.method == "GET" or not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("admin/user_form.html", form=form, user=None), status
    email = _valid_email(form)
    if email is not None:
        try:
            user = accounts.create(email, form.role.data, _chosen_districts(form))
        except accounts.AccountError as exc:
            field = form.email if exc.code == "exists" else form.districts
            if exc.code == "role":
                field = form.role
            field.errors = [_account_messages()[exc.code]]
        else:
            audit.record("user.create", current_user, f"user:{user.id} role={user.role}")
            return _show_link(user, created=True)
    return render_template("admin/user_form.html", form=form, user=None), 422


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@login_required
def user_edit(user_id: int):
    """Change an account's role, districts and whether it may log in."""
    _require_admin()
    user = db.session.get(User, user_id) or abort(404)
    form = _user_form(user)
    del form.email  # the email is the login name and stays as it is
    if request.method == "GET" or not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("admin/user_form.html", form=form, user=user), status
    try:
        accounts.update(
            user,
            form.role.data,
            _chosen_districts(form),
            bool(form.active.data),
            actor=db.session.get(User, current_user.id),
        )
    except accounts.AccountError as exc:
        db.session.rollback()
        field = form.districts if exc.code == "districts" else form.role
        field.errors = [_account_messages()[exc.code]]
        audit.record("user.update", current_user, f"user:{user.id}", outcome="refused")
        return render_template("admin/user_form.html", form=form, user=user), 422
    state = "active" if user.active else "disabled"
    audit.record("user.update", current_user, f"user:{user.id} role={user.role} {state}")
    flash(_("Saved."))
    return redirect(url_for("admin.user_edit", user_id=user.id), code=303)


@bp.post("/users/<int:user_id>/reset-link")
@login_required
def user_reset_link(user_id: int):
    """Make a one-time link with which the person sets a new password."""
    _require_admin()
    user = db.session.get(User, user_id) or abort(404)
    if not user.active:
        flash(_("This account is disabled. Allow it to log in first."))
        return render_template("admin/user_form.html", form=_user_form(user), user=user), 409
    audit.record("user.reset_link", current_user, f"user:{user.id}")
    return _show_link(user, created=False)


def _show_link(user: User, created: bool):
    from flask import current_app

    return render_template(
        "admin/reset_link.html",
        user=user,
        link=accounts.reset_url(user),
        created=created,
        hours=current_app.config["RESET_LINK_HOURS"],
    )
