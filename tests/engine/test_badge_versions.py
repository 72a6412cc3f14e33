"""Versioned badge classes: a network republishes its file with a changed badge; badges issued
before keep the class they were issued under (its criteria, at its old URLs, still verifying),
badges issued after point at the new version's URLs, and every lookup by badge id picks the
right row now that an id has several versions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from engine.api.app import create_app
from engine.badges.assertions import issue_badges
from engine.errors import Conflict, InvalidInput, NotFound
from engine.openbadges import ob3
from engine.openbadges.verification import verify_ob3, verify_url
from engine.services import (
    badge_documents,
    endorsements,
    networks,
    organisation_badges,
    people,
    proposals,
    request_views,
    requests,
)
from engine.services import enrollments as e
from engine.services.badges import urls
from engine.services.organisations import add_staff, upsert_organisation
from engine.services.runtime import Runtime
from engine.statuses import BadgeClassStatus, RequestStatus
from engine.store.tables import (
    Assertion,
    BadgeClass,
    BadgeRequest,
    BadgeSetting,
    NetworkVersion,
    Organisation,
)
from tests.conftest import CIP, DIRECTRICE, ENCADRANT, NETWORK_ADMIN, SYSTEM, T0, actor

BASE = "http://badges.test"
BADGE = "sato.jeu-de-piste"
OLD = "Avoir visité au moins trois entreprises lors du jeu de piste et échangé avec leurs salariés."
NEW = "Avoir visité au moins quatre entreprises lors du jeu de piste et présenté l'une d'elles."
V1_CLASS = f"{BASE}/ob/v2/badges/{BADGE}"
V2_CLASS = f"{BASE}/ob/v2/badges/{BADGE}/v2"
V1_ACHIEVEMENT = f"{BASE}/ob/v3/achievements/{BADGE}"
V2_ACHIEVEMENT = f"{BASE}/ob/v3/achievements/{BADGE}/v2"
GEIQ = "rh@geiq-industrie.example"


def _sato_file(rt: Runtime, tmp_path: Path, *, version: int = 2, criteria: str = NEW) -> Path:
    """SATO's network file, under another version number, with the trail badge's criteria."""
    text = (rt.networks_dir / "sato.yaml").read_text(encoding="utf-8")
    assert OLD in text
    text = re.sub(r"^version: 1$", f"version: {version}", text, count=1, flags=re.MULTILINE)
    path = tmp_path / "sato.yaml"
    path.write_text(text.replace(OLD, criteria), encoding="utf-8")
    return path


def _publish(rt: Runtime, path: Path) -> networks.Published:
    return networks.publish(rt, networks.check_file(rt, path), by=actor(rt, NETWORK_ADMIN))


def _client(rt: Runtime) -> TestClient:
    return TestClient(create_app(rt, BASE), base_url=BASE)


def _fetcher(client: TestClient):
    def fetch(url: str) -> tuple[int, bytes]:
        assert url.startswith(BASE), url
        resp = client.get(url.removeprefix(BASE))
        return resp.status_code, resp.content

    return fetch


def _get(client: TestClient, url: str):
    resp = client.get(url.removeprefix(BASE))
    assert resp.status_code == 200, (url, resp.text)
    return resp.json()


def _enroll(rt: Runtime, given: str, email: str) -> int:
    return e.enroll(
        rt,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant(given, "Diallo", email),
        by=actor(rt, CIP),
        now=T0,
    )


def _award(rt: Runtime, enrollment: int) -> str:
    return e.award(rt, enrollment, BADGE, by=actor(rt, ENCADRANT), narrative="Visite", now=T0)


def _rows(rt: Runtime, slug: str = BADGE) -> list[tuple[int, str, str]]:
    with rt.unit_of_work() as s:
        return [
            tuple(r)
            for r in s.execute(
                select(BadgeClass.version, BadgeClass.status, BadgeClass.criteria)
                .where(BadgeClass.slug == slug)
                .order_by(BadgeClass.version)
            ).all()
        ]


def test_a_badge_keeps_the_version_it_was_issued_under_and_a_new_one_points_at_v2(
    sato: Runtime, tmp_path: Path
) -> None:
    before = _award(sato, _enroll(sato, "Awa", "awa@example.org"))
    published = _publish(sato, _sato_file(sato, tmp_path))
    assert (published.version, published.badges_versioned) == (2, [BADGE])
    assert _rows(sato) == [
        (1, BadgeClassStatus.SUPERSEDED, OLD),
        (2, BadgeClassStatus.ACTIVE, NEW),
    ]
    after = _award(sato, _enroll(sato, "Fatou", "fatou@example.org"))
    client, fetch, u = _client(sato), _fetcher(_client(sato)), urls(BASE)

    # OB 2.0: the old badge still names the unversioned class, with the old criteria
    old = _get(client, u.assertion(before))
    assert old["badge"] == V1_CLASS
    old_class = _get(client, old["badge"])
    assert old_class["id"] == V1_CLASS and old_class["criteria"]["narrative"] == OLD
    assert old_class["image"] == f"{V1_CLASS}/image.png"
    verdict = verify_url(u.assertion(before), fetch)
    assert verdict.status == "valide", verdict.reasons

    # ... the new one names /v2, with the new criteria and its own picture
    new = _get(client, u.assertion(after))
    assert new["badge"] == V2_CLASS
    new_class = _get(client, new["badge"])
    assert new_class["id"] == V2_CLASS and new_class["criteria"]["narrative"] == NEW
    assert new_class["image"] == f"{V2_CLASS}/image.png"
    picture = client.get(new_class["image"].removeprefix(BASE))
    assert picture.status_code == 200 and picture.content[:4] == b"\x89PNG"
    verdict = verify_url(u.assertion(after), fetch)
    assert verdict.status == "valide", verdict.reasons

    # OB 3.0: each credential embeds the achievement of its own version, and verifies
    for aid, achievement, criteria in ((before, V1_ACHIEVEMENT, OLD), (after, V2_ACHIEVEMENT, NEW)):
        token = badge_documents.credential_jwt(sato, aid, u)
        verdict = verify_ob3(token, fetch)
        assert verdict.status == "valide", verdict.reasons
        subject = ob3.unverified(token)[1]["credentialSubject"]["achievement"]
        assert (subject["id"], subject["criteria"]["narrative"]) == (achievement, criteria)
        hosted = _get(client, achievement)
        assert (hosted["id"], hosted["criteria"]["narrative"]) == (achievement, criteria)
        assert hosted["image"]["id"] == (
            f"{V1_CLASS}/image.png" if achievement == V1_ACHIEVEMENT else f"{V2_CLASS}/image.png"
        )

    # a version that does not exist is a 404, as is an unknown badge at the unversioned URL
    assert client.get(f"/ob/v2/badges/{BADGE}/v3").status_code == 404
    assert client.get(f"/ob/v3/achievements/{BADGE}/v3").status_code == 404
    assert client.get(f"/ob/v2/badges/{BADGE}/v3/image.png").status_code == 404
    assert client.get("/ob/v2/badges/sato.inconnu").status_code == 404
    # a badge that never changed keeps one version, at the unversioned URL only
    assert _get(client, "/ob/v2/badges/sato.securite-atelier")["id"].endswith("securite-atelier")
    assert client.get("/ob/v2/badges/sato.securite-atelier/v2").status_code == 404


def test_a_badge_made_of_others_relates_to_their_current_versions(
    sato: Runtime, tmp_path: Path
) -> None:
    _publish(sato, _sato_file(sato, tmp_path))
    client = _client(sato)
    doc = _get(client, "/ob/v3/achievements/sato.decouvert-industrie")
    # Sub-badges are not OB 3.0 `related` (another edition of the same achievement): a CLR 2.0
    # links them, at their current versions (tests/engine/openbadges/test_clr.py).
    assert "related" not in doc
    narrative = _get(client, "/ob/v2/badges/sato.decouvert-industrie")["criteria"]["narrative"]
    assert "Jeu de piste en entreprises" in narrative


def test_a_person_holding_v1_is_not_issued_v2_again(sato: Runtime, tmp_path: Path) -> None:
    enrollment = _enroll(sato, "Awa", "awa@example.org")
    first = _award(sato, enrollment)
    _publish(sato, _sato_file(sato, tmp_path))
    with pytest.raises(Conflict, match="déjà détenu"):
        _award(sato, enrollment)
    with sato.unit_of_work() as s:
        holder = s.get(Assertion, first).recipient_id
        catalogue = sato.catalogue(s)
        # the insert itself skips a badge held under any of its versions
        issued = issue_badges(s, catalogue, [BADGE], holder, enrollment, None, T0, held=None)
        assert issued == []
        count = s.execute(
            select(func.count(Assertion.id)).where(Assertion.recipient_id == holder)
        ).scalar_one()
    assert count == 1


def test_settings_and_pending_requests_follow_the_new_version(
    sato: Runtime, tmp_path: Path
) -> None:
    cip = actor(sato, CIP)
    requests.configure(
        sato,
        "sato-interim",
        BADGE,
        mode="signatures",
        by=actor(sato, DIRECTRICE),
        criteria_note="Trois visites au Technopôle Brest-Iroise.",
    )
    awa = people.add_participant(sato, "sato-interim", "Awa", "Diallo", by=cip)
    rid = requests.submit(sato, BADGE, by=cip, participant_id=awa)
    assert request_views.get(sato, rid, by=cip).status == RequestStatus.PENDING

    _publish(sato, _sato_file(sato, tmp_path))
    with sato.unit_of_work() as s:
        v1, v2 = s.execute(
            select(BadgeClass.id).where(BadgeClass.slug == BADGE).order_by(BadgeClass.version)
        ).scalars()
        structure = s.execute(
            select(Organisation.id).where(Organisation.slug == "sato-interim")
        ).scalar_one()
        setting = s.get(BadgeSetting, (structure, v2))
        assert setting is not None and setting.criteria_note.startswith("Trois visites")
        assert s.get(BadgeRequest, rid).badge_class_id == v2
    view = request_views.get(sato, rid, by=cip)
    assert NEW in view.criteria and "Trois visites" in view.criteria

    # configuring again changes the active version's setting, not the superseded one's
    requests.configure(sato, "sato-interim", BADGE, mode="signatures", by=actor(sato, DIRECTRICE))
    with sato.unit_of_work() as s:
        assert s.get(BadgeSetting, (structure, v2)).criteria_note is None
        assert s.get(BadgeSetting, (structure, v1)).criteria_note.startswith("Trois visites")

    done = requests.review(sato, rid, by=cip, approve=True, reason="Quatre visites faites")
    assert done.status == RequestStatus.APPROVED
    _, doc = badge_documents.assertion_document(sato, done.assertion_id, urls(BASE))
    assert doc["badge"] == V2_CLASS


def test_the_same_version_with_other_content_is_refused_and_writes_nothing(
    sato: Runtime, tmp_path: Path
) -> None:
    # the same content under the published number is a no-op
    again = _publish(sato, _sato_file(sato, tmp_path, version=1, criteria=OLD))
    assert again.new is False
    with pytest.raises(InvalidInput, match="déjà publié avec un autre contenu") as refused:
        _publish(sato, _sato_file(sato, tmp_path, version=1))
    assert "version: 2" in str(refused.value)
    assert _rows(sato) == [(1, BadgeClassStatus.ACTIVE, OLD)]
    with sato.unit_of_work() as s:
        assert s.execute(
            select(NetworkVersion.version).where(NetworkVersion.network == "sato")
        ).scalars().all() == [1]


def test_a_badge_a_published_pathway_names_cannot_leave_the_catalogue(
    sato: Runtime, tmp_path: Path
) -> None:
    path = _sato_file(sato, tmp_path)
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^  - id: sato\.contrat-pro-geiq\n(    .*\n)+", "", text, flags=re.MULTILINE)
    text = re.sub(r"^      sato\.contrat-pro-geiq: .*\n", "", text, flags=re.MULTILINE)
    assert "contrat-pro-geiq" not in text
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match="sato-femmes-metallurgie") as refused:
        _publish(sato, path)
    assert "« sato.contrat-pro-geiq » ne peut pas quitter le catalogue" in str(refused.value)
    # nothing written: neither the retirement nor the other badge's new version
    assert _rows(sato, "sato.contrat-pro-geiq")[0][:2] == (1, BadgeClassStatus.ACTIVE)
    assert _rows(sato) == [(1, BadgeClassStatus.ACTIVE, OLD)]
    with sato.unit_of_work() as s:
        assert (
            s.execute(
                select(func.count(NetworkVersion.id)).where(NetworkVersion.network == "sato")
            ).scalar_one()
            == 1
        )


def test_an_endorsement_of_a_versioned_badge_class_speaks_for_its_current_version(
    sato: Runtime, tmp_path: Path
) -> None:
    _publish(sato, _sato_file(sato, tmp_path))
    with sato.unit_of_work() as s:
        add_staff(s, GEIQ, "Gaëlle", "Riou", [("geiq-industrie", "partner")])
    eid = endorsements.endorse(
        sato,
        "geiq-industrie",
        "badge_class",
        BADGE,
        "Un bon premier pas vers nos métiers",
        by=actor(sato, GEIQ),
    )
    u = urls(BASE)
    assert endorsements.endorsement_document(sato, eid, u)["claim"]["id"] == V2_CLASS
    token = endorsements.endorsement_jwt(sato, eid, u)
    assert ob3.unverified(token)[1]["credentialSubject"]["id"] == V2_ACHIEVEMENT
    with pytest.raises(NotFound):
        endorsements.endorse(
            sato, "geiq-industrie", "badge_class", "sato.inconnu", "…", by=actor(sato, GEIQ)
        )


def test_an_organisation_holding_v1_is_not_awarded_v2(sato: Runtime, tmp_path: Path) -> None:
    company = "sato.entreprise-accueillante"
    with sato.unit_of_work() as s:
        upsert_organisation(s, "naval-group", "Naval Group", "partner", email="rh@naval.example")
    organisation_badges.award(sato, company, "naval-group", by=actor(sato, NETWORK_ADMIN), now=T0)
    path = _sato_file(sato, tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("avec un\n      tuteur désigné", "avec une\n      tutrice désignée"),
        encoding="utf-8",
    )
    assert set(_publish(sato, path).badges_versioned) == {BADGE, company}
    with pytest.raises(Conflict, match="détient déjà"):
        organisation_badges.award(
            sato, company, "naval-group", by=actor(sato, NETWORK_ADMIN), now=T0
        )


def test_a_project_badge_keeps_version_1_and_its_slug_count_counts_badges_not_versions(
    sato: Runtime,
) -> None:
    director = actor(sato, DIRECTRICE)
    slug = proposals.propose(
        sato, "sato-interim", "sato", "Jeu de piste", "Visites", "Trois visites", by=director
    )
    assert slug == "sato.projet-jeu-de-piste"
    with sato.unit_of_work() as s:
        # a second version of the project badge's slug must not make the next slug skip one
        first = s.execute(select(BadgeClass).where(BadgeClass.slug == slug)).scalar_one()
        assert first.version == 1
        s.add(
            BadgeClass(
                slug=slug,
                version=2,
                network="sato",
                name=first.name,
                description=first.description,
                criteria="Quatre visites",
                status=BadgeClassStatus.SUPERSEDED,
                proposed_by=first.proposed_by,
            )
        )
    second = proposals.propose(
        sato, "sato-interim", "sato", "Jeu de piste", "Visites", "Autre", by=director
    )
    assert second == "sato.projet-jeu-de-piste-2"
    # reviewing a slug with several versions reads its latest, without an error
    with pytest.raises(Conflict, match="déjà été examiné"):
        proposals.review(sato, slug, approve=True, reason="Oui", by=SYSTEM)
