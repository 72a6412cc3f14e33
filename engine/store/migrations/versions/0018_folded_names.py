"""people's names folded (lower case, no accents) in stored columns the board sorts and
searches by, in place of the expression index of 0016 (each sort folded every name again)

Revision ID: 0018_folded_names
Revises: 0017_wide_lists
Create Date: 2026-11-30 08:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0018_folded_names'
down_revision: str | None = '0017_wide_lists'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOLDED_FAMILY = "replace(replace(replace(replace(translate(lower(family_name), 'àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝŸ’', 'aaaaaaceeeeiiiinooooouuuuyyaaaaaaceeeeiiiinooooouuuuyy'''), 'œ', 'oe'), 'Œ', 'oe'), 'æ', 'ae'), 'Æ', 'ae')"
FOLDED_GIVEN = "replace(replace(replace(replace(translate(lower(given_name), 'àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝŸ’', 'aaaaaaceeeeiiiinooooouuuuyyaaaaaaceeeeiiiinooooouuuuyy'''), 'œ', 'oe'), 'Œ', 'oe'), 'æ', 'ae'), 'Æ', 'ae')"
"""`engine.folding.fold_sql` of the names, as of this revision."""


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    if postgresql:
        # computed and stored by PostgreSQL on every write of a name (erasure included)
        op.drop_index('ix_person_folded_name', table_name='person')
        op.execute(
            'ALTER TABLE person '
            f'ADD COLUMN folded_family VARCHAR(120) GENERATED ALWAYS AS ({FOLDED_FAMILY}) STORED, '
            f'ADD COLUMN folded_given VARCHAR(120) GENERATED ALWAYS AS ({FOLDED_GIVEN}) STORED'
        )
    else:
        # SQLite: plain columns the application never writes (the board folds there with a
        # function of the connection)
        with op.batch_alter_table('person', schema=None) as batch_op:
            batch_op.add_column(sa.Column('folded_family', sa.String(length=120), nullable=True))
            batch_op.add_column(sa.Column('folded_given', sa.String(length=120), nullable=True))
    op.create_index('ix_person_folded', 'person', ['folded_family', 'folded_given', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_person_folded', table_name='person')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('folded_given')
        batch_op.drop_column('folded_family')
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index(
            'ix_person_folded_name',
            'person',
            [sa.text(f'({FOLDED_FAMILY})'), sa.text(f'({FOLDED_GIVEN})'), 'id'],
            unique=False,
        )
