"""Who may read an enrollment: staff of its structure, admins of its network, the participant
themself; nobody else (another SIAE, a partner, another network's admin, another participant)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import Forbidden, NotFound
from engine.services import badges, dashboard
from engine.services import enrollment_views as ev
from engine.services import enrollments as e
from engine.services.organisations import add_staff
from engine.store.tables import Enrollment, Organisation
from tests.conftest import CIP, DIRECTRICE, NETWORK_ADMIN, OTHER_CIP, actor

PATHWAY = "sato-femmes-metallurgie"
PARTNER = "rh@geiq.example"
INAE_ADMIN = "admin@inae.example"


@pytest.fixture
def reach(sato):
    with sato.unit_of_work() as s:
        add_staff(s, PARTNER, "Paul", "Partenaire", [("sato-interim", "partner")])
        add_staff(s, INAE_ADMIN, "Inès", "Réseau", [("inae", "network_admin")])
    cip = actor(sato, CIP)
    mine = e.enroll(sato, PATHWAY, "sato-interim", e.Participant("A", "A"), by=cip)
    other = e.enroll(sato, PATHWAY, "sato-interim", e.Participant("B", "B"), by=cip)
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
    principal = actor(rt, who)
    reads = (
        lambda: ev.status(rt, eid, by=principal),
        lambda: ev.history(rt, eid, by=principal),
        lambda: badges.badges_of(rt, eid, by=principal),
    )
    for read in reads:
        if allowed:
            read()
        else:
            with pytest.raises(Forbidden, match="vous ne pouvez pas consulter un parcours ici"):
                read()
    with rt.unit_of_work() as s:
        ids = dashboard.structure_ids(s, principal.person_id)
        here = s.execute(select(Organisation.id).where(Organisation.slug == "sato-interim"))
        assert (here.scalar() in ids) == allowed  # the dashboard lists by the same rule
    listed = {row.id for row in dashboard.enrollments(rt, principal).items}
    assert (eid in listed) == allowed


def test_a_participant_reads_only_their_own(reach) -> None:
    rt, mine, other = reach
    me = actor(rt, _participant_id(rt, mine))
    st = ev.status(rt, mine, by=me)
    assert [h.kind for h in ev.history(rt, mine, by=me)] == ["enrolled"]
    with pytest.raises(Forbidden, match="consulter un parcours"):
        ev.status(rt, other, by=me)
    with pytest.raises(Forbidden, match="consulter un parcours"):
        ev.history(rt, other, by=me)
    with pytest.raises(NotFound):
        ev.status(rt, other + 1000, by=me)
    assert st.participant == "A A"
    assert [row.id for row in dashboard.enrollments(rt, me).items] == [mine]


def _participant_id(rt, eid: int) -> int:
    with rt.unit_of_work() as s:
        return s.execute(select(Enrollment.participant_id).where(Enrollment.id == eid)).scalar()
