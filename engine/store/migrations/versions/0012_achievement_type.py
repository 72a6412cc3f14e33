"""the OB 3.0 achievementType a network's catalogue may give a badge class

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('badgeclass', schema=None) as batch_op:
        batch_op.add_column(sa.Column('achievement_type', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('badgeclass', schema=None) as batch_op:
        batch_op.drop_column('achievement_type')
