"""The staff dashboard: who is where (searched, filtered, sorted), the passed deadlines, a
network admin's overview of their structures, and enrolling a new participant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from engine.api.pages import Csrf, ShortForm, _go, _page, _rt, _staff_form, _who
from engine.api.params import (
    Email,
    Name,
    PageNo,
    Slug,
    line,
    performs,
)
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, ParcoursError
from engine.services import (
    committees,
    dashboard,
    request_views,
    shares,
)
from engine.services import enrollments as e
from engine.services.access import Action, Actor
from engine.services.dashboard import SORTS, STATUS_LABELS, Filters
from engine.statuses import EnrollmentStatus

router = APIRouter(include_in_schema=False)

BOARD = "/tableau-de-bord"
PER_PAGE = 20

Searched = Annotated[Name, Query()]
Chosen = Annotated[Slug, Query()]
StageChoice = Annotated[line(170), Query()]
Cursor = Annotated[str | None, Query(max_length=400, pattern="^[A-Za-z0-9_-]+$")]
"""Where the list resumes (`dashboard.BoardPage.next`)."""
"""A pathway (`sato-eiti`) or one of its stages (`sato-eiti:diagnostic`)."""


@dataclass(frozen=True)
class Search:
    """What the board's address asks, as typed: kept in the form and in every page link."""

    nom: str = ""
    structure: str = ""
    etape: str = ""
    statut: str = ""
    echeance: str = ""
    pret: str = ""
    tri: str = ""

    def filters(self) -> Filters:
        """The service's filters; values the form does not offer filter nothing."""
        pathway, _, stage = self.etape.partition(":")
        return Filters(
            name=self.nom.strip(),
            structure=self.structure,
            pathway=pathway,
            stage=(pathway, stage) if stage else None,
            status=_status(self.statut),
            overdue=self.echeance == "1",
            ready=self.pret == "1",
            sort=self.tri if self.tri in SORTS else "nom",
        )

    def params(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}

    @property
    def active(self) -> bool:
        """Whether anything but the order narrows the list."""
        return any(v for k, v in self.__dict__.items() if k != "tri")


ALL_STATUSES = "tous"
"""The board's `statut` for every status: without one it lists the participants in progress
(a structure's finished parcours pile up over the years; a CIP's day is about the others)."""


def _status(statut: str) -> str:
    """The service's status filter for the address's `statut`: in progress by default."""
    if statut == ALL_STATUSES:
        return ""
    return statut if statut in STATUS_LABELS else EnrollmentStatus.ACTIVE.value


def board_url(**params: Any) -> str:
    """The board's address with these filters (empty ones left out): what page links, the
    overdue list and the network overview link to."""
    if params.get("page") == 1:
        del params["page"]
    kept = {k: str(v) for k, v in params.items() if v not in (None, "")}
    return BOARD + ("?" + urlencode(kept) if kept else "")


@router.get(BOARD, response_class=HTMLResponse, openapi_extra=performs(Action.ENROLLMENT_READ))
def board(
    request: Request,
    page: PageNo = 1,
    nom: Searched = "",
    structure: Chosen = "",
    etape: StageChoice = "",
    statut: Chosen = "",
    echeance: Chosen = "",
    pret: Chosen = "",
    tri: Chosen = "",
    apres: Cursor = None,
) -> Response:
    """`apres`: the cursor of the page before (« Page suivante »), the same cost however far
    one goes; `page` stays for the links of earlier versions."""
    who = _who(request, "staff")
    search = Search(nom, structure, etape, statut, echeance, pret, tri)
    return _board_page(request, who, search, page, after=apres)


def _board_page(
    request: Request,
    who: Actor,
    search: Search,
    page: int = 1,
    *,
    typed: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
    after: str | None = None,
) -> Response:
    rt = _rt(request)
    with dashboard.viewing(rt, who) as view:  # the page's lists share one reading
        try:
            listing = dashboard.board(
                rt, who, search.filters(), page=page, per_page=PER_PAGE, after=after, view=view
            )
        except InvalidInput:
            if after is None:
                raise
            return _go(board_url(**search.params()))  # a stale or mangled cursor: from the start
        choices = dashboard.choices(rt, who, view)
        nothing = not choices.structures and not choices.many and listing.total == 0
        if nothing and not search.active:
            with rt.unit_of_work() as s:
                if shares.partner_organisations(s, who.person_id):
                    return _go("/partenaire")
        late, late_total = dashboard.overdue(rt, who, limit=10, view=view)
        networks = dashboard.network_overview(rt, who, view=view)
        to_evaluate = request_views.listing(rt, who, per_page=10, view=view)
        mine = committees.mine(rt, who, view)
    params = search.params()
    return _page(
        request,
        "board.html",
        who,
        status=status,
        actions=view.reach.capabilities(who),
        listing=listing,
        search=search,
        params=params,
        page_url=lambda n: board_url(**params, page=n),
        next_url=board_url(**params, apres=listing.next) if listing.next else None,
        first_url=board_url(**params) if after or page > 1 else None,
        board_url=board_url,
        choices=choices,
        sorts=SORTS,
        statuses=STATUS_LABELS,
        late=late,
        late_total=late_total,
        networks=networks,
        to_evaluate=to_evaluate,
        committees=mine,
        typed=typed or {},
        error=error,
    )


_STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409}


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
    """Enroll, then go to the new enrollment's page (a reload does not enroll twice); a refusal
    shows the dashboard again with the reason beside what was typed."""
    who = _staff_form(request, csrf)
    typed = {"pathway": pathway, "structure": structure, "prenom": prenom, "nom": nom}
    typed["email"] = email
    try:
        if not prenom.strip() or not nom.strip():
            raise InvalidInput("prénom et nom du participant sont obligatoires")
        # a network admin of thousands of structures types a name (`Choices.many`)
        structure = dashboard.structure_named(_rt(request), who, structure) or structure
        eid = e.enroll(
            _rt(request),
            pathway,
            structure,
            e.Participant(prenom.strip(), nom.strip(), email.strip() or None),
            by=who,
        )
    except ParcoursError as exc:
        status = next((s for kind, s in _STATUS.items() if isinstance(exc, kind)), 400)
        return _board_page(request, who, Search(), typed=typed, error=str(exc), status=status)
    return _go(f"/parcours/{eid}")
