"""Administration without a shell (issue 19), through the services: who may add a structure
or a partner, give a role, manage a committee, manage their own account; invitations and
« mot de passe oublié » links, single-use and short-lived; every refusal in French, leaving
nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.services import accounts, committees, organisations, outbox, password_links
from engine.services.access import Actor
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.runtime import Runtime
from engine.store.tables import (
    AuditEvent,
    Delivery,
    Login,
    Organisation,
    PasswordLink,
    StaffRole,
    WebSession,
)
from tests.conftest import CIP, DIRECTRICE, NETWORK_ADMIN, OTHER_CIP, T0, actor

INAE_ADMIN = "admin@inae.example"
INAE_DIRECTOR = "direction@aci-inae.example"
NEW = "nina.le-goff@example.org"
STRONG = "cormoran bleu sur la digue"


@pytest.fixture
def team(sato: Runtime) -> Runtime:
    """SATO's team (conftest), INAÉ's admin and an INAÉ structure's director."""
    with sato.unit_of_work() as s:
        upsert_organisation(
            s, "aci-inae", "ACI INAÉ", "structure", structure_kind="ACI", networks=["inae"]
        )
        add_staff(s, INAE_ADMIN, "Inès", "Réseau", [("inae", "network_admin")])
        add_staff(s, INAE_DIRECTOR, "Didier", "Aci", [("aci-inae", "directeur")])
    return sato


def _count(rt: Runtime, table) -> int:
    with rt.reading() as c:
        return c.execute(select(func.count()).select_from(table)).scalar_one()


def _mails(rt: Runtime) -> list[dict]:
    """The queued e-mails as the outbox worker sends them (composing mints their links)."""
    with rt.reading() as c:
        rows = c.execute(
            select(Delivery.target, Delivery.payload)
            .where(Delivery.channel == "email")
            .order_by(Delivery.id)
        ).all()
    mails = []
    for to, payload in rows:
        subject, body = outbox.compose(rt, payload)
        mails.append({"to": to, "subject": subject, "body": body, "payload": payload})
    return mails


def _minted_at(rt: Runtime) -> datetime:
    """When the latest password link was minted: when its mail left, on the real clock."""
    with rt.reading() as c:
        at = c.execute(select(func.max(PasswordLink.created_at))).scalar_one()
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _token(mail: dict) -> str:
    [line] = [x for x in mail["body"].splitlines() if password_links.PASSWORD_PATH in x]
    return line.strip().rsplit("/", 1)[1]


def _unchanged(rt: Runtime):
    """The rows a refused administration call must not write."""
    return tuple(
        _count(rt, t) for t in (Organisation, StaffRole, AuditEvent, Delivery, PasswordLink)
    )


# --- structures and partners --------------------------------------------------------------


def test_a_network_admin_adds_a_structure_and_a_partner_to_their_network(team) -> None:
    admin = actor(team, NETWORK_ADMIN)
    slug = organisations.create_organisation(
        team, "Atelier du Port d'Brest", "structure", "sato", by=admin, structure_kind="ACI"
    )
    assert slug == "atelier-du-port-d-brest"
    partner = organisations.create_organisation(
        team, "Régie de Quartier", "partner", "sato", by=admin, slug="regie-quartier"
    )
    networks, rows = organisations.administered(team, by=admin)
    assert [slug for slug, _ in networks] == ["sato"]
    found = {r.slug: r for r in rows}
    assert found[slug].kind == "structure" and found[slug].structure_kind == "ACI"
    assert found[partner].kind == "partner"
    with team.reading() as c:
        kinds = c.execute(
            select(AuditEvent.kind).where(AuditEvent.kind == "organisation_created")
        ).all()
    assert len(kinds) == 2


def test_an_identifier_taken_is_refused_not_overwritten(team) -> None:
    admin = actor(team, NETWORK_ADMIN)
    with pytest.raises(Conflict, match="déjà pris"):
        organisations.create_organisation(
            team, "Autre nom", "structure", "sato", by=admin, slug="sato-interim",
            structure_kind="EI",
        )  # fmt: skip
    with team.reading() as c:
        name = c.execute(select(Organisation.name).where(Organisation.slug == "sato-interim"))
        assert name.scalar_one() == "SATO Intérim"
    with pytest.raises(InvalidInput, match="type de structure"):
        organisations.create_organisation(team, "Sans type", "structure", "sato", by=admin)
    with pytest.raises(InvalidInput, match="identifiant"):
        organisations.create_organisation(team, "X", "partner", "sato", by=admin, slug="Pas Valide")


@pytest.mark.parametrize("who", [DIRECTRICE, CIP, INAE_ADMIN, INAE_DIRECTOR])
def test_only_the_networks_admin_adds_to_it(team, who) -> None:
    """A director, a CIP, another network's admin: refused, in French, nothing written."""
    before = _unchanged(team)
    with pytest.raises(Forbidden, match="ajouter une structure ou un partenaire au réseau"):
        organisations.create_organisation(
            team, "Nouvelle SIAE", "structure", "sato", by=actor(team, who), structure_kind="EI"
        )
    assert _unchanged(team) == before


# --- roles given, invitations --------------------------------------------------------------


def test_a_director_invites_a_cip_who_chooses_a_password_once(team) -> None:
    director = actor(team, DIRECTRICE)
    granted = accounts.grant_role(
        team, NEW, "sato-interim", "cip", by=director, given_name="Nina", family_name="Le Goff",
        now=T0,
    )  # fmt: skip
    assert granted.invited
    [mail] = _mails(team)
    assert mail["to"] == NEW
    assert mail["subject"] == "Parcours : votre compte à SATO Intérim"
    assert "Hélène Kerbrat vous a créé un compte Parcours (CIP à SATO Intérim)" in mail["body"]
    token = _token(mail)
    with team.reading() as c:
        [(purpose, stored)] = c.execute(select(PasswordLink.purpose, PasswordLink.token_hash))
    assert purpose == "invitation" and stored != token  # only its hash is kept
    assert accounts.password_link(team, token, now=T0).email == NEW
    with pytest.raises(InvalidInput, match="mot de passe"):
        accounts.use_password_link(team, token, "nina", now=T0)  # too weak: the link stays
    assert accounts.use_password_link(team, token, STRONG, now=T0) == NEW
    assert accounts.login(team, NEW, STRONG, now=T0)
    with pytest.raises(Forbidden, match="n'est plus valable"):
        accounts.use_password_link(team, token, "une autre phrase bien longue", now=T0)
    with team.reading() as c:
        kinds = set(c.execute(select(AuditEvent.kind)).scalars())
    assert {"staff_role_granted", "password_chosen"} <= kinds


def test_an_invitation_expires(team) -> None:
    accounts.grant_role(
        team, NEW, "sato-interim", "cip", by=actor(team, DIRECTRICE), given_name="Nina",
        family_name="Le Goff", now=T0,
    )  # fmt: skip
    token = _token(_mails(team)[0])
    late = _minted_at(team) + timedelta(days=password_links.INVITATION_DAYS, seconds=1)
    with pytest.raises(Forbidden, match="n'est plus valable"):
        accounts.use_password_link(team, token, STRONG, now=late)


def test_a_role_for_someone_with_a_password_sends_no_invitation(team) -> None:
    accounts.set_password(team, CIP, STRONG)
    granted = accounts.grant_role(
        team, CIP, "sato-interim", "directeur", by=actor(team, DIRECTRICE)
    )
    assert not granted.invited and _mails(team) == []
    with pytest.raises(Conflict, match="a déjà le rôle"):
        accounts.grant_role(team, CIP, "sato-interim", "cip", by=actor(team, DIRECTRICE))


def test_a_new_account_needs_a_name_and_a_role_the_organisation_has(team) -> None:
    director = actor(team, DIRECTRICE)
    with pytest.raises(InvalidInput, match="prénom et nom"):
        accounts.grant_role(team, NEW, "sato-interim", "cip", by=director)
    with pytest.raises(InvalidInput, match="on peut donner"):
        accounts.grant_role(
            team, NEW, "sato-interim", "network_admin", by=director, given_name="N",
            family_name="G",
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="adresse e-mail"):
        accounts.grant_role(team, "pas-une-adresse", "sato-interim", "cip", by=director)


@pytest.mark.parametrize(
    ("who", "where"),
    [
        (DIRECTRICE, "autre-siae"),  # a director, at another structure
        (CIP, "sato-interim"),  # a CIP at their own structure
        (INAE_ADMIN, "sato-interim"),  # another network's admin
        (INAE_DIRECTOR, "sato-interim"),  # another network's director
        (OTHER_CIP, "sato-interim"),
    ],
)
def test_who_may_not_give_a_role(team, who, where) -> None:
    before = _unchanged(team)
    with pytest.raises(Forbidden, match="créer un compte ou donner un rôle"):
        accounts.grant_role(
            team, NEW, where, "cip", by=actor(team, who), given_name="N", family_name="G"
        )
    assert _unchanged(team) == before


def test_a_network_admin_gives_roles_at_the_networks_structures_and_partners(team) -> None:
    admin = actor(team, NETWORK_ADMIN)
    accounts.grant_role(team, NEW, "sato-eiti", "directeur", by=admin, given_name="N",
                        family_name="G")  # fmt: skip
    accounts.grant_role(team, "rh@geiq.example", "geiq-industrie", "partner", by=admin,
                        given_name="Gwen", family_name="Le Bris")  # fmt: skip
    offered = {(c.organisation, c.role) for c in accounts.role_choices(team, by=admin)}
    assert ("sato-eiti", "directeur") in offered and ("geiq-industrie", "partner") in offered
    assert not any(org == "aci-inae" for org, _ in offered)
    director = {
        (c.organisation, c.role) for c in accounts.role_choices(team, by=actor(team, DIRECTRICE))
    }
    assert director == {
        (org, role)
        for org in ("sato-interim", "sato-eiti")
        for role in ("cip", "encadrant_technique", "directeur")
    }
    with pytest.raises(Forbidden):
        accounts.grant_role(team, NEW, "aci-inae", "cip", by=admin)


# --- « mot de passe oublié » -----------------------------------------------------------------


def test_a_forgotten_password_is_reset_by_a_one_hour_link(team) -> None:
    accounts.set_password(team, CIP, STRONG)
    session = accounts.login(team, CIP, STRONG, now=T0)
    accounts.ask_password_reset(team, CIP.upper(), address="10.0.0.1", now=T0)
    [mail] = _mails(team)
    assert mail["to"] == CIP and "Bonjour Claire" in mail["body"]
    assert "valable 60 minutes" in mail["body"]
    token = _token(mail)
    sent = _minted_at(team)
    with pytest.raises(Forbidden):
        accounts.use_password_link(
            team, token, "vent d'ouest sur l'aber", now=sent + timedelta(hours=1)
        )
    new = "vent d'ouest sur l'aber ildut"
    accounts.use_password_link(team, token, new, now=sent + timedelta(minutes=59))
    assert accounts.from_session(team, session, now=T0) is None  # the old session ended
    assert accounts.login(team, CIP, new, now=T0)
    with pytest.raises(Forbidden):
        accounts.login(team, CIP, STRONG, now=T0)


def test_an_unknown_or_disabled_address_gets_the_same_answer_and_no_mail(team) -> None:
    accounts.ask_password_reset(team, "personne@example.org", address="10.0.0.2", now=T0)
    accounts.disable(team, OTHER_CIP, by=Actor.system(), now=T0)
    accounts.ask_password_reset(team, OTHER_CIP, address="10.0.0.2", now=T0)
    accounts.ask_password_reset(team, "pas une adresse", address="10.0.0.2", now=T0)
    assert _mails(team) == [] and _count(team, PasswordLink) == 0


def test_a_new_reset_link_voids_the_previous_one(team) -> None:
    accounts.ask_password_reset(team, CIP, now=T0)
    accounts.ask_password_reset(team, CIP, now=T0)
    first, second = (_token(m) for m in _mails(team))
    with pytest.raises(Forbidden):
        accounts.password_link(team, first, now=T0)
    assert accounts.password_link(team, second, now=T0).purpose == "reset"


def test_reset_requests_are_throttled_per_address_and_per_account(team) -> None:
    for _ in range(accounts.FREE_FAILURES["reset"]):
        accounts.ask_password_reset(team, CIP, address="10.0.0.3", now=T0)
    with pytest.raises(accounts.TooManyAttempts):
        accounts.ask_password_reset(team, CIP, address="10.0.0.4", now=T0)
    with pytest.raises(accounts.TooManyAttempts):  # unknown addresses are counted alike
        for i in range(accounts.FREE_FAILURES["resetaddr"] + 1):
            accounts.ask_password_reset(team, f"x{i}@example.org", address="10.0.0.5", now=T0)
    assert len(_mails(team)) == accounts.FREE_FAILURES["reset"]


# --- one's own account ------------------------------------------------------------------------


def test_a_member_manages_their_own_tokens_only(team) -> None:
    claire, jean = actor(team, CIP), actor(team, OTHER_CIP)
    token = accounts.create_api_token(team, CIP, "Tableur", by=claire)
    assert accounts.from_api_token(team, token).person_id == claire.person_id
    [mine] = accounts.api_tokens(team, CIP, by=claire)
    with pytest.raises(Forbidden, match="gérer son mot de passe et ses jetons"):
        accounts.api_tokens(team, CIP, by=jean)
    with pytest.raises(Forbidden):
        accounts.create_api_token(team, CIP, "Intrus", by=actor(team, DIRECTRICE))
    with pytest.raises(Forbidden):
        accounts.create_api_token(team, CIP, "Intrus", by=actor(team, NETWORK_ADMIN))
    with pytest.raises(NotFound):  # someone else's token does not exist for them
        accounts.revoke_api_token(team, mine.id, by=jean)
    assert accounts.from_api_token(team, token) is not None
    assert accounts.revoke_api_token(team, mine.id, by=claire).revoked_at is not None
    assert accounts.from_api_token(team, token) is None


def test_a_member_changes_their_password_with_the_current_one(team) -> None:
    accounts.set_password(team, CIP, STRONG)
    claire = actor(team, CIP)
    accounts.login(team, CIP, STRONG)
    with pytest.raises(InvalidInput, match="mot de passe actuel : incorrect"):
        accounts.change_password(team, "pas le bon", "goélands sur le port de commerce", by=claire)
    with pytest.raises(InvalidInput, match="nouveau mot de passe"):
        accounts.change_password(team, STRONG, "court", by=claire)
    accounts.change_password(team, STRONG, "goélands sur le port de commerce", by=claire)
    assert _count(team, WebSession) == 0
    assert accounts.login(team, CIP, "goélands sur le port de commerce")
    with team.reading() as c:
        assert c.execute(select(Login.person_id)).scalars().all() == [claire.person_id]


# --- committees -------------------------------------------------------------------------------


def test_a_network_admin_creates_a_committee_and_sets_its_members(team) -> None:
    admin = actor(team, NETWORK_ADMIN)
    cid = committees.create(team, "Commission Brest", "sato.validation", by=admin,
                            structure="sato-interim")  # fmt: skip
    committees.add_member(team, cid, CIP, by=admin)
    managed, kinds = committees.managed(team, by=admin)
    [c] = managed
    assert [m.name for m in c.members] == ["Claire Martin"]
    assert {s.name for s in c.candidates} == {"Marc Le Gall", "Hélène Kerbrat"}
    assert [(k.kind, k.crossed) for k in kinds] == [("sato.validation", False)]
    committees.remove_member(team, cid, c.members[0].person_id, by=admin)
    assert committees.managed(team, by=admin)[0][0].members == []
    with team.reading() as c:
        kinds_seen = set(c.execute(select(AuditEvent.kind)).scalars())
    assert {"committee_created", "committee_member_added", "committee_member_removed"} <= kinds_seen


def test_a_director_manages_their_structures_committee_not_anothers(team) -> None:
    director = actor(team, DIRECTRICE)
    cid = committees.create(team, "Commission", "sato.validation", by=director,
                            structure="sato-interim")  # fmt: skip
    committees.add_member(team, cid, CIP, by=director)
    [c], kinds = committees.managed(team, by=director)
    assert c.id == cid and not any(k.crossed for k in kinds)
    inae = committees.create(team, "Interne INAÉ", "inae.interne", by=actor(team, INAE_DIRECTOR),
                             structure="aci-inae")  # fmt: skip
    # she may not touch INAÉ's committee; INAÉ's admin and a CIP may not touch hers
    with pytest.raises(Forbidden, match="gérer un comité"):
        committees.add_member(team, inae, INAE_DIRECTOR, by=director)
    for who in (INAE_ADMIN, CIP):
        with pytest.raises(Forbidden, match="gérer un comité"):
            committees.remove_member(team, cid, actor(team, CIP).person_id, by=actor(team, who))
    assert committees.managed(team, by=actor(team, INAE_ADMIN))[0][0].id == inae
    with pytest.raises(Forbidden):
        committees.create(team, "Croisé", "inae.croise", by=director)


def test_a_crossed_committee_is_the_networks_admins(team) -> None:
    inae = actor(team, INAE_ADMIN)
    cid = committees.create(team, "Comité croisé", "inae.croise", by=inae)
    committees.add_member(team, cid, INAE_DIRECTOR, by=inae)
    [c], kinds = committees.managed(team, by=inae)
    assert c.crossed and [m.name for m in c.members] == ["Didier Aci"]
    assert ("inae.croise", True) in {(k.kind, k.crossed) for k in kinds}
    for who in (NETWORK_ADMIN, DIRECTRICE, INAE_DIRECTOR):
        with pytest.raises(Forbidden):
            committees.add_member(team, cid, CIP, by=actor(team, who))
        assert committees.managed(team, by=actor(team, who))[0] == []


def test_the_outbox_sends_the_invitation_as_queued(team) -> None:
    """The mail waits in the outbox like every other; the worker sends it unchanged."""
    accounts.grant_role(team, NEW, "sato-interim", "cip", by=actor(team, DIRECTRICE),
                        given_name="Nina", family_name="Le Goff")  # fmt: skip
    with team.reading() as c:
        [payload] = c.execute(select(Delivery.payload)).scalars()
    assert outbox.compose(team, payload)[0] == "Parcours : votre compte à SATO Intérim"


def test_a_queued_invitation_holds_no_link_and_no_name(team) -> None:
    """The link is minted when the mail leaves: until then the outbox row (kept, retried,
    readable by whoever reads the database) carries neither a usable link nor the name."""
    accounts.grant_role(
        team, NEW, "sato-interim", "cip", by=actor(team, DIRECTRICE), given_name="Nina",
        family_name="Le Goff", now=T0,
    )  # fmt: skip
    with team.reading() as c:
        [payload] = c.execute(select(Delivery.payload).where(Delivery.channel == "email")).all()
    stored = str(payload)
    assert password_links.PASSWORD_PATH not in stored and "Nina" not in stored
    assert _count(team, PasswordLink) == 0
    [mail] = _mails(team)
    assert "Bonjour Nina" in mail["body"] and _count(team, PasswordLink) == 1
