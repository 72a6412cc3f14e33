"""Load a network file and report every problem with its file, line and field, in French,
like a pathway file: a network's staff fix their file from these messages alone."""

from __future__ import annotations

import difflib
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from engine.badges import sensitive
from engine.errors import InvalidInput, NetworkInvalid, Problem
from engine.located_yaml import Loc, LocatedYaml, parse
from engine.networks.model import NetworkDefinition
from engine.openbadges.baking import MAX_FILE_BYTES, check_picture

ReadFile = Callable[[str], bytes | None]
"""Reads a file the network file names (a badge picture, the logo); None when absent."""


@dataclass(frozen=True)
class LoadedNetwork:
    """A checked network definition with the pictures it names, read and verified."""

    definition: NetworkDefinition
    source: str
    pictures: dict[str, bytes] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """The definition and its pictures: a changed picture is a changed definition."""
        h = hashlib.sha256(self.definition.model_dump_json().encode())
        for name in sorted(self.pictures):
            h.update(name.encode() + hashlib.sha256(self.pictures[name]).digest())
        return h.hexdigest()


def _suggest(value: str, known: list[str]) -> str:
    close = difflib.get_close_matches(value, known, n=1)
    return f" ; vouliez-vous dire « {close[0]} » ?" if close else ""


def load_network_text(
    text: str,
    file: str = "<texte>",
    *,
    read: ReadFile | None = None,
    plugin_rules: set[str] | None = None,
) -> LoadedNetwork:
    """Parse, validate and check a network file; raise NetworkInvalid listing every problem.
    `read` fetches the pictures it names (None: pictures are not checked); `plugin_rules` are
    committee kinds plugins provide, which badges may name too."""
    doc = parse(
        text,
        file,
        expected="un réseau (dictionnaire avec id, version, name, badges...)",
        error=NetworkInvalid,
    )
    try:
        definition = NetworkDefinition.model_validate(doc.data)
    except ValidationError as exc:
        doc.add_validation(exc)
        raise NetworkInvalid(doc.problems) from None
    definition = _namespace_committees(definition)
    check_network(definition, doc, plugin_rules or set())
    pictures = _read_pictures(definition, doc, read) if read is not None else {}
    if doc.problems:
        raise NetworkInvalid(doc.problems)
    return LoadedNetwork(definition, text, pictures)


def load_network_file(path: Path, *, plugin_rules: set[str] | None = None) -> LoadedNetwork:
    """A network file on disk; the pictures it names are read beside it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NetworkInvalid(
            [Problem(str(path), None, "", f"lecture impossible : {exc}")]
        ) from None
    return load_network_text(text, str(path), read=files_beside(path), plugin_rules=plugin_rules)


def files_beside(path: Path) -> ReadFile:
    """Reads names relative to the network file's folder, never outside it."""
    folder = path.parent.resolve()

    def read(name: str) -> bytes | None:
        target = (folder / name).resolve()
        if not target.is_relative_to(folder) or not target.is_file():
            return None
        if target.stat().st_size > MAX_FILE_BYTES:
            return target.read_bytes()[: MAX_FILE_BYTES + 1]
        return target.read_bytes()

    return read


def _namespace_committees(definition: NetworkDefinition) -> NetworkDefinition:
    """Badges may name their network's committees without its prefix (`croise`); stored
    definitions always carry the full kind (`inae.croise`)."""
    badges = []
    for badge in definition.badges:
        kinds = [definition.committee_kind(k) for k in badge.evaluation.committees]
        if kinds != badge.evaluation.committees:
            evaluation = badge.evaluation.model_copy(update={"committees": kinds})
            badge = badge.model_copy(update={"evaluation": evaluation})
        badges.append(badge)
    return definition.model_copy(update={"badges": badges})


def check_network(definition: NetworkDefinition, doc: LocatedYaml, plugin_rules: set[str]) -> None:
    """Reference checks a schema cannot express, added to `doc.problems`."""
    net = definition.id
    ids = [b.id for b in definition.badges]
    counts = Counter(ids)
    for i, badge in enumerate(definition.badges):
        if not badge.id.startswith(f"{net}."):
            doc.add(
                ("badges", i, "id"),
                f"« {badge.id} » : les badges de ce fichier s'écrivent « {net}.nom » "
                f"(le réseau du fichier est « {net} »)",
            )
        if counts[badge.id] > 1 and ids.index(badge.id) != i:
            doc.add(("badges", i, "id"), f"badge « {badge.id} » défini deux fois")
        if badge.requires is not None:
            for k, sub in enumerate(badge.requires.of):
                loc: Loc = ("badges", i, "requires", "of", k)
                if sub == badge.id:
                    doc.add(loc, f"le badge « {badge.id} » ne peut pas être son propre sous-badge")
                elif sub not in counts:
                    doc.add(loc, f"sous-badge inconnu « {sub} »{_suggest(sub, ids)}")
        rules = set(definition.committee_rules) | plugin_rules
        for k, kind in enumerate(badge.evaluation.committees):
            if kind not in rules:
                known = ", ".join(sorted(rules)) or "aucun : déclarez-le sous « committees »"
                doc.add(
                    ("badges", i, "evaluation", "committees", k),
                    f"comité « {kind} » inconnu (comités connus : {known})",
                )
    _check_cycles(definition, doc)
    _check_sensitive(definition, doc)
    seen: set[str] = set()
    for i, partner in enumerate(definition.partners):
        if partner.id == net:
            doc.add(
                ("partners", i, "id"), "un partenaire ne peut pas porter l'identifiant du réseau"
            )
        elif partner.id in seen:
            doc.add(("partners", i, "id"), f"partenaire « {partner.id} » déclaré deux fois")
        seen.add(partner.id)
    for name, connector in definition.connectors.items():
        for badge_id in connector.badges:
            if badge_id not in counts:
                doc.add(
                    ("connectors", name, "badges", badge_id),
                    f"badge inconnu « {badge_id} »{_suggest(badge_id, ids)}",
                )


def _check_sensitive(definition: NetworkDefinition, doc: LocatedYaml) -> None:
    """A badge's texts never name an eligibility criterion (RSA, QPV, détention...) nor carry
    a NIR or a PASS IAE number: whoever sees the badge would learn the holder's situation."""
    for i, badge in enumerate(definition.badges):
        texts: list[tuple[Loc, str]] = [
            (("badges", i, "name"), badge.name),
            (("badges", i, "description"), badge.description),
            (("badges", i, "criteria"), badge.criteria),
        ]
        texts += [(("badges", i, "tags", k), tag) for k, tag in enumerate(badge.tags)]
        for loc, text in texts:
            for finding in [*sensitive.criteria_named(text), *sensitive.identifiers_in(text)]:
                doc.add(loc, finding.message)


def _check_cycles(definition: NetworkDefinition, doc: LocatedYaml) -> None:
    """A badge cannot need itself through its sub-badges."""
    needs = {b.id: set(b.requires.of) if b.requires else set() for b in definition.badges}
    for i, badge in enumerate(definition.badges):
        seen: set[str] = set()
        todo = list(needs.get(badge.id, ()))
        while todo:
            current = todo.pop()
            if current == badge.id:
                doc.add(
                    ("badges", i, "requires"),
                    f"« {badge.id} » se retrouve dans ses propres sous-badges (cycle)",
                )
                break
            if current not in seen:
                seen.add(current)
                todo.extend(needs.get(current, ()))


def _read_pictures(
    definition: NetworkDefinition, doc: LocatedYaml, read: ReadFile
) -> dict[str, bytes]:
    wanted: list[tuple[Loc, str]] = []
    if definition.logo:
        wanted.append((("logo",), definition.logo))
    wanted += [
        (("badges", i, "image"), b.image) for i, b in enumerate(definition.badges) if b.image
    ]
    pictures: dict[str, bytes] = {}
    for loc, name in wanted:
        if name in pictures:
            continue
        data = read(name)
        if data is None:
            doc.add(loc, f"image « {name} » introuvable à côté du fichier")
            continue
        try:
            check_picture(data, name)
        except InvalidInput as exc:
            doc.add(loc, str(exc))
            continue
        pictures[name] = data
    return pictures
