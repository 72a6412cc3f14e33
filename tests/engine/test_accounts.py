"""Who is calling: API tokens and sessions, resolved on every request."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, update

from engine.services import accounts
from engine.services.runtime import Runtime
from engine.store.tables import Person
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
