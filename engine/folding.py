"""Names compared and sorted as people read them: lower case, without accents (« hélène »
finds « Hélène », « Émile » sorts with the e). One definition for Python, for PostgreSQL (the
stored columns the board sorts and searches by) and for SQLite (a function of the
connection: its lower() knows ASCII only)."""

from __future__ import annotations

ACCENTED = "àáâãäåçèéêëìíîïñòóôõöùúûüýÿÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖÙÚÛÜÝŸ’"
PLAIN = "aaaaaaceeeeiiiinooooouuuuyyaaaaaaceeeeiiiinooooouuuuyy'"
LIGATURES = (("œ", "oe"), ("Œ", "oe"), ("æ", "ae"), ("Æ", "ae"))
_TABLE = str.maketrans(ACCENTED, PLAIN)


def fold(text: str) -> str:
    """Lower case without accents."""
    out = text.lower().translate(_TABLE)
    for ligature, plain in LIGATURES:
        out = out.replace(ligature, plain)
    return out


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def fold_sql(column: str) -> str:
    """`fold` of `column` in PostgreSQL, with no extension: `translate` of `lower` (capitals
    with accents too, whatever lower() does with them in the database's locale), then the
    ligatures. Immutable, so it may define a stored generated column."""
    out = f"translate(lower({column}), {_quoted(ACCENTED)}, {_quoted(PLAIN)})"
    for ligature, plain in LIGATURES:
        out = f"replace({out}, {_quoted(ligature)}, {_quoted(plain)})"
    return out
