"""One enrollment, as staff work on it: advance (a final step asks for a confirmation
first, with how the person leaves), the exit recorded or corrected later, the committee's
votes on a gate, award, evidence, the participant's link; the pathway's diagram; erasing a
participant's data (confirmed on a page of its own)."""

from __future__ import annotations

import hashlib
import hmac
import inspect
import time
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from engine import uploads
from engine.api import auth
from engine.api.pages import (
    Csrf,
    ShortForm,
    Text,
    _go,
    _home_of,
    _page,
    _rt,
    _staff_form,
    _who,
)
from engine.api.params import (
    RowId,
    SlugPath,
    Title,
    performs,
)
from engine.dates import local
from engine.errors import GateRefused, InvalidInput, ParcoursError
from engine.exits import OUTCOMES, Exit, grouped
from engine.pathways import diagram
from engine.services import (
    access,
    accounts,
    badges,
    committees,
    privacy,
)
from engine.services import enrollment_views as ev
from engine.services import enrollments as e
from engine.services.access import Action, Actor
from engine.services.pathways import latest_version
from engine.statuses import LEARNING_CONTEXTS
from engine.store.tables import utcnow

router = APIRouter(include_in_schema=False)

EmployerForm = Annotated[Title, Form()]
"""The employer (or training body) typed in an exit form."""


def _participant_of(rt, eid: int) -> int:
    with rt.reading() as conn:
        return access.enrollment_target(conn, eid).participant_id  # NotFound, not a 500


OTHER_KIND = "autre"
"""The evidence form's choice for a kind the pathway's gates do not name (when it allows one)."""

_LINK_COOKIE = "parcours_lien"
_LINK_SECONDS = 120


def _link_seal(who: Actor, eid: int, token: str, until: int) -> str:
    """Signs the just-created link for the browser that asked for it: the session's CSRF secret
    keys the signature, so no other session (and no other site) can plant a link to show."""
    key = (who.csrf or "").encode()
    return hmac.new(key, f"{eid}:{token}:{until}".encode(), hashlib.sha256).hexdigest()


def _fresh_link(request: Request, who: Actor, eid: int) -> str | None:
    """The participant link created a moment ago, shown once after the redirect."""
    raw = request.cookies.get(_LINK_COOKIE, "")
    token, _, rest = raw.partition(".")
    until, _, seal = rest.partition(".")
    if not (token and until.isdigit() and seal) or int(until) < time.time():
        return None
    if not hmac.compare_digest(seal, _link_seal(who, eid, token, int(until))):
        return None
    return f"{request.app.state.urls.base}/lien/{token}"


def _enrollment_page(
    request: Request,
    who: Actor,
    eid: int,
    *,
    error: str | None = None,
    error_in: str | None = None,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    """The page; an error is shown in the section of the form that caused it (`error_in`),
    with what was typed kept."""
    rt = _rt(request)
    st = ev.status(rt, eid, by=who)
    link = _fresh_link(request, who, eid)
    pieces = ev.pieces(rt, eid, by=who)
    response = _page(
        request,
        "enrollment.html",
        who,
        st=st,
        history=ev.history(rt, eid, by=who),
        badges=badges.badges_of(rt, eid, by=who),
        participant_id=_participant_of(rt, eid),
        choices=ev.award_choices(rt, eid, by=who) if st.status == "active" else None,
        votes={g.trigger: g for g in committees.gate_votes(rt, eid, by=who)},
        pieces=pieces,
        contexts=LEARNING_CONTEXTS,
        other_kind=OTHER_KIND,
        error=error,
        error_in=error_in,
        typed=typed or {},
        link=link,
        exit_form=_exit_form(st, st.exit_outcomes) if st.exit_recordable else None,
    )
    if link is not None:
        response.delete_cookie(_LINK_COOKIE, path=f"/parcours/{eid}")
    return response


def _exit_form(st: ev.Status, outcomes: list[str] | None) -> dict[str, Any]:
    """What an exit form offers: the outcomes by category, those that take an employer (the
    page's script hides the employer's field for the others; without it, the field stays and
    its hint says when it applies), and the dates allowed (from the entry to today)."""
    today = local(utcnow()).date()
    return {
        "groups": grouped(outcomes),
        "with_employer": [code for code in outcomes or OUTCOMES if OUTCOMES[code].employer],
        "today": today.isoformat(),
        "first_day": local(st.started_at).date().isoformat() if st.started_at else None,
    }


def _exit_typed(sortie: str, date_sortie: str, employeur: str) -> Exit | None:
    """The exit a form sent (None: nothing chosen, nothing typed)."""
    if not (sortie or date_sortie or employeur):
        return None
    try:
        on = date.fromisoformat(date_sortie) if date_sortie else None
    except ValueError:
        raise InvalidInput(
            f"date de sortie : « {date_sortie} » n'est pas une date (AAAA-MM-JJ)"
        ) from None
    return Exit(sortie, on, employeur or None)


def _confirm_page(
    request: Request,
    who: Actor,
    st: ev.Status,
    step: ev.NextStep,
    *,
    note: str = "",
    typed: dict[str, str] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    """The page that asks before a final step, with how the person leaves when the stage
    records it; a refusal comes back here with what was typed."""
    return _page(
        request,
        "enrollment_confirm.html",
        who,
        st=st,
        step=step,
        note=note,
        typed=typed or {},
        error=error,
        exit_form=_exit_form(st, step.outcomes) if step.records_exit else None,
    )


def _refusal_text(st: ev.Status, exc: ParcoursError) -> str:
    """The service's refusal, with the step's title and the evidence kinds' titles."""
    if isinstance(exc, GateRefused):
        step = next((s for s in st.next_steps if s.trigger == exc.trigger), None)
        title = step.title if step else exc.trigger
        unmet = [ev.kind_titles(u, st.evidence_kinds) for u in exc.unmet]
        return f"Passage « {title} » refusé : " + " ; ".join(unmet)
    return str(exc)


async def _act(
    request: Request,
    who: Actor,
    eid: int,
    action,
    *,
    section: str,
    typed: dict[str, str] | None = None,
) -> Response:
    """Run a staff action on an enrollment: back to its page (POST/redirect/GET), or the page
    with the error in the form's section and what was typed."""
    try:
        result = action()
        if inspect.isawaitable(result):
            await result
    except ParcoursError as exc:
        st = ev.status(_rt(request), eid, by=who)
        return _enrollment_page(
            request,
            who,
            eid,
            error=_refusal_text(st, exc),
            error_in=section,
            typed=typed,
        )
    return _go(f"/parcours/{eid}#{section}")


@router.get(
    "/parcours/{eid}", response_class=HTMLResponse, openapi_extra=performs(Action.ENROLLMENT_READ)
)
def enrollment(request: Request, eid: RowId) -> HTMLResponse:
    return _enrollment_page(request, _who(request, "staff"), eid)


@router.post(
    "/parcours/{eid}/avancer", response_class=HTMLResponse, openapi_extra=performs(Action.ADVANCE)
)
async def advance(
    request: Request,
    eid: RowId,
    csrf: Csrf = "",
    trigger: ShortForm = "",
    note: Text = "",
    confirmer: ShortForm = "",
    sortie: ShortForm = "",
    date_sortie: ShortForm = "",
    employeur: EmployerForm = "",
) -> Response:
    """A step that ends the enrollment (an early exit, the last stage) is confirmed on a page
    of its own first: one click never ends a parcours, and no script is needed to ask. That
    page asks how the person leaves (`sortie`, `date_sortie`, `employeur`) when the stage
    records it; a refused exit is shown there, with what was typed, and an unmet gate on the
    enrollment's page, where what is missing can be added."""
    who = _staff_form(request, csrf)
    rt = _rt(request)
    st = ev.status(rt, eid, by=who)
    step = next((s for s in st.next_steps if s.trigger == trigger), None)
    if step is not None and step.final:
        if confirmer != "oui":
            return _confirm_page(request, who, st, step, note=note)
        typed = {"sortie": sortie, "date_sortie": date_sortie, "employeur": employeur}
        try:
            exit_ = _exit_typed(sortie, date_sortie, employeur)
            e.advance(rt, eid, trigger, by=who, note=note or None, exit=exit_)
        except GateRefused as exc:
            # what is missing is added on the enrollment's page (a piece, a vote): back there
            return _enrollment_page(
                request,
                who,
                eid,
                error=_refusal_text(st, exc),
                error_in=f"etape-{trigger}",
                typed={"note": note},
            )
        except ParcoursError as exc:
            return _confirm_page(
                request, who, st, step, note=note, typed=typed, error=_refusal_text(st, exc)
            )
        return _go(f"/parcours/{eid}#sortie")
    return await _act(
        request,
        who,
        eid,
        lambda: e.advance(rt, eid, trigger, by=who, note=note or None),
        section=f"etape-{trigger}" if step else "suite",
        typed={"note": note},
    )


@router.post(
    "/parcours/{eid}/sortie",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.ADVANCE),
)
async def record_exit(
    request: Request,
    eid: RowId,
    csrf: Csrf = "",
    sortie: ShortForm = "",
    date_sortie: ShortForm = "",
    employeur: EmployerForm = "",
    note: Text = "",
) -> Response:
    """How a finished parcours' person left, recorded or corrected weeks later."""
    who = _staff_form(request, csrf)

    def record() -> None:
        exit_ = _exit_typed(sortie, date_sortie, employeur) or Exit("")
        e.record_exit(_rt(request), eid, exit_, by=who, note=note or None)

    typed = {"sortie": sortie, "date_sortie": date_sortie, "employeur": employeur, "note": note}
    return await _act(request, who, eid, record, section="sortie", typed=typed)


@router.post(
    "/parcours/{eid}/comite",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.GATE_VOTE),
)
async def committee_vote(
    request: Request,
    eid: RowId,
    csrf: Csrf = "",
    trigger: ShortForm = "",
    avis: ShortForm = "",
    motif: Text = "",
) -> Response:
    """A committee member's vote on a step's gate, as `parcours enrollment decide` records it."""
    who = _staff_form(request, csrf)

    def vote() -> None:
        if avis not in ("favorable", "defavorable"):
            raise InvalidInput("choisissez un avis : favorable ou défavorable")
        e.record_decision(_rt(request), eid, trigger, avis == "favorable", motif, by=who)

    return await _act(
        request,
        who,
        eid,
        vote,
        section=f"etape-{trigger}",
        typed={"avis": avis, "motif": motif, "trigger": trigger},
    )


@router.post(
    "/parcours/{eid}/badges",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.BADGE_AWARD),
)
async def award(
    request: Request,
    eid: RowId,
    csrf: Csrf = "",
    badge: ShortForm = "",
    narrative: Text = "",
) -> Response:
    who = _staff_form(request, csrf)

    def give() -> None:
        if not badge:
            raise InvalidInput("choisissez le badge à délivrer")
        e.award(_rt(request), eid, badge, by=who, narrative=narrative or None)

    return await _act(
        request,
        who,
        eid,
        give,
        section="badge",
        typed={"badge": badge, "narrative": narrative},
    )


@router.post(
    "/parcours/{eid}/pieces",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.EVIDENCE_ADD),
)
async def add_evidence(
    request: Request,
    eid: RowId,
    csrf: Csrf = "",
    kind: ShortForm = "",
    autre: ShortForm = "",
    narrative: Text = "",
    context: ShortForm = "",
    fichier: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """`kind` is one of the pathway's kinds from the list, or « autre » with `autre` typed
    (when the pathway accepts other kinds); the service checks it either way."""
    who = _staff_form(request, csrf)

    async def attach() -> None:
        e.add_evidence(
            _rt(request),
            eid,
            autre if kind == OTHER_KIND else kind,
            by=who,
            narrative=narrative or None,
            context=context or None,
            file=await uploads.from_form(fichier),
        )

    typed = {"kind": kind, "autre": autre, "narrative": narrative, "context": context}
    return await _act(request, who, eid, attach, section="pieces", typed=typed)


@router.post(
    "/parcours/{eid}/lien",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PARTICIPANT_LINK),
)
def participant_link(request: Request, eid: RowId, csrf: Csrf = "") -> Response:
    """POST/redirect/GET: the fresh link rides a signed cookie for two minutes, scoped to this
    enrollment's page, shown once there. A reload does not mint another link, and the token
    never appears in an address that server logs keep."""
    who = _staff_form(request, csrf)
    rt = _rt(request)
    token = accounts.magic_link(rt, _participant_of(rt, eid), by=who, send=True)
    until = int(time.time()) + _LINK_SECONDS
    response = _go(f"/parcours/{eid}#espace")
    response.set_cookie(
        _LINK_COOKIE,
        f"{token}.{until}.{_link_seal(who, eid, token, until)}",
        max_age=_LINK_SECONDS,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=f"/parcours/{eid}",
    )
    return response


@router.get(
    "/parcours-types/{pathway_id}",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PATHWAY_READ),
)
def pathway_page(request: Request, pathway_id: SlugPath) -> HTMLResponse:
    who = _who(request, "staff")
    rt = _rt(request)
    pv = latest_version(rt, pathway_id)
    with rt.unit_of_work() as s:
        model = rt.pathway(s, pv.id)
    return _page(
        request,
        "pathway.html",
        who,
        p=model,
        svg=diagram.svg(model),
        narrow=diagram.svg_narrow(model),
        steps=ev.step_rules(rt, model),
    )


@router.get(
    "/donnees/{participant_id}/effacer",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PERSONAL_DATA_ERASE),
)
def erase_confirmation(request: Request, participant_id: RowId) -> HTMLResponse:
    """The page that asks before erasing: what goes, what stays, and a way back. It shows
    nothing about the person; `privacy.erase` checks who may erase when it is confirmed."""
    who = _who(request)
    own = who.person_id == participant_id
    return _page(
        request,
        "erase_confirm.html",
        who,
        participant_id=participant_id,
        own=own,
        back=_home_of(who),
    )


@router.post(
    "/donnees/{participant_id}/effacer",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PERSONAL_DATA_ERASE),
)
def erase(
    request: Request, participant_id: RowId, csrf: Csrf = "", confirmer: ShortForm = ""
) -> Response:
    """Erases only when the confirmation page's form says so (`confirmer=oui`): a form sent
    from elsewhere without it lands on the confirmation page."""
    who = _who(request)
    auth.check_form_csrf(who, csrf)
    if confirmer != "oui":
        return erase_confirmation(request, participant_id)
    privacy.erase(_rt(request), participant_id, by=who)
    if who.is_participant or who.is_supporter:
        response = _go("/connexion")
        response.delete_cookie(auth.COOKIE, path="/")
        return response
    return _page(
        request,
        "message.html",
        who,
        title="Données effacées",
        text="Les données personnelles ont été effacées et les badges révoqués.",
        link="/tableau-de-bord",
    )
