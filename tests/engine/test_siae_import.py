"""SATO's network admin brings in the Finistère's SIAE from « les emplois de l'inclusion »
(issue 20), here a local server answering as the platform's `/api/v1/siaes/` does (token
header, `departement`, pages of `count` / `next` / `results`): structures keep their SIRET,
kind and département; an entreprise adaptée or a GEIQ is skipped with its reason; a second run
creates nothing; a dry run writes nothing; a refused token, a throttled call or an outage is
told in French and writes nothing; only the network's admins may import."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from engine.errors import Forbidden
from engine.roles import OrganisationKind
from engine.services.organisations import upsert_organisation
from engine.services.runtime import Runtime
from engine.services.siae_directory import DirectoryUnavailable
from engine.services.structure_import import import_structures
from engine.store.tables import AuditEvent, Membership, Organisation
from tests.conftest import DIRECTRICE, NETWORK_ADMIN, T0, actor
from tests.engine.test_cli import run
from tests.third_party import free_port, serving

TOKEN = "jeton-de-test-0123456789"


def _siae(siret: str, kind: str, name: str, departement: str = "29", **more) -> dict:
    """One result as the platform's SiaeSerializer writes it."""
    return {
        "cree_le": "2024-01-15T10:00:00+01:00",
        "mis_a_jour_le": "2025-06-01T09:30:00+02:00",
        "siret": siret,
        "type": kind,
        "raison_sociale": name.upper(),
        "enseigne": name,
        "site_web": more.get("site_web", ""),
        "description": more.get("description", ""),
        "bloque_candidatures": False,
        "addresse_ligne_1": "1 rue de Siam",
        "addresse_ligne_2": "",
        "code_postal": "29200",
        "ville": "Brest",
        "departement": departement,
        "postes": [
            {
                "id": 1,
                "rome": "H2913",
                "cree_le": "2024-01-15T10:00:00+01:00",
                "mis_a_jour_le": "2024-01-15T10:00:00+01:00",
                "recrutement_ouvert": "True",
                "description": "",
                "appellation_modifiee": "",
            }
        ],
    }


FINISTERE = [
    _siae("73282932000074", "ACI", "Atelier du Port", site_web="https://atelier-du-port.example"),
    _siae("35600000000048", "ETTI", "Intérim Solidaire Brest"),
    _siae("40483304800022", "EITI", "Coopérative des Indépendants"),
    _siae("55210055400013", "EA", "Entreprise Adaptée de l'Élorn"),
    _siae("44306184100047", "GEIQ", "GEIQ Industrie Bretagne"),
    _siae("12345678901234", "AI", "Association au SIRET faux"),
    _siae("39387654500004", "EI", "Recyclerie de Morlaix", description="Réemploi et vente"),
]
"""Seven entries over three pages of three: four SIAE to import, an EA and a GEIQ skipped,
one SIRET whose key is wrong."""


@dataclass
class FakePlatform:
    url: str
    calls: list[dict] = field(default_factory=list)
    answer: int = 200
    """Set to 401, 429 or 503 to make the platform refuse."""


def _platform(state: dict) -> FastAPI:
    app = FastAPI()

    @app.get("/api/v1/siaes/")
    def siaes(request: Request) -> JSONResponse:
        platform: FakePlatform = state["platform"]
        q = request.query_params
        platform.calls.append({"auth": request.headers.get("authorization"), **q})
        if platform.answer == 429:
            return JSONResponse(
                {"detail": "Request was throttled. Expected available in 42 seconds."},
                status_code=429,
                headers={"Retry-After": "42"},
            )
        if platform.answer != 200:
            return JSONResponse({"detail": "Erreur"}, status_code=platform.answer)
        if request.headers.get("authorization") != f"Token {TOKEN}":
            return JSONResponse({"detail": "Token invalide."}, status_code=401)
        if "departement" not in q and not ("code_insee" in q and "distance_max_km" in q):
            return JSONResponse(
                [
                    "Les paramètres `code_insee` et `distance_max_km` sont obligatoires si "
                    "`departement` n'est pas spécifié."
                ],
                status_code=400,
            )
        rows = [r for r in FINISTERE if r["departement"] == q["departement"]]
        size = min(int(q.get("page_size", 20)), 3)  # small pages: pagination is exercised
        page = int(q.get("page", 1))
        chunk = rows[(page - 1) * size : page * size]
        base = f"{platform.url}/api/v1/siaes/?departement={q['departement']}&page_size={size}"
        return JSONResponse(
            {
                "count": len(rows),
                "next": f"{base}&page={page + 1}" if page * size < len(rows) else None,
                "previous": f"{base}&page={page - 1}" if page > 1 else None,
                "results": chunk,
            }
        )

    return app


@pytest.fixture(scope="module")
def _server() -> Iterator[dict]:
    state: dict = {}
    port = free_port()
    with serving(_platform(state), port) as url:
        state["url"] = url
        yield state


@pytest.fixture
def platform(_server: dict, monkeypatch) -> FakePlatform:
    fake = FakePlatform(_server["url"])
    _server["platform"] = fake
    monkeypatch.setenv("PARCOURS_EMPLOIS_URL", fake.url)
    return fake


def _structures(rt: Runtime) -> dict[str, tuple]:
    with rt.reading() as c:
        rows = c.execute(
            select(
                Organisation.siret,
                Organisation.slug,
                Organisation.name,
                Organisation.kind,
                Organisation.structure_kind,
                Organisation.departement,
                Organisation.url,
            ).where(Organisation.siret.is_not(None))
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def _members_of_sato(rt: Runtime) -> set[str]:
    with rt.reading() as c:
        sato_id = c.execute(select(Organisation.id).where(Organisation.slug == "sato")).scalar()
        return set(
            c.execute(
                select(Organisation.slug)
                .join(Membership, Membership.structure_id == Organisation.id)
                .where(Membership.network_id == sato_id)
            ).scalars()
        )


def _audits(rt: Runtime) -> int:
    with rt.reading() as c:
        return c.execute(
            select(func.count()).where(AuditEvent.kind == "structures_imported")
        ).scalar_one()


def test_imported_structures_keep_their_siret_kind_and_departement(
    sato: Runtime, platform: FakePlatform
) -> None:
    admin = actor(sato, NETWORK_ADMIN)
    report = import_structures(sato, "sato", by=admin, token=TOKEN, departement="29", now=T0)

    assert _structures(sato) == {
        "73282932000074": (
            "atelier-du-port",
            "Atelier du Port",
            "structure",
            "ACI",
            "29",
            "https://atelier-du-port.example",
        ),
        "35600000000048": (
            "interim-solidaire-brest",
            "Intérim Solidaire Brest",
            "structure",
            "ETTI",
            "29",
            None,
        ),
        "40483304800022": (
            "cooperative-des-independants",
            "Coopérative des Indépendants",
            "structure",
            "EiTi",
            "29",
            None,
        ),
        "39387654500004": (
            "recyclerie-de-morlaix",
            "Recyclerie de Morlaix",
            "structure",
            "EI",
            "29",
            None,
        ),
    }
    assert {
        "atelier-du-port",
        "interim-solidaire-brest",
        "cooperative-des-independants",
        "recyclerie-de-morlaix",
    } <= _members_of_sato(sato)
    skipped = {line.siret: line.reason for line in report.having("skipped")}
    assert skipped["55210055400013"].startswith("entreprise adaptée : pas une SIAE")
    assert skipped["44306184100047"].startswith("GEIQ : pas une SIAE")
    assert "clé de contrôle" in skipped["12345678901234"]
    assert len(report.having("created")) == 4
    # three pages were read, each with the token and the département
    assert [c.get("page") for c in platform.calls] == [None, "2", "3"]
    assert {c["auth"] for c in platform.calls} == {f"Token {TOKEN}"}
    assert platform.calls[0]["departement"] == "29"
    assert _audits(sato) == 1


def test_a_second_import_creates_nothing_and_updates_what_changed(
    sato: Runtime, platform: FakePlatform
) -> None:
    admin = actor(sato, NETWORK_ADMIN)
    import_structures(sato, "sato", by=admin, token=TOKEN, departement="29")
    before = _structures(sato)
    again = import_structures(sato, "sato", by=admin, token=TOKEN, departement="29")
    assert again.having("created") == [] and again.having("updated") == []
    assert len(again.having("unchanged")) == 4
    assert _structures(sato) == before
    assert _audits(sato) == 1  # nothing done, nothing audited


def test_a_structure_already_known_by_its_siret_is_updated_not_duplicated(
    sato: Runtime, platform: FakePlatform
) -> None:
    with sato.unit_of_work() as s:
        upsert_organisation(
            s, "adp", "ADP Brest", "structure", structure_kind="EI", siret="732 829 320 00074"
        )
    report = import_structures(
        sato, "sato", by=actor(sato, NETWORK_ADMIN), token=TOKEN, departement="29"
    )
    [updated] = report.having("updated")
    assert updated.slug == "adp"
    assert "type EI → ACI" in updated.reason and "ajoutée au réseau" in updated.reason
    slug, name, _, kind, dep, url = _structures(sato)["73282932000074"]
    assert (slug, name, kind, dep, url) == (
        "adp",
        "ADP Brest",  # the network's own name is kept
        "ACI",
        "29",
        "https://atelier-du-port.example",
    )
    assert "adp" in _members_of_sato(sato)


def test_a_dry_run_lists_everything_and_writes_nothing(
    sato: Runtime, platform: FakePlatform
) -> None:
    report = import_structures(
        sato, "sato", by=actor(sato, NETWORK_ADMIN), token=TOKEN, departement="29", dry_run=True
    )
    assert [line.slug for line in report.having("created")] == [
        "atelier-du-port",
        "interim-solidaire-brest",
        "cooperative-des-independants",
        "recyclerie-de-morlaix",
    ]
    assert len(report.having("skipped")) == 3
    assert report.summary.startswith("4 structure(s) seraient créée(s)")
    assert _structures(sato) == {} and _audits(sato) == 0


@pytest.mark.parametrize(
    ("answer", "token", "said"),
    [
        (200, "mauvais-jeton", "jeton refusé par les emplois de l'inclusion"),
        (429, TOKEN, "réessayez dans 42 s"),
        (503, TOKEN, r"ne répondent pas \(erreur 503\)"),
    ],
)
def test_a_refusal_or_an_outage_is_told_in_french_and_writes_nothing(
    sato: Runtime, platform: FakePlatform, answer: int, token: str, said: str
) -> None:
    platform.answer = answer
    with pytest.raises(DirectoryUnavailable, match=said):
        import_structures(
            sato, "sato", by=actor(sato, NETWORK_ADMIN), token=token, departement="29"
        )
    assert _structures(sato) == {} and _audits(sato) == 0


def test_an_unreachable_platform_is_told_in_french(sato: Runtime, monkeypatch) -> None:
    monkeypatch.setenv("PARCOURS_EMPLOIS_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(DirectoryUnavailable, match="injoignables"):
        import_structures(
            sato, "sato", by=actor(sato, NETWORK_ADMIN), token=TOKEN, departement="29"
        )


def test_only_the_network_admins_may_import_and_the_platform_is_not_called_otherwise(
    sato: Runtime, platform: FakePlatform
) -> None:
    with pytest.raises(Forbidden):
        import_structures(sato, "sato", by=actor(sato, DIRECTRICE), token=TOKEN, departement="29")
    assert platform.calls == [] and _structures(sato) == {}


def test_a_wrong_departement_is_refused_before_calling(
    sato: Runtime, platform: FakePlatform
) -> None:
    from engine.errors import InvalidInput

    with pytest.raises(InvalidInput, match="la Corse s'écrit 2A ou 2B"):
        import_structures(
            sato, "sato", by=actor(sato, NETWORK_ADMIN), token=TOKEN, departement="20"
        )
    assert platform.calls == []


def test_the_command_imports_with_the_token_from_the_environment(
    sato: Runtime, platform: FakePlatform, db_url: str, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("PARCOURS_EMPLOIS_TOKEN", TOKEN)
    argv = ["--db", db_url, "org", "import-emplois", "--network", "sato", "--departement", "29"]
    code, out, err = run(capsys, *argv, "--essai", "--by", NETWORK_ADMIN)
    assert code == 0, err
    assert "Essai : rien n'est enregistré." in out
    assert "4 structure(s) seraient créée(s)" in out
    assert _structures(sato) == {}
    assert "  à créer  73282932000074  ACI  Atelier du Port → atelier-du-port" in out
    code, out, err = run(capsys, *argv, "--by", NETWORK_ADMIN)
    assert code == 0, err
    assert "  créée  73282932000074  ACI  Atelier du Port → atelier-du-port" in out
    assert "ignorée  55210055400013  EA   Entreprise Adaptée de l'Élorn" in out
    assert len(_structures(sato)) == 4
    monkeypatch.delenv("PARCOURS_EMPLOIS_TOKEN")
    code, _, err = run(capsys, *argv)
    assert code == 2 and "jeton d'API manquant" in err


def test_the_structure_kinds_are_the_five_siae_only() -> None:
    from engine.roles import StructureKind

    assert [k.value for k in StructureKind] == ["AI", "ACI", "EI", "ETTI", "EiTi"]
    assert OrganisationKind.PARTNER.value == "partner"
