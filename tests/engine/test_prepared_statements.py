"""The hot path's statements, sent straight to the driver (`engine.store.prepared`), answer as
`Connection.execute` would: the same rows with their types, SQLAlchemy's exceptions, and the
refusal of a statement that would have to be rendered anew at each execution."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from engine.services import enrollments as e
from engine.services.runtime import Runtime
from engine.store.prepared import Prepared
from engine.store.tables import AuditEvent, Enrollment
from tests.conftest import CIP, T0, actor


def _enrolled(rt: Runtime) -> int:
    return e.enroll(
        rt,
        "sato-femmes-metallurgie",
        "sato-interim",
        e.Participant("Awa", "Diallo"),
        by=actor(rt, CIP),
        now=T0,
    )


def test_a_prepared_query_reads_what_execute_reads(sato: Runtime) -> None:
    eid = _enrolled(sato)
    query = (
        select(Enrollment.id, Enrollment.stage, Enrollment.stage_entered_at, AuditEvent.details)
        .join(AuditEvent, AuditEvent.enrollment_id == Enrollment.id)
        .where(Enrollment.id == bindparam("eid"), AuditEvent.kind == "enrolled")
    )
    with sato.transaction() as conn:
        expected = conn.execute(query, {"eid": eid}).all()
        [row] = Prepared(query).all(conn, {"eid": eid})
    assert tuple(row) == tuple(expected[0])  # dates and JSON read back as the types say
    assert (row.stage, row.details["awarded"]) == ("decouverte", expected[0].details["awarded"])


def test_a_refusal_from_the_database_is_sqlalchemys_exception(sato: Runtime) -> None:
    note = Prepared(insert(AuditEvent), ["at", "kind"])
    with pytest.raises(IntegrityError), sato.transaction() as conn:
        note.rowcount(conn, {"at": None, "kind": "transition"})  # `at` is required
    with sato.transaction() as conn:
        assert note.rowcount(conn, {"at": T0, "kind": "transition"}) == 1


def test_a_statement_rendered_at_each_execution_is_not_prepared(sato: Runtime) -> None:
    expanding = select(Enrollment.id).where(Enrollment.id.in_(bindparam("ids", expanding=True)))
    with pytest.raises(ValueError, match="rendered anew"), sato.transaction() as conn:
        Prepared(expanding).all(conn, {"ids": [1, 2]})
