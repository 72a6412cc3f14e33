"""What must never be written into a badge: the IAE's eligibility criteria (a badge that says
« bénéficiaire du RSA » or « sortant de détention » tells every employer who sees it), and a
person's NIR (numéro de sécurité sociale) or PASS IAE number.

Two checks: `criteria_named` for the texts a network writes (badge names, descriptions,
criteria: the network file check refuses them), `identifiers_in` for the free text that comes
with a badge (evidence narratives, badge requests: issuing refuses them). Words are matched
whole, without regard to case or accents, so « RSA » is found and « bourse » or « versatile »
are not; acronyms are matched in capitals only (« ASS », never « assiduité » or « ass »)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import InvalidInput

_ACRONYMS: dict[str, str] = {
    "RSA": "revenu de solidarité active",
    "ASS": "allocation de solidarité spécifique",
    "AAH": "allocation aux adultes handicapés",
    "QPV": "quartier prioritaire de la politique de la ville",
    "ZRR": "zone de revitalisation rurale",
    "DELD": "demandeur d'emploi de longue durée",
    "DETLD": "demandeur d'emploi de très longue durée",
    "RQTH": "reconnaissance de la qualité de travailleur handicapé",
    "BOETH": "bénéficiaire de l'obligation d'emploi des travailleurs handicapés",
    "ASE": "aide sociale à l'enfance",
    "PPSMJ": "personne placée sous main de justice",
}
"""Eligibility criteria written as acronyms, matched in capitals, as whole words."""

_PHRASES: tuple[tuple[str, str], ...] = (
    (r"revenu de solidarite active", "revenu de solidarité active"),
    (r"allocation de solidarite specifique", "allocation de solidarité spécifique"),
    (r"allocation aux adultes handicapes", "allocation aux adultes handicapés"),
    (r"minima sociaux", "minima sociaux"),
    (r"quartiers? prioritaires?", "quartier prioritaire"),
    (r"zones? de revitalisation rurale", "zone de revitalisation rurale"),
    (r"(?:placee?s? )?sous main de justice", "sous main de justice"),
    (r"detenue?s?", "détenu"),
    (r"(?:en|de|sortant de|sortante de|sortie de) detention", "détention"),
    (r"incarcer(?:e|ee|es|ees|ation)", "incarcération"),
    (r"sortant(?:e|s)? de prison", "sortie de prison"),
    (r"obligation d'emploi", "obligation d'emploi des travailleurs handicapés"),
    (r"travailleu(?:r|se|rs|ses) handicape(?:e|s|es)?", "travailleur handicapé"),
    (
        r"(?:chomeu(?:r|se|rs|ses)|chomage|demandeu(?:r|se|rs|ses) d'emploi) de (?:tres )?"
        r"longue duree",
        "chômage de longue durée",
    ),
    (r"demandeu(?:r|se|rs|ses) d'asile", "demandeur d'asile"),
    (r"refugie(?:e|s|es)? statutaires?", "réfugié statutaire"),
    (r"sans domicile(?: fixe)?", "sans domicile"),
    (r"aide sociale a l'enfance", "aide sociale à l'enfance"),
    (r"parents? isoles?", "parent isolé"),
)
"""Eligibility criteria written out, matched on the text folded to lower case without accents."""

_WORD = r"(?<![a-z0-9]){}(?![a-z0-9])"
_PHRASE_RES = [(re.compile(_WORD.format(p)), label) for p, label in _PHRASES]
_ACRONYM_RE = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(_ACRONYMS) + r")(?![A-Za-z0-9])")

_NIR_RE = re.compile(
    r"(?<![0-9A-Za-z])[12] ?[0-9]{2} ?(?:0[1-9]|1[0-2]|[2-9][0-9]) ?(?:[0-9]{2}|2[AaBb]) ?"
    r"[0-9]{3} ?[0-9]{3}(?: ?[0-9]{2})?(?![0-9A-Za-z])"
)
_PASS_IAE_RE = re.compile(r"(?<![0-9])[0-9]{5} ?[0-9]{2} ?[0-9]{5}(?:[A-Z][0-9]{2})?(?![0-9])")


@dataclass(frozen=True)
class Finding:
    """Something sensitive found in a text, named without repeating a number."""

    kind: str
    """`criterion`, `nir` or `pass_iae`."""
    word: str
    """The criterion as written (« RSA ») or the kind of number."""
    meaning: str = ""

    @property
    def message(self) -> str:
        if self.kind == "criterion":
            what = f" ({self.meaning})" if self.meaning and self.meaning != self.word else ""
            return (
                f"« {self.word} »{what} est un critère d'éligibilité à l'IAE : un badge ne dit "
                "rien de la situation de la personne, retirez-le du texte"
            )
        return (
            f"un {self.word} ne doit jamais figurer dans un badge : retirez-le du texte "
            "(il reste dans le dossier de la personne)"
        )


def _fold(text: str) -> str:
    """Lower case, no accents, one kind of apostrophe and of space: what phrases match on."""
    text = text.replace("\u2019", "'").replace("\u02bc", "'")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.lower().split())


def criteria_named(text: str | None) -> list[Finding]:
    """The eligibility criteria a text names, each once, in the order found."""
    if not text:
        return []
    found: dict[str, Finding] = {}
    for match in _ACRONYM_RE.finditer(text):
        word = match.group(1)
        found.setdefault(word, Finding("criterion", word, _ACRONYMS[word]))
    folded = _fold(text)
    for pattern, label in _PHRASE_RES:
        if pattern.search(folded):
            found.setdefault(label, Finding("criterion", label))
    return list(found.values())


def _nir_like(candidate: str) -> bool:
    from stdnum.fr import nir  # python-stdnum: only when a text holds a NIR-shaped number

    compact = nir.compact(candidate)
    if len(compact) == 15:
        return nir.is_valid(compact)
    return True  # 13 characters: a NIR without its key is still the person's NIR


def identifiers_in(text: str | None) -> list[Finding]:
    """NIR and PASS IAE numbers a text carries (spaces allowed as people type them)."""
    if not text:
        return []
    found = []
    nirs = [m for m in _NIR_RE.finditer(text) if _nir_like(m.group(0))]
    if nirs:
        found.append(Finding("nir", "numéro de sécurité sociale (NIR)"))
    spans = [m.span() for m in nirs]
    for match in _PASS_IAE_RE.finditer(text):
        start, end = match.span()
        if not any(s <= start < e or s < end <= e for s, e in spans):
            found.append(Finding("pass_iae", "numéro de PASS IAE (agrément)"))
            break
    return found


def refuse_identifiers(texts: Iterable[tuple[str, str | None]]) -> None:
    """Raise InvalidInput naming the field when any of (field, text) carries a NIR or a PASS
    IAE number; the message never repeats the number."""
    for where, text in texts:
        for finding in identifiers_in(text):
            raise InvalidInput(f"{where} : {finding.message}")


def evidence_texts(evidence: Iterable[Mapping[str, Any]]) -> list[tuple[str, str | None]]:
    """The free texts of a badge's evidence items, with the field each comes from."""
    texts: list[tuple[str, str | None]] = []
    for item in evidence:
        for key, label in (("narrative", "preuve (récit)"), ("name", "preuve (nom)")):
            value = item.get(key)
            if isinstance(value, str):
                texts.append((label, value))
    return texts
