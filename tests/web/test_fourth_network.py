"""A fourth network joins with files only: no Python, no restart of the running server.

The Fédération des entreprises d'insertion Grand Est writes its network file (five
savoir-être badges, a key badge with three sub-badges, a committee of three SIAE deciding by
majority, a GEIQ receiving the final badge) and its pathway (welcome, PMSMP, a mission in a
company, a positive exit) — tests/data/fourth_network/. The operator publishes the network with
the CLI while the server runs; the federation's admin publishes the pathway through the API;
two participants walk it through the API; the final badge reaches the GEIQ's webhook, and the
badges verify with Parcours' verifier, the IMS OB 2.0 validator and openbadgeslib.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from joserfc.jwk import RSAKey
from openbadgeslib.ob3.verifier import OB3Verifier
from typer.testing import CliRunner

from engine.api.app import create_app
from engine.cli.app import app as cli_app
from engine.openbadges import ob3
from engine.openbadges.verification import verify_ob2
from engine.services import badge_documents, outbox
from engine.services.badges import urls
from engine.services.runtime import Runtime
from tests.third_party import free_port, ims_validate, ims_validator_python, serving
from tests.web.test_outbox import Receiver

FILES = Path(__file__).parents[1] / "data" / "fourth_network"
NETWORK = "fei-grand-est"
PATHWAY = "fei-accueil-emploi"
STRUCTURES = {
    "fei-metz": "Tremplin Metz",
    "fei-nancy": "Chantier Nancy",
    "fei-reims": "Atelier Reims",
}
STAFF = {
    "admin@fei.example": ["network_admin@fei-grand-est"],
    "cip.metz@fei.example": ["cip@fei-metz"],
    "encadrant.metz@fei.example": ["encadrant_technique@fei-metz"],
    "cip.nancy@fei.example": ["cip@fei-nancy"],
    "directeur.reims@fei.example": ["directeur@fei-reims"],
    "cip.reims@fei.example": ["cip@fei-reims"],
    "gwen@geiq-btp.example": ["partner@geiq-btp-grand-est"],
}


@pytest.fixture(autouse=True)
def _partner_on_loopback(monkeypatch) -> None:
    """The GEIQ listens on 127.0.0.1 over plain http, allowed here as an administrator allows
    a host (see `engine.webhooks`)."""
    monkeypatch.setenv("PARCOURS_ALLOW_HTTP_WEBHOOKS", "1")
    monkeypatch.setenv("PARCOURS_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")


def operator(db_url: str, *args: str) -> str:
    """`parcours --db URL ...`, as the server's operator types it in another process."""
    result = CliRunner().invoke(cli_app, ["--db", db_url, *args])
    assert result.exit_code == 0, result.output
    return result.output


class Api:
    """One staff member's API client, with the token the operator gave them."""

    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})

    def post(self, path: str, expect: int = 200, **kw) -> dict:
        resp = self.http.post(f"/api/v1{path}", **kw)
        assert resp.status_code == expect, resp.text
        return resp.json() if resp.content else {}

    def get(self, path: str) -> dict:
        resp = self.http.get(f"/api/v1{path}")
        assert resp.status_code == 200, resp.text
        return resp.json()


def test_a_fourth_network_joins_with_files_only(rt: Runtime, db_url: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Runtime(rt.engine)  # the running server's own caches
    receiver = Receiver()
    geiq_port = free_port()
    with serving(create_app(server, base), port), serving(receiver.app, geiq_port):
        anonymous = httpx.Client(base_url=base)
        before = anonymous.get("/api/v1/networks").json()
        assert NETWORK not in json.dumps(before)

        # The operator checks and publishes the network file while the server runs.
        checked = operator(db_url, "network", "check", str(FILES / "fei-grand-est.yaml"))
        assert "réseau « fei-grand-est » version 1 valide (7 badges, 1 partenaires" in checked
        published = operator(db_url, "network", "publish", str(FILES / "fei-grand-est.yaml"))
        assert "publié : fei-grand-est v1" in published
        for slug, name in STRUCTURES.items():
            operator(
                db_url, "org", "add", slug, "--name", name, "--structure-kind", "EI",
                "--network", NETWORK,
            )  # fmt: skip
        tokens = {}
        for email, roles in STAFF.items():
            given, family = email.split("@")[0].split(".")[0].title(), "Grand Est"
            args = ["staff", "add", email, "--given-name", given, "--family-name", family]
            operator(db_url, *args, *(x for r in roles for x in ("--role", r)))
            tokens[email] = operator(db_url, "staff", "token", email, "--name", "essai").split()[0]
        api = {email: Api(base, token) for email, token in tokens.items()}
        admin, cip_metz = api["admin@fei.example"], api["cip.metz@fei.example"]

        # The running server knows the network at once: its catalogue, its committee rule.
        shown = anonymous.get(f"/api/v1/networks/{NETWORK}").json()
        assert len(shown["definition"]["badges"]) == 7

        # The federation's admin publishes its pathway through the API.
        pathway = (FILES / "accueil-emploi.yaml").read_bytes()
        done = admin.post(
            "/pathways", 201, files={"file": ("accueil-emploi.yaml", pathway, "text/yaml")}
        )
        assert (done["pathway_id"], done["version"]) == (PATHWAY, 1)
        refused = api["cip.metz@fei.example"].http.post(
            "/api/v1/pathways", files={"file": ("accueil-emploi.yaml", pathway, "text/yaml")}
        )
        assert refused.status_code == 403

        # The committee of three SIAE, and the GEIQ's webhook.
        cid = admin.post(
            "/committees",
            201,
            json={"name": "Comité de sortie Grand Est", "kind": f"{NETWORK}.sortie"},
        )["id"]
        for member in ("cip.metz", "cip.nancy", "directeur.reims", "cip.reims"):
            admin.post(f"/committees/{cid}/members", 204, json={"member": f"{member}@fei.example"})
        secret = api["gwen@geiq-btp.example"].http.put(
            "/api/v1/partner/webhook",
            json={
                "organisation": "geiq-btp-grand-est",
                "url": f"http://127.0.0.1:{geiq_port}/hook",
            },
        )
        assert secret.status_code == 200, secret.text
        receiver.secret = secret.json()["secret"]

        # Two participants: Awa at Metz, Karim at Nancy.
        awa = walk_to_mission(api, "fei-metz", "Awa", "cip.metz", "encadrant.metz")
        karim = walk_to_mission(api, "fei-nancy", "Karim", "cip.nancy", "cip.nancy")

        # Conflicts of interest: nobody votes for their own structure's participant.
        conflict = cip_metz.http.post(
            f"/api/v1/enrollments/{awa}/committee-votes",
            json={"trigger": "sortir", "approve": True, "reason": "Elle est prête."},
        )
        assert conflict.status_code == 403
        assert "conflit d'intérêts" in conflict.json()["detail"]
        # Awa: 2 for, 1 against -> positive exit.
        vote(api, awa, "cip.nancy", True, "Mission réussie, l'employeur la garde.")
        vote(api, awa, "cip.reims", False, "Encore fragile sur les horaires.")
        waiting = cip_metz.post(f"/enrollments/{awa}/advance", 422, json={"trigger": "sortir"})
        assert "décision du comité" in json.dumps(waiting, ensure_ascii=False)
        vote(api, awa, "directeur.reims", True, "Sortie en CDD de six mois.")
        assert cip_metz.post(f"/enrollments/{awa}/advance", json={"trigger": "sortir"})[
            "awarded"
        ] == [f"{NETWORK}.sortie-positive"]
        # Karim: his CIP may not vote, the three others decide 2-1.
        refused = api["cip.nancy@fei.example"].http.post(
            f"/api/v1/enrollments/{karim}/committee-votes",
            json={"trigger": "sortir", "approve": True, "reason": "Prêt."},
        )
        assert refused.status_code == 403
        vote(api, karim, "cip.metz", True, "Contrat de professionnalisation signé.")
        vote(api, karim, "cip.reims", True, "Très bon retour de l'entreprise.")
        vote(api, karim, "directeur.reims", False, "À consolider.")
        api["cip.nancy@fei.example"].post(
            f"/enrollments/{karim}/advance", json={"trigger": "sortir"}
        )

        # The worker delivers the final badges to the GEIQ, signed, once each.
        assert outbox.work(Runtime(rt.engine)) == (2, 0)
        payloads = list(receiver.taken.values())
        assert {p["badge"]["badge_class"] for p in payloads} == {f"{NETWORK}.sortie-positive"}
        assert {p["partner"] for p in payloads} == {"geiq-btp-grand-est"}

        # The badges verify: Parcours' verifier, the IMS validator, openbadgeslib.
        history = cip_metz.get(f"/enrollments/{awa}/badges")
        final = next(b for b in history["items"] if b["name"] == "Sortie positive")["id"]
        u = urls(base)
        assertion = u.assertion(final)
        verdict = verify_ob2(anonymous.get(assertion).text, fetch(anonymous))
        assert verdict.valid, verdict
        report = ims_validate(ims_validator_python(), assertion)
        errors = [m for m in report["report"]["messages"] if m["messageLevel"] == "ERROR"]
        assert report["report"]["valid"] and not errors, errors
        token = badge_documents.credential_jwt(server, final, u)
        key = anonymous.get(ob3.unverified(token)[0]["kid"]).json()
        pem = RSAKey.import_key(key.get("publicKeyJwk", key)).as_pem(private=False)
        credential = OB3Verifier(pem).verify(token, check_status=True, download=download(anonymous))
        assert credential.achievement.name == "Sortie positive"
        assert credential.issuer.id == u.profile3(NETWORK)
        issuer = anonymous.get(u.issuer(NETWORK)).json()  # the logo its file gives
        assert anonymous.get(issuer["image"]).content == (FILES / "logo.png").read_bytes()
        document = badge_documents.credential_document(server, final, u)
        assert document["validUntil"]  # the catalogue's validity: two years


def walk_to_mission(api: dict[str, Api], structure: str, name: str, cip: str, skills: str) -> int:
    """Welcome, then the PMSMP with its convention; three savoir-être badges seen at work
    bring the key badge with them; then the mission."""
    staff = api[f"{cip}@fei.example"]
    eid = staff.post(
        "/enrollments",
        201,
        json={
            "pathway": PATHWAY,
            "structure": structure,
            "given_name": name,
            "family_name": "Grand Est",
        },
    )["id"]
    staff.post(
        f"/enrollments/{eid}/evidence",
        201,
        data={"kind": "convention-pmsmp", "narrative": "Convention signée avec l'entreprise"},
    )
    staff.post(f"/enrollments/{eid}/advance", json={"trigger": "commencer-pmsmp"})
    refused = staff.post(f"/enrollments/{eid}/advance", 422, json={"trigger": "partir-en-mission"})
    assert "Ponctualité" in json.dumps(refused, ensure_ascii=False)
    for badge in ("ponctualite", "travail-equipe", "consignes"):
        api[f"{skills}@fei.example"].post(
            f"/enrollments/{eid}/badges", 201, json={"badge": f"{NETWORK}.{badge}"}
        )
    moved = staff.post(f"/enrollments/{eid}/advance", json={"trigger": "partir-en-mission"})
    assert moved["awarded"] == [f"{NETWORK}.pret-pour-l-entreprise"]
    return eid


def vote(api: dict[str, Api], eid: int, member: str, approve: bool, reason: str) -> None:
    api[f"{member}@fei.example"].post(
        f"/enrollments/{eid}/committee-votes",
        201,
        json={"trigger": "sortir", "approve": approve, "reason": reason},
    )


def fetch(client: httpx.Client):
    def get(url: str) -> tuple[int, bytes]:
        resp = client.get(url)
        return resp.status_code, resp.content

    return get


def download(client: httpx.Client):
    def get(url: str) -> bytes:
        resp = client.get(url)
        assert resp.status_code == 200, url
        return resp.content

    return get
