"""credential offers and wallet nonces (OpenID for Verifiable Credential Issuance)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('credentialoffer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('assertions', sa.JSON(), nullable=False),
    sa.Column('delivered', sa.JSON(), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('redeemed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('token_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('credentialoffer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credentialoffer_person_id'), ['person_id'], unique=False)

    op.create_table('walletnonce',
    sa.Column('nonce_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('nonce_hash')
    )
    with op.batch_alter_table('walletnonce', schema=None) as batch_op:
        batch_op.create_index('ix_walletnonce_expires_at', ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('walletnonce', schema=None) as batch_op:
        batch_op.drop_index('ix_walletnonce_expires_at')
    op.drop_table('walletnonce')
    with op.batch_alter_table('credentialoffer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credentialoffer_person_id'))
    op.drop_table('credentialoffer')
