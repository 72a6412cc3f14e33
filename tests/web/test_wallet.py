"""Badges into the holder's wallet (OpenID for Verifiable Credential Issuance 1.0, pre-authorized
code flow), tried from the wallet's side: a holder written here with httpx and joserfc scans
the offer the participant's page shows, reads the metadata, trades the code for a token, proves
it holds its own key (P-256 or Ed25519, named as a `jwk` or a `did:jwk` kid) and checks the
credential it gets with the issuer's published keys. Then what must be refused is: a code used
twice, a wrong or reused nonce, a proof for another issuer or signed by another key, an expired
offer or token, an offer made for someone else. And the badge page's LinkedIn link."""

from __future__ import annotations

import base64
import html
import json
import re
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import segno
from fastapi.testclient import TestClient
from joserfc import jws
from joserfc.jwk import ECKey, KeySet, OKPKey
from playwright.sync_api import expect
from sqlalchemy import func, select

from engine.api.app import create_app
from engine.services import accounts, badges, people, wallet
from engine.services import enrollments as e
from engine.store.tables import CredentialOffer, Person, utcnow
from tests.conftest import CIP, OTHER_CIP, actor
from tests.third_party import free_port, serving
from tests.web.accessibility import assert_accessible
from tests.web.conftest import BASE, login
from tests.web.phone import PHONE, assert_checked, assert_fits
from tests.web.test_browser import _shot, browser  # noqa: F401  (the Chromium fixture)

PROOF = "openid4vci-proof+jwt"


@dataclass
class Holder:
    """A participant with two badges, earned on the test pathway."""

    person_id: int
    enrollment_id: int
    badges: list[str]


@pytest.fixture
def holder(web) -> Holder:
    claire = actor(web, CIP)
    eid = e.enroll(
        web, "atelier-decouverte", "sato-interim", e.Participant("Awa", "Diallo"), by=claire
    )
    e.advance(web, eid, "demarrer", by=claire)
    e.add_evidence(web, eid, "fiche-atelier", by=claire)
    e.advance(web, eid, "valider-atelier", by=claire)
    earned = [aid for aid, _, revoked in badges.badges_of(web, eid, by=claire) if not revoked]
    assert len(earned) == 2
    pid = people.participants(web, claire)[0][0].id
    return Holder(pid, eid, earned)


def _participant_client(web, person_id: int) -> TestClient:
    client = TestClient(create_app(web, BASE), base_url=BASE)
    token = accounts.magic_link(web, person_id, by=actor(web, CIP), send=False)
    opened = client.post(f"/lien/{token}", follow_redirects=False)
    assert opened.status_code == 303, opened.text
    return client


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def _offer_from_page(page: str) -> tuple[str, str]:
    """(offer URI, QR image source) as the participant's page shows them."""
    uri = re.search(r'href="(openid-credential-offer://[^"]+)"', page)
    qr = re.search(r'<figure class="qr portefeuille"><img src="([^"]+)"', page)
    assert uri and qr, "no offer on the page"
    return html.unescape(uri.group(1)), html.unescape(qr.group(1))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass
class Wallet:
    """The holder's side: its own key pair, and the protocol as a wallet app runs it."""

    http: TestClient
    kind: str = "P-256"
    name_key_by: str = "jwk"
    key: Any = None
    log: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind == "P-256":
            self.key, self.alg = ECKey.generate_key("P-256"), "ES256"
        else:
            self.key, self.alg = OKPKey.generate_key("Ed25519"), "EdDSA"

    @property
    def public(self) -> dict[str, Any]:
        return self.key.as_dict(private=False)

    @property
    def did(self) -> str:
        text = json.dumps(self.public, separators=(",", ":"), sort_keys=True)
        return "did:jwk:" + _b64(text.encode())

    # --- the protocol, step by step --------------------------------------------------------

    def scan(self, uri: str) -> dict[str, Any]:
        parts = urlsplit(uri)
        assert parts.scheme == "openid-credential-offer"
        return json.loads(parse_qs(parts.query)["credential_offer"][0])

    def metadata(self, offer: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        issuer = offer["credential_issuer"]
        meta = self.http.get(f"{issuer}/.well-known/openid-credential-issuer").json()
        assert meta["credential_issuer"] == issuer
        server = meta.get("authorization_servers", [issuer])[0]
        oauth = self.http.get(f"{server}/.well-known/oauth-authorization-server").json()
        assert oauth["pre-authorized_grant_anonymous_access_supported"] is True
        return meta, oauth

    def token(self, oauth: dict[str, Any], code: str):
        return self.http.post(
            oauth["token_endpoint"],
            data={
                "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
                "pre-authorized_code": code,
            },
        )

    def nonce(self, meta: dict[str, Any]) -> str:
        answer = self.http.post(meta["nonce_endpoint"])
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
        return answer.json()["c_nonce"]

    def proof(
        self, aud: str, nonce: str | None, *, typ: str = PROOF, signer: Any = None, **claims: Any
    ) -> str:
        header: dict[str, Any] = {"typ": typ, "alg": self.alg}
        if self.name_key_by == "jwk":
            header["jwk"] = self.public
        else:
            header["kid"] = self.did + "#0"
        body = {"aud": aud, "iat": int(time.time()), **claims}
        if nonce is not None:
            body["nonce"] = nonce
        payload = json.dumps(body).encode()
        return jws.serialize_compact(header, payload, signer or self.key, algorithms=[self.alg])

    def ask(self, meta: dict[str, Any], access_token: str, request: dict[str, Any], proof: str):
        return self.http.post(
            meta["credential_endpoint"],
            json={**request, "proofs": {"jwt": [proof]}},
            headers={"Authorization": f"Bearer {access_token}"},
        )

    def receive(self, uri: str) -> list[str]:
        """The whole flow: every credential the offer holds."""
        offer = self.scan(uri)
        meta, oauth = self.metadata(offer)
        assert offer["credential_configuration_ids"] == ["OpenBadgeCredential"]
        config = meta["credential_configurations_supported"]["OpenBadgeCredential"]
        assert config["format"] == "jwt_vc_json"
        assert (
            self.alg in config["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"]
        )
        code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"][
            "pre-authorized_code"
        ]
        answer = self.token(oauth, code)
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        granted = answer.json()
        assert granted["token_type"] == "Bearer"
        identifiers = granted["authorization_details"][0]["credential_identifiers"]
        received = []
        for identifier in identifiers:
            proof = self.proof(meta["credential_issuer"], self.nonce(meta))
            got = self.ask(
                meta, granted["access_token"], {"credential_identifier": identifier}, proof
            )
            assert got.status_code == 200, got.text
            received += [c["credential"] for c in got.json()["credentials"]]
        return received

    def verify(self, credential: str) -> dict[str, Any]:
        """Check the VC-JWT with the JWK set its issuer publishes, as any verifier would."""
        header = dict(jws.extract_compact(credential.encode()).protected)
        claims = json.loads(jws.extract_compact(credential.encode()).payload)
        issuer = claims["iss"]
        keys = self.http.get(f"{issuer}/jwks").json()
        kid = header["kid"].rsplit("/", 1)[-1]
        key = KeySet.import_key_set(keys).get_by_kid(kid)
        verified = jws.deserialize_compact(credential, key, algorithms=[header["alg"]])
        return json.loads(verified.payload)


def _offer_count(web) -> int:
    with web.reading() as conn:
        return conn.execute(select(func.count()).select_from(CredentialOffer)).scalar_one()


# --- the whole flow ---------------------------------------------------------------------------


def test_the_participant_scans_the_page_and_the_wallet_gets_each_badge_bound_to_its_key(
    web, holder: Holder
) -> None:
    me = _participant_client(web, holder.person_id)
    page = me.get("/moi").text
    assert "Mon portefeuille numérique" in page
    assert "openid-credential-offer://" not in page  # an offer is made on demand, not per view
    clr = re.search(r'href="([^"]+)"[^>]*>Télécharger mon parcours \(CLR\)', page)
    assert clr and re.fullmatch(rf"{BASE}/ob/v3/clr/[0-9a-f-]{{36}}\.jwt", clr.group(1))

    shown = me.post("/moi/portefeuille", data={"csrf": _csrf(page)})
    assert shown.status_code == 200
    uri, qr = _offer_from_page(shown.text)
    assert qr.startswith("data:image/svg+xml")
    assert qr == segno.make(uri, error="l").svg_data_uri(scale=4, border=2)  # the QR is the offer

    holder_wallet = Wallet(TestClient(create_app(web, BASE), base_url=BASE))
    credentials = holder_wallet.receive(uri)
    assert len(credentials) == 2
    seen = set()
    for credential in credentials:
        claims = holder_wallet.verify(credential)
        assert claims["sub"] == holder_wallet.did
        assert claims["credentialSubject"]["id"] == holder_wallet.did
        assert "OpenBadgeCredential" in claims["type"]
        assert claims["credentialSubject"]["achievement"]["type"] == ["Achievement"]
        seen.add(claims["jti"])
        # the badge's public copy is not bound to the wallet
        public = holder_wallet.http.get(claims["jti"]).text
        assert holder_wallet.did not in public
    assert seen == {f"{BASE}/ob/v3/credentials/{aid}" for aid in holder.badges}


@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")  # what wallets send today
def test_staff_offer_one_badge_to_a_wallet_naming_its_ed25519_key_by_did_jwk(
    web, client, holder: Holder
) -> None:
    csrf = login(client)
    made = client.post(
        f"/api/v1/participants/{holder.person_id}/wallet-offers",
        json={"badge": holder.badges[1]},
        headers={"X-CSRF-Token": csrf},
    )
    assert made.status_code == 201, made.text
    assert [b["id"] for b in made.json()["badges"]] == [holder.badges[1]]

    w = Wallet(TestClient(create_app(web, BASE), base_url=BASE), "Ed25519", "kid")
    offer = w.scan(made.json()["uri"])
    assert offer == made.json()["credential_offer"]
    meta, oauth = w.metadata(offer)
    code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"][
        "pre-authorized_code"
    ]
    granted = w.token(oauth, code).json()
    assert granted["authorization_details"][0]["credential_identifiers"] == [holder.badges[1]]
    # a wallet that asks by configuration gets the offer's badge
    proof = w.proof(meta["credential_issuer"], w.nonce(meta))
    got = w.ask(
        meta,
        granted["access_token"],
        {"credential_configuration_id": "OpenBadgeCredential"},
        proof,
    )
    assert got.status_code == 200, got.text
    claims = w.verify(got.json()["credentials"][0]["credential"])
    assert claims["sub"] == w.did and w.did.startswith("did:jwk:")
    assert claims["jti"].endswith(holder.badges[1])

    # a badge the offer does not hold is not given
    proof = w.proof(meta["credential_issuer"], w.nonce(meta))
    other = w.ask(meta, granted["access_token"], {"credential_identifier": holder.badges[0]}, proof)
    assert other.status_code == 400
    assert other.json()["error"] == "unknown_credential_identifier"


# --- what is refused --------------------------------------------------------------------------


def _ready(web, holder: Holder, w: Wallet) -> tuple[dict, dict, str, str]:
    """An offer of all the holder's badges, scanned and its code redeemed: (metadata, oauth
    metadata, code, access token)."""
    offer = wallet.create_offer(web, holder.person_id, web.urls, by=actor(web, CIP))
    scanned = w.scan(offer.uri)
    meta, oauth = w.metadata(scanned)
    code = scanned["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"][
        "pre-authorized_code"
    ]
    answer = w.token(oauth, code)
    assert answer.status_code == 200, answer.text
    return meta, oauth, code, answer.json()["access_token"]


@pytest.fixture
def w(web) -> Wallet:
    app = create_app(web, BASE)  # also points web.urls at BASE
    return Wallet(TestClient(app, base_url=BASE))


def test_a_pre_authorized_code_is_used_once(web, holder: Holder, w: Wallet) -> None:
    meta, oauth, code, token = _ready(web, holder, w)
    again = w.token(oauth, code)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert again.headers["cache-control"] == "no-store"
    made_up = w.token(oauth, "pas-un-code")
    assert made_up.json()["error"] == "invalid_grant"
    wrong_grant = w.http.post(
        oauth["token_endpoint"], data={"grant_type": "authorization_code", "code": code}
    )
    assert wrong_grant.json()["error"] == "unsupported_grant_type"
    # the first token still works
    proof = w.proof(meta["credential_issuer"], w.nonce(meta))
    got = w.ask(meta, token, {"credential_identifier": holder.badges[0]}, proof)
    assert got.status_code == 200, got.text


def test_a_proof_needs_a_fresh_nonce_this_issuer_and_the_key_it_names(
    web, holder: Holder, w: Wallet
) -> None:
    meta, _, _, token = _ready(web, holder, w)
    issuer, ask = meta["credential_issuer"], {"credential_identifier": holder.badges[0]}

    def refused(proof: str) -> str:
        answer = w.ask(meta, token, ask, proof)
        assert answer.status_code == 400, answer.text
        assert answer.headers["cache-control"] == "no-store"
        return answer.json()["error"]

    assert refused(w.proof(issuer, "un-nonce-invente")) == "invalid_nonce"
    assert refused(w.proof(issuer, None)) == "invalid_nonce"
    used = w.nonce(meta)
    assert w.ask(meta, token, ask, w.proof(issuer, used)).status_code == 200
    assert refused(w.proof(issuer, used)) == "invalid_nonce"  # a nonce serves once
    assert refused(w.proof("https://autre-emetteur.example", w.nonce(meta))) == "invalid_proof"
    assert refused(w.proof(issuer, w.nonce(meta), typ="JWT")) == "invalid_proof"
    stranger = ECKey.generate_key("P-256")
    assert refused(w.proof(issuer, w.nonce(meta), signer=stranger)) == "invalid_proof"
    old = int(time.time()) - 3600
    assert refused(w.proof(issuer, w.nonce(meta), iat=old)) == "invalid_proof"
    no_proof = w.http.post(
        meta["credential_endpoint"], json=ask, headers={"Authorization": f"Bearer {token}"}
    )
    assert no_proof.json()["error"] == "invalid_proof"
    # without the access token, nothing
    anonymous = w.http.post(
        meta["credential_endpoint"], json={**ask, "proofs": {"jwt": [w.proof(issuer, "x")]}}
    )
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    forged = w.ask(meta, "faux-jeton", ask, w.proof(issuer, w.nonce(meta)))
    assert forged.status_code == 401 and forged.json()["error"] == "invalid_token"


def test_an_expired_offer_or_token_is_refused(web, holder: Holder, w: Wallet) -> None:
    claire = actor(web, CIP)
    long_ago = utcnow() - timedelta(minutes=wallet.OFFER_MINUTES + 1)
    stale = wallet.create_offer(web, holder.person_id, web.urls, by=claire, now=long_ago)
    scanned = w.scan(stale.uri)
    meta, oauth = w.metadata(scanned)
    code = scanned["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"][
        "pre-authorized_code"
    ]
    refused = w.token(oauth, code)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"

    # a token redeemed long enough ago has expired too
    fresh = wallet.create_offer(web, holder.person_id, web.urls, by=claire)
    code = w.scan(fresh.uri)["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"][
        "pre-authorized_code"
    ]
    then = utcnow() - timedelta(minutes=wallet.TOKEN_MINUTES + 1)
    token = wallet.redeem(
        web,
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            "pre-authorized_code": code,
        },
        now=then,
    )["access_token"]
    late = w.ask(
        meta,
        token,
        {"credential_identifier": holder.badges[0]},
        w.proof(meta["credential_issuer"], w.nonce(meta)),
    )
    assert late.status_code == 401 and late.json()["error"] == "invalid_token"


def test_a_revoked_badge_is_neither_offered_nor_given(web, holder: Holder, w: Wallet) -> None:
    meta, _, _, token = _ready(web, holder, w)
    badges.revoke(web, holder.badges[0], "Délivré par erreur", by=actor(web, CIP))
    proof = w.proof(meta["credential_issuer"], w.nonce(meta))
    denied = w.ask(meta, token, {"credential_identifier": holder.badges[0]}, proof)
    assert denied.status_code == 400 and denied.json()["error"] == "credential_request_denied"
    offer = wallet.create_offer(web, holder.person_id, web.urls, by=actor(web, CIP))
    assert [aid for aid, _ in offer.badges] == [holder.badges[1]]


def test_erasing_the_person_ends_their_offers(web, holder: Holder, w: Wallet) -> None:
    from engine.services import privacy

    meta, _, _, token = _ready(web, holder, w)
    privacy.erase(web, holder.person_id, by=actor(web, CIP))
    assert _offer_count(web) == 0
    proof = w.proof(meta["credential_issuer"], w.nonce(meta))
    gone = w.ask(meta, token, {"credential_identifier": holder.badges[0]}, proof)
    assert gone.status_code == 401 and gone.json()["error"] == "invalid_token"


def test_nobody_makes_an_offer_for_someone_else(web, client, holder: Holder) -> None:
    before = _offer_count(web)
    # another participant, of the same structure, with a page of their own
    claire = actor(web, CIP)
    leo_enrollment = e.enroll(
        web, "atelier-decouverte", "sato-interim", e.Participant("Léo", "Martin"), by=claire
    )
    e.advance(web, leo_enrollment, "demarrer", by=claire)
    with web.reading() as conn:
        from engine.services.access import enrollment_target

        leo = enrollment_target(conn, leo_enrollment).participant_id
    assert leo != holder.person_id
    other = _participant_client(web, leo)
    csrf = _csrf(other.get("/moi").text)
    refused = other.post(
        f"/api/v1/participants/{holder.person_id}/wallet-offers",
        json={},
        headers={"X-CSRF-Token": csrf},
    )
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    # through their own page, naming someone else's badge: not theirs, nothing offered
    page = other.post("/moi/portefeuille", data={"csrf": csrf, "badge": holder.badges[0]}).text
    assert "openid-credential-offer://" not in page
    assert "introuvable pour ce participant" in page
    # a CIP of another structure
    csrf = login(client, OTHER_CIP)
    outsider = client.post(
        f"/api/v1/participants/{holder.person_id}/wallet-offers",
        json={},
        headers={"X-CSRF-Token": csrf},
    )
    assert outsider.status_code == 403
    assert _offer_count(web) == before


def test_the_metadata_say_what_a_wallet_needs(client) -> None:
    meta = client.get("/.well-known/openid-credential-issuer").json()
    assert meta["credential_issuer"] == BASE
    assert meta["credential_endpoint"] == f"{BASE}/ob/oid4vci/credential"
    assert meta["nonce_endpoint"] == f"{BASE}/ob/oid4vci/nonce"
    config = meta["credential_configurations_supported"]["OpenBadgeCredential"]
    assert config["format"] == "jwt_vc_json"
    assert config["credential_definition"]["type"] == [
        "VerifiableCredential",
        "OpenBadgeCredential",
    ]
    assert config["cryptographic_binding_methods_supported"] == ["did:jwk"]
    assert config["credential_signing_alg_values_supported"] == ["RS256"]
    assert config["credential_metadata"]["display"][0]["locale"] == "fr-FR"
    oauth = client.get("/.well-known/oauth-authorization-server").json()
    assert oauth["issuer"] == BASE
    assert oauth["token_endpoint"] == f"{BASE}/ob/oid4vci/token"
    assert oauth["pre-authorized_grant_anonymous_access_supported"] is True


# --- LinkedIn ---------------------------------------------------------------------------------


def test_the_badge_page_links_to_linkedins_add_to_profile_form(web, client, holder: Holder) -> None:
    aid = holder.badges[1]
    page = client.get(f"/badges/{aid}").text
    found = re.search(r'<a class="linkedin" href="([^"]+)"', page)
    assert found, "no LinkedIn link"
    url = urlsplit(html.unescape(found.group(1)))
    assert (url.scheme, url.netloc, url.path) == ("https", "www.linkedin.com", "/profile/add")
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    with web.unit_of_work() as session:
        issued = badges.load(session, aid)
    assert issued.badge_class.name == "Règles de sécurité en atelier"
    assert params == {
        "startTask": "CERTIFICATION_NAME",
        "name": "Règles de sécurité en atelier",
        "organizationName": issued.issuer.name,
        "issueYear": str(issued.assertion.issued_on.year),
        "issueMonth": str(issued.assertion.issued_on.month),
        "certUrl": f"{BASE}/badges/{aid}",
        "certId": aid,
    }
    badges.revoke(web, aid, "Délivré par erreur", by=actor(web, CIP))
    assert 'class="linkedin"' not in client.get(f"/badges/{aid}").text


# --- in a browser, on a phone -----------------------------------------------------------------


def test_the_participant_sees_the_wallet_qr_code_on_a_phone(
    web,
    holder: Holder,
    browser,  # noqa: F811
    db_url: str,
) -> None:
    """At 390 px: the button makes the offer, the QR code shows whole, nothing scrolls
    sideways, and no Content-Security-Policy violation (the browser fixture checks)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    token = accounts.magic_link(web, holder.person_id, by=actor(web, CIP), send=False)
    with serving(create_app(web, base), port):
        page = browser.new_context(viewport=PHONE).new_page()
        page.goto(f"{base}/lien/{token}")
        page.get_by_role("button", name="Ouvrir mon espace").click()
        expect(page.get_by_role("link", name="Télécharger mon parcours (CLR)")).to_be_visible()
        page.get_by_role("button", name="Ajouter tous mes badges à mon portefeuille").click()
        qr = page.get_by_role(
            "img", name="QR code à scanner avec votre application de portefeuille"
        )
        expect(qr).to_be_visible()
        box = qr.bounding_box()
        assert box and box["width"] >= 200 and box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert_fits(page)
        opener = page.get_by_role(
            "link", name="Votre portefeuille est sur ce téléphone ? Ouvrez-le ici"
        )
        assert opener.get_attribute("href").startswith(
            "openid-credential-offer://?credential_offer="
        )
        assert_accessible(page)
        _shot(page, "20-portefeuille", db_url.split(":")[0])
        # the holder's public profile, which their badges name as their subject
        with web.unit_of_work() as s:
            subject = s.get(Person, holder.person_id).subject
        page.goto(f"{base}/profils/{subject}")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Profil")
        assert_checked(page)
