"""staff password links (invitations and « mot de passe oublié »)

Revision ID: 0013_admin
Revises: 0012
Create Date: 2026-11-30 01:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0013_admin'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('passwordlink',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('passwordlink', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passwordlink_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('passwordlink', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passwordlink_person_id'))
    op.drop_table('passwordlink')
