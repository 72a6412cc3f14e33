"""Administration without a shell: a network admin adds structures and partners to their
network; network admins and directors create committees and say who sits on them. The
services decide who may; a refused form comes back with what was typed and why, in French."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from engine.api.pages import Csrf, ShortForm, _go, _page, _rt, _staff_form, _who
from engine.api.params import RowId, Title, Token, line, performs
from engine.errors import Forbidden, ParcoursError
from engine.roles import OrganisationKind
from engine.services import committees, organisations, structure_import
from engine.services.access import Action, Actor

router = APIRouter(include_in_schema=False)
TitleForm = Annotated[Title, Form()]
CodeForm = Annotated[line(30), Form()]
"""A SIRET or a département code as typed (spaces allowed)."""
SecretForm = Annotated[Token, Form()]

DONE = {
    "structure": "Structure ajoutée au réseau.",
    "partenaire": "Partenaire ajouté au réseau.",
    "comite": "Comité créé : ajoutez-lui ses membres.",
    "membre": "Membre ajouté au comité.",
    "retrait": "Membre retiré du comité.",
}


def _admin_page(
    request: Request,
    who: Actor,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    imported: structure_import.Report | None = None,
) -> HTMLResponse:
    rt = _rt(request)
    networks, rows = organisations.administered(rt, by=who)
    managed, kinds = committees.managed(rt, by=who)
    done = DONE.get(request.query_params.get("fait", ""))
    return _page(
        request,
        "admin.html",
        who,
        status,
        networks=networks,
        structures=[r for r in rows if r.kind == OrganisationKind.STRUCTURE],
        partners=[r for r in rows if r.kind == OrganisationKind.PARTNER],
        structure_kinds=[k.value for k in organisations.WEB_STRUCTURE_KINDS],
        committees=managed,
        kinds=kinds,
        errors=errors or {},
        values=values or {},
        done=done if status == 200 else None,
        imported=imported,
    )


@router.get(
    "/administration", response_class=HTMLResponse, openapi_extra=performs(Action.COMMITTEE_MANAGE)
)
def admin_page(request: Request) -> HTMLResponse:
    """A network admin's structures, partners and committees; a director's committees."""
    who = _who(request, "staff")
    return _admin_page(request, who)


@router.post(
    "/administration/structures",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.ORGANISATION_CREATE),
)
def add_structure(
    request: Request,
    csrf: Csrf = "",
    name: TitleForm = "",
    structure_kind: ShortForm = "",
    slug: ShortForm = "",
    network: ShortForm = "",
    siret: CodeForm = "",
    departement: CodeForm = "",
) -> Response:
    who = _staff_form(request, csrf)
    values = {
        "name": name,
        "structure_kind": structure_kind,
        "slug": slug,
        "network": network,
        "siret": siret,
        "departement": departement,
    }
    try:
        organisations.create_organisation(
            _rt(request),
            name,
            OrganisationKind.STRUCTURE,
            network,
            by=who,
            slug=slug,
            structure_kind=structure_kind,
            siret=siret,
            departement=departement,
        )
    except Forbidden:
        raise
    except ParcoursError as exc:
        return _admin_page(request, who, 422, {"structure": str(exc)}, {"structure": values})
    return _go("/administration?fait=structure#structures")


@router.post(
    "/administration/structures/emplois-inclusion",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.ORGANISATION_CREATE),
)
def import_structures(
    request: Request,
    csrf: Csrf = "",
    network: ShortForm = "",
    departement: CodeForm = "",
    token: SecretForm = "",
    essai: ShortForm = "",
) -> Response:
    """Import a département's SIAE from les emplois de l'inclusion; the report is shown on the
    page. The token is used for this call only: never stored, never sent back in the page."""
    who = _staff_form(request, csrf)
    values = {"network": network, "departement": departement, "essai": bool(essai)}
    try:
        report = structure_import.import_structures(
            _rt(request),
            network,
            by=who,
            token=token,
            departement=departement,
            dry_run=bool(essai),
        )
    except Forbidden:
        raise
    except ParcoursError as exc:
        return _admin_page(request, who, 422, {"import": str(exc)}, {"import": values})
    return _admin_page(request, who, values={"import": values}, imported=report)


@router.post(
    "/administration/partenaires",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.ORGANISATION_CREATE),
)
def add_partner(
    request: Request,
    csrf: Csrf = "",
    name: TitleForm = "",
    slug: ShortForm = "",
    network: ShortForm = "",
) -> Response:
    who = _staff_form(request, csrf)
    values = {"name": name, "slug": slug, "network": network}
    try:
        organisations.create_organisation(
            _rt(request), name, OrganisationKind.PARTNER, network, by=who, slug=slug
        )
    except Forbidden:
        raise
    except ParcoursError as exc:
        return _admin_page(request, who, 422, {"partner": str(exc)}, {"partner": values})
    return _go("/administration?fait=partenaire#partenaires")


@router.post(
    "/administration/comites",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.COMMITTEE_MANAGE),
)
def add_committee(
    request: Request, csrf: Csrf = "", name: TitleForm = "", where: TitleForm = ""
) -> Response:
    """`where` is « kind@structure » (an internal committee) or « kind@ » (a crossed one)."""
    who = _staff_form(request, csrf)
    kind, _, structure = where.partition("@")
    try:
        committees.create(_rt(request), name, kind, by=who, structure=structure or None)
    except Forbidden:
        raise
    except ParcoursError as exc:
        values = {"name": name, "where": where}
        return _admin_page(request, who, 422, {"committee": str(exc)}, {"committee": values})
    return _go("/administration?fait=comite#comites")


@router.post(
    "/administration/comites/{committee_id}/membres",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.COMMITTEE_MANAGE),
)
def add_committee_member(
    request: Request, committee_id: RowId, csrf: Csrf = "", person: ShortForm = ""
) -> Response:
    who = _staff_form(request, csrf)
    try:
        committees.add_member(_rt(request), committee_id, person, by=who)
    except Forbidden:
        raise
    except ParcoursError as exc:
        errors = {f"member-{committee_id}": str(exc)}
        return _admin_page(request, who, 422, errors)
    return _go(f"/administration?fait=membre#comite-{committee_id}")


@router.post(
    "/administration/comites/{committee_id}/membres/{person_id}/retirer",
    openapi_extra=performs(Action.COMMITTEE_MANAGE),
)
def remove_committee_member(
    request: Request, committee_id: RowId, person_id: RowId, csrf: Csrf = ""
) -> Response:
    who = _staff_form(request, csrf)
    committees.remove_member(_rt(request), committee_id, person_id, by=who)
    return _go(f"/administration?fait=retrait#comite-{committee_id}")
