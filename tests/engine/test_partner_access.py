"""A partner (GEIQ, ADIE, BGE) is acted for by its own staff, or by the admins of the networks
that declared it; its feed shows the badges shared with it; a badge is shared by its holder or
by the team of the holder's structure. Another network's admin, another partner, another SIAE
are refused in French, and nothing is written."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import aliased

from engine.errors import Forbidden
from engine.services import enrollments as e
from engine.services import shares
from engine.services.bootstrap import initialise
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.runtime import Runtime
from engine.store.tables import (
    Assertion,
    BadgeClass,
    Delivery,
    Enrollment,
    Membership,
    Organisation,
    PartnerWebhook,
    Share,
)
from tests.conftest import CIP, NETWORK_ADMIN, OTHER_CIP, T0, actor, initialised, templated
from tests.web.conftest import WORKFLOWS

GEIQ = "rh@geiq.example"
ADIE = "suivi@adie.example"
INAE_ADMIN = "admin@inae.example"


@pytest.fixture
@templated
def rt(db_engine: Engine) -> Runtime:
    """The short test pathway: its atelier stage shares its badge with the GEIQ."""
    runtime = initialised(Runtime(db_engine, workflows=WORKFLOWS))
    return runtime


@pytest.fixture
def partners(sato: Runtime) -> Runtime:
    with sato.unit_of_work() as s:
        add_staff(s, GEIQ, "Gwen", "Le Bris", [("geiq-industrie", "partner")])
        add_staff(s, ADIE, "Paul", "Adie", [("adie", "partner")])
        add_staff(s, INAE_ADMIN, "Inès", "Réseau", [("inae", "network_admin")])
    return sato


def _hook(rt: Runtime, partner: str = "geiq-industrie") -> tuple[str, str] | None:
    with rt.unit_of_work() as s:
        row = s.execute(
            select(PartnerWebhook.url, PartnerWebhook.secret)
            .join(Organisation, Organisation.id == PartnerWebhook.organisation_id)
            .where(Organisation.slug == partner)
        ).first()
    return None if row is None else (row.url, row.secret)


def _atelier_badge(rt: Runtime) -> tuple[str, int]:
    """Awa completes the atelier: its badge is shared with the GEIQ. (assertion, holder)"""
    cip = actor(rt, CIP)
    eid = e.enroll(rt, "atelier-decouverte", "sato-interim", e.Participant("Awa", "Diallo"), by=cip)
    e.advance(rt, eid, "demarrer", by=cip, now=T0)
    e.add_evidence(rt, eid, "fiche-atelier", by=cip, now=T0)
    e.advance(rt, eid, "valider-atelier", by=cip, now=T0)
    with rt.unit_of_work() as s:
        row = s.execute(
            select(Assertion.id, Assertion.recipient_id)
            .join(BadgeClass, BadgeClass.id == Assertion.badge_class_id)
            .where(BadgeClass.slug == "sato.securite-atelier")
        ).one()
    return row.id, row.recipient_id


def _written(rt: Runtime) -> tuple[int, int]:
    with rt.unit_of_work() as s:
        return (
            s.execute(select(func.count()).select_from(Share)).scalar_one(),
            s.execute(select(func.count()).select_from(Delivery)).scalar_one(),
        )


def test_a_network_plugins_partners_become_members_of_its_network(rt: Runtime) -> None:
    initialise(rt)  # at every deploy: the memberships are not added twice
    network = aliased(Organisation)
    with rt.unit_of_work() as s:
        pairs = s.execute(
            select(Organisation.slug, network.slug)
            .join(Membership, Membership.structure_id == Organisation.id)
            .join(network, network.id == Membership.network_id)
            .where(Organisation.kind == "partner")
            .order_by(Organisation.slug)
        ).all()
    # SATO's plugin declares them; INAÉ's and Centre-Val de Loire's declare none
    assert pairs == [("adie", "sato"), ("bge", "sato"), ("geiq-industrie", "sato")]


def test_another_networks_admin_cannot_repoint_a_partners_webhook(partners: Runtime) -> None:
    """The tester's story: INAÉ's admin pointed SATO's GEIQ at their own address and got the
    new secret; the next GEIQ share went there, validly signed."""
    rt = partners
    secret = shares.set_webhook(
        rt, "geiq-industrie", "https://geiq.example/hook", by=actor(rt, GEIQ)
    )
    before = ("https://geiq.example/hook", secret)
    for who in (INAE_ADMIN, ADIE, CIP):
        with pytest.raises(Forbidden, match="régler le webhook d'un partenaire ici"):
            shares.set_webhook(rt, "geiq-industrie", "https://evil.example/", by=actor(rt, who))
        assert _hook(rt) == before
    # SATO declared the GEIQ: its admin may set the hook
    again = shares.set_webhook(
        rt, "geiq-industrie", "https://geiq.example/v2", by=actor(rt, NETWORK_ADMIN)
    )
    assert _hook(rt) == ("https://geiq.example/v2", again) and again != secret


def test_a_network_admin_acts_only_for_the_partners_of_their_network(partners: Runtime) -> None:
    rt = partners
    with rt.unit_of_work() as s:
        upsert_organisation(s, "chantiers-ouest", "Chantiers de l'Ouest", "partner")
    with pytest.raises(Forbidden, match="régler le webhook d'un partenaire ici"):
        shares.set_webhook(
            rt, "chantiers-ouest", "https://evil.example/", by=actor(rt, NETWORK_ADMIN)
        )
    assert _hook(rt, "chantiers-ouest") is None


def test_a_partner_feed_is_read_by_the_partner_and_its_networks_admins(partners: Runtime) -> None:
    rt = partners
    assertion, _ = _atelier_badge(rt)
    mine = shares.feed(rt, actor(rt, GEIQ))
    assert [i.assertion_id for i in mine.items] == [assertion] and mine.total == 1
    assert shares.feed(rt, actor(rt, ADIE)).total == 0  # ADIE sees only its own shares
    sato = shares.feed(rt, actor(rt, NETWORK_ADMIN), organisation="geiq-industrie")
    assert [i.assertion_id for i in sato.items] == [assertion]
    for who in (CIP, NETWORK_ADMIN):  # no partner of their own to read for
        with pytest.raises(Forbidden, match="lire le flux d'un partenaire ici"):
            shares.feed(rt, actor(rt, who))
    for who in (INAE_ADMIN, ADIE):
        with pytest.raises(Forbidden, match="lire le flux d'un partenaire ici"):
            shares.feed(rt, actor(rt, who), organisation="geiq-industrie")


def test_a_badge_is_shared_by_its_holder_or_their_structures_team(partners: Runtime) -> None:
    rt = partners
    assertion, holder = _atelier_badge(rt)
    cip = actor(rt, CIP)
    other = e.enroll(
        rt, "atelier-decouverte", "sato-interim", e.Participant("Léo", "Martin"), by=cip
    )
    with rt.unit_of_work() as s:
        someone = s.get(Enrollment, other).participant_id  # type: ignore[union-attr]
    written = _written(rt)
    for who in (OTHER_CIP, GEIQ, INAE_ADMIN, someone):  # another SIAE, a partner, INAÉ, Léo
        with pytest.raises(Forbidden, match="partager un badge ici"):
            shares.share(rt, assertion, "adie", by=actor(rt, who))
        assert _written(rt) == written
    shares.share(rt, assertion, "adie", by=actor(rt, holder))
    shares.share(rt, assertion, "bge", by=actor(rt, NETWORK_ADMIN))
    with rt.unit_of_work() as s:
        reasons = dict(
            s.execute(
                select(Organisation.slug, Share.reason)
                .join(Share, Share.organisation_id == Organisation.id)
                .where(Share.assertion_id == assertion)
            ).all()
        )
    assert reasons == {"geiq-industrie": "stage", "adie": "participant", "bge": "staff"}


def test_an_admin_reads_of_a_partner_of_two_networks_only_their_networks_badges(
    partners: Runtime,
) -> None:
    """The GEIQ works with SATO and INAÉ: INAÉ's admin may read its feed, but not the SATO
    participants' badges shared with it."""
    rt = partners
    assertion, _ = _atelier_badge(rt)
    with rt.unit_of_work() as s:
        upsert_organisation(s, "geiq-industrie", "GEIQ industrie Bretagne", "partner",
                            networks=["inae"])  # fmt: skip
    sato = shares.feed(rt, actor(rt, NETWORK_ADMIN), organisation="geiq-industrie")
    assert [i.assertion_id for i in sato.items] == [assertion]
    inae = shares.feed(rt, actor(rt, INAE_ADMIN), organisation="geiq-industrie")
    assert inae.items == [] and inae.total == 0
    assert shares.feed(rt, actor(rt, GEIQ)).total == 1  # the partner itself sees all
