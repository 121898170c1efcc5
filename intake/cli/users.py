"""`users create`: coordinator accounts from the command line."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask.cli import AppGroup

from intake import audit
from intake.extensions import db
from intake.passwords import hash_password, password_problem
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
def create(email: str, role: str, districts: tuple[str, ...], password_stdin: bool) -> None:
    """Create a user. The password is read from standard input, never from arguments."""
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
    if not password_stdin:
        raise click.UsageError("give --password-stdin and pipe the password in")
    password = sys.stdin.readline().rstrip("\r\n")
    problem = password_problem(password)
    if problem:
        raise click.UsageError(problem)
    user = User(email=email, role=role, password_hash=hash_password(password), districts=found)
    db.session.add(user)
    db.session.commit()
    audit.record("user.create", None, f"user:{user.id} role={role}")
    click.echo(f"Created {role} {email} for {', '.join(d.slug for d in found) or 'all districts'}.")
