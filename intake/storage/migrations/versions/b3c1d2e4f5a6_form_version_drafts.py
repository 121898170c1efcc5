"""form studio: a form version is a draft until published

Revision ID: b3c1d2e4f5a6
Revises: a882be6b671a
Create Date: 2026-12-04 18:30:00

Every version stored before drafts existed was live, so it counts as published when it
was created.
"""

import sqlalchemy as sa
from alembic import op

revision = "b3c1d2e4f5a6"
down_revision = "a882be6b671a"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("form_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("updated_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_form_version_updated_by_id_user",
            "user",
            ["updated_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.execute("UPDATE form_version SET published_at = created_at")


def downgrade():
    op.execute("DELETE FROM form_version WHERE published_at IS NULL")
    with op.batch_alter_table("form_version", schema=None) as batch_op:
        batch_op.drop_constraint("fk_form_version_updated_by_id_user", type_="foreignkey")
        batch_op.drop_column("updated_by_id")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("revision")
        batch_op.drop_column("published_at")
