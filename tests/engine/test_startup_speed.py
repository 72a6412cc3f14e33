"""A read command starts without loading what it never uses: Alembic when the database is
already up to date, the HTTP client and the network models until a connector is needed."""

from __future__ import annotations

import subprocess
import sys

from alembic.script import ScriptDirectory
from sqlalchemy import text

from engine.store.database import MIGRATIONS, alembic_config, head_revisions, is_current, upgrade


def test_the_newest_migration_is_read_from_the_files_as_alembic_reads_it(db_engine) -> None:
    script = ScriptDirectory.from_config(alembic_config(db_engine))
    assert head_revisions() == frozenset(script.get_heads())
    assert (MIGRATIONS / "versions").is_dir()


def test_an_empty_or_older_database_is_upgraded_and_an_up_to_date_one_left_alone(
    db_engine,
) -> None:
    assert not is_current(db_engine)  # empty: no alembic_version table
    upgrade(db_engine)
    assert is_current(db_engine)
    upgrade(db_engine)  # already there: nothing to do, nothing fails
    assert is_current(db_engine)
    with db_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0015_iae_ea'"))
    assert not is_current(db_engine)  # one migration behind: `upgrade` will run it


def test_a_read_command_loads_neither_alembic_nor_the_http_client(tmp_path) -> None:
    db = tmp_path / "lecture.sqlite"
    probe = (
        "import sys\n"
        "from engine.cli.app import main\n"
        "try:\n"
        f"    main(['--db', {str(db)!r}, 'pathway', 'list'])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('LOADED', sorted(m for m in ('alembic', 'httpx') if m in sys.modules))\n"
    )
    first = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert "LOADED ['alembic']" in first.stdout  # a new database is created by Alembic
    again = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "LOADED []" in again.stdout
