"""What the fast badge pipeline (`enrollments.award_portable`: issue, bake and sign in one
transaction, from the rows the award already holds) must keep true: a badge is signed with its
issuer's active key even just after another process rotated it, every badge has its own
status-list place from the moment it is issued, and a refused award writes nothing."""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from openbadges_bakery import unbake
from sqlalchemy import func, select, update

from engine.errors import Conflict, Forbidden, NotFound
from engine.openbadges import ob3
from engine.services import badge_documents, issuer_keys, reissue
from engine.services import enrollments as e
from engine.services.badges import urls
from engine.services.runtime import Runtime
from engine.store.database import make_engine
from engine.store.tables import Assertion, AuditEvent, IssuerKey, Organisation
from tests.conftest import CIP, ENCADRANT, OTHER_CIP, T0, actor

BASE = "http://badges.test"
SKILLS = ["securite-atelier", "metiers-industrie", "ponctualite", "travail-equipe", "consignes"]


def _enroll(rt: Runtime, given: str, email: str | None = None) -> int:
    return e.enroll(
        rt,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant(given, "Diallo", email),
        by=actor(rt, CIP),
        now=T0,
    )


def _place(rt: Runtime, assertion_id: str) -> int | None:
    with rt.reading() as c:
        return c.execute(
            select(Assertion.status_index).where(Assertion.id == assertion_id)
        ).scalar_one()


def _active_kid(rt: Runtime) -> str:
    with rt.reading() as c:
        sato = select(Organisation.id).where(Organisation.slug == "sato").scalar_subquery()
        return c.execute(
            select(IssuerKey.kid).where(
                IssuerKey.organisation_id == sato,
                IssuerKey.algorithm == "RS256",
                IssuerKey.retired_at.is_(None),
            )
        ).scalar_one()


def test_a_badge_sent_out_at_once_is_the_badge_its_links_serve(sato: Runtime) -> None:
    """The baked picture and the credential built from the award's own rows say what the
    public documents, read from the database afterwards, say."""
    u = urls(BASE)
    eid = _enroll(sato, "Awa", "awa.diallo@example.org")
    aid, kept = e.award_portable(
        sato, eid, "sato.jeu-de-piste", u, by=actor(sato, ENCADRANT), narrative="Visite", now=T0
    )
    baked = json.loads(unbake(io.BytesIO(kept.png)))
    assert baked == badge_documents.assertion_document(sato, aid, u)[1]
    header, claims = ob3.unverified(kept.jwt)
    served = badge_documents.credential_document(sato, aid, u)
    served.pop("credentialSchema", None)  # dropped only from a Data Integrity form
    assert {k: claims[k] for k in served} == served
    assert header["kid"] == u.key("sato", _active_kid(sato))
    assert claims["credentialSubject"]["id"].startswith(f"{BASE}/profils/")


def test_a_participant_without_e_mail_gets_a_badge_bound_to_their_profile(sato: Runtime) -> None:
    u = urls(BASE)
    eid = _enroll(sato, "Moussa")
    aid, kept = e.award_portable(sato, eid, "sato.jeu-de-piste", u, by=actor(sato, ENCADRANT))
    baked = json.loads(unbake(io.BytesIO(kept.png)))
    assert baked["recipient"]["type"] == "url"
    claims = ob3.unverified(kept.jwt)[1]
    assert claims["sub"] == claims["credentialSubject"]["id"]
    assert (
        claims["credentialStatus"]
        == (ob3.unverified(badge_documents.credential_jwt(sato, aid, u))[1]["credentialStatus"])
    )


def test_a_key_rotated_by_another_process_is_never_signed_with_again(sato: Runtime) -> None:
    """Two processes on one database: the second rotates SATO's key; the first's very next
    badge is signed with the new key (nothing kept in memory says which key is active)."""
    u = urls(BASE)
    encadrant = actor(sato, ENCADRANT)
    first, second = _enroll(sato, "Awa"), _enroll(sato, "Inès")
    _, before = e.award_portable(sato, first, "sato.jeu-de-piste", u, by=encadrant)
    old_kid = _active_kid(sato)
    assert ob3.unverified(before.jwt)[0]["kid"] == u.key("sato", old_kid)

    other = Runtime(make_engine(sato.engine.url.render_as_string(hide_password=False)))
    try:
        new_kid = issuer_keys.rotate_key(other, "sato")
    finally:
        other.engine.dispose()

    _, after = e.award_portable(sato, second, "sato.jeu-de-piste", u, by=encadrant)
    assert new_kid != old_kid
    assert ob3.unverified(after.jwt)[0]["kid"] == u.key("sato", new_kid)
    jwks = {k["kid"]: k for k in issuer_keys.jwks(sato, "sato")["keys"]}
    assert (
        ob3.verify(after.jwt, ob3_key(jwks[new_kid]))["jti"] == ob3.unverified(after.jwt)[1]["jti"]
    )
    assert ob3.verify(before.jwt, ob3_key(jwks[old_kid]))  # what the old key signed still holds


def ob3_key(jwk: dict):
    from engine.openbadges.keys import load_public

    return load_public(jwk)


def test_an_issuer_that_never_signed_gets_its_key_on_its_first_badge(sato: Runtime) -> None:
    u = urls(BASE)
    with sato.unit_of_work() as s:
        sato_id = s.execute(select(Organisation.id).where(Organisation.slug == "sato")).scalar()
        s.execute(
            update(IssuerKey).where(IssuerKey.organisation_id == sato_id).values(retired_at=T0)
        )
    eid = _enroll(sato, "Awa")
    _, kept = e.award_portable(sato, eid, "sato.jeu-de-piste", u, by=actor(sato, ENCADRANT))
    assert ob3.unverified(kept.jwt)[0]["kid"] == u.key("sato", _active_kid(sato))


def test_every_badge_has_its_own_status_place_as_soon_as_it_is_issued(sato: Runtime) -> None:
    """Places come from the issuer's sequence when the badge is issued (a direct award, a
    reissue): no reading of a credential has to write one."""
    encadrant = actor(sato, ENCADRANT)
    eid = _enroll(sato, "Awa")
    ids = [e.award(sato, eid, f"sato.{s}", by=encadrant, now=T0) for s in SKILLS]
    places = [_place(sato, a) for a in ids]
    assert places == list(range(len(ids)))  # dense, in order of issue
    badge_documents.credential_jwt(sato, ids[0], urls(BASE))
    assert _place(sato, ids[0]) == 0  # reading kept it
    # a badge re-bound to an e-mail given later is a new assertion: the next place
    new = reissue.rebind(sato, _participant(sato, eid), "awa@example.org", by=actor(sato, CIP))
    assert sorted(_place(sato, a) for _, a in new) == list(range(len(ids), 2 * len(ids)))


def _participant(rt: Runtime, enrollment_id: int) -> int:
    from engine.store.tables import Enrollment

    with rt.reading() as c:
        return c.execute(
            select(Enrollment.participant_id).where(Enrollment.id == enrollment_id)
        ).scalar_one()


def test_badges_issued_at_once_never_share_a_place(sato: Runtime) -> None:
    """Staff awarding at the same moment, for the same issuer: each badge its own place (on
    PostgreSQL through the issuer's lock, on SQLite through its single writer)."""
    u = urls(BASE)
    encadrant = actor(sato, ENCADRANT)
    enrollments = [_enroll(sato, f"P{i}") for i in range(6)]

    def award(eid: int) -> tuple[str, str]:
        aid, kept = e.award_portable(sato, eid, "sato.jeu-de-piste", u, by=encadrant)
        return aid, ob3.unverified(kept.jwt)[1]["credentialStatus"]["statusListIndex"]

    with ThreadPoolExecutor(len(enrollments)) as pool:
        done = list(pool.map(award, enrollments))
    assert sorted(int(place) for _, place in done) == list(range(len(enrollments)))
    assert all(_place(sato, aid) == int(place) for aid, place in done)


def test_a_badge_issued_without_a_place_gets_the_next_free_one_when_read(sato: Runtime) -> None:
    """A row written before places were given at issue (or around the issuing path): read
    by several at once, it gets one place, after the issuer's highest, and keeps it."""
    u = urls(BASE)
    encadrant = actor(sato, ENCADRANT)
    eid = _enroll(sato, "Awa")
    ids = [e.award(sato, eid, f"sato.{s}", by=encadrant) for s in SKILLS]
    with sato.unit_of_work() as s:
        s.execute(update(Assertion).where(Assertion.id.in_(ids[:3])).values(status_index=None))
    with ThreadPoolExecutor(6) as pool:
        tokens = list(pool.map(lambda a: badge_documents.credential_jwt(sato, a, u), ids[:3] * 2))
    places = [int(ob3.unverified(t)[1]["credentialStatus"]["statusListIndex"]) for t in tokens]
    assert places[:3] == places[3:]  # the same badge, the same place
    assert sorted(places[:3]) == [5, 6, 7]
    assert [_place(sato, a) for a in ids[:3]] == places[:3]


def test_a_refused_award_writes_nothing(sato: Runtime) -> None:
    """Refusals from the joined permission check and from the insert itself: no assertion, no
    place taken, no audit event; the next badge takes the next place as if nothing happened."""
    u = urls(BASE)
    eid = _enroll(sato, "Awa")
    first = e.award(sato, eid, "sato.jeu-de-piste", by=actor(sato, ENCADRANT))
    with sato.reading() as c:
        before = (
            c.execute(select(func.count()).select_from(Assertion)).scalar_one(),
            c.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
        )
    with pytest.raises(Forbidden):  # staff of another SIAE
        e.award_portable(sato, eid, "sato.ponctualite", u, by=actor(sato, OTHER_CIP))
    with pytest.raises(Forbidden):  # the participant themselves
        participant = actor(sato, _participant(sato, eid))
        e.award_portable(sato, eid, "sato.ponctualite", u, by=participant)
    with pytest.raises(Conflict, match="déjà détenu"):
        e.award_portable(sato, eid, "sato.jeu-de-piste", u, by=actor(sato, ENCADRANT))
    with pytest.raises(NotFound, match="introuvable"):
        e.award_portable(sato, eid, "sato.inconnu", u, by=actor(sato, ENCADRANT))
    with pytest.raises(NotFound, match="parcours"):
        e.award_portable(sato, 999_999, "sato.ponctualite", u, by=actor(sato, ENCADRANT))
    with sato.reading() as c:
        after = (
            c.execute(select(func.count()).select_from(Assertion)).scalar_one(),
            c.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
        )
    assert after == before
    aid, _ = e.award_portable(sato, eid, "sato.ponctualite", u, by=actor(sato, ENCADRANT))
    assert (_place(sato, first), _place(sato, aid)) == (0, 1)
