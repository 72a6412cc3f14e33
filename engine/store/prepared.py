"""Statements of the hot path, compiled once per dialect and run on the driver's cursor.

SQLAlchemy looks every statement it runs up in its compiled cache, by a key it hashes anew
each time, then wraps the cursor in a result: for the joined queries of a transition that
costs several times the database's own work (about 90 µs around a 25 µs SELECT on SQLite).
A `Prepared` statement is compiled for a dialect the first time it runs there and then only
has its parameters converted (with the types' own processors, as SQLAlchemy would) and sent
through the connection's driver, in the connection's transaction; the driver keeps it
prepared (sqlite3's statement cache, psycopg's prepared statements). Errors come back as
SQLAlchemy's exceptions, as from `Connection.execute`.

For statements run thousands of times a minute (`enrollments.advance`), on a Connection
inside a transaction. Anything else goes through `Connection.execute`, which also runs event
listeners and logging that a `Prepared` statement skips.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError


@dataclass(frozen=True)
class _Form:
    """A statement as compiled for one dialect."""

    sql: str
    plan: tuple[tuple[str, Callable[[Any], Any] | None], ...]
    """Each parameter with its type's processor, in the order a positional driver takes
    them (sqlite3's `?`)."""
    positional: bool
    defaults: Mapping[str, Any]
    """Values bound in the statement itself (literals SQLAlchemy turned into parameters)."""
    row: Any
    """A named tuple of the result columns, None for a statement without them."""
    results: tuple[tuple[int, Callable[[Any], Any]], ...]
    """The result columns that need their type's processor, by position."""


class Prepared:
    """A Core statement run without SQLAlchemy's per-execution work. `column_keys`: for an
    INSERT without explicit values, the columns the parameters give (as `execute` infers
    them from the first parameter set)."""

    def __init__(self, statement: Any, column_keys: Sequence[str] | None = None):
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        self._forms: dict[tuple[str, str], _Form] = {}

    def _form(self, dialect: Dialect) -> _Form:
        key = (dialect.name, dialect.driver)
        form = self._forms.get(key)
        if form is None:
            form = self._forms[key] = self._compile(dialect)
        return form

    def _compile(self, dialect: Dialect) -> _Form:
        compiled = self.statement.compile(dialect=dialect, column_keys=self.column_keys)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("a statement rendered anew at each execution cannot be prepared")
        defaults = {
            name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required
        }
        binding = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        }
        row, results = None, ()
        cols = compiled.returning or (
            self.statement.selected_columns if isinstance(self.statement, Select) else None
        )
        if cols:
            row = namedtuple("Row", [str(c.key) for c in cols], rename=True)  # type: ignore[misc]
            reading = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in cols]
            results = tuple((i, p) for i, p in enumerate(reading) if p is not None)
        positional = bool(compiled.positional)
        names = tuple(compiled.positiontup or ()) if positional else tuple(compiled.binds)
        plan = tuple((name, binding[name]) for name in names)
        return _Form(compiled.string, plan, positional, defaults, row, results)

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        """Run in `conn`'s transaction; returns the driver's cursor."""
        return self._run(conn, params)[1]

    def _run(self, conn: Connection, params: Mapping[str, Any]) -> tuple[_Form, Any]:
        dialect = conn.dialect
        form = self._form(dialect)
        given = {**form.defaults, **params} if form.defaults else params
        bound: Any
        if form.positional:
            bound = [given[n] if p is None else p(given[n]) for n, p in form.plan]
        else:
            bound = {n: given[n] if p is None else p(given[n]) for n, p in form.plan}
        driver = conn.connection.driver_connection
        cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(form.sql, bound)
        except dialect.loaded_dbapi.Error as exc:
            # as `Connection.execute` does: a lost connection is not handed back to the pool
            lost = dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
            cursor.close()
            if lost:
                conn.invalidate(exc)
            raise DBAPIError.instance(
                form.sql,
                bound,
                exc,
                dialect.loaded_dbapi.Error,
                connection_invalidated=lost,
                dialect=dialect,
            ) from exc
        return form, cursor

    def rowcount(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Rows the statement changed."""
        cursor = self.execute(conn, params)
        count = cursor.rowcount
        cursor.close()
        return count

    def all(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """The result rows, as named tuples with the columns' types applied."""
        form, cursor = self._run(conn, params)
        try:
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        make = form.row._make
        if not form.results:
            return [make(r) for r in fetched]
        rows = []
        for fetched_row in fetched:
            values = list(fetched_row)
            for i, process in form.results:
                values[i] = process(values[i])
            rows.append(make(values))
        return rows
