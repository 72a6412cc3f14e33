"""Persistence: SQLModel tables, database engines and Alembic migrations."""
