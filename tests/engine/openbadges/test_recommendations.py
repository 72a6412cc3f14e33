"""Companies recommend a participant's badge through the link the participant sends them; the
public badge page (reached by its QR code) shows it."""

from __future__ import annotations

import pytest

from engine.errors import Conflict, Forbidden, InvalidInput
from engine.services import badge_documents, endorsements, shares
from tests.conftest import T0, actor
from tests.engine.openbadges.conftest import ADIE, GEIQ


def test_a_company_recommends_through_the_link_and_the_page_shows_it(issued, u) -> None:
    link = endorsements.request_recommendation(
        issued.rt, issued.assertion, "geiq-industrie", "rh@geiq.example", u, by=issued.holder
    )
    path = link.removeprefix(u.base)
    form = issued.client.get(path)
    assert form.status_code == 200 and "Recommander Awa D." in form.text
    done = issued.client.post(path, data={"commentaire": "Ponctuelle et curieuse, bravo."})
    assert done.status_code == 200 and "Merci" in done.text
    again = issued.client.get(path)
    assert again.status_code == 410 and "déjà servi" in again.text

    page = issued.client.get(f"/badges/{issued.assertion}")
    assert page.status_code == 200
    assert "GEIQ industrie Bretagne" in page.text and "Ponctuelle et curieuse" in page.text
    assert "Badge authentique" in page.text
    assert f'/badges/{issued.assertion}/qr.svg" width="160"' in page.text
    assert "Diallo" not in page.text  # given name and initial only
    qr = issued.client.get(f"/badges/{issued.assertion}/qr.png")
    assert qr.headers["content-type"] == "image/png"
    svg = issued.client.get(f"/badges/{issued.assertion}/qr.svg")
    assert svg.headers["content-type"] == "image/svg+xml" and svg.text.startswith("<svg")
    assert "immutable" in svg.headers["cache-control"]
    assert issued.client.get("/badges/inconnu/qr.svg").status_code == 404


def test_a_company_may_recommend_on_its_own_initiative(issued) -> None:
    adie = actor(issued.rt, ADIE)
    with pytest.raises(Forbidden, match="n'a pas été partagé avec ADIE"):
        endorsements.endorse(issued.rt, "adie", "assertion", issued.assertion, "Bien", by=adie)
    shares.share(issued.rt, issued.assertion, "adie", by=issued.holder)
    endorsements.endorse(
        issued.rt, "adie", "assertion", issued.assertion, "Très bon contact client", by=adie
    )
    [rec] = endorsements.endorsements_of(issued.rt, "assertion", issued.assertion)
    assert (rec.endorser_slug, rec.requested) == ("adie", False)


def test_recommendation_requests_are_checked(issued, u) -> None:
    rt, assertion, awa = issued.rt, issued.assertion, issued.holder
    with pytest.raises(InvalidInput, match="adresse e-mail"):
        endorsements.request_recommendation(rt, assertion, "adie", "pas-un-mail", u, by=awa)
    with pytest.raises(InvalidInput, match="n'est pas une entreprise"):
        endorsements.request_recommendation(rt, assertion, "sato", "a@b.fr", u, by=awa)
    with pytest.raises(Forbidden, match="demander une recommandation"):
        endorsements.request_recommendation(rt, assertion, "adie", "a@b.fr", u, by=actor(rt, ADIE))
    link = endorsements.request_recommendation(rt, assertion, "adie", "a@b.fr", u, by=awa, now=T0)
    with pytest.raises(Conflict, match="expiré"):
        endorsements.answer_recommendation(
            issued.rt, link.rsplit("/", 1)[1], "Bien", now=T0.replace(year=T0.year + 1)
        )
    with pytest.raises(InvalidInput, match="commentaire"):
        endorsements.answer_recommendation(issued.rt, link.rsplit("/", 1)[1], " ", now=T0)


def test_the_public_page_shows_each_endorsement_under_what_it_vouches_for(issued) -> None:
    rt = issued.rt
    adie, geiq = actor(rt, ADIE), actor(rt, GEIQ)
    shown = badge_documents.public_badge(rt, issued.assertion).badge
    shares.share(rt, issued.assertion, "adie", by=issued.holder)
    endorsements.endorse(rt, "adie", "assertion", issued.assertion, "Recommandée", by=adie)
    endorsements.endorse(
        rt, "geiq-industrie", "badge_class", shown.badge_class.slug, "Utile", by=geiq
    )
    endorsements.endorse(rt, "adie", "issuer", shown.issuer.slug, "Réseau sérieux", by=adie)
    with rt.unit_of_work() as session:
        other = next(s for s in rt.catalogue(session) if s != shown.badge_class.slug)
    endorsements.endorse(rt, "adie", "badge_class", other, "Un autre badge", by=adie)

    page = badge_documents.public_badge(rt, issued.assertion)
    assert [e.comment for e in page.recommendations] == ["Recommandée"]
    assert [e.comment for e in page.class_endorsements] == ["Utile"]
    assert [(e.endorser_slug, e.comment) for e in page.issuer_endorsements] == [
        ("adie", "Réseau sérieux")
    ]
