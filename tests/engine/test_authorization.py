"""Who may do what, decided in one place (issue 15).

The matrix below is generated from the permission table: every action is tried by every kind of
actor, on a thing of the actor's network and on a thing of another network, and the answer of
`access.check` must be what the table says. The expectation is computed here, independently of
`access.reach`, so weakening the rule (dropping the network condition, letting partners act at
structures...) fails it.

Then each hole a tester found is tried through the services: refused with a French error, and
nothing written (no assertion, no delivery, no audit row).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.errors import Forbidden, GateRefused, NotFound
from engine.roles import Role
from engine.services import (
    access,
    badge_documents,
    committees,
    endorsements,
    request_views,
    requests,
)
from engine.services import enrollments as e
from engine.services.access import PERMISSIONS, Action, Actor, Scope, Target
from engine.services.organisations import add_staff, find_or_add_participant, upsert_organisation
from engine.services.pathways import check_file, publish
from engine.services.runtime import Runtime
from engine.store.tables import (
    Assertion,
    AuditEvent,
    BadgeRequest,
    CommitteeDecision,
    Delivery,
    Endorsement,
    IssuerKey,
    Organisation,
)
from tests.conftest import T0

HERE, SIBLING, FAR = "siae-ici", "siae-voisine", "siae-inae"


@dataclass
class World:
    rt: Runtime
    ids: dict[str, int]
    actors: dict[str, Actor]


def _actor(rt: Runtime, ref: str | int) -> Actor:
    with rt.reading() as conn:
        return access.actor_for(conn, ref)


@pytest.fixture
def world(rt: Runtime) -> World:
    """Two networks (SATO, INAÉ); SATO's structure « ici » and its sibling, INAÉ's structure;
    staff of each kind; a GEIQ partner of SATO and an ADIE one; participants; a committee."""
    with rt.unit_of_work() as s:
        here = upsert_organisation(s, HERE, "SIAE ici", "structure", structure_kind="ACI",
                                   networks=["sato"])  # fmt: skip
        sibling = upsert_organisation(s, SIBLING, "SIAE voisine", "structure",
                                      structure_kind="EI", networks=["sato"])  # fmt: skip
        far = upsert_organisation(s, FAR, "SIAE INAÉ", "structure", structure_kind="ACI",
                                  networks=["inae"])  # fmt: skip
        staff = {
            "cip": ("cip@ici.example", [(HERE, "cip")]),
            "encadrant": ("encadrant@ici.example", [(HERE, "encadrant_technique")]),
            "directeur": ("directeur@ici.example", [(HERE, "directeur")]),
            "cip_voisine": ("cip@voisine.example", [(SIBLING, "cip")]),
            "cip_inae": ("cip@inae-siae.example", [(FAR, "cip")]),
            "admin_sato": ("admin@sato.example", [("sato", "network_admin")]),
            "admin_inae": ("admin@inae.example", [("inae", "network_admin")]),
            "geiq": ("contact@geiq.example", [("geiq-industrie", "partner")]),
            "adie": ("contact@adie.example", [("adie", "partner")]),
            "partner_at_structure": ("p@ici.example", [(HERE, "partner")]),
            "member": ("membre@voisine.example", [(SIBLING, "directeur")]),
        }
        people = {k: add_staff(s, mail, k, "X", roles).id for k, (mail, roles) in staff.items()}
        me = find_or_add_participant(s, here.id, "Awa", "Diallo", "awa@example.org")
        other = find_or_add_participant(s, sibling.id, "Léo", "Martin")
        geiq = s.execute(select(Organisation.id).where(Organisation.slug == "geiq-industrie"))
        ids = {
            "here": here.id,
            "sibling": sibling.id,
            "far": far.id,
            "geiq": geiq.scalar_one(),
            "me": me.id,
            "other": other.id,
        }
    actors = {k: _actor(rt, pid) for k, pid in people.items()}
    actors["participant_self"] = _actor(rt, ids["me"])
    actors["participant_other"] = _actor(rt, ids["other"])
    actors["anonymous"] = Actor.anonymous()
    actors["system"] = Actor.system()
    cid = committees.create(
        rt, "Comité croisé SATO", "inae.croise", by=actors["admin_inae"]
    )  # a crossed committee exists only in INAÉ's rules: it belongs to INAÉ
    committees.add_member(rt, cid, "membre@voisine.example", by=actors["admin_inae"])
    ids["committee"] = cid
    return World(rt, ids, actors)


# Where each staff actor holds what: (role, their structure's network, at structure « ici »).
STAFF_AT = {
    "cip": (Role.CIP, "sato", True),
    "encadrant": (Role.ENCADRANT, "sato", True),
    "directeur": (Role.DIRECTEUR, "sato", True),
    "cip_voisine": (Role.CIP, "sato", False),
    "member": (Role.DIRECTEUR, "sato", False),
    "cip_inae": (Role.CIP, "inae", False),
}
ADMIN_OF = {"admin_sato": "sato", "admin_inae": "inae"}


def expected(action: Action, actor: str, foreign: bool) -> bool:
    """What the permission table grants `actor` over a thing of structure « ici » (network
    SATO; `foreign`: the thing belongs to INAÉ, which « ici » is not a member of), of the
    GEIQ (SATO's partner) for partner actions, on the agenda of INAÉ's crossed committee, on
    the CIP's own account for account actions."""
    rule = PERMISSIONS[action]
    network = "inae" if foreign else "sato"
    if rule.scope == Scope.PUBLIC:
        return True
    if actor == "system":
        return rule.system
    if rule.scope == Scope.ACCOUNT:  # the account is the CIP's own
        return rule.staff_self and actor == "cip"
    if actor == "participant_self":
        return rule.participant_self
    if actor == "member" and rule.committee_member:
        return True
    if actor in STAFF_AT:
        role, home, here = STAFF_AT[actor]
        if role not in rule.roles:
            return False
        if rule.scope == Scope.STRUCTURE:
            return here and not foreign
        return rule.scope == Scope.NETWORK_MEMBERS and home == network
    if actor in ADMIN_OF:
        if not rule.network_admin:
            return False
        mine = ADMIN_OF[actor]
        if rule.scope == Scope.STRUCTURE:
            return mine == "sato" and not foreign  # « ici » is in SATO only
        if rule.scope in (Scope.NETWORK, Scope.NETWORK_MEMBERS):
            return mine == network
        return rule.scope == Scope.PARTNER and mine == "sato"  # the GEIQ is SATO's partner
    if actor == "geiq":
        return rule.scope == Scope.PARTNER and Role.PARTNER in rule.roles
    return False


ACTORS = [
    "cip",
    "encadrant",
    "directeur",
    "cip_voisine",
    "cip_inae",
    "admin_sato",
    "admin_inae",
    "geiq",
    "adie",
    "partner_at_structure",
    "member",
    "participant_self",
    "participant_other",
    "anonymous",
    "system",
]


def test_permission_matrix(world: World) -> None:
    """Every action of the table against every kind of actor, at home and across networks."""
    failures = []
    with world.rt.reading() as conn:
        for action in Action:
            for foreign in (False, True):
                target = Target(
                    structure_id=world.ids["here"],
                    network="inae" if foreign else "sato",
                    participant_id=world.ids["me"],
                    organisation_id=world.ids["geiq"],
                    committee_id=world.ids["committee"],
                    account_id=world.actors["cip"].person_id,
                )
                if PERMISSIONS[action].scope == Scope.PARTNER and foreign:
                    continue  # a partner's business has no other network to cross into
                for name in ACTORS:
                    got = access.check(conn, world.actors[name], action, target) is not None
                    want = expected(action, name, foreign)
                    if got != want:
                        failures.append(f"{action.value} by {name} (foreign={foreign}): {got}")
    assert not failures, "\n".join(failures)


def test_refusals_name_the_action_in_french(world: World) -> None:
    with world.rt.reading() as conn, pytest.raises(Forbidden) as refused:
        access.ensure(
            conn,
            world.actors["cip_voisine"],
            Action.BADGE_AWARD,
            Target(structure_id=world.ids["here"], network="sato"),
        )
    assert "vous ne pouvez pas délivrer un badge ici" in str(refused.value)
    assert "CIP" in str(refused.value)


def test_lists_follow_the_same_rule(world: World) -> None:
    """The SQL the lists filter by agrees with the per-item rule: structures reached."""
    rt = world.rt
    with rt.reading() as conn:
        for name in ("cip", "cip_voisine", "cip_inae", "admin_sato", "admin_inae", "geiq"):
            who = world.actors[name]
            listed = set(conn.execute(access.structures_reached(who.person_id)).scalars())
            for key in ("here", "sibling", "far"):
                target = Target(structure_id=world.ids[key])
                one = access.check(conn, who, Action.PARTICIPANT_READ, target) is not None
                assert (world.ids[key] in listed) == one, (name, key)


# --- the holes a tester found, through the services -----------------------------------------


def _counts(rt: Runtime) -> tuple[int, ...]:
    with rt.reading() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Assertion, Delivery, AuditEvent, BadgeRequest, CommitteeDecision, Endorsement)
        )


def _enroll(world: World) -> int:
    return e.enroll(
        world.rt,
        "sato-femmes-metallurgie",
        HERE,
        e.Participant("Awa", "Diallo", "awa@example.org"),
        by=world.actors["cip"],
        now=T0,
    )


@pytest.mark.parametrize(
    "badge", ["inae.travail-equipe", "centre_val_de_loire.ponctualite"], ids=["inae", "cvl"]
)
def test_a_structure_never_issues_another_networks_badge(world: World, badge: str) -> None:
    eid = _enroll(world)
    before = _counts(world.rt)
    for who in ("cip", "directeur", "admin_sato"):
        with pytest.raises(Forbidden) as refused:
            e.award(world.rt, eid, badge, by=world.actors[who], now=T0)
        assert "délivrer un badge" in str(refused.value) or "réseau" in str(refused.value)
    assert _counts(world.rt) == before


def test_award_follows_the_catalogues_evaluation_rule(world: World) -> None:
    """SATO's skill badges: the encadrant technique awards them alone. A badge needing the CIP's
    signature cannot be awarded by the encadrant; a request is the way."""
    eid = _enroll(world)
    e.award(world.rt, eid, "sato.jeu-de-piste", by=world.actors["encadrant"], now=T0)
    before = _counts(world.rt)
    with pytest.raises(Forbidden) as refused:
        e.award(world.rt, eid, "sato.immersion-reussie", by=world.actors["encadrant"], now=T0)
    assert "demande" in str(refused.value)
    assert _counts(world.rt) == before


def test_two_signatures_are_never_one(rt: Runtime) -> None:
    """Centre-Val de Loire's « Ponctualité » needs the encadrant's and the CIP's signatures: a
    CIP alone cannot award it, nor an encadrant alone."""
    with rt.unit_of_work() as s:
        upsert_organisation(s, "aci-cvl", "ACI", "structure", structure_kind="ACI",
                            networks=["centre_val_de_loire", "sato"])  # fmt: skip
        add_staff(s, "c@cvl.example", "C", "IP", [("aci-cvl", "cip")])
        add_staff(s, "e@cvl.example", "E", "T", [("aci-cvl", "encadrant_technique")])
    eid = e.enroll(
        rt,
        "sato-femmes-metallurgie",
        "aci-cvl",
        e.Participant("Nina", "Roux"),
        by=_actor(rt, "c@cvl.example"),
        now=T0,
    )
    before = _counts(rt)
    for who in ("c@cvl.example", "e@cvl.example"):
        with pytest.raises(Forbidden) as refused:
            e.award(rt, eid, "centre_val_de_loire.ponctualite", by=_actor(rt, who), now=T0)
        assert "signatures" in str(refused.value)
    assert _counts(rt) == before


def test_a_request_for_another_networks_badge_never_reaches_its_committee(world: World) -> None:
    before = _counts(world.rt)
    for who in (world.actors["cip"], world.actors["participant_self"]):
        with pytest.raises(Forbidden):
            requests.submit(
                world.rt, "inae.travail-equipe", by=who, participant_id=world.ids["me"], now=T0
            )
    assert _counts(world.rt) == before


def test_network_admin_enrolls_only_into_their_networks_pathways(
    world: World, tmp_path: Path
) -> None:
    source = (
        Path(__file__).parents[1] / "data" / "workflows" / "atelier-decouverte.yaml"
    ).read_text(encoding="utf-8")
    path = tmp_path / "atelier-inae.yaml"
    path.write_text(
        source.replace("id: atelier-decouverte", "id: atelier-inae")
        .replace("network: sato", "network: inae")
        .replace("sato.jeu-de-piste", "inae.ponctualite")
        .replace("sato.securite-atelier", "inae.engagement")
        .replace("share_with: [geiq-industrie]", ""),
        encoding="utf-8",
    )
    pathway = check_file(world.rt, path)
    publish(world.rt, pathway, path.read_text(encoding="utf-8"))
    before = _counts(world.rt)
    for who in ("admin_sato", "admin_inae", "cip"):
        with pytest.raises(Forbidden):
            e.enroll(
                world.rt,
                "atelier-inae",
                HERE,
                e.Participant("Awa", "Diallo"),
                by=world.actors[who],
                now=T0,
            )
    assert _counts(world.rt) == before


def test_only_a_partner_it_was_shared_with_recommends_a_badge(world: World) -> None:
    eid = _enroll(world)
    aid = e.award(world.rt, eid, "sato.jeu-de-piste", by=world.actors["encadrant"], now=T0)
    before = _counts(world.rt)
    for who, endorser in (
        ("cip_voisine", "geiq-industrie"),
        ("cip", "geiq-industrie"),
        ("adie", "adie"),
        ("geiq", "geiq-industrie"),  # a partner, but the badge was not shared with it
    ):
        with pytest.raises(Forbidden):
            endorsements.endorse(
                world.rt, endorser, "assertion", aid, "Très bien", by=world.actors[who], now=T0
            )
    assert _counts(world.rt) == before


def test_status_lists_only_for_issuers_and_real_numbers(world: World) -> None:
    u = world.rt.urls
    with world.rt.reading() as conn:
        keys = conn.execute(select(func.count()).select_from(IssuerKey)).scalar_one()
    for slug, number in (("geiq-industrie", 0), (HERE, 0), ("sato", -1), ("sato", 10**9)):
        with pytest.raises(NotFound):
            badge_documents.status_list_jwt(world.rt, slug, number, u)
    with world.rt.reading() as conn:
        assert conn.execute(select(func.count()).select_from(IssuerKey)).scalar_one() == keys


COMMITTEE_PATHWAY = """
id: passage-en-comite
version: 1
network: sato
title: Passage en comité (test)
initial: accueil
stages:
  - id: accueil
    title: Accueil
  - id: contrat
    title: Contrat
    final: true
transitions:
  - trigger: valider
    source: accueil
    dest: contrat
    title: Valider en comité
    gate:
      committee: true
      roles: [directeur, cip]
"""


def test_a_committee_gate_needs_the_committees_votes_under_its_rule(
    world: World, tmp_path: Path
) -> None:
    """A gate that needs a committee decision: one decision by the director is not a
    committee; only members vote, and the rule's quorum makes the decision."""
    rt, a = world.rt, world.actors
    path = tmp_path / "passage.yaml"
    path.write_text(COMMITTEE_PATHWAY, encoding="utf-8")
    publish(rt, check_file(rt, path), COMMITTEE_PATHWAY)
    eid = e.enroll(
        rt, "passage-en-comite", HERE, e.Participant("Awa", "Diallo"), by=a["cip"], now=T0
    )
    before = _counts(rt)
    with pytest.raises(Exception) as no_committee:
        e.record_decision(rt, eid, "valider", True, "ok", by=a["directeur"], now=T0)
    assert "comité" in str(no_committee.value)
    assert _counts(rt) == before
    cid = committees.create(
        rt, "Commission ici", "sato.validation", by=a["directeur"], structure=HERE
    )
    committees.add_member(rt, cid, "directeur@ici.example", by=a["directeur"])
    committees.add_member(rt, cid, "cip@ici.example", by=a["directeur"])
    with pytest.raises(Forbidden):
        e.record_decision(rt, eid, "valider", True, "ok", by=a["encadrant"], now=T0)
    e.record_decision(rt, eid, "valider", True, "prête", by=a["directeur"], now=T0)
    with pytest.raises(GateRefused) as waiting:
        e.advance(rt, eid, "valider", by=a["directeur"], now=T0)
    assert "attendue" in str(waiting.value)
    with pytest.raises(Exception, match="déjà voté"):
        e.record_decision(rt, eid, "valider", True, "encore", by=a["directeur"], now=T0)
    e.record_decision(rt, eid, "valider", True, "d'accord", by=a["cip"], now=T0)
    result = e.advance(rt, eid, "valider", by=a["directeur"], now=T0)
    assert result.to_stage == "contrat"


def test_the_readme_shows_the_permission_table_of_the_code() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    shown = readme.split("<!-- permission-table -->\n", 1)[1].split("\n<!-- /permission-table")[0]
    assert shown == access.markdown_table(), "regenerate with access.markdown_table()"


def test_the_menu_offers_only_what_the_actor_may_open(world: World) -> None:
    """The pages' menu comes from the same table: a CIP is offered no « Envois » (network
    admins only), a partner no dashboard, a participant nothing of staff."""
    with world.rt.reading() as conn:
        can = {k: access.capabilities(conn, world.actors[k]) for k in ACTORS}
    assert Action.DELIVERY_READ not in can["cip"]
    assert Action.DELIVERY_READ in can["admin_sato"]
    assert Action.ENROLLMENT_READ not in can["geiq"]
    assert Action.PARTNER_FEED in can["geiq"]
    assert Action.ENROLLMENT_READ in can["participant_self"]
    assert Action.BADGE_AWARD not in can["participant_self"]
    assert can["anonymous"] == {Action.PUBLIC_READ}


def test_badges_are_written_by_the_one_issuing_path_only() -> None:
    """No module but `engine/services/issuing.py` writes assertion rows (through
    `engine.badges.assertions.issue_badges` or an insert of its own)."""
    import ast

    engine = Path(__file__).parents[2] / "engine"
    allowed = {engine / "services" / "issuing.py", engine / "badges" / "assertions.py"}
    writers = []
    for path in engine.rglob("*.py"):
        if path in allowed or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                called = ast.unparse(node.func)
                args = [ast.unparse(a) for a in node.args]
                if (
                    called.endswith("issue_badges")
                    or called == "Assertion"
                    or (called.endswith("insert") and args[:1] == ["Assertion"])
                ):
                    writers.append(f"{path.relative_to(engine.parent)}:{node.lineno}")
    assert not writers, writers


# --- found in review: two networks at one structure, staff of two structures, the system -----


def _double(world: World) -> int:
    """A structure that belongs to SATO and INAÉ, with its own team."""
    with world.rt.unit_of_work() as s:
        org = upsert_organisation(s, "siae-double", "SIAE des deux réseaux", "structure",
                                  structure_kind="ACI", networks=["sato", "inae"])  # fmt: skip
        add_staff(s, "dir@double.example", "D", "X", [("siae-double", "directeur")])
        add_staff(s, "cip@double.example", "C", "X", [("siae-double", "cip")])
        add_staff(s, "enc@double.example", "E", "X", [("siae-double", "encadrant_technique")])
        return org.id  # type: ignore[return-value]


def test_a_committee_of_another_network_never_decides_a_gate(world: World, tmp_path: Path) -> None:
    rt = world.rt
    _double(world)
    path = tmp_path / "passage.yaml"
    path.write_text(COMMITTEE_PATHWAY, encoding="utf-8")
    publish(rt, check_file(rt, path), COMMITTEE_PATHWAY)
    director, cip = _actor(rt, "dir@double.example"), _actor(rt, "cip@double.example")
    eid = e.enroll(rt, "passage-en-comite", "siae-double", e.Participant("Awa", "D"), by=cip)
    cid = committees.create(
        rt, "Comité interne INAÉ", "inae.interne", by=director, structure="siae-double"
    )
    committees.add_member(rt, cid, "cip@double.example", by=director)
    committees.add_member(rt, cid, "enc@double.example", by=director)
    before = _counts(rt)
    with pytest.raises(Exception, match="aucun comité"):
        e.record_decision(rt, eid, "valider", True, "ok", by=cip, now=T0)
    assert _counts(rt) == before


def test_a_member_working_at_the_participants_structure_never_votes_in_a_crossed_committee(
    world: World, tmp_path: Path
) -> None:
    """Her seat was recorded with her first structure; she also works at the participant's."""
    rt, a = world.rt, world.actors
    inae_pathway = COMMITTEE_PATHWAY.replace("network: sato", "network: inae").replace(
        "id: passage-en-comite", "id: passage-inae"
    )
    path = tmp_path / "passage-inae.yaml"
    path.write_text(inae_pathway, encoding="utf-8")
    publish(rt, check_file(rt, path), inae_pathway)
    with rt.unit_of_work() as s:
        add_staff(s, "deux@structures.example", "D", "S", [(SIBLING, "cip"), (FAR, "cip")])
    committees.add_member(rt, world.ids["committee"], "deux@structures.example", by=a["admin_inae"])
    eid = e.enroll(rt, "passage-inae", FAR, e.Participant("Lina", "H"), by=a["cip_inae"])
    before = _counts(rt)
    with pytest.raises(Forbidden, match="conflit d'intérêts"):
        e.record_decision(
            rt, eid, "valider", True, "ok", by=_actor(rt, "deux@structures.example"), now=T0
        )
    assert _counts(rt) == before


def test_a_network_admin_lists_only_their_networks_requests(world: World) -> None:
    rt = world.rt
    sid = _double(world)
    cip = _actor(rt, "cip@double.example")
    with rt.unit_of_work() as s:
        pid = find_or_add_participant(s, sid, "Awa", "Double").id
    requests.submit(rt, "sato.immersion-reussie", by=cip, participant_id=pid, now=T0)
    assert request_views.listing(rt, world.actors["admin_sato"]).total == 1
    assert request_views.listing(rt, world.actors["admin_inae"]).total == 0
    assert request_views.listing(rt, cip).total == 1


def test_the_system_does_not_award_advance_or_vote(world: World) -> None:
    """The operator's command line without --by acts as the system: it may read and keep
    house, not issue a badge or pass a gate in a structure's name."""
    eid = _enroll(world)
    before = _counts(world.rt)
    system = Actor.system()
    with pytest.raises(Forbidden):
        e.award(world.rt, eid, "sato.jeu-de-piste", by=system, now=T0)
    with pytest.raises(Forbidden):
        e.advance(world.rt, eid, "commencer-immersion", by=system, now=T0)
    assert _counts(world.rt) == before


def test_a_structure_choice_the_catalogue_no_longer_allows_does_not_count(world: World) -> None:
    from engine.store.tables import BadgeClass, BadgeSetting

    eid = _enroll(world)
    with world.rt.unit_of_work() as s:
        bc = s.execute(
            select(BadgeClass).where(BadgeClass.slug == "sato.immersion-reussie")
        ).scalar_one()
        s.add(BadgeSetting(structure_id=world.ids["here"], badge_class_id=bc.id, mode="auto",
                           set_at=T0))  # fmt: skip
    with pytest.raises(Forbidden, match="signatures"):
        e.award(world.rt, eid, "sato.immersion-reussie", by=world.actors["encadrant"], now=T0)
