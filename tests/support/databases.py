"""Throw-away databases on the PostgreSQL server the tests and benchmarks run against."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


class PostgresDatabases:
    """Creates and drops throw-away databases on the test PostgreSQL server."""

    def __init__(self, admin_url: str) -> None:
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self) -> str:
        name = f"wise_al_test_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return make_url(str(self.admin.url)).set(database=name).render_as_string(False)

    def named_like(self, prefix: str) -> list[str]:
        """Databases on the server whose names start with ``prefix``."""
        with self.admin.connect() as conn:
            names = conn.scalars(text("SELECT datname FROM pg_database")).all()
        return [n for n in names if n.startswith(prefix)]

    def drop(self, names: list[str]) -> None:
        """Drop ``names``, whoever is connected to them."""
        with self.admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()

    def drop_all(self) -> None:
        self.drop(self.created)
