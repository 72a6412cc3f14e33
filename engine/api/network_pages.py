"""The network admins' page (/reseau): the network's published definition (catalogue by
parcours, committee rules, partners), its pathways with their diagrams and the versions
published, and two forms to publish a new version of the network file (with its images) or
a pathway file. A file that does not check publishes nothing: its problems are listed line by
line. The helpers that read an uploaded definition are shared with the API (/api/v1)."""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as StarletteUpload

from engine.api import flash
from engine.api.pages import Csrf, _page, _rt, _staff_form, _who
from engine.api.params import SlugPath, performs
from engine.errors import (
    DefinitionInvalid,
    NetworkInvalid,
    ParcoursError,
    PathwayInvalid,
    Problem,
)
from engine.networks.loader import ReadFile
from engine.openbadges.baking import MAX_FILE_BYTES
from engine.services import network_views, networks, pathways
from engine.services.access import Action, Actor

router = APIRouter(include_in_schema=False)

MAX_DEFINITION_BYTES = 1024 * 1024
"""A network or pathway file: SATO's whole catalogue is under 10 kB."""
MAX_IMAGES = 300
"""Pictures sent with a network file (its badges' and its logo)."""

# --- reading an uploaded definition (pages and API) -----------------------------------------


def _basename(filename: str | None) -> str:
    name = PureWindowsPath(PurePosixPath(filename or "").name).name
    return name[-200:] or "fichier"


async def definition_text(
    upload: UploadFile | None, error: type[DefinitionInvalid]
) -> tuple[str, str]:
    """(file name, text) of an uploaded network or pathway file; `error` lists what is wrong
    with it (none chosen, too large, not UTF-8 text, too deep)."""
    if upload is None or not upload.filename:
        raise error([Problem("fichier", None, "", "aucun fichier choisi")])
    name = _basename(upload.filename)
    data = await upload.read(MAX_DEFINITION_BYTES + 1)
    if len(data) > MAX_DEFINITION_BYTES:
        raise error([Problem(name, None, "", "fichier trop gros : 1 Mo au plus")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problem = f"le fichier doit être du texte encodé en UTF-8 (octet {exc.start + 1} illisible)"
        raise error([Problem(name, None, "", problem)]) from None
    if not text.strip():
        raise error([Problem(name, None, "", "le fichier est vide")])
    return name, text


async def images_of(uploads: list[UploadFile] | None) -> dict[str, bytes]:
    """The pictures sent with a network file, by file name (a field left empty is skipped)."""
    chosen = [u for u in uploads or [] if u.filename]
    if len(chosen) > MAX_IMAGES:
        raise NetworkInvalid(
            [Problem("images", None, "images", f"{MAX_IMAGES} images au plus par envoi")]
        )
    pictures: dict[str, bytes] = {}
    for upload in chosen:
        name = _basename(upload.filename)
        if name in pictures:
            problem = f"deux images s'appellent « {name} »"
            raise NetworkInvalid([Problem("images", None, "images", problem)])
        # one byte past the limit: the loader refuses it as too large without more being read
        pictures[name] = await upload.read(MAX_FILE_BYTES + 1)
    return pictures


def reader(pictures: dict[str, bytes]) -> ReadFile:
    """Finds a picture the network file names among those sent, by its file name."""

    def read(name: str) -> bytes | None:
        return pictures.get(name, pictures.get(_basename(name)))

    return read


async def publish_network_upload(
    rt: Any,
    who: Actor,
    upload: UploadFile | None,
    images: list[UploadFile] | None,
    network: str | None = None,
) -> networks.Published:
    """Check an uploaded network file with its pictures, then publish it as `who`. Someone
    who may publish no network's file is refused before the file is even read; `network`,
    when given, is the only network the file may describe."""
    network_views.ensure_publisher(rt, who, Action.NETWORK_PUBLISH)
    name, text = await definition_text(upload, NetworkInvalid)
    pictures = await images_of(images)

    def check_and_publish() -> networks.Published:
        loaded = networks.check_text(rt, text, name, reader(pictures))
        if network is not None and loaded.definition.id != network:
            problem = (
                f"ce fichier décrit le réseau « {loaded.definition.id} », pas « {network} » : "
                f"publiez-le depuis la page de ce réseau"
            )
            raise NetworkInvalid([Problem(name, _line_of(text, "id"), "id", problem)])
        return networks.publish(rt, loaded, by=who)

    return await run_in_threadpool(check_and_publish)


async def publish_pathway_upload(
    rt: Any, who: Actor, upload: UploadFile | None, network: str | None = None
) -> tuple[Any, bool]:
    """Check an uploaded pathway file, then publish it as `who`: (version row, new)."""
    network_views.ensure_publisher(rt, who, Action.PATHWAY_PUBLISH)
    name, text = await definition_text(upload, PathwayInvalid)

    def check_and_publish() -> tuple[Any, bool]:
        pathway = pathways.check_text(rt, text, name)
        if network is not None and pathway.network != network:
            problem = (
                f"ce parcours appartient au réseau « {pathway.network} », pas « {network} » : "
                f"publiez-le depuis la page de ce réseau"
            )
            line = _line_of(text, "network")
            raise PathwayInvalid([Problem(name, line, "network", problem)])
        return pathways.publish(rt, pathway, text, by=who)

    return await run_in_threadpool(check_and_publish)


def _line_of(text: str, key: str) -> int | None:
    """The line of a top-level `key:` of a YAML file."""
    for number, content in enumerate(text.splitlines(), start=1):
        if content.startswith(f"{key}:"):
            return number
    return None


# --- the page -------------------------------------------------------------------------------

OneFile = Annotated[UploadFile | None, File()]


def _network_page(
    request: Request, who: Actor, network: str, status: int = 200, **result: Any
) -> HTMLResponse:
    rt = _rt(request)
    view = network_views.page(rt, network, by=who)
    result.setdefault("problems", None)
    result.setdefault("failed", None)
    result.setdefault("done", None)
    if result["done"] is None and status == 200:
        result["done"] = flash.message(request)
    administered = network_views.administered(rt, who)
    page = _page(request, "network.html", who, status, v=view, others=administered, **result)
    return flash.shown(request, page)


@router.get("/reseau", response_class=HTMLResponse, openapi_extra=performs(Action.NETWORK_PUBLISH))
def network_home(request: Request) -> HTMLResponse:
    """The network one administers; a choice when one administers several."""
    who = _who(request, "staff")
    rt = _rt(request)
    administered = network_views.administered(rt, who)
    if len(administered) == 1:
        return _network_page(request, who, administered[0][0])
    if not administered:
        network_views.ensure_publisher(rt, who, Action.NETWORK_PUBLISH)
    return _page(request, "networks.html", who, networks=administered)


@router.get(
    "/reseau/{network}",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.NETWORK_PUBLISH),
)
def network_page(request: Request, network: SlugPath) -> HTMLResponse:
    return _network_page(request, _who(request, "staff"), network)


def _refused(exc: ParcoursError) -> list[dict[str, Any]]:
    """A refusal as the lines of the page's list of problems."""
    if isinstance(exc, DefinitionInvalid):
        return [
            {"line": p.line, "field": p.field, "message": p.message, "file": p.file}
            for p in exc.problems
        ]
    return [{"line": None, "field": "", "message": str(exc), "file": ""}]


@router.post(
    "/reseau/{network}/fichier",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.NETWORK_PUBLISH),
)
async def publish_network(
    request: Request,
    network: SlugPath,
    csrf: Csrf = "",
    fichier: OneFile = None,
) -> Response:
    who = _staff_form(request, csrf)
    rt = _rt(request)
    network_views.page(rt, network, by=who)  # the page's own refusal comes first
    # Read from the form itself: a browser sends an image field left empty as one nameless
    # part, which a declared list of files refuses.
    form = await request.form()
    images = [f for f in form.getlist("images") if isinstance(f, StarletteUpload)]
    try:
        result = await publish_network_upload(rt, who, fichier, images, network)
    except ParcoursError as exc:
        problems = _refused(exc)
        return _network_page(request, who, network, 422, problems=problems, failed="network")
    return flash.redirect(request, f"/reseau/{network}", network_views.published_text(result))


@router.post(
    "/reseau/{network}/parcours",
    response_class=HTMLResponse,
    openapi_extra=performs(Action.PATHWAY_PUBLISH),
)
async def publish_pathway(
    request: Request, network: SlugPath, csrf: Csrf = "", fichier: OneFile = None
) -> Response:
    who = _staff_form(request, csrf)
    rt = _rt(request)
    network_views.page(rt, network, by=who)
    try:
        row, new = await publish_pathway_upload(rt, who, fichier, network)
    except ParcoursError as exc:
        problems = _refused(exc)
        return _network_page(request, who, network, 422, problems=problems, failed="pathway")
    done = (
        f"Parcours « {row.title} » version {row.version} publié."
        if new
        else f"Le parcours « {row.title} » version {row.version} était déjà publié à "
        "l'identique : rien n'a changé."
    )
    return flash.redirect(request, f"/reseau/{network}", done)
