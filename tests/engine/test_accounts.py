"""Who is calling: API tokens and sessions, resolved on every request."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, update

from engine.errors import InvalidInput
from engine.services import accounts
from engine.services.runtime import Runtime
from engine.store.tables import Login, Person
from tests.conftest import CIP, T0


def _full_scans(rt: Runtime, statement, params: dict) -> set[str]:
    """The tables the database's plan for a statement reads whole."""
    with rt.engine.connect() as conn:
        compiled = statement.compile(conn)
        sql = str(compiled)
        if conn.dialect.name == "sqlite":
            bound = tuple(params[name] for name in compiled.positiontup)
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, bound).all()
            return {row[-1].split()[1] for row in rows if row[-1].startswith("SCAN ")}
        [[plan]] = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, params).all()
    found, nodes = set(), [plan[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        if node["Node Type"] == "Seq Scan":
            found.add(node["Relation Name"])
        nodes.extend(node.get("Plans", []))
    return found


def test_a_lookup_reaches_the_person_by_key_whatever_the_number_of_people(sato) -> None:
    """Every API call and page resolves its credential first. On a freshly loaded PostgreSQL
    table, before its first ANALYZE, a join filtered on the person made the planner scan every
    person per request; the lookups must go from the credential's unique index to one row."""
    with sato.engine.begin() as conn:
        conn.execute(
            insert(Person),
            [
                {"kind": "participant", "given_name": "P", "family_name": str(i), "created_at": T0}
                for i in range(1400)
            ],
        )
    token = accounts.create_api_token(sato, CIP, "mesure")
    params = {"digest": accounts._digest(token)}
    for statement in (accounts._BY_TOKEN, accounts._BY_SESSION):
        assert "person" not in _full_scans(sato, statement, params)
    assert accounts.from_api_token(sato, token).email == CIP


@pytest.mark.parametrize("why", ["revoked", "erased"])
def test_a_token_stops_working_when_revoked_or_its_holder_erased(sato, why) -> None:
    token = accounts.create_api_token(sato, CIP, "mesure")
    assert accounts.from_api_token(sato, token).email == CIP
    with sato.engine.begin() as conn:
        if why == "erased":  # erasure is for participants; this is defence in depth
            conn.execute(update(Person).where(Person.email == CIP).values(erased_at=T0))
    if why == "revoked":
        [mine] = accounts.api_tokens(sato, CIP)
        assert accounts.revoke_api_token(sato, mine.id, now=T0).revoked_at == T0
        assert accounts.revoke_api_token(sato, mine.id).revoked_at == T0  # again: unchanged
    assert accounts.from_api_token(sato, token) is None


@pytest.mark.parametrize(
    "password, why",
    [
        ("            ", "que d'espaces"),
        ("\t \t \t \t \t \t ", "que d'espaces"),
        ("aaaaaaaaaaaaaaaa", "un seul caractère répété"),
        ("court", "au moins 12 caractères"),
        ("motdepasse123", "trop courant"),
        ("azertyuiop12", "trop courant"),
        ("password1234", "trop courant"),
        ("123456789012", "trop courant"),
        ("claire.martin", "trop courant"),  # her own name
        ("x" * 1001, "1000 caractères au plus"),  # the login form could never send it
    ],
)
def test_weak_passwords_are_refused_in_french(sato, password, why) -> None:
    with pytest.raises(InvalidInput, match=why):
        accounts.set_password(sato, CIP, password)
    with sato.reading() as conn:
        assert conn.execute(select(Login)).first() is None


def test_a_strong_password_is_kept_as_an_argon2_hash(sato) -> None:
    accounts.set_password(sato, CIP, "une-phrase-de-passe-longue")
    with sato.reading() as conn:
        [stored] = conn.execute(select(Login.password_hash)).scalars()
    assert stored.startswith("$argon2id$") and "une-phrase" not in stored
    assert accounts.from_session(sato, accounts.login(sato, CIP, "une-phrase-de-passe-longue"))
