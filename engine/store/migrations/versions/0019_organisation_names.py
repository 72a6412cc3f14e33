"""organisations by kind and name: the first structures of a network by name (a network
admin's overview) and the structures a form may list, found in name order instead of
sorting a network's thousands

Revision ID: 0019_organisation_names
Revises: 0018_folded_names
Create Date: 2026-11-30 10:50:00.000000
"""
from collections.abc import Sequence

from alembic import op


revision: str = '0019_organisation_names'
down_revision: str | None = '0018_folded_names'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.create_index('ix_organisation_kind_name', ['kind', 'name', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_index('ix_organisation_kind_name')
