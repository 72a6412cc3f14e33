"""network versions, versioned badge classes, network logos

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 22:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('networkversion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('network', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['published_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('network', 'version')
    )
    with op.batch_alter_table('networkversion', schema=None) as batch_op:
        batch_op.create_index('ix_networkversion_network', ['network'], unique=False)
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('logo', sa.LargeBinary(), nullable=True))
    # SQLite's copy of the table has an unnamed unique constraint on slug: the naming
    # convention gives it a name batch mode can drop (alembic's documented recipe).
    sqlite = op.get_bind().dialect.name == 'sqlite'
    unique_slug = 'uq_badgeclass_slug' if sqlite else 'badgeclass_slug_key'
    with op.batch_alter_table(
        'badgeclass',
        schema=None,
        naming_convention={'uq': 'uq_%(table_name)s_%(column_0_name)s'},
    ) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('validity_days', sa.Integer(), nullable=True))
        batch_op.drop_constraint(unique_slug, type_='unique')
        batch_op.create_unique_constraint('uq_badgeclass_slug_version', ['slug', 'version'])
        batch_op.create_index('ix_badgeclass_slug', ['slug'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('badgeclass', schema=None) as batch_op:
        batch_op.drop_index('ix_badgeclass_slug')
        batch_op.drop_constraint('uq_badgeclass_slug_version', type_='unique')
        batch_op.create_unique_constraint('badgeclass_slug_key', ['slug'])
        batch_op.drop_column('validity_days')
        batch_op.drop_column('version')
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('logo')
    with op.batch_alter_table('networkversion', schema=None) as batch_op:
        batch_op.drop_index('ix_networkversion_network')
    op.drop_table('networkversion')
