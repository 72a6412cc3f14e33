"""badges held by organisations

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 02:39:35.568529
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Tables whose rows point at assertion.id: SQLite refuses to drop `assertion` while they do.
_REFERRING = ("share", "badgerequest", "recommendationrequest")


def upgrade() -> None:
    op.add_column(
        'badgeclass',
        sa.Column('recipient_kind', sqlmodel.sql.sqltypes.AutoString(length=20), server_default='person', nullable=False),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # SQLite rebuilds `assertion` to make recipient_id nullable: set the rows that point at
        # it aside meanwhile (same ids once the rebuilt table takes the name).
        for table in _REFERRING:
            op.execute(f"CREATE TEMP TABLE _keep_{table} AS SELECT * FROM {table}")
            op.execute(f"DELETE FROM {table}")
    with op.batch_alter_table('assertion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipient_org_id', sa.Integer(), nullable=True))
        batch_op.alter_column('recipient_id', existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_index(batch_op.f('ix_assertion_recipient_org_id'), ['recipient_org_id'], unique=False)
        batch_op.create_foreign_key('fk_assertion_recipient_org_id', 'organisation', ['recipient_org_id'], ['id'])
    if sqlite:
        for table in reversed(_REFERRING):
            op.execute(f"INSERT INTO {table} SELECT * FROM _keep_{table}")
            op.execute(f"DROP TABLE _keep_{table}")


def downgrade() -> None:
    with op.batch_alter_table('assertion', schema=None) as batch_op:
        batch_op.drop_constraint('fk_assertion_recipient_org_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_assertion_recipient_org_id'))
        batch_op.alter_column('recipient_id', existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column('recipient_org_id')
    with op.batch_alter_table('badgeclass', schema=None) as batch_op:
        batch_op.drop_column('recipient_kind')
