"""`users ...`: accounts from the command line (create, list, disable, enable,
reset-link, set-password). The same rules as the back office: intake.accounts."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask.cli import AppGroup

from intake import accounts, audit
from intake.extensions import db
from intake.passwords import PROBLEMS
from intake.storage.districts import by_slug
from intake.storage.models import User


@click.group(cls=AppGroup)
def users() -> None:
    """Manage coordinator accounts."""


@users.command("create")
@click.option("--email", required=True, help="Login email address.")
@click.option("--role", required=True, type=click.Choice(User.ROLES), help="What the user may do.")
@click.option(
    "--district", "districts", multiple=True, help="District slug the user may see (repeatable)."
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--link", is_flag=True, help="Set no password; print a one-time link instead.")
def create(
    email: str, role: str, districts: tuple[str, ...], password_stdin: bool, link: bool
) -> None:
    """Create a user, with a password from standard input or a one-time link."""
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise click.BadParameter(str(exc), param_hint="--email") from None
    if db.session.scalar(sa.select(User).where(User.email == email)):
        raise click.BadParameter(f"a user with {email} exists already", param_hint="--email")
    if role != "admin" and not districts:
        raise click.UsageError("coordinators and viewers need at least one --district")
    found = []
    for slug in districts:
        district = by_slug(slug)
        if district is None:
            raise click.BadParameter(f"no district called '{slug}'", param_hint="--district")
        found.append(district)
    if password_stdin == link:
        raise click.UsageError("give either --password-stdin (and pipe the password in) or --link")
    password = _read_password() if password_stdin else None
    try:
        user = accounts.create(email, role, found, password)
    except accounts.AccountError as exc:
        if exc.code not in PROBLEMS:
            raise
        raise click.UsageError(PROBLEMS[exc.code]) from None
    audit.record("user.create", None, f"user:{user.id} role={role}")
    click.echo(f"Created {role} {email} for {', '.join(d.slug for d in found) or 'all districts'}.")
    if link:
        _print_link(user)


def _read_password() -> str:
    """One line of standard input; intake.accounts judges it (PROBLEMS say why not)."""
    return sys.stdin.readline().rstrip("\r\n")


def _account(email: str) -> User:
    user = accounts.by_email(email)
    if user is None:
        raise click.BadParameter(f"no account with the email {email}", param_hint="EMAIL")
    return user


def _print_link(user: User) -> None:
    try:
        url = accounts.reset_url(user)
    except accounts.AccountError:
        raise click.UsageError(
            "set INTAKE_PUBLIC_URL (the address people open the app at) to print links"
        ) from None
    hours = current_app.config["RESET_LINK_HOURS"]
    click.echo(f"One-time link to set the password (valid {hours} hours):\n{url}")


@users.command("list")
def list_users() -> None:
    """Show every account with role, districts and state."""
    for user in db.session.scalars(sa.select(User).order_by(User.email)):
        districts = ",".join(d.slug for d in user.districts) or "all"
        state = "active" if user.active else "disabled"
        click.echo(f"{user.email}\t{user.role}\t{districts}\t{state}")


@users.command("disable")
@click.argument("email")
def disable(email: str) -> None:
    """Stop an account from logging in and end its sessions now."""
    _set_active(_account(email), False)


@users.command("enable")
@click.argument("email")
def enable(email: str) -> None:
    """Allow a disabled account to log in again."""
    _set_active(_account(email), True)


def _set_active(user: User, active: bool) -> None:
    if user.active == active:
        click.echo(f"{user.email} is {'active' if active else 'disabled'} already.")
        return
    try:
        accounts.set_active(user, active)
    except accounts.AccountError:
        raise click.UsageError(f"{user.email} is the last active administrator") from None
    audit.record("user.update", None, f"user:{user.id} {'active' if active else 'disabled'}")
    click.echo(f"{user.email} {'may log in again' if active else 'is disabled'}.")


@users.command("reset-link")
@click.argument("email")
def reset_link(email: str) -> None:
    """Print a one-time link with which the person sets a new password."""
    user = _account(email)
    if not user.active:
        raise click.UsageError(f"{user.email} is disabled; enable it first")
    audit.record("user.reset_link", None, f"user:{user.id}")
    _print_link(user)


@users.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, required=True, help="Read it from standard input.")
def set_password(email: str, password_stdin: bool) -> None:
    """Set a password (read from standard input) and end every session of the account."""
    user = _account(email)
    try:
        accounts.set_password(user, _read_password())
    except accounts.AccountError as exc:
        raise click.UsageError(PROBLEMS[exc.code]) from None
    audit.record("user.password_reset", None, f"user:{user.id}")
    click.echo(f"New password set for {user.email}; its sessions have ended.")
