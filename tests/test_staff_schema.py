"""Migration 0004_staff, on SQLite and PostgreSQL: it matches the models, downgrades and upgrades,
and ``drop_everything`` removes the staff tables too."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from ledger.db import alembic_config, drop_everything, upgrade
from ledger.models import Base
from tests.test_staff_support import staff_backend  # noqa: F401

STAFF_TABLES = {"staff_users", "staff_sessions", "staff_login_failures", "staff_drafts", "staff_case_notes",
                "staff_staged_checklists"}


def _url(backend) -> str:
    return backend["database"]["url"] or f"sqlite:///{backend['data_dir'] / 'schema.db'}"


def test_migration_matches_models_and_round_trips(staff_backend):
    url = _url(staff_backend)
    engine = create_engine(url)
    try:
        upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        assert STAFF_TABLES <= tables
        indexes = {i["name"] for i in inspect(engine).get_indexes("assistance_requests")}
        assert {"ix_assistance_requests_status_created", "ix_assistance_requests_area_created"} <= indexes
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == [], diff

        config = alembic_config(url)
        command.downgrade(config, "0003_telegram")
        tables = set(inspect(engine).get_table_names())
        assert not (STAFF_TABLES & tables) and "committees" in tables
        command.upgrade(config, "head")
        assert STAFF_TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    drop_everything(url)
    engine = create_engine(url)
    try:
        assert not (STAFF_TABLES & set(inspect(engine).get_table_names()))
    finally:
        engine.dispose()
