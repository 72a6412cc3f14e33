"""Who may do what: the one home of authorization.

Every service takes the acting `Actor` and calls `ensure(db, actor, action, target)` before it
changes or shows anything; routes, pages and the command line never decide. The permission
table `PERMISSIONS` says, for each `Action`, which roles may perform it and over what scope; the
reach rule `reach` turns that into SQL over the actor's staff roles:

- a role held **at the structure** counts when the thing acted on belongs to one of the
  structure's networks (a SATO CIP never issues INAÉ's badges, even to a SATO participant);
- **network admin** of a network counts for the structures of that network, and only for
  things of that network (a badge class, a pathway, a committee, a delivery, a partner);
- **partner** roles count only at the partner organisation itself;
- a **participant** acts on what is theirs, where the table says so;
- the **system** (scheduler, command line run by the server's operator) and **anonymous**
  visitors are actors too, allowed only what the table grants them.

Lists use the same rule as SQL: `structures_reached` and `networks_administered`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, literal, or_, select
from sqlalchemy.sql.elements import ClauseElement, ColumnElement

from engine.errors import Forbidden, NotFound
from engine.roles import Role
from engine.store.tables import Membership, Organisation, Person, StaffRole

STAFF = frozenset({Role.CIP, Role.ENCADRANT, Role.DIRECTEUR})
"""The roles of a structure's team."""


class ActorKind(StrEnum):
    STAFF = "staff"
    """A structure's team, a network admin, or a partner organisation's staff (their roles say
    which): they log in with a password or act through an API token."""
    PARTICIPANT = "participant"
    SUPPORTER = "supporter"
    """Someone who received a support badge from the public form: no structure, no parcours;
    they act only on their own data, through a link sent to their address."""
    SYSTEM = "system"
    """The scheduler and the server operator's command line."""
    ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Actor:
    """The one who acts. `csrf` is set for browser sessions, None for bearers."""

    person_id: int | None
    kind: ActorKind | str
    name: str = ""
    email: str | None = None
    csrf: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls(None, ActorKind.SYSTEM, "système")

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(None, ActorKind.ANONYMOUS, "visiteur")

    @property
    def is_staff(self) -> bool:
        return self.kind == ActorKind.STAFF

    @property
    def is_participant(self) -> bool:
        return self.kind == ActorKind.PARTICIPANT

    @property
    def is_system(self) -> bool:
        return self.kind == ActorKind.SYSTEM

    @property
    def is_supporter(self) -> bool:
        return self.kind == ActorKind.SUPPORTER


class Scope(StrEnum):
    STRUCTURE = "structure"
    """A thing of one structure (an enrollment, a participant, a request): the structure's team,
    or an admin of a network the structure belongs to."""
    NETWORK = "network"
    """A thing of one network (a pathway, a badge class proposal, a delivery): its admins."""
    NETWORK_MEMBERS = "network_members"
    """A thing of one network done by any of its structures (a company badge): their teams,
    or the network's admins."""
    PARTNER = "partner"
    """A partner organisation's own business (its feed, its webhook)."""
    PUBLIC = "public"
    """Anyone, signed in or not (public badge pages, status lists)."""
    OPERATOR = "operator"
    """Server-wide housekeeping (the retention purge): the system only, that is the scheduler
    or the server operator's command line."""
    ACCOUNT = "account"
    """A staff member's own account (their password, their API tokens): themselves only."""


class Action(StrEnum):
    ENROLLMENT_READ = "enrollment.read"
    ENROLL = "enrollment.create"
    ADVANCE = "enrollment.advance"
    EVIDENCE_ADD = "enrollment.evidence"
    GATE_VOTE = "enrollment.committee_vote"
    BADGE_AWARD = "badge.award"
    BADGE_REVOKE = "badge.revoke"
    BADGE_SHARE = "badge.share"
    RECOMMENDATION_ASK = "badge.recommendation_request"
    RECOMMEND = "badge.recommend"
    WALLET_OFFER = "badge.wallet_offer"
    """Offer badges to the holder's wallet (OpenID for Verifiable Credential Issuance)."""
    ENDORSE = "organisation.endorse"
    PARTICIPANT_READ = "participant.read"
    PARTICIPANT_CREATE = "participant.create"
    PARTICIPANT_LINK = "participant.link"
    PERSONAL_DATA_EXPORT = "participant.export"
    PERSONAL_DATA_ERASE = "participant.erase"
    REQUEST_SUBMIT = "request.submit"
    REQUEST_READ = "request.read"
    REQUEST_EVIDENCE = "request.evidence"
    REQUEST_WITHDRAW = "request.withdraw"
    REQUEST_REVIEW = "request.review"
    BADGE_SETTING = "structure.badge_setting"
    COMMITTEE_MANAGE = "committee.manage"
    COMMITTEE_READ = "committee.read"
    BADGE_PROPOSE = "badge_class.propose"
    BADGE_PROPOSAL_REVIEW = "badge_class.review"
    ORGANISATION_BADGE_AWARD = "organisation_badge.award"
    PATHWAY_READ = "pathway.read"
    PATHWAY_MIGRATE = "pathway.migrate"
    PATHWAY_PUBLISH = "pathway.publish"
    NETWORK_PUBLISH = "network.publish"
    """Publish a version of the network's file: its partners, catalogue and committee rules."""
    DELIVERY_READ = "delivery.read"
    DELIVERY_RETRY = "delivery.retry"
    PARTNER_FEED = "partner.feed"
    PARTNER_WEBHOOK = "partner.webhook"
    PUBLIC_READ = "public.read"
    STAFF_MANAGE = "staff.manage"
    """Offboarding: remove a role, disable an account (its sessions and API tokens end)."""
    STAFF_GRANT = "staff.grant"
    """Create a staff account (invited by e-mail to choose a password) or give a role."""
    ORGANISATION_CREATE = "organisation.create"
    """Add a structure (SIAE) or a partner organisation to a network."""
    ACCOUNT_MANAGE = "account.manage"
    """One's own password and API tokens."""
    PRIVACY_PURGE = "privacy.purge"
    INDICATORS_READ = "indicators.read"
    """A structure's, a pathway's or a network's figures (entries, exits, delays, badges)."""
    INBOUND_MANAGE = "network.inbound"
    """Let a partner platform (the PMSMP's) send signed events to the network."""


@dataclass(frozen=True)
class Rule:
    """Who may perform one action. `roles` are roles at the structure (STRUCTURE scope) or at
    the partner (PARTNER scope); `network_admin` lets the admins of the thing's network in."""

    label: str
    scope: Scope
    roles: frozenset[Role] = frozenset()
    network_admin: bool = True
    participant_self: bool = False
    committee_member: bool = False
    system: bool = True
    supporter_self: bool = False
    """A supporter (public support badge) may do it on their own data."""
    staff_self: bool = False
    """A staff member may do it on their own account (`Target.account_id`)."""


def _rule(label: str, scope: Scope, roles: frozenset[Role] = frozenset(), **kw: Any) -> Rule:
    return Rule(label, scope, frozenset(roles), **kw)


_CIP_DIR = frozenset({Role.CIP, Role.DIRECTEUR})
_DIR = frozenset({Role.DIRECTEUR})
S, N, P = Scope.STRUCTURE, Scope.NETWORK, Scope.PARTNER

PERMISSIONS: dict[Action, Rule] = {
    Action.ENROLLMENT_READ: _rule("consulter un parcours", S, STAFF, participant_self=True),
    Action.ENROLL: _rule("inscrire un participant sur un parcours", S, STAFF),
    Action.ADVANCE: _rule("faire passer une étape", S, STAFF, system=False),
    Action.EVIDENCE_ADD: _rule("joindre une pièce au parcours", S, STAFF),
    Action.GATE_VOTE: _rule(
        "voter en comité sur une étape",
        S,
        network_admin=False,
        committee_member=True,
        system=False,
    ),
    Action.BADGE_AWARD: _rule("délivrer un badge", S, STAFF, system=False),
    Action.BADGE_REVOKE: _rule("révoquer un badge", S, _CIP_DIR),
    Action.BADGE_SHARE: _rule("partager un badge", S, STAFF, participant_self=True),
    Action.RECOMMENDATION_ASK: _rule(
        "demander une recommandation", S, STAFF, participant_self=True
    ),
    Action.RECOMMEND: _rule(
        "recommander un badge", P, frozenset({Role.PARTNER}), network_admin=False
    ),
    Action.WALLET_OFFER: _rule(
        "proposer des badges au portefeuille du titulaire", S, STAFF, participant_self=True
    ),
    Action.ENDORSE: _rule(
        "soutenir au nom d'une organisation",
        P,
        frozenset({Role.PARTNER, Role.DIRECTEUR, Role.NETWORK_ADMIN}),
        network_admin=False,
    ),
    Action.PARTICIPANT_READ: _rule("consulter un participant", S, STAFF, participant_self=True),
    Action.PARTICIPANT_CREATE: _rule("ajouter un participant", S, STAFF),
    Action.PARTICIPANT_LINK: _rule("envoyer un lien de connexion", S, STAFF),
    Action.PERSONAL_DATA_EXPORT: _rule(
        "exporter des données personnelles",
        S,
        _CIP_DIR,
        participant_self=True,
        supporter_self=True,
    ),
    Action.PERSONAL_DATA_ERASE: _rule(
        "effacer des données personnelles",
        S,
        _CIP_DIR,
        participant_self=True,
        supporter_self=True,
    ),
    Action.REQUEST_SUBMIT: _rule("demander un badge", S, STAFF, participant_self=True),
    Action.REQUEST_READ: _rule(
        "consulter une demande de badge", S, STAFF, participant_self=True, committee_member=True
    ),
    Action.REQUEST_EVIDENCE: _rule(
        "joindre une pièce à une demande", S, STAFF, participant_self=True
    ),
    Action.REQUEST_WITHDRAW: _rule("retirer une demande", S, STAFF, participant_self=True),
    Action.REQUEST_REVIEW: _rule(
        "évaluer une demande de badge", S, STAFF, committee_member=True, system=False
    ),
    Action.BADGE_SETTING: _rule("régler un badge pour la structure", S, _DIR),
    Action.COMMITTEE_MANAGE: _rule("gérer un comité d'attribution", S, _DIR),
    Action.COMMITTEE_READ: _rule("consulter un comité", S, STAFF, committee_member=True),
    Action.BADGE_PROPOSE: _rule("proposer un badge de projet", S, STAFF),
    Action.BADGE_PROPOSAL_REVIEW: _rule("valider un badge de projet", N),
    Action.ORGANISATION_BADGE_AWARD: _rule(
        "délivrer un badge à une entreprise", Scope.NETWORK_MEMBERS, _CIP_DIR
    ),
    Action.PATHWAY_READ: _rule("consulter un parcours type", S, STAFF),
    Action.PATHWAY_MIGRATE: _rule("migrer des parcours vers une nouvelle version", N),
    Action.PATHWAY_PUBLISH: _rule("publier une version d'un parcours du réseau", N),
    Action.NETWORK_PUBLISH: _rule(
        "publier une version du fichier du réseau (partenaires, badges, comités)", N
    ),
    Action.DELIVERY_READ: _rule("consulter les envois", N),
    Action.DELIVERY_RETRY: _rule("relancer un envoi", N),
    Action.PARTNER_FEED: _rule("lire le flux d'un partenaire", P, frozenset({Role.PARTNER})),
    Action.PARTNER_WEBHOOK: _rule(
        "régler le webhook d'un partenaire", P, frozenset({Role.PARTNER})
    ),
    Action.PUBLIC_READ: _rule("consulter une page publique", Scope.PUBLIC),
    Action.STAFF_MANAGE: _rule("retirer un rôle ou désactiver un compte de l'équipe", S, _DIR),
    Action.STAFF_GRANT: _rule("créer un compte ou donner un rôle dans l'équipe", S, _DIR),
    Action.ORGANISATION_CREATE: _rule("ajouter une structure ou un partenaire au réseau", N),
    Action.ACCOUNT_MANAGE: _rule(
        "gérer son mot de passe et ses jetons d'API",
        Scope.ACCOUNT,
        network_admin=False,
        staff_self=True,
    ),
    Action.PRIVACY_PURGE: _rule(
        "purger les données anciennes", Scope.OPERATOR, network_admin=False
    ),
    Action.INDICATORS_READ: _rule("consulter les indicateurs", S, _DIR),
    Action.INBOUND_MANAGE: _rule(
        "autoriser une plateforme partenaire à envoyer des événements au réseau", N
    ),
}


@dataclass(frozen=True)
class Target:
    """What an action is about, reduced to what the reach rule needs."""

    structure_id: int | None = None
    """The structure (SIAE) the thing lives in."""
    network: str | None = None
    """The network the thing belongs to (a badge class's, a pathway's, a committee's), when it
    belongs to one: the structure must then be of that network."""
    participant_id: int | None = None
    """The person it concerns, for a participant acting on what is theirs."""
    organisation_id: int | None = None
    """The partner organisation, for partner-scoped actions."""
    committee_id: int | None = None
    """The committee whose members may act (a request on its agenda, a gate it decides)."""
    account_id: int | None = None
    """The staff account concerned, for a staff member acting on their own account."""


# --- the reach rule as SQL --------------------------------------------------------------


def _network_id(slug: Any) -> Any:
    return (
        select(Organisation.id)
        .where(Organisation.slug == slug)
        .correlate_except(Organisation)
        .scalar_subquery()
    )


def _role_in(roles: frozenset[Role]) -> ColumnElement[bool]:
    """`role IN (...)` as plain comparisons: an expanding IN is re-rendered on every execution
    of a cached statement (44 µs of each advance)."""
    return or_(*(StaffRole.role == role.value for role in sorted(roles, key=lambda r: r.value)))


def _param(name: str, value: Any) -> Any:
    """A bound value, or the column or expression a prebuilt query passes instead."""
    column = isinstance(value, ClauseElement) or hasattr(value, "__clause_element__")
    return value if column else bindparam(name, value)


def reach(rule: Rule, target: Target) -> ColumnElement[bool]:
    """Condition on `StaffRole` rows that give their holder a say over `target` under `rule`.
    The target's fields may be values or columns (a prebuilt query that joins the roles)."""
    clauses: list[ColumnElement[bool]] = []
    network = _param("net", target.network) if target.network is not None else None
    if rule.scope == Scope.STRUCTURE and target.structure_id is not None:
        sid = _param("sid", target.structure_id)
        if rule.roles:
            direct = and_(
                StaffRole.organisation_id == sid,
                _role_in(rule.roles),
            )
            if network is not None:
                direct = and_(
                    direct,
                    exists()
                    .where(
                        Membership.structure_id == sid,
                        Membership.network_id == _network_id(network),
                    )
                    .correlate_except(Membership),
                )
            clauses.append(direct)
        if rule.network_admin:
            of_structure = (
                select(Membership.network_id)
                .where(Membership.structure_id == sid)
                .correlate_except(Membership)
            )
            admin = and_(
                StaffRole.role == Role.NETWORK_ADMIN.value,
                StaffRole.organisation_id.in_(of_structure),
            )
            if network is not None:
                admin = and_(admin, StaffRole.organisation_id == _network_id(network))
            clauses.append(admin)
    elif rule.scope in (Scope.STRUCTURE, Scope.NETWORK) and network is not None:
        # a thing of the network tied to no structure (a crossed committee): its admins
        if rule.network_admin:
            clauses.append(
                and_(
                    StaffRole.role == Role.NETWORK_ADMIN.value,
                    StaffRole.organisation_id == _network_id(network),
                )
            )
    elif rule.scope == Scope.NETWORK_MEMBERS and network is not None:
        members = (
            select(Membership.structure_id)
            .where(Membership.network_id == _network_id(network))
            .correlate_except(Membership)
        )
        if rule.roles:
            clauses.append(
                and_(
                    StaffRole.organisation_id.in_(members),
                    _role_in(rule.roles),
                )
            )
        if rule.network_admin:
            clauses.append(
                and_(
                    StaffRole.role == Role.NETWORK_ADMIN.value,
                    StaffRole.organisation_id == _network_id(network),
                )
            )
    elif rule.scope == Scope.PARTNER and target.organisation_id is not None:
        oid = _param("oid", target.organisation_id)
        if rule.roles:
            clauses.append(
                and_(
                    StaffRole.organisation_id == oid,
                    _role_in(rule.roles),
                )
            )
        if rule.network_admin:
            # A partner is declared by the networks it is a member of.
            of_partner = (
                select(Membership.network_id)
                .where(Membership.structure_id == oid)
                .correlate_except(Membership)
            )
            clauses.append(
                and_(
                    StaffRole.role == Role.NETWORK_ADMIN.value,
                    StaffRole.organisation_id.in_(of_partner),
                )
            )
    return or_(*clauses) if clauses else literal(False)


def roles(db: Any, actor: Actor, action: Action, target: Target) -> frozenset[Role]:
    """The actor's roles that give them `action` over `target` (empty: none)."""
    if not actor.is_staff or actor.person_id is None:
        return frozenset()
    rule = PERMISSIONS[action]
    values = {"sid": target.structure_id, "net": target.network, "oid": target.organisation_id}
    shape = (action, *(v is not None for v in values.values()))
    statement = _ROLES.get(shape)
    if statement is None:  # built once per action and kind of target: values are bound
        statement = select(StaffRole.role).where(
            StaffRole.person_id == bindparam("pid"), reach(rule, target)
        )
        if not any(isinstance(v, ClauseElement) for v in values.values()):
            _ROLES[shape] = statement
    params = {"pid": actor.person_id, **{k: v for k, v in values.items() if v is not None}}
    return frozenset(Role(r) for r in db.execute(statement, params).scalars())


_ROLES: dict[tuple[Any, ...], Any] = {}
"""`roles`' statements by (action, which target fields are set): building and keying one
costs more than running it."""


@dataclass(frozen=True)
class Grant:
    """Why an action was allowed: the roles that allowed it, or the participant's own right,
    the committee seat, the system."""

    roles: frozenset[Role] = frozenset()
    own: bool = False
    member: bool = False
    system: bool = False


def check(db: Any, actor: Actor, action: Action, target: Target) -> Grant | None:
    """The grant `actor` has for `action` on `target`, or None."""
    rule = PERMISSIONS[action]
    if rule.scope == Scope.PUBLIC:
        return Grant()
    if actor.is_system:
        return Grant(system=True) if rule.system else None
    if actor.is_participant:
        own = (
            rule.participant_self
            and target.participant_id is not None
            and target.participant_id == actor.person_id
        )
        return Grant(own=True) if own else None
    if actor.is_supporter:
        own = (
            rule.supporter_self
            and target.participant_id is not None
            and target.participant_id == actor.person_id
        )
        return Grant(own=True) if own else None
    if not actor.is_staff:
        return None
    if rule.staff_self and target.account_id is not None and target.account_id == actor.person_id:
        return Grant(own=True)
    found = roles(db, actor, action, target)
    if found:
        return Grant(roles=found)
    if rule.committee_member and _is_member(db, actor, target.committee_id):
        return Grant(member=True)
    return None


def _is_member(db: Any, actor: Actor, committee_id: int | None) -> bool:
    from engine.store.tables import CommitteeMember

    if committee_id is None or actor.person_id is None:
        return False
    return (
        db.execute(
            select(CommitteeMember.person_id).where(
                CommitteeMember.committee_id == committee_id,
                CommitteeMember.person_id == actor.person_id,
            )
        ).first()
        is not None
    )


def ensure(db: Any, actor: Actor, action: Action, target: Target) -> Grant:
    """The grant, or Forbidden saying in French what the actor may not do."""
    grant = check(db, actor, action, target)
    if grant is None:
        raise Forbidden(refusal(action, actor))
    return grant


def refusal(action: Action, actor: Actor) -> str:
    rule = PERMISSIONS[action]
    if actor.kind == ActorKind.ANONYMOUS:
        return f"connectez-vous pour {rule.label}"
    who = describe(rule)
    return f"vous ne pouvez pas {rule.label} ici : réservé {who}"


def describe(rule: Rule) -> str:
    """Who the rule lets in, in French (the README's table and the refusals say the same)."""
    parts = []
    if rule.roles:
        labels = ", ".join(r.label for r in sorted(rule.roles, key=lambda r: r.value))
        where = "de l'organisation" if rule.scope == Scope.PARTNER else "de la structure"
        parts.append(f"{labels} {where}")
    if rule.network_admin:
        parts.append("administrateur du réseau concerné")
    if rule.committee_member:
        parts.append("membres du comité")
    if rule.participant_self:
        parts.append("participant lui-même")
    if rule.supporter_self:
        parts.append("personne elle-même pour un badge de soutien")
    if rule.staff_self:
        parts.append("titulaire du compte")
    return "à : " + " ; ".join(parts) if parts else "à personne"


# --- lists ------------------------------------------------------------------------------


def structures_staffed(person: Any, roles: frozenset[Role] = STAFF) -> Select[Any]:
    """Ids of the structures where `person` (a column or bound value) holds one of `roles`."""
    return select(StaffRole.organisation_id).where(StaffRole.person_id == person, _role_in(roles))


def structures_administered(person: Any) -> Select[Any]:
    """Ids of the structures of the networks `person` administers."""
    administered = select(StaffRole.organisation_id).where(
        StaffRole.person_id == person, StaffRole.role == Role.NETWORK_ADMIN.value
    )
    return select(Membership.structure_id).where(Membership.network_id.in_(administered))


def structures_reached(person: Any, roles: frozenset[Role] = STAFF) -> Select[Any]:
    """Ids of the structures where `person` holds one of `roles`, or which belong to a network
    they administer: what staff lists are filtered by."""
    return structures_staffed(person, roles).union(structures_administered(person))


def reaches(structure: Any, person: Any) -> ColumnElement[bool]:
    """Whether `person` may act at `structure` (columns or bound values): the list rule as a
    condition, for one prebuilt query per row."""
    direct = select(StaffRole.organisation_id).where(StaffRole.person_id == person, _role_in(STAFF))
    administered = select(StaffRole.organisation_id).where(
        StaffRole.person_id == person, StaffRole.role == Role.NETWORK_ADMIN.value
    )
    via_network = select(Membership.structure_id).where(Membership.network_id.in_(administered))
    return or_(structure.in_(direct), structure.in_(via_network))


def administers(person: Any, structure: Any, network: Any) -> ColumnElement[bool]:
    """The list form of the network-admin branch of `reach`: `person` administers `network`
    (a slug column) and `structure` (an id column) belongs to it."""
    return and_(
        network.in_(networks_administered(person)),
        exists()
        .where(Membership.structure_id == structure, Membership.network_id == _network_id(network))
        .correlate_except(Membership),
    )


def networks_administered(person: Any) -> Select[Any]:
    """Slugs of the networks `person` administers."""
    return (
        select(Organisation.slug)
        .join(StaffRole, StaffRole.organisation_id == Organisation.id)
        .where(StaffRole.person_id == person, StaffRole.role == Role.NETWORK_ADMIN.value)
    )


def partner_organisations(person: Any) -> Select[Any]:
    """Ids of the partner organisations `person` works for."""
    return select(StaffRole.organisation_id).where(
        StaffRole.person_id == person, StaffRole.role == Role.PARTNER.value
    )


def structure_networks(db: Any, structure_id: int) -> list[str]:
    return list(
        db.execute(
            select(Organisation.slug)
            .join(Membership, Membership.network_id == Organisation.id)
            .where(Membership.structure_id == structure_id)
        ).scalars()
    )


def request_target(db: Any, request_id: int) -> Target:
    """What the access rule needs of a badge request; NotFound when there is none."""
    from engine.store.tables import BadgeClass, BadgeRequest

    row = db.execute(
        select(
            BadgeRequest.structure_id,
            BadgeClass.network,
            BadgeRequest.participant_id,
            BadgeRequest.committee_id,
        )
        .join(BadgeClass, BadgeClass.id == BadgeRequest.badge_class_id)
        .where(BadgeRequest.id == request_id)
    ).first()
    if row is None:
        raise NotFound(f"demande n° {request_id} introuvable")
    return Target(structure_id=row[0], network=row[1], participant_id=row[2], committee_id=row[3])


def holds_role_at(db: Any, person_id: int | None, structure_id: int | None) -> bool:
    """Whether the person works at the structure (any role but partner): a conflict of
    interest in a crossed committee, whatever structure their seat was recorded with."""
    if person_id is None or structure_id is None:
        return False
    return (
        db.execute(
            select(StaffRole.id).where(
                StaffRole.person_id == person_id,
                StaffRole.organisation_id == structure_id,
                StaffRole.role != Role.PARTNER.value,
            )
        ).first()
        is not None
    )


def enrollment_target(db: Any, enrollment_id: int) -> Target:
    """What the access rule needs of an enrollment; NotFound when there is none."""
    from engine.store.tables import Enrollment, PathwayVersion

    row = db.execute(
        select(Enrollment.structure_id, PathwayVersion.network, Enrollment.participant_id)
        .join(PathwayVersion, PathwayVersion.id == Enrollment.pathway_version_id)
        .where(Enrollment.id == enrollment_id)
    ).first()
    if row is None:
        raise NotFound(f"parcours n° {enrollment_id} introuvable")
    return Target(structure_id=row[0], network=row[1], participant_id=row[2])


# --- who is acting, from a reference -----------------------------------------------------


def actor_for(db: Any, ref: str | int) -> Actor:
    """The Actor of a person by id, or of a staff member by e-mail (the CLI's `--by`)."""
    query = select(
        Person.id, Person.kind, Person.given_name, Person.family_name, Person.email
    ).where(Person.erased_at.is_(None))
    if isinstance(ref, int) or str(ref).isdigit():
        query = query.where(Person.id == int(ref))
    else:
        query = query.where(Person.email == str(ref), Person.kind == ActorKind.STAFF.value)
    row = db.execute(query).first()
    if row is None:
        raise NotFound(f"membre de l'équipe « {ref} » introuvable")
    from engine.store.tables import full_name

    return Actor(row.id, ActorKind(row.kind), full_name(row.given_name, row.family_name), row.email)


def capabilities(
    db: Any, actor: Actor, held: frozenset[Role] | None = None, seated: bool | None = None
) -> frozenset[Action]:
    """The actions `actor` may perform somewhere: what a menu offers. Whether they may on a
    given thing is still `ensure`'s to say. `held` (a staff member's roles) and `seated`
    (whether they sit on a committee): the caller's, when it has read them already."""
    rules = PERMISSIONS.items()
    if actor.is_system:
        return frozenset(a for a, r in rules if r.system)
    public = {a for a, r in rules if r.scope == Scope.PUBLIC}
    if actor.is_participant:
        return frozenset(public | {a for a, r in rules if r.participant_self})
    if actor.is_supporter:
        return frozenset(public | {a for a, r in rules if r.supporter_self})
    if not actor.is_staff or actor.person_id is None:
        return frozenset(public)
    from engine.store.tables import CommitteeMember

    if held is None:
        held = frozenset(
            Role(r)
            for r in db.execute(
                select(StaffRole.role).where(StaffRole.person_id == actor.person_id)
            ).scalars()
        )
    member = seated
    if member is None:
        member = (
            db.execute(
                select(CommitteeMember.committee_id).where(
                    CommitteeMember.person_id == actor.person_id
                )
            ).first()
            is not None
        )
    admin = Role.NETWORK_ADMIN in held
    return frozenset(
        public
        | {
            a
            for a, r in rules
            if held & r.roles
            or (admin and r.network_admin)
            or (member and r.committee_member)
            or r.staff_self
        }
    )


def markdown_table() -> str:
    """The permission table as the README shows it (a test keeps the two the same)."""
    scope_words = {
        Scope.STRUCTURE: "structure (+ network)",
        Scope.NETWORK: "network",
        Scope.NETWORK_MEMBERS: "network's structures",
        Scope.PARTNER: "partner",
        Scope.PUBLIC: "public",
        Scope.OPERATOR: "server operator",
        Scope.ACCOUNT: "own account",
    }
    lines = [
        "| action | scope | roles | network admin | participant (own) | committee members "
        "| supporter (own) | staff (own) | system |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for action, rule in PERMISSIONS.items():
        roles = ", ".join(r.value for r in sorted(rule.roles, key=lambda r: r.value)) or "—"
        public = rule.scope == Scope.PUBLIC
        lines.append(
            f"| `{action.value}` | {scope_words[rule.scope]} | {roles} | "
            f"{'yes' if rule.network_admin and not public else '—'} | "
            f"{'yes' if rule.participant_self else '—'} | "
            f"{'yes' if rule.committee_member else '—'} | "
            f"{'yes' if rule.supporter_self else '—'} | "
            f"{'yes' if rule.staff_self else '—'} | "
            f"{'yes' if rule.system and not public else '—'} |"
        )
    return "\n".join(lines)
