"""stable subjects and phones of persons, reissued assertions, public ids of enrollments

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 23:00:00.000000
"""
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True))
        batch_op.add_column(sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))
        batch_op.create_unique_constraint('uq_person_subject', ['subject'])
    with op.batch_alter_table('assertion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replaces', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))
        batch_op.create_foreign_key('fk_assertion_replaces', 'assertion', ['replaces'], ['id'])
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True))
        batch_op.create_unique_constraint('uq_enrollment_public_id', ['public_id'])
    # Existing people and enrollments get their random identifiers now.
    bind = op.get_bind()
    for table in ('person', 'enrollment'):
        column = 'subject' if table == 'person' else 'public_id'
        ids = [row[0] for row in bind.execute(sa.text(f'SELECT id FROM {table}'))]
        for row_id in ids:
            bind.execute(
                sa.text(f'UPDATE {table} SET {column} = :value WHERE id = :id'),
                {'value': str(uuid.uuid4()), 'id': row_id},
            )


def downgrade() -> None:
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.drop_constraint('uq_enrollment_public_id', type_='unique')
        batch_op.drop_column('public_id')
    with op.batch_alter_table('assertion', schema=None) as batch_op:
        batch_op.drop_constraint('fk_assertion_replaces', type_='foreignkey')
        batch_op.drop_column('replaces')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_constraint('uq_person_subject', type_='unique')
        batch_op.drop_column('subject')
        batch_op.drop_column('phone')
