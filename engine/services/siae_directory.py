"""The national IAE directory: « les emplois de l'inclusion »' `GET /api/v1/siaes/`, read so a
network admin can bring in their structures with the SIRET, kind and département the platform
already holds.

The API (gip-inclusion/les-emplois, `itou/api/siae_api/`): a token in `Authorization: Token
...`; either `departement` (`29`, `2A`, `971`) or `code_insee` with `distance_max_km` (at most
100); pages of `{"count", "next", "previous", "results"}` (`page`, `page_size`); each result
has `siret`, `type` (AI, ACI, EI, EITI, ETTI, but also EA, EATT, GEIQ, OPCS), `raison_sociale`,
`enseigne`, `site_web`, `description`, `code_postal`, `ville`, `departement`, `postes`... The
platform throttles hard (about 12 calls a minute), hence large pages."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from engine.errors import InvalidInput, ParcoursError
from engine.roles import StructureKind

DEFAULT_URL = "https://emplois.inclusion.beta.gouv.fr"
"""Where the platform answers; PARCOURS_EMPLOIS_URL points elsewhere (a test server)."""
PAGE_SIZE = 100
MAX_PAGES = 200
"""A département has a few hundred SIAE: more pages than this is a server looping."""
TIMEOUT = httpx.Timeout(20.0, connect=5.0)

KINDS: dict[str, StructureKind] = {
    "AI": StructureKind.AI,
    "ACI": StructureKind.ACI,
    "EI": StructureKind.EI,
    "ETTI": StructureKind.ETTI,
    "EITI": StructureKind.EITI,
}
"""The platform's SIAE kinds and ours (the EITI is spelled `EiTi` here)."""
NOT_SIAE: dict[str, str] = {
    "EA": "entreprise adaptée : pas une SIAE (à ajouter comme partenaire si elle emploie)",
    "EATT": "entreprise adaptée de travail temporaire : pas une SIAE (partenaire)",
    "GEIQ": "GEIQ : pas une SIAE (partenaire)",
    "OPCS": "organisation porteuse de la clause sociale : pas une SIAE (partenaire)",
}


class DirectoryUnavailable(ParcoursError):
    """The platform refused or failed; the message says what to do."""

    title = "Annuaire des emplois de l'inclusion indisponible"


@dataclass(frozen=True)
class ListedSiae:
    """One structure as the platform lists it."""

    siret: str
    kind: str
    """The platform's `type`, as given (AI, ACI, EI, EITI, ETTI, EA, GEIQ...)."""
    name: str
    """The `enseigne` (the name people know), else the `raison_sociale`."""
    legal_name: str
    url: str | None
    description: str | None
    postcode: str | None
    city: str | None
    departement: str | None

    @property
    def structure_kind(self) -> StructureKind | None:
        return KINDS.get(self.kind.upper())

    @property
    def skip_reason(self) -> str | None:
        """Why this entry is not imported as a structure, in French; None when it is."""
        if self.structure_kind is not None:
            return None
        return NOT_SIAE.get(self.kind.upper(), f"type « {self.kind} » : pas une SIAE")


def _text(value: Any) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


def _entry(raw: dict[str, Any]) -> ListedSiae:
    legal = _text(raw.get("raison_sociale")) or ""
    return ListedSiae(
        siret="".join(str(raw.get("siret") or "").split()),
        kind=_text(raw.get("type")) or "",
        name=_text(raw.get("enseigne")) or legal,
        legal_name=legal,
        url=_text(raw.get("site_web")),
        description=_text(raw.get("description")),
        postcode=_text(raw.get("code_postal")),
        city=_text(raw.get("ville")),
        departement=_text(raw.get("departement")),
    )


def _refusal(response: httpx.Response) -> DirectoryUnavailable:
    status = response.status_code
    if status in (401, 403):
        return DirectoryUnavailable(
            "jeton refusé par les emplois de l'inclusion : vérifiez le jeton d'API "
            "(espace « Mon compte » de la plateforme)"
        )
    if status == 429:
        wait = response.headers.get("Retry-After")
        later = f" dans {wait} s" if wait and wait.isdigit() else " dans une minute"
        return DirectoryUnavailable(
            f"les emplois de l'inclusion limitent le nombre d'appels : réessayez{later}"
        )
    if status == 400:
        return DirectoryUnavailable(
            f"recherche refusée par les emplois de l'inclusion : {_detail(response)}"
        )
    if status == 404:
        return DirectoryUnavailable(
            f"introuvable sur les emplois de l'inclusion : {_detail(response)}"
        )
    return DirectoryUnavailable(
        f"les emplois de l'inclusion ne répondent pas (erreur {status}) : réessayez plus tard"
    )


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or str(response.status_code)
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:200]
    if isinstance(body, list):
        return " ; ".join(str(x) for x in body)[:200]
    return str(body)[:200]


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def base_url() -> str:
    return (os.environ.get("PARCOURS_EMPLOIS_URL") or DEFAULT_URL).rstrip("/")


def list_siaes(
    token: str,
    *,
    departement: str | None = None,
    code_insee: str | None = None,
    distance_km: int | None = None,
    url: str | None = None,
    client: httpx.Client | None = None,
) -> Iterator[ListedSiae]:
    """Every structure the platform lists for a département (or around a town), page after
    page, following `next`. Raises DirectoryUnavailable on a refusal or an outage."""
    token = token.strip()
    if not token:
        raise InvalidInput("jeton : le jeton d'API des emplois de l'inclusion est obligatoire")
    params: dict[str, Any] | None = {"page_size": PAGE_SIZE}
    if departement:
        params["departement"] = departement
    elif code_insee and distance_km is not None:
        if not 0 <= distance_km <= 100:
            raise InvalidInput("distance : entre 0 et 100 km")
        params.update(code_insee=code_insee, distance_max_km=distance_km)
    else:
        raise InvalidInput("département : obligatoire (ou un code INSEE et une distance)")
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT)
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    origin = httpx.URL(url or base_url())
    next_url: str | None = f"{url or base_url()}/api/v1/siaes/"
    try:
        for _ in range(MAX_PAGES):
            if next_url is None:
                return
            try:
                response = http.get(next_url, params=params, headers=headers)
            except httpx.HTTPError as exc:
                raise DirectoryUnavailable(
                    f"les emplois de l'inclusion injoignables ({type(exc).__name__}) : "
                    "réessayez plus tard"
                ) from None
            if response.status_code != 200:
                raise _refusal(response)
            try:
                page = response.json()
                results = page["results"]
            except (ValueError, KeyError, TypeError):
                raise DirectoryUnavailable(
                    "réponse inattendue des emplois de l'inclusion (pas de liste « results »)"
                ) from None
            for raw in results:
                if isinstance(raw, dict):
                    yield _entry(raw)
            next_url = page.get("next")
            params = None  # `next` carries the query (an empty dict would erase it)
            if next_url is not None and not _same_origin(httpx.URL(str(next_url)), origin):
                # the token goes to the platform only, never to a host a page names
                raise DirectoryUnavailable(
                    "réponse inattendue des emplois de l'inclusion (page suivante ailleurs)"
                )
        raise DirectoryUnavailable(
            f"les emplois de l'inclusion renvoient plus de {MAX_PAGES} pages : import arrêté"
        )
    finally:
        if own:
            http.close()
