"""Who may read an enrollment: staff of its structure, admins of its network, the participant
themself; nobody else (another SIAE, a partner, another network's admin, another participant)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, NotFound
from engine.services import accounts, dashboard
from engine.services import enrollments as e
from engine.services.organisations import add_staff
from engine.store.tables import Enrollment, Organisation
from tests.conftest import CIP, DIRECTRICE, NETWORK_ADMIN, OTHER_CIP

PATHWAY = "sato-femmes-metallurgie"
PARTNER = "rh@geiq.example"
INAE_ADMIN = "admin@inae.example"


@pytest.fixture
def reach(sato):
    with sato.unit_of_work() as s:
        add_staff(s, PARTNER, "Paul", "Partenaire", [("sato-interim", "partner")])
        add_staff(s, INAE_ADMIN, "Inès", "Réseau", [("inae", "network_admin")])
    mine = e.enroll(sato, PATHWAY, "sato-interim", e.Participant("A", "A"), by=CIP)
    other = e.enroll(sato, PATHWAY, "sato-interim", e.Participant("B", "B"), by=CIP)
    return sato, mine, other


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        (CIP, True),
        (DIRECTRICE, True),
        (NETWORK_ADMIN, True),  # sato-interim belongs to the SATO network
        (OTHER_CIP, False),
        (PARTNER, False),  # a partner sees what was shared with it, not enrollments
        (INAE_ADMIN, False),
    ],
)
def test_staff_read_only_what_their_roles_reach(reach, who, allowed) -> None:
    rt, eid, _ = reach
    principal = accounts.principal(rt, who)
    if allowed:
        dashboard.may_see(rt, principal, eid)
    else:
        with pytest.raises(Forbidden, match="autre structure"):
            dashboard.may_see(rt, principal, eid)
    with rt.unit_of_work() as s:
        ids = dashboard.structure_ids(s, principal.person_id)
        here = s.execute(select(Organisation.id).where(Organisation.slug == "sato-interim"))
        assert (here.scalar() in ids) == allowed  # the dashboard lists by the same rule


def test_a_participant_reads_only_their_own(reach) -> None:
    rt, mine, other = reach
    st = e.status(rt, mine)
    me = accounts.principal(rt, _participant_id(rt, mine))
    dashboard.may_see(rt, me, mine)
    with pytest.raises(Forbidden, match="pas le vôtre"):
        dashboard.may_see(rt, me, other)
    with pytest.raises(NotFound):
        dashboard.may_see(rt, me, other + 1000)
    assert st.participant == "A A"


def _participant_id(rt, eid: int) -> int:
    with rt.unit_of_work() as s:
        return s.execute(select(Enrollment.participant_id).where(Enrollment.id == eid)).scalar()
