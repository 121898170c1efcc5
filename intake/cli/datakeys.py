"""`data-keys new|rotate`: the keys that encrypt answers to sensitive questions.

See intake/storage/sealing.py and docs/privacy.md for where the keys live and the order
of a rotation.
"""

from __future__ import annotations

import click
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask.cli import AppGroup

from intake import audit
from intake.extensions import db
from intake.storage import sealing
from intake.storage.models import Answer, FormVersion, Response
from intake.storage.responses import sensitive_names

BATCH = 500


@click.group("data-keys", cls=AppGroup)
def data_keys() -> None:
    """Encryption keys of answers to sensitive (Art. 9) questions."""


@data_keys.command("new")
@click.option("--print-only", is_flag=True, help="Only print a new key (for INTAKE_DATA_KEYS).")
def new(print_only: bool) -> None:
    """Make a new key: first in instance/data_keys, or printed for INTAKE_DATA_KEYS."""
    if print_only:
        click.echo(Fernet.generate_key().decode())
        return
    try:
        sealing.add_new_key()
    except sealing.DataKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    audit.record("data_keys.new", None, "instance/data_keys")
    click.echo("A new key now comes first in instance/data_keys; run `data-keys rotate` next.")


@data_keys.command("rotate")
def rotate() -> None:
    """Re-encrypt every sensitive answer with the first key (also ones stored in plain
    text before their question was marked sensitive)."""
    try:
        sealing.configured_keys()
    except sealing.DataKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    done = 0
    for version in db.session.scalars(sa.select(FormVersion)).all():
        names = sensitive_names(version)
        if not names:
            continue
        last = 0
        while True:
            batch = db.session.scalars(
                sa.select(Answer)
                .join(Response, Answer.response_id == Response.id)
                .where(
                    Response.form_version_id == version.id,
                    Answer.field.in_(names),
                    Answer.id > last,
                )
                .order_by(Answer.id)
                .limit(BATCH)
            ).all()
            if not batch:
                break
            try:
                for answer in batch:
                    answer.value = sealing.rotate(answer.value)
            except sealing.DataKeyError as exc:
                db.session.rollback()
                raise click.ClickException(str(exc)) from exc
            db.session.commit()
            last = batch[-1].id
            done += len(batch)
            click.echo(f"  {done} answers re-encrypted ...")
    audit.record("data_keys.rotate", None, f"answers={done}")
    click.echo(f"{done} sensitive answers are now encrypted with the first key.")
