"""Structures carry the IAE's identifiers (issue 20): a SIRET checked by python-stdnum (La
Poste's establishments included), a département code, one of the five SIAE kinds. An
entreprise adaptée is a partner, not a structure: the form refuses it, and the migration turns
the EA structures a database already holds into partners. Every refusal is in French and
names the field."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Engine, select, text

from engine.errors import Conflict, InvalidInput
from engine.services import organisations
from engine.services.organisations import (
    normalise_departement,
    normalise_siret,
    upsert_organisation,
)
from engine.services.runtime import Runtime
from engine.store.database import alembic_config
from engine.store.tables import Organisation
from tests.conftest import NETWORK_ADMIN, T0, actor
from tests.engine.test_cli import run


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("73282932000074", "73282932000074"),
        ("732 829 320 00074", "73282932000074"),
        ("732.829.320.00074", "73282932000074"),
        ("35600000049837", "35600000049837"),  # La Poste: not a Luhn number, yet valid
        ("", None),
    ],
)
def test_a_siret_is_checked_and_stored_as_fourteen_digits(typed: str, stored: str | None) -> None:
    assert normalise_siret(typed) == stored


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("73282932000075", "clé de contrôle fausse"),
        ("7328293200007", "13 chiffres, il en faut 14"),
        ("7328293200007A", "ne contient pas que des chiffres"),
    ],
)
def test_a_wrong_siret_is_refused_with_why(typed: str, said: str) -> None:
    with pytest.raises(InvalidInput, match=f"^SIRET : « {typed} » .*{said}"):
        normalise_siret(typed)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("29", "29"), ("1", "01"), ("2a", "2A"), ("2B", "2B"), ("974", "974"), (" 95 ", "95")],
)
def test_a_departement_code_is_normalised(typed: str, stored: str) -> None:
    assert normalise_departement(typed) == stored


@pytest.mark.parametrize("typed", ["20", "96", "00", "977", "Finistère"])
def test_an_unknown_departement_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput, match="^département : « .* » inconnu"):
        normalise_departement(typed)


def test_an_entreprise_adaptee_is_not_a_structure(rt: Runtime) -> None:
    with rt.unit_of_work() as s, pytest.raises(InvalidInput, match="ajoutez-la comme partenaire"):
        upsert_organisation(s, "ea-elorn", "EA de l'Élorn", "structure", structure_kind="EA")
    with rt.unit_of_work() as s:
        upsert_organisation(s, "ea-elorn", "EA de l'Élorn", "partner", siret="55210055400013")
    with rt.reading() as c:
        row = c.execute(
            select(Organisation.kind, Organisation.siret).where(Organisation.slug == "ea-elorn")
        ).one()
    assert tuple(row) == ("partner", "55210055400013")


def test_a_siret_belongs_to_one_organisation(rt: Runtime) -> None:
    with rt.unit_of_work() as s:
        upsert_organisation(
            s, "adp", "Atelier du Port", "structure", structure_kind="ACI", siret="73282932000074"
        )
    with rt.unit_of_work() as s, pytest.raises(Conflict, match="déjà celui de « Atelier du Port »"):
        upsert_organisation(
            s, "autre", "Autre", "structure", structure_kind="EI", siret="732 829 320 00074"
        )
    # the same organisation saved again keeps it
    with rt.unit_of_work() as s:
        org = upsert_organisation(s, "adp", "Atelier du Port", "structure", structure_kind="ACI")
        assert org.siret == "73282932000074"


def test_a_network_admin_adds_a_structure_with_its_siret_and_departement(sato: Runtime) -> None:
    admin = actor(sato, NETWORK_ADMIN)
    slug = organisations.create_organisation(
        sato,
        "Atelier du Port",
        "structure",
        "sato",
        by=admin,
        structure_kind="ACI",
        siret="732 829 320 00074",
        departement="29",
    )
    _, rows = organisations.administered(sato, by=admin)
    [row] = [r for r in rows if r.slug == slug]
    assert (row.siret, row.departement, row.structure_kind) == ("73282932000074", "29", "ACI")
    with pytest.raises(InvalidInput, match="^SIRET : .*clé de contrôle"):
        organisations.create_organisation(
            sato, "Autre", "structure", "sato", by=admin, structure_kind="EI", siret="1" * 14
        )
    with pytest.raises(InvalidInput, match="^type de structure : à choisir parmi AI, ACI, EI"):
        organisations.create_organisation(
            sato, "EA", "structure", "sato", by=admin, structure_kind="EA"
        )


def test_the_command_records_siret_and_departement(rt: Runtime, db_url: str, capsys) -> None:
    base = ["--db", db_url, "org", "add", "adp", "--name", "Atelier du Port"]
    code, _, err = run(
        capsys,
        *base,
        "--structure-kind",
        "ACI",
        "--network",
        "sato",
        "--siret",
        "73282932000074",
        "--departement",
        "2a",
    )
    assert code == 0, err
    with rt.reading() as c:
        row = c.execute(
            select(Organisation.siret, Organisation.departement).where(Organisation.slug == "adp")
        ).one()
    assert tuple(row) == ("73282932000074", "2A")
    code, _, err = run(capsys, *base, "--structure-kind", "EA")
    assert code == 1 and "une entreprise adaptée n'est pas une SIAE" in err
    code, _, err = run(capsys, *base, "--structure-kind", "ACI", "--siret", "123")
    assert code == 1 and "SIRET : « 123 » a 3 chiffres" in err


def test_the_migration_turns_ea_structures_into_partners(db_engine: Engine) -> None:
    cfg = alembic_config(db_engine)
    with db_engine.connect() as conn, conn.begin():
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0014_iae")
        conn.execute(
            text(
                "INSERT INTO organisation (slug, kind, structure_kind, name) VALUES "
                "('ea', 'structure', 'EA', 'EA de l''Élorn'), "
                "('aci', 'structure', 'ACI', 'ACI du Port')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO person (kind, email, given_name, family_name, subject, created_at) "
                "VALUES ('staff', 'dir@ea.example', 'Dina', 'Ea', 's1', :at)"
            ),
            {"at": T0},
        )
        ids = dict(conn.execute(text("SELECT slug, id FROM organisation")).all())
        pid = conn.execute(text("SELECT id FROM person")).scalar()
        for org, role in (("ea", "directeur"), ("ea", "cip"), ("aci", "directeur")):
            conn.execute(
                text(
                    "INSERT INTO staffrole (person_id, organisation_id, role) VALUES (:p, :o, :r)"
                ),
                {"p": pid, "o": ids[org], "r": role},
            )
        command.upgrade(cfg, "0015_iae_ea")
        orgs = dict(
            (slug, (kind, sk))
            for slug, kind, sk in conn.execute(
                text("SELECT slug, kind, structure_kind FROM organisation")
            ).all()
        )
        roles = sorted(
            conn.execute(
                text(
                    "SELECT o.slug, r.role FROM staffrole r JOIN organisation o "
                    "ON o.id = r.organisation_id"
                )
            ).all()
        )
    assert orgs == {"ea": ("partner", None), "aci": ("structure", "ACI")}
    assert [tuple(r) for r in roles] == [("aci", "directeur"), ("ea", "partner")]
