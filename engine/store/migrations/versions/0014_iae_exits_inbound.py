"""IAE identifiers (SIRET, département), participants' optional import keys, exit outcomes,
inbound partner events

Revision ID: 0014_iae
Revises: 0013_admin
Create Date: 2026-11-30 04:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0014_iae'
down_revision: str | None = '0013_admin'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('siret', sqlmodel.sql.sqltypes.AutoString(length=14), nullable=True))
        batch_op.add_column(sa.Column('departement', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True))
        batch_op.create_index(batch_op.f('ix_organisation_siret'), ['siret'], unique=True)
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('birth_year', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('pass_iae', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch_op.create_index(batch_op.f('ix_person_pass_iae'), ['pass_iae'], unique=False)
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exit_outcome', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('exit_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('exit_employer', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
    op.create_table('inboundsource',
    sa.Column('network', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('network', 'source')
    )
    op.create_table('inboundevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('network', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('external_ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('enrollment_id', sa.Integer(), nullable=True),
    sa.Column('evidence_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollment.id'], ),
    sa.ForeignKeyConstraint(['evidence_id'], ['evidence.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('network', 'source', 'event_id', name='uq_inboundevent_event')
    )
    with op.batch_alter_table('inboundevent', schema=None) as batch_op:
        batch_op.create_index('ix_inboundevent_external', ['network', 'source', 'external_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_inboundevent_enrollment_id'), ['enrollment_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('inboundevent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inboundevent_enrollment_id'))
        batch_op.drop_index('ix_inboundevent_external')
    op.drop_table('inboundevent')
    op.drop_table('inboundsource')
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.drop_column('exit_employer')
        batch_op.drop_column('exit_on')
        batch_op.drop_column('exit_outcome')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_pass_iae'))
        batch_op.drop_column('pass_iae')
        batch_op.drop_column('birth_year')
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisation_siret'))
        batch_op.drop_column('departement')
        batch_op.drop_column('siret')
