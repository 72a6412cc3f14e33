"""revoked badges by issuer, in a partial index that holds only them: an issuer's revocation
list (86,000 entries at national scale) and the revoked places of its status lists are read
from the index alone, and issuing a badge no longer writes an entry for it

Revision ID: 0020_revoked_badges
Revises: 0019_organisation_names
Create Date: 2026-11-30 13:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0020_revoked_badges'
down_revision: str | None = '0019_organisation_names'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_assertion_issuer_revoked', table_name='assertion')
    op.create_index(
        'ix_assertion_revoked',
        'assertion',
        ['issuer_id', 'revoked_at'],
        unique=False,
        postgresql_include=['id', 'revocation_reason', 'status_index'],
        postgresql_where=sa.text('revoked_at IS NOT NULL'),
        sqlite_where=sa.text('revoked_at IS NOT NULL'),
    )


def downgrade() -> None:
    op.drop_index('ix_assertion_revoked', table_name='assertion')
    op.create_index(
        'ix_assertion_issuer_revoked', 'assertion', ['issuer_id', 'revoked_at'], unique=False
    )
