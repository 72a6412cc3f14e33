"""indexes for what a network admin's and a structure's dashboard read at national scale,
and for a network's inbound events page (newest first, all or by status)

Revision ID: 0017_wide_lists
Revises: 0016_scale
Create Date: 2026-11-30 08:15:00.000000
"""
from collections.abc import Sequence

from alembic import op


revision: str = '0017_wide_lists'
down_revision: str | None = '0016_scale'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.create_index('ix_enrollment_structure_stage_entered', ['structure_id', 'status', 'pathway_version_id', 'stage', 'stage_entered_at'], unique=False)
    with op.batch_alter_table('badgerequest', schema=None) as batch_op:
        batch_op.create_index('ix_badgerequest_status_submitted', ['status', 'submitted_at', 'id'], unique=False)
    with op.batch_alter_table('inboundevent', schema=None) as batch_op:
        batch_op.create_index('ix_inboundevent_network_id', ['network', 'id'], unique=False)
        batch_op.create_index('ix_inboundevent_network_status_id', ['network', 'status', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inboundevent', schema=None) as batch_op:
        batch_op.drop_index('ix_inboundevent_network_status_id')
        batch_op.drop_index('ix_inboundevent_network_id')
    with op.batch_alter_table('badgerequest', schema=None) as batch_op:
        batch_op.drop_index('ix_badgerequest_status_submitted')
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.drop_index('ix_enrollment_structure_stage_entered')
