"""indexes for lists at the national scale: keyset orders and the filters they go with

Revision ID: 0016_scale
Revises: 0015_iae_ea
Create Date: 2026-11-30 05:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0016_scale'
down_revision: str | None = '0015_iae_ea'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOLDED_FAMILY = "replace(replace(replace(replace(translate(lower(family_name), 'àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝŸ’', 'aaaaaaceeeeiiiinooooouuuuyyaaaaaaceeeeiiiinooooouuuuyy'''), 'œ', 'oe'), 'Œ', 'oe'), 'æ', 'ae'), 'Æ', 'ae')"
FOLDED_GIVEN = "replace(replace(replace(replace(translate(lower(given_name), 'àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝŸ’', 'aaaaaaceeeeiiiinooooouuuuyyaaaaaaceeeeiiiinooooouuuuyy'''), 'œ', 'oe'), 'Œ', 'oe'), 'æ', 'ae'), 'Æ', 'ae')"
"""`engine.services.dashboard._folded` of the names on PostgreSQL, as the board's name order
writes it (constants inline): an index on it serves that order without computing it for
every row. SQLite folds with a function of the connection: no index there."""


def upgrade() -> None:
    with op.batch_alter_table('share', schema=None) as batch_op:
        batch_op.create_index('ix_share_org_shared', ['organisation_id', 'shared_at', 'id'], unique=False)
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_network_status_id', ['network', 'status', 'id'], unique=False)
    with op.batch_alter_table('assertion', schema=None) as batch_op:
        batch_op.create_index('ix_assertion_issuer_revoked', ['issuer_id', 'revoked_at'], unique=False)
        batch_op.create_index('ix_assertion_enrollment_held', ['enrollment_id', 'revoked_at', 'badge_class_id', 'recipient_id'], unique=False)
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.create_index('ix_enrollment_structure_id_id', ['structure_id', 'id'], unique=False)
        batch_op.create_index('ix_enrollment_stage_entered', ['pathway_version_id', 'stage', 'status', 'stage_entered_at', 'id'], unique=False)
    with op.batch_alter_table('badgerequest', schema=None) as batch_op:
        batch_op.create_index('ix_badgerequest_structure_status_submitted', ['structure_id', 'status', 'submitted_at', 'id'], unique=False)
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index('ix_person_phone', ['phone'], unique=False)
        batch_op.create_index('ix_person_name', ['family_name', 'given_name', 'id'], unique=False)
    op.create_index('ix_person_lower_email', 'person', [sa.text('lower(email)')], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index(
            'ix_person_folded_name',
            'person',
            [sa.text(f'({FOLDED_FAMILY})'), sa.text(f'({FOLDED_GIVEN})'), 'id'],
            unique=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_person_folded_name', table_name='person')
    op.drop_index('ix_person_lower_email', table_name='person')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index('ix_person_name')
        batch_op.drop_index('ix_person_phone')
    with op.batch_alter_table('badgerequest', schema=None) as batch_op:
        batch_op.drop_index('ix_badgerequest_structure_status_submitted')
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.drop_index('ix_enrollment_stage_entered')
        batch_op.drop_index('ix_enrollment_structure_id_id')
    with op.batch_alter_table('assertion', schema=None) as batch_op:
        batch_op.drop_index('ix_assertion_enrollment_held')
        batch_op.drop_index('ix_assertion_issuer_revoked')
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_network_status_id')
    with op.batch_alter_table('share', schema=None) as batch_op:
        batch_op.drop_index('ix_share_org_shared')
