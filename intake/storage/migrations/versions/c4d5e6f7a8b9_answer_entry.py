"""repeats: the entry (from 1) of an answer to a question inside a repeat

Revision ID: c4d5e6f7a8b9
Revises: b3c1d2e4f5a6
Create Date: 2026-12-07 23:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c4d5e6f7a8b9"
down_revision = "b3c1d2e4f5a6"
branch_labels = None
depends_on = None


def upgrade():
    # Nullable, no default: every answer stored so far is of no entry, and adding the
    # column rewrites no row (SQLite and PostgreSQL only change the table's schema).
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entry", sa.SmallInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table("answer", schema=None) as batch_op:
        batch_op.drop_column("entry")
