"""entreprises adaptées are partners, not SIAE structures

An EA is not one of the SIAE the national IAE platform counts (AI, ACI, EI, EITI, ETTI): a
structure recorded as an EA becomes a partner (an employer at exit), its staff roles partner
roles. The change is not undone: a downgrade cannot tell a former EA from any other partner.

Revision ID: 0015_iae_ea
Revises: 0014_iae
Create Date: 2026-11-30 04:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015_iae_ea'
down_revision: str | None = '0014_iae'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EA = "SELECT id FROM organisation WHERE kind = 'structure' AND structure_kind = 'EA'"


def upgrade() -> None:
    conn = op.get_bind()
    # staff roles first (they are found through the EA's kind): one partner role per person,
    # the structure roles (cip, encadrant, directeur) dropped where the person has it already
    conn.execute(
        sa.text(
            f"DELETE FROM staffrole WHERE organisation_id IN ({_EA}) AND role <> 'partner' "
            "AND EXISTS (SELECT 1 FROM staffrole AS p WHERE p.person_id = staffrole.person_id "
            "AND p.organisation_id = staffrole.organisation_id AND p.role = 'partner')"
        )
    )
    conn.execute(
        sa.text(
            f"DELETE FROM staffrole WHERE organisation_id IN ({_EA}) AND role <> 'partner' "
            "AND id NOT IN (SELECT MIN(id) FROM staffrole WHERE organisation_id IN "
            f"({_EA}) AND role <> 'partner' GROUP BY person_id, organisation_id)"
        )
    )
    conn.execute(
        sa.text(f"UPDATE staffrole SET role = 'partner' WHERE organisation_id IN ({_EA})")
    )
    conn.execute(
        sa.text(
            "UPDATE organisation SET kind = 'partner', structure_kind = NULL "
            "WHERE kind = 'structure' AND structure_kind = 'EA'"
        )
    )


def downgrade() -> None:
    pass
