"""What an import adds about a person (birth year, PASS IAE number) is hers to see and to have
erased, and never leaves in a badge: not in the Open Badges 2.0 assertion, the 3.0 credential,
the CLR of her parcours, nor any webhook or outbox payload, even once the badge is shared with
a partner that has a webhook."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import select

from engine.openbadges import ob3
from engine.services import badge_documents, clr, group_award, outbox, privacy, shares
from engine.services import participant_import as pi
from engine.services.organisations import add_staff
from engine.services.runtime import Runtime
from engine.store.tables import Delivery, Person
from tests.conftest import CIP, ENCADRANT, T0, actor

PASS_IAE, BIRTH = "999992312345", 1994
FILE = (
    "prenom;nom;email;annee_naissance;pass_iae;parcours\r\n"
    f"Awa;Diallo;awa.diallo@exemple.org;{BIRTH};99999 23 12345;sato-femmes-metallurgie\r\n"
).encode()


def _values(doc: Any) -> list[Any]:
    """Every key and leaf value of a JSON document."""
    if isinstance(doc, dict):
        return [v for k, x in doc.items() for v in (k, *_values(x))]
    if isinstance(doc, list):
        return [v for x in doc for v in _values(x)]
    return [doc]


def _clean(name: str, doc: Any) -> None:
    text = doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False)
    for spelling in (PASS_IAE, "99999 23 12345"):
        assert spelling not in text, f"{name} : le PASS IAE y figure"
    leaves = _values(doc) if not isinstance(doc, str) else []
    assert BIRTH not in leaves and str(BIRTH) not in leaves, f"{name} : l'année de naissance"
    for key in ("pass_iae", "birth_year", "annee_naissance", "passIae"):
        assert key not in leaves, f"{name} : {key}"


def test_her_pass_iae_never_leaves_in_a_badge_but_is_hers_to_see_and_erase(
    sato: Runtime,
) -> None:
    cip = actor(sato, CIP)
    report = pi.import_participants(sato, "liste.csv", FILE, structure="sato-interim", by=cip)
    [line] = report.lines
    pid, eid = line.person_id, line.enrollment_id
    assert pid and eid
    done = group_award.award_group(
        sato,
        "sato.jeu-de-piste",
        "sato-interim",
        [pid],
        group_award.SharedEvidence("Jeu de piste", date(2026, 3, 2), "Quatre entreprises"),
        by=actor(sato, ENCADRANT),
        now=T0,
    )
    [(_, aid, _)] = done.awarded
    # shared with the GEIQ, which receives its badges by webhook
    with sato.unit_of_work() as s:
        add_staff(s, "gwen@geiq.example", "Gwen", "Le Bris", [("geiq-industrie", "partner")])
    shares.set_webhook(
        sato, "geiq-industrie", "https://geiq.example/hook", by=actor(sato, "gwen@geiq.example")
    )
    shares.share(sato, aid, "geiq-industrie", by=cip)

    u = sato.urls
    documents = {
        "assertion OB 2.0": badge_documents.assertion_document(sato, aid, u)[1],
        "credential OB 3.0": badge_documents.credential_document(sato, aid, u),
        "VC-JWT OB 3.0": badge_documents.credential_jwt(sato, aid, u),
        "CLR 2.0": clr.clr_document(sato, clr.enrollment_public_id(sato, eid, by=cip), u),
    }
    documents["VC-JWT décodé"] = list(ob3.unverified(documents["VC-JWT OB 3.0"]))
    with sato.unit_of_work() as s:
        deliveries = s.execute(select(Delivery)).scalars().all()
    assert {d.channel for d in deliveries} >= {"webhook"}
    for d in deliveries:
        documents[f"envoi {d.key}"] = d.payload
        if d.channel == "webhook":
            documents[f"webhook {d.key}"] = outbox.webhook_payload(
                sato, d.key, d.target, d.payload["assertion_id"]
            )
    assert any(k.startswith("webhook ") for k in documents)
    for name, doc in documents.items():
        _clean(name, doc)

    # her export holds them; erasure blanks them
    mine = privacy.export(sato, pid, by=cip)["personne"]
    assert (mine["pass_iae"], mine["annee_naissance"]) == (PASS_IAE, BIRTH)
    privacy.erase(sato, pid, by=cip)
    with sato.unit_of_work() as s:
        person = s.get(Person, pid)
        assert (person.pass_iae, person.birth_year) == (None, None)
    assert privacy.export(sato, pid, by=cip)["personne"]["pass_iae"] is None
