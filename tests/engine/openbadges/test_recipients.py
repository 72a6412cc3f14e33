"""Badges a person carries anywhere, bound to them without e-mail.

Every person has a stable random subject; their profile URL (`/profils/<subject>`) is the OB 3.0
`credentialSubject.id` and VC-JWT `sub` of each of their badges and, hashed, the OB 2.0 `url`
identity of a person without e-mail (a telephone, when that is the contact, is a `telephone`
identity). A badge issued before the person gave an address is re-bound to it later; a badge
with a validity period is renewed. Checked by IMS Global's validator and openbadgeslib on what
the real app serves over a socket, on both databases."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jws
from joserfc.jwk import RSAKey
from openbadgeslib.ob3.verifier import OB3VerificationError, OB3Verifier
from sqlalchemy import select, update

from engine.api.app import create_app
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.openbadges import ob3
from engine.openbadges.identity import hash_identity
from engine.services import (
    accounts,
    badge_documents,
    badges,
    issuing,
    people,
    privacy,
    reissue,
)
from engine.services import enrollments as e
from engine.services.runtime import Runtime
from engine.store.tables import Assertion, AuditEvent, BadgeClass, Person, as_utc
from tests.conftest import CIP, DIRECTRICE, ENCADRANT, OTHER_CIP, T0, actor
from tests.third_party import free_port, ims_validate, ims_validator_python, serving

EMAIL = "awa.diallo@example.org"
BADGES = ("sato.jeu-de-piste", "sato.securite-atelier")
"""Two badges the encadrant technique awards alone."""


@pytest.fixture(scope="session")
def validator() -> Path:
    return ims_validator_python()


@dataclass
class Served:
    rt: Runtime
    base: str
    client: TestClient
    """The same app, in process: for the API calls a test makes as staff."""

    def get(self, url: str) -> httpx.Response:
        assert url.startswith(self.base), url
        return httpx.get(url, timeout=30)

    def download(self, url: str) -> bytes:
        resp = self.get(url)
        assert resp.status_code == 200, url
        return resp.content


@pytest.fixture
def served(sato: Runtime):
    """The real app on a 127.0.0.1 socket, started before any badge is issued: a recipient's
    profile URL is hashed at issue time, under the server's public address."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(sato, base)
    with serving(app, port):
        yield Served(sato, base, TestClient(app, base_url=base))


def _enroll(rt: Runtime, email: str | None = None, phone: str | None = None) -> int:
    return e.enroll(
        rt,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant("Awa", "Diallo", email, phone),
        by=actor(rt, CIP),
        now=T0,
    )


def _award(rt: Runtime, eid: int, badge: str = BADGES[0]) -> str:
    return e.award(rt, eid, badge, by=actor(rt, ENCADRANT), narrative="Visite", now=T0)


def _row(rt: Runtime, aid: str) -> Assertion:
    with rt.unit_of_work() as s:
        a = s.get(Assertion, aid)
        s.expunge(a)
        return a


def _holder(rt: Runtime, aid: str) -> Person:
    with rt.unit_of_work() as s:
        person = s.get(Person, s.get(Assertion, aid).recipient_id)
        s.expunge(person)
        return person


def _profile(served: Served, aid: str) -> str:
    return f"{served.base}/profils/{_holder(served.rt, aid).subject}"


def _errors(report: dict) -> list[str]:
    return [m["result"] for m in report["report"]["messages"] if m["messageLevel"] == "ERROR"]


def _pem(served: Served, token: str) -> bytes:
    doc = json.loads(served.download(ob3.unverified(token)[0]["kid"]))
    return RSAKey.import_key(doc.get("publicKeyJwk", doc)).as_pem(private=False)


# --- without e-mail: the profile URL --------------------------------------------------------


def test_an_email_less_badge_is_bound_to_the_profile_url_and_passes_the_ims_validator(
    served: Served, validator: Path
) -> None:
    aid = _award(served.rt, _enroll(served.rt))
    profile = _profile(served, aid)
    doc = served.get(f"{served.base}/ob/v2/assertions/{aid}").json()
    recipient = doc["recipient"]
    assert recipient["type"] == "url" and recipient["hashed"] is True
    assert recipient["identity"] == hash_identity(profile, recipient["salt"], fold_case=False)
    assert "profils" not in json.dumps(doc)  # the profile URL itself is not published in OB 2.0

    report = ims_validate(validator, f"{served.base}/ob/v2/assertions/{aid}", profile)
    assert report["report"]["valid"], _errors(report)
    assert report["report"]["errorCount"] == 0
    # the recipient check is real: another person's profile is refused
    another = profile[:-1] + ("1" if profile.endswith("0") else "0")
    other = ims_validate(validator, f"{served.base}/ob/v2/assertions/{aid}", another)
    assert not other["report"]["valid"]
    assert any("did not match" in m for m in _errors(other)), _errors(other)


def test_the_vc_jwt_names_the_profile_as_its_subject_and_openbadgeslib_verifies_it(
    served: Served,
) -> None:
    aid = _award(served.rt, _enroll(served.rt))
    profile = _profile(served, aid)
    token = served.get(f"{served.base}/ob/v3/credentials/{aid}").text
    key = RSAKey.import_key(json.loads(served.download(ob3.unverified(token)[0]["kid"])))
    payload = json.loads(jws.deserialize_compact(token, key, algorithms=["RS256"]).payload)
    assert payload["sub"] == payload["credentialSubject"]["id"] == profile
    # the hash of a URL identity would repeat the id: no identifier, and never a urn:uuid
    assert "identifier" not in payload["credentialSubject"]

    verifier = OB3Verifier(_pem(served, token))
    credential = verifier.verify(
        token, expected_recipient=profile, check_status=True, download=served.download
    )
    assert credential.recipient_id == profile
    with pytest.raises(OB3VerificationError):
        verifier.verify(token, expected_recipient=f"{served.base}/profils/quelqu-un")


def test_with_an_email_the_credential_keeps_the_hashed_address_beside_the_profile(
    served: Served, validator: Path
) -> None:
    aid = _award(served.rt, _enroll(served.rt, EMAIL))
    subject = ob3.unverified(served.get(f"{served.base}/ob/v3/credentials/{aid}").text)[1]
    subject = subject["credentialSubject"]
    assert subject["id"] == _profile(served, aid)
    [identity] = subject["identifier"]
    assert identity["identityType"] == "emailAddress"
    assert identity["identityHash"] == hash_identity(EMAIL, identity["salt"])
    report = ims_validate(validator, f"{served.base}/ob/v2/assertions/{aid}", EMAIL)
    assert report["report"]["valid"], _errors(report)


def test_a_telephone_is_the_identity_when_it_is_the_contact(
    served: Served, validator: Path
) -> None:
    rt = served.rt
    pid = people.add_participant(
        rt, "sato-interim", "Awa", "Diallo", by=actor(rt, CIP), phone="06 12 34 56 78"
    )
    eid = _enroll(rt)  # found again by name: the same person, with their telephone
    aid = _award(rt, eid)
    assert _holder(rt, aid).id == pid and _holder(rt, aid).phone == "+33612345678"
    a = _row(rt, aid)
    assert a.recipient_type == "telephone"
    assert a.recipient_identity == hash_identity("+33612345678", a.salt, fold_case=False)
    report = ims_validate(validator, f"{served.base}/ob/v2/assertions/{aid}", "+33612345678")
    assert report["report"]["valid"], _errors(report)
    other = ims_validate(validator, f"{served.base}/ob/v2/assertions/{aid}", "+33699999999")
    assert not other["report"]["valid"]
    # OB 3.0: the profile is the subject, the hashed telephone an identifier
    token = badge_documents.credential_jwt(rt, aid, rt.urls)
    subject = ob3.unverified(token)[1]["credentialSubject"]
    assert subject["id"] == _profile(served, aid)
    assert subject["identifier"][0]["identityType"] == "ext:telephone"
    OB3Verifier(_pem(served, token)).verify(token, check_status=True, download=served.download)


def test_a_telephone_must_be_a_telephone(served: Served) -> None:
    with pytest.raises(InvalidInput, match="numéro de téléphone invalide"):
        people.add_participant(
            served.rt, "sato-interim", "A", "B", by=actor(served.rt, CIP), phone="joindre Awa"
        )
    resp = served.client.post(
        "/api/v1/participants",
        json={"structure": "sato-interim", "given_name": "A", "family_name": "B", "phone": "12"},
        headers=_bearer(served),
    )
    assert resp.status_code == 422 and "téléphone" in resp.text


def test_a_badge_issued_before_profiles_still_verifies(served: Served) -> None:
    """Rows from before migration 0010 hashed `urn:uuid:<assertion id>`: served as they are."""
    aid = _award(served.rt, _enroll(served.rt))
    a = _row(served.rt, aid)
    legacy = hash_identity(f"urn:uuid:{aid}", a.salt)
    with served.rt.unit_of_work() as s:
        s.execute(update(Assertion).where(Assertion.id == aid).values(recipient_identity=legacy))
    doc = served.get(f"{served.base}/ob/v2/assertions/{aid}").json()
    assert doc["recipient"]["identity"] == legacy and doc["recipient"]["type"] == "url"
    token = served.get(f"{served.base}/ob/v3/credentials/{aid}").text
    credential = OB3Verifier(_pem(served, token)).verify(token, download=served.download)
    assert credential.recipient_id == _profile(served, aid)


# --- the profile page -----------------------------------------------------------------------


def test_the_profile_page_lists_the_valid_badges_and_forgets_an_erased_person(
    served: Served,
) -> None:
    rt = served.rt
    eid = _enroll(rt)
    kept, revoked = _award(rt, eid, BADGES[0]), _award(rt, eid, BADGES[1])
    badges.revoke(rt, revoked, "Délivré par erreur", by=actor(rt, DIRECTRICE))
    profile = _profile(served, kept)
    page = served.get(profile)
    assert page.status_code == 200
    assert "Profil de titulaire de badges" in page.text and "Awa D." in page.text
    assert f"/badges/{kept}" in page.text and f"/badges/{revoked}" not in page.text
    assert "Diallo" not in page.text
    assert served.get(f"{served.base}/profils/{'0' * 36}").status_code == 404
    assert served.get(f"{served.base}/profils/nimporte-quoi").status_code == 404

    privacy.erase(rt, _holder(rt, kept).id, by=actor(rt, CIP))
    gone = served.get(profile)
    assert gone.status_code == 404 and "Awa" not in gone.text
    assert _holder(rt, kept).subject == profile.rsplit("/", 1)[1]  # kept, pointing at nothing
    assert _holder(rt, kept).phone is None


def test_the_export_names_the_profile_and_the_telephone(served: Served) -> None:
    rt = served.rt
    pid = people.add_participant(
        rt, "sato-interim", "Awa", "Diallo", by=actor(rt, CIP), phone="+33612345678"
    )
    data = privacy.export(rt, pid, by=actor(rt, CIP))
    assert data["personne"]["telephone"] == "+33612345678"
    assert data["personne"]["profil"].startswith(f"{served.base}/profils/")


# --- re-binding to an e-mail given later ----------------------------------------------------


def _bearer(served: Served, who: str = CIP) -> dict[str, str]:
    return {"Authorization": f"Bearer {accounts.create_api_token(served.rt, who, 'tests')}"}


def test_rebinding_reissues_each_badge_to_the_address_given(
    served: Served, validator: Path
) -> None:
    rt = served.rt
    eid = _enroll(rt)
    old = [_award(rt, eid, b) for b in BADGES]
    pid = _holder(rt, old[0]).id

    resp = served.client.post(
        f"/api/v1/participants/{pid}/rebind", json={"email": EMAIL}, headers=_bearer(served)
    )
    assert resp.status_code == 200, resp.text
    replaced = {r["old"]: r["new"] for r in resp.json()["replaced"]}
    assert set(replaced) == set(old)

    for before, after in replaced.items():
        was, now = _row(rt, before), _row(rt, after)
        assert was.revoked_at is not None
        assert was.revocation_reason == "remplacé par un badge lié à l'adresse e-mail"
        assert now.replaces == before and now.revoked_at is None
        assert now.recipient_type == "email"
        assert now.recipient_identity == hash_identity(EMAIL, now.salt)
        assert (now.badge_class_id, now.enrollment_id) == (was.badge_class_id, was.enrollment_id)
        assert now.evidence == was.evidence
        assert served.get(f"{served.base}/ob/v2/assertions/{before}").status_code == 410

    new = replaced[old[0]]
    doc = served.get(f"{served.base}/ob/v2/assertions/{new}").json()
    assert {"id": f"{served.base}/ob/v2/assertions/{old[0]}"}.items() <= doc["evidence"][-1].items()
    report = ims_validate(validator, f"{served.base}/ob/v2/assertions/{new}", EMAIL)
    assert report["report"]["valid"], _errors(report)
    token = served.get(f"{served.base}/ob/v3/credentials/{new}").text
    credential = OB3Verifier(_pem(served, token)).verify(
        token, check_status=True, download=served.download
    )
    assert credential.recipient_id == _profile(served, new)  # the same subject as before

    with rt.unit_of_work() as s:
        assert s.get(Person, pid).email == EMAIL
        events = s.execute(
            select(AuditEvent).where(AuditEvent.kind.in_(["badge_rebound", "email_set"]))
        ).scalars()
        history = {(ev.kind, (ev.details or {}).get("assertion")) for ev in events}
    assert history == {("email_set", None)} | {("badge_rebound", a) for a in old}
    # nothing left to re-bind
    assert reissue.rebind(rt, pid, by=actor(rt, CIP)) == []


def test_rebinding_is_one_transaction(served: Served, monkeypatch) -> None:
    rt = served.rt
    eid = _enroll(rt)
    old = [_award(rt, eid, b) for b in BADGES]
    pid = _holder(rt, old[0]).id
    real, calls = issuing.reissue_row, []

    def second_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("panne au milieu de la transaction")
        return real(*args, **kwargs)

    monkeypatch.setattr(issuing, "reissue_row", second_fails)
    with pytest.raises(RuntimeError):
        reissue.rebind(rt, pid, EMAIL, by=actor(rt, CIP))
    assert len(calls) == 2
    with rt.unit_of_work() as s:
        assert s.get(Person, pid).email is None
        rows = s.execute(select(Assertion).where(Assertion.recipient_id == pid)).scalars().all()
        assert sorted(a.id for a in rows) == sorted(old)
        assert all(a.revoked_at is None for a in rows)
        assert not s.execute(
            select(AuditEvent).where(AuditEvent.kind.in_(["badge_rebound", "email_set"]))
        ).first()


def test_rebinding_needs_an_address_and_the_participants_team(served: Served) -> None:
    rt = served.rt
    pid = _holder(rt, _award(rt, _enroll(rt))).id
    with pytest.raises(InvalidInput, match="adresse e-mail"):
        reissue.rebind(rt, pid, by=actor(rt, CIP))
    with pytest.raises(Forbidden):
        reissue.rebind(rt, pid, EMAIL, by=actor(rt, OTHER_CIP))
    other = people.add_participant(
        rt, "sato-interim", "Ines", "Autre", "ines@example.org", by=actor(rt, CIP)
    )
    assert other != pid
    with pytest.raises(Conflict, match="autre participant"):
        reissue.rebind(rt, pid, "INES@example.org", by=actor(rt, CIP))


# --- renewal ---------------------------------------------------------------------------------


def _with_validity(rt: Runtime, days: int) -> None:
    with rt.unit_of_work() as s:
        s.execute(update(BadgeClass).where(BadgeClass.slug == BADGES[0]).values(validity_days=days))
    rt.forget_catalogue()


def test_renewing_an_expiring_badge(served: Served) -> None:
    rt = served.rt
    _with_validity(rt, 365)
    old = _award(rt, _enroll(rt, EMAIL))
    assert _row(rt, old).expires is not None
    later = T0 + timedelta(days=360)

    with pytest.raises(Forbidden):
        reissue.renew(rt, old, by=actor(rt, OTHER_CIP), now=later)
    new = reissue.renew(rt, old, by=actor(rt, ENCADRANT), now=later)
    was, now = _row(rt, old), _row(rt, new)
    assert was.revoked_at is not None and was.revocation_reason.startswith("renouvelé")
    assert now.replaces == old
    assert as_utc(now.expires) == later + timedelta(days=365)
    assert now.recipient_identity == hash_identity(EMAIL, now.salt)
    doc = served.get(f"{served.base}/ob/v2/assertions/{new}").json()
    assert doc["expires"].startswith(str((later + timedelta(days=365)).date()))
    token = served.get(f"{served.base}/ob/v3/credentials/{new}").text
    payload = ob3.unverified(token)[1]
    assert payload["evidence"][-1]["id"] == f"{served.base}/ob/v3/credentials/{old}"
    with rt.unit_of_work() as s:
        assert s.execute(
            select(AuditEvent.details).where(AuditEvent.kind == "badge_renewed")
        ).scalar_one() == {"assertion": old, "replaced_by": new, "badge": BADGES[0]}
    with pytest.raises(Conflict, match="révoqué"):
        reissue.renew(rt, old, by=actor(rt, ENCADRANT), now=later)

    # over the API, as the encadrant
    resp = served.client.post(f"/api/v1/badges/{new}/renew", headers=_bearer(served, ENCADRANT))
    assert resp.status_code == 201, resp.text
    assert resp.json()["replaces"] == new


def test_a_badge_without_validity_is_not_renewed(served: Served) -> None:
    aid = _award(served.rt, _enroll(served.rt))
    with pytest.raises(InvalidInput, match="durée de validité"):
        reissue.renew(served.rt, aid, by=actor(served.rt, ENCADRANT))
    assert _row(served.rt, aid).revoked_at is None
