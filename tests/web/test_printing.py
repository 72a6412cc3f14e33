"""Badges on paper: the PDF of one badge (public, like its page) and the livret of a parcours
(the participant and the staff who may read it), read back with pypdf: French texts, the
holder, the criteria, the QR code's pixels and the address printed under it, page numbers."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime

import pytest
from PIL import Image
from pypdf import PdfReader

from engine.openbadges.images import qr_png
from engine.openbadges.printing import Livret, PrintedBadge, badge_pdf, livret_pdf
from engine.services.accounts import set_password
from tests.conftest import ENCADRANT, OTHER_CIP
from tests.web.conftest import BASE, PASSWORD, login

NEW = {
    "pathway": "atelier-decouverte",
    "structure": "sato-interim",
    "given_name": "Awa",
    "family_name": "Diallo",
    "email": "awa.diallo@example.org",
}
NARRATIVE = "A présenté soudeuse, chaudronnier et tuyauteur « avec aisance »"


def _pdf(resp) -> PdfReader:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/pdf"
    assert resp.content.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(resp.content))


def _pages(reader: PdfReader) -> list[str]:
    """Each page's text, whitespace collapsed (a wrapped line reads as one)."""
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def _qr_pixels(url: str) -> tuple[tuple[int, int], list[int]]:
    im = Image.open(io.BytesIO(qr_png(url))).convert("L")
    return im.size, list(im.get_flattened_data())


def _printed_qrs(reader: PdfReader) -> list[tuple[tuple[int, int], list[int]]]:
    """The black-and-white pictures of the document (the QR codes), as greyscale pixels."""
    found = []
    for page in reader.pages:
        for picture in page.images:
            im = picture.image.convert("L")
            if set(im.get_flattened_data()) <= {0, 255}:
                found.append((im.size, list(im.get_flattened_data())))
    return found


def _walk(client, web) -> tuple[int, dict[str, str]]:
    """Awa's parcours: a badge from the pathway's first step, one awarded by the encadrant
    technique with a narrative, one from the second step. Returns (enrollment, badges by
    name -> assertion id)."""
    csrf = login(client)
    h = {"X-CSRF-Token": csrf}
    eid = client.post("/api/v1/enrollments", json=NEW, headers=h).json()["id"]
    assert client.post(
        f"/api/v1/enrollments/{eid}/advance", json={"trigger": "demarrer"}, headers=h
    ).is_success
    set_password(web, ENCADRANT, PASSWORD)
    encadrant = client.__class__(client.app, base_url=BASE)
    award = encadrant.post(
        f"/api/v1/enrollments/{eid}/badges",
        json={"badge": "sato.metiers-industrie", "narrative": NARRATIVE},
        headers={"X-CSRF-Token": login(encadrant, ENCADRANT)},
    )
    assert award.status_code == 201, award.text
    added = client.post(
        f"/api/v1/enrollments/{eid}/evidence",
        data={"kind": "fiche-atelier", "narrative": "Fiche remplie"},
        headers=h,
    )
    assert added.status_code == 201, added.text
    assert client.post(
        f"/api/v1/enrollments/{eid}/advance", json={"trigger": "valider-atelier"}, headers=h
    ).is_success
    items = client.get(f"/api/v1/enrollments/{eid}/badges").json()["items"]
    return eid, {b["name"]: b["id"] for b in items}


def test_a_badge_prints_on_one_a4_page_with_its_qr_code(client, web) -> None:
    _, earned = _walk(client, web)
    aid = earned["Métiers de l'industrie"]
    anonymous = client.__class__(client.app, base_url=BASE)
    reader = _pdf(anonymous.get(f"/badges/{aid}/badge.pdf"))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (
        210,
        297,
    )
    [text] = _pages(reader)
    url = f"{BASE}/badges/{aid}"
    for expected in (
        "Badge numérique ouvert (Open Badge)",
        "Métiers de l'industrie",
        "Titulaire Awa D.",
        "Délivré par SATO Brest",
        "Critères d'obtention Présenter trois métiers de la métallurgie rencontrés",
        "Preuves",
        NARRATIVE,
        "Badge authentique et valide",
        "Vérifier ce badge",
        url,
        "page 1 / 1",
    ):
        assert expected in text, expected
    assert "Diallo" not in text  # public, like the page: given name and initial
    assert _printed_qrs(reader) == [_qr_pixels(url)]
    assert len(reader.pages[0].images) == 2  # the badge's picture and the QR code
    assert reader.metadata.title == "Badge « Métiers de l'industrie » — Awa D."
    missing = anonymous.get("/badges/pas-un-badge/badge.pdf")
    assert missing.status_code == 404
    assert "introuvable" in missing.text


def test_the_badge_page_and_the_enrollment_page_link_to_their_pdf(client, web) -> None:
    eid, earned = _walk(client, web)
    aid = earned["Jeu de piste en entreprises"]
    assert (
        f'href="{BASE}/badges/{aid}/badge.pdf">Imprimer (PDF)</a>'
        in client.get(f"/badges/{aid}").text
    )
    page = client.get(f"/parcours/{eid}").text
    assert f'href="/api/v1/enrollments/{eid}/livret.pdf">Livret du parcours (PDF)</a>' in page


def test_the_livret_shows_the_parcours_and_each_badge_in_one_block(client, web) -> None:
    eid, earned = _walk(client, web)
    reader = _pdf(client.get(f"/api/v1/enrollments/{eid}/livret.pdf"))
    pages = _pages(reader)
    text = " ".join(pages)
    for expected in (
        "Livret du parcours",
        "Atelier découverte (parcours de test)",
        "Participant·e Awa Diallo",
        "Structure SATO Intérim",
        "Situation terminé — étape « Mise en emploi »",
        "Badges obtenus 3",
        "Étapes franchies",
        "— Accueil",
        "— Atelier en entreprise",
        "— Mise en emploi",
        "Titulaire Awa Diallo",
        "Critères d'obtention Avoir visité au moins trois entreprises",
        "Citer les équipements de protection individuelle",
        NARRATIVE,
    ):
        assert expected in text, expected
    assert len(pages) >= 2
    for n, page in enumerate(pages, 1):
        assert f"page {n} / {len(pages)}" in page
    # each badge whole on one page: its name, its criteria and its address together
    assert len(earned) == 3
    for name, aid in earned.items():
        [where] = [n for n, page in enumerate(pages) if f"{BASE}/badges/{aid}" in page]
        assert name in pages[where], name
    assert sorted(_printed_qrs(reader)) == sorted(
        _qr_pixels(f"{BASE}/badges/{aid}") for aid in earned.values()
    )
    # the participant reads it too, from their own space
    pid = client.get("/api/v1/enrollments").json()["items"][0]["participant_id"]
    link = client.post(
        f"/api/v1/participants/{pid}/link", headers={"X-CSRF-Token": login(client)}
    ).json()["url"]
    participant = client.__class__(client.app, base_url=BASE)
    participant.post(link.removeprefix(BASE))
    own = _pdf(participant.get(f"/api/v1/enrollments/{eid}/livret.pdf"))
    assert "Awa Diallo" in " ".join(_pages(own))


def test_the_livret_is_refused_to_another_structure_and_to_anonymous(client, web) -> None:
    eid, _ = _walk(client, web)
    other = client.__class__(client.app, base_url=BASE)
    login(other, OTHER_CIP)
    refused = other.get(f"/api/v1/enrollments/{eid}/livret.pdf")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "Diallo" not in refused.text
    anonymous = client.__class__(client.app, base_url=BASE)
    assert anonymous.get(f"/api/v1/enrollments/{eid}/livret.pdf").status_code == 401
    assert client.get("/api/v1/enrollments/999999/livret.pdf").status_code == 404


def test_an_erased_participant_is_named_nowhere_in_a_new_livret(client, web) -> None:
    eid, earned = _walk(client, web)
    pid = client.get("/api/v1/enrollments").json()["items"][0]["participant_id"]
    h = {"X-CSRF-Token": login(client)}
    assert client.delete(f"/api/v1/participants/{pid}", headers=h).status_code == 204
    resp = client.get(f"/api/v1/enrollments/{eid}/livret.pdf")
    reader = _pdf(resp)
    text = " ".join(_pages(reader))
    assert "Personne anonymisée" in text
    assert "Situation sorti" in text or "Situation terminé" in text
    for word in ("Awa", "Diallo", "awa.diallo", NARRATIVE):
        assert word not in text
        assert word not in (reader.metadata.title or "")
        assert word.encode() not in resp.content
    assert "Badges obtenus 0" in text  # erasure revoked them: none is printed as held
    badge = _pdf(client.get(f"/badges/{earned['Jeu de piste en entreprises']}/badge.pdf"))
    printed = " ".join(_pages(badge))
    assert "Awa" not in printed and "Badge révoqué le" in printed


def _badge(n: int, evidence: int = 1) -> PrintedBadge:
    return PrintedBadge(
        name=f"Badge n° {n} « savoir-être »",
        holder="Élodie Ngô",
        issuer="Fédération des entreprises d'insertion",
        issued_on=datetime(2026, 3, 2, 9, tzinfo=UTC),
        description="Respecte les horaires de travail et prévient en cas d'absence.",
        criteria="Un mois sans retard non prévenu, observé par l'encadrant technique. " * 3,
        page_url=f"{BASE}/badges/{n:08d}-0000-4000-8000-000000000000",
        expires=datetime(2028, 3, 2, tzinfo=UTC),
        evidence=[
            (f"pièce {i}", "Observé en atelier, très régulier. " * 4) for i in range(evidence)
        ],
    )


def test_ten_badges_each_whole_on_a_page_numbered_page(caplog) -> None:
    badges = [_badge(n, evidence=n % 4) for n in range(1, 11)]
    livret = Livret(
        participant="Élodie Ngô",
        pathway="Accueil et emploi",
        structure="Régie de quartier",
        network="Fédération Grand Est",
        started_at=datetime(2026, 1, 5, tzinfo=UTC),
        ended_at=None,
        status="en cours",
        stage="Immersion",
        stages=[("Accueil", datetime(2026, 1, 5, tzinfo=UTC))],
        badges=badges,
    )
    with caplog.at_level(logging.WARNING, logger="fpdf"):
        reader = PdfReader(io.BytesIO(livret_pdf(livret)))
    assert not [r for r in caplog.records if "missing" in r.getMessage()]
    pages = _pages(reader)
    assert len(pages) >= 5
    for n, page in enumerate(pages, 1):
        assert page.endswith(f"page {n} / {len(pages)}") or f"page {n} / {len(pages)}" in page
    assert "parcours en cours" in pages[0] and "Valable jusqu'au 02/03/2028" in " ".join(pages)
    for b in badges:
        [where] = [n for n, page in enumerate(pages) if b.page_url in page]
        assert b.name in pages[where] and "Critères d'obtention" in pages[where]
    assert len(_printed_qrs(reader)) == 10


@pytest.mark.parametrize("name", ["Нина Петрова", "Ελένη Παπαδοπούλου", "Nguyễn Thị Hương"])
def test_names_beyond_french_print_without_missing_glyphs(name, caplog) -> None:
    from dataclasses import replace

    with caplog.at_level(logging.WARNING, logger="fpdf"):
        pdf = badge_pdf(replace(_badge(1), holder=name))
    assert not [r for r in caplog.records if "missing" in r.getMessage()]
    assert name in " ".join(_pages(PdfReader(io.BytesIO(pdf))))


def test_a_character_beyond_the_cut_fonts_brings_in_the_whole_font(caplog) -> None:
    from dataclasses import replace

    holder = "Awa ✓ ⅓"  # a check mark, a third: not in the cut fonts, in DejaVu Sans
    with caplog.at_level(logging.WARNING, logger="fpdf"):
        pdf = badge_pdf(replace(_badge(1), holder=holder))
    assert not [r for r in caplog.records if "missing" in r.getMessage()]
    reader = PdfReader(io.BytesIO(pdf))
    plain = PdfReader(io.BytesIO(badge_pdf(_badge(1))))
    assert len(plain.pages[0]["/Resources"]["/Font"]) == 2  # the cut fonts only
    assert len(reader.pages[0]["/Resources"]["/Font"]) == 4  # and the whole ones
    assert holder in " ".join(_pages(reader))
