"""The staff dashboard: who is where, and enrolling a new participant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from engine.api.pages import Csrf, ShortForm, _go, _page, _rt, _staff_form, _who
from engine.api.params import (
    Email,
    Name,
    PageNo,
    performs,
)
from engine.errors import InvalidInput
from engine.services import (
    committees,
    dashboard,
    request_views,
    shares,
)
from engine.services import enrollment_views as ev
from engine.services import enrollments as e
from engine.services.access import Action, Actor
from engine.services.pathways import list_versions

router = APIRouter(include_in_schema=False)


@router.get(
    "/tableau-de-bord", response_class=HTMLResponse, openapi_extra=performs(Action.ENROLLMENT_READ)
)
def board(request: Request, page: PageNo = 1) -> Response:
    who = _who(request, "staff")
    rt = _rt(request)
    listing = dashboard.enrollments(rt, who, page=max(page, 1), per_page=20)
    rows = []
    for row in listing.items:
        st = ev.status(rt, row.id, by=who) if row.status == "active" else None
        blocking = []
        if st:
            for step in st.next_steps:
                blocking += [c.text for c in step.conditions if not c.met]
        rows.append((row, st, blocking))
    structures = _structures(rt, who)
    if not structures and listing.total == 0:
        with rt.unit_of_work() as s:
            if shares.partner_organisations(s, who.person_id):
                return _go("/partenaire")
    pathways = {v.pathway_id: v.title for v in list_versions(rt)}
    return _page(
        request,
        "board.html",
        who,
        listing=listing,
        rows=rows,
        structures=structures,
        pathways=pathways,
        to_evaluate=request_views.listing(rt, who, per_page=10),
        committees=committees.mine(rt, who),
        error=None,
    )


def _structures(rt, who: Actor) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from engine.store.tables import Organisation

    with rt.unit_of_work() as s:
        ids = dashboard.structure_ids(s, who.person_id)
        rows = s.execute(
            select(Organisation.slug, Organisation.name)
            .where(Organisation.id.in_(ids))
            .order_by(Organisation.name)
        ).all()
    return [(a, b) for a, b in rows]


@router.post("/inscriptions", openapi_extra=performs(Action.ENROLL))
def enroll(
    request: Request,
    csrf: Csrf = "",
    pathway: ShortForm = "",
    structure: ShortForm = "",
    prenom: Annotated[Name, Form()] = "",
    nom: Annotated[Name, Form()] = "",
    email: Annotated[Email, Form()] = "",
) -> Response:
    who = _staff_form(request, csrf)
    if not prenom.strip() or not nom.strip():
        raise InvalidInput("prénom et nom du participant sont obligatoires")
    eid = e.enroll(
        _rt(request),
        pathway,
        structure,
        e.Participant(prenom.strip(), nom.strip(), email.strip() or None),
        by=who,
    )
    return _go(f"/parcours/{eid}")
