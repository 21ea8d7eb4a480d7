"""The ledger's migrations (ledger/migrations), on SQLite and PostgreSQL, with data in the tables:

- the newest revision matches the models, and ``drop_everything`` removes every table;
- every revision downgrades and upgrades again, its rows and every older revision's rows in place,
  the schema as it was;
- a database at any older revision, holding data, is brought to the newest by the app's own start-up
  (``Database(url)``) with its rows kept;
- two worker processes starting at once on one database (tests/race_worker.py) both start, and the
  migrations run once (PostgreSQL: under ``ledger.db.upgrade``'s advisory lock).
"""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, insert, inspect, select, text, update

from ledger.conversations import ConversationStore
from ledger.db import Database, alembic_config, drop_everything, upgrade
from ledger.schema import METADATA
from tests.conftest import make_settings
from tongban.storage import data_cipher
from tests.race_worker import run_workers

pytestmark = pytest.mark.slow  # every migration on both databases: left out of make test-fast

STAFF_TABLES = {"staff_users", "staff_sessions", "staff_login_failures", "staff_drafts", "staff_case_notes",
                "staff_staged_checklists", "duty_shifts", "duty_exceptions", "alert_targets", "urgent_alerts",
                "alert_deliveries"}
T0 = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.timezone.utc)
T1 = T0 + dt.timedelta(days=3, hours=2)
D1, D2 = dt.date(2026, 12, 10), dt.date(2027, 5, 29)
# what an upgrade gives the rows already there in a column it adds (else NULL)
FILLED_BY_UPGRADE = {("assistance_requests", "area_code"): lambda row: row["residence_code"],
                     ("urgent_records", "repeats"): lambda row: 0}


def _revisions() -> list[tuple[str, str | None]]:
    """(revision, the one before it), oldest first."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [(s.revision, s.down_revision) for s in reversed(list(script.walk_revisions()))]


REVISIONS = _revisions()
HEAD = REVISIONS[-1][0]


@pytest.fixture
def settings(backend):
    return make_settings(backend["data_dir"], database=backend["database"])


# ------------------------------------------------------------------ rows for each revision
# Each revision's rows go into the tables it creates and the columns it adds, so they can be put back
# after its downgrade; ``ids`` carries the rows later revisions refer to.

def _table(conn: Connection, name: str) -> Table:
    return Table(name, MetaData(), autoload_with=conn)


def _add(conn: Connection, table: str, /, **values):
    result = conn.execute(insert(_table(conn, table)).values(**values))
    return result.inserted_primary_key[0]


def _set(conn: Connection, table: str, row_id: int, /, **values) -> None:
    found = _table(conn, table)
    conn.execute(update(found).where(found.c.id == row_id).values(**values))


def _rows_0001(conn, ids):
    ids["conversation"] = _add(conn, "conversations", sender_hash="s" * 64, sender_enc="enc:sender",
                               channel="telegram", state_enc="enc:state", version=7, created_at=T0, updated_at=T1)
    ids["web"] = _add(conn, "conversations", sender_hash="w" * 64, sender_enc="enc:web", channel="rest",
                      state_enc="enc:{}", version=1, created_at=T0, updated_at=T0)
    _add(conn, "handoff_requests", conversation_id=ids["conversation"], channel="telegram", locality="440306",
         reason_enc="enc:reason", status="handled", created_at=T0, handled_at=T1, handled_by="staff:wang")
    ids["urgent"] = _add(conn, "urgent_records", conversation_id=ids["conversation"], channel="telegram",
                         locality="440306", kinds="abuse,injury", detected_by="both", message_enc="enc:message",
                         status="new", created_at=T0)


def _rows_0002(conn, ids):
    _set(conn, "conversations", ids["web"], deletion_requested_at=T1)
    _add(conn, "audit_log", actor="staff:wang", action="request.status", target="LD-2026-000001",
         detail="accepted", at=T1)
    request = dict(channel="telegram", child_name_enc="enc:child", child_key_hash="c" * 64, child_age=8,
                   hukou_code="411625", hukou_name="河南省周口市郸城县", residence_code="440306",
                   residence_name="广东省深圳市宝安区", residence_detail_enc="enc:street", months_at_residence=24.5,
                   guardian_name_enc="enc:guardian", guardian_relation="母亲", guardian_phone_enc="enc:phone",
                   guardian_phone_hash="p" * 64, situations="family_hardship,left_behind",
                   description_enc="enc:description", urgency="high", consent_notice_version="2026-11-v1",
                   consent_at=T0, created_at=T0)
    ids["request"] = _add(conn, "assistance_requests", reference="LD-2026-000001",
                          conversation_id=ids["conversation"], referral="SZ-XX-01", status="accepted", **request)
    ids["duplicate"] = _add(conn, "assistance_requests", reference="LD-2026-000002", conversation_id=ids["web"],
                            status="submitted", duplicate_of_id=ids["request"], deletion_requested_at=T1,
                            **{**request, "channel": "rest"})
    ids["entry"] = _add(conn, "ledger_entries", request_id=ids["request"], locality="440306", accepted_at=T1,
                        next_visit_on=D1, next_review_on=D2, status="active")
    for status, note, at in (("submitted", "家长通过对话提交", T0), ("accepted", "符合家庭困难情形", T1)):
        _add(conn, "status_history", request_id=ids["request"], status=status, note=note, changed_by="staff:wang",
             changed_at=at)
    _add(conn, "visits", entry_id=ids["entry"], visited_on=D1, visitor="张主任", findings_enc="enc:findings",
         next_visit_on=D2, created_at=T1)


def _rows_0003(conn, ids):
    _add(conn, "committees", code="SZ-XX-01", name="西乡社区居委会", locality_code="440306001",
         locality_name="广东省深圳市宝安区西乡街道", active=True, created_at=T0, created_by="admin")
    for direction in ("in", "out"):
        _add(conn, "conversation_messages", conversation_id=ids["conversation"], direction=direction,
             text_enc=f"enc:{direction}", at=T0)
    conn.execute(insert(_table(conn, "telegram_updates")).values(bot_id=7_000_000_001, update_id=2**40 + 1,
                                                                  processed_at=T0))
    ids["outbox"] = _add(conn, "outbox", conversation_id=ids["conversation"], channel="telegram",
                         kind="notification", dedupe_key="status:2", payload_enc="enc:payload", status="pending",
                         attempts=2, next_attempt_at=T1, last_error="timed out", created_at=T0)
    _set(conn, "conversations", ids["conversation"], blocked_at=T1)
    _set(conn, "assistance_requests", ids["request"], area_code="440306001")  # the committee's community


def _rows_0004(conn, ids):
    ids["user"] = user = _add(conn, "staff_users", username="wang", display_name="王工", role="civil_affairs", area_code="440306",
                password_hash="argon2:hash", active=True, created_at=T0, created_by="admin", last_login_at=T1,
                password_changed_at=T0)
    _add(conn, "staff_sessions", token_hash="t" * 64, user_id=user, created_at=T0, last_seen_at=T1,
         expires_at=T1, revoked_at=None, client_ip="203.0.113.20", user_agent="Firefox")
    _add(conn, "staff_login_failures", key="user:wang", at=T1)
    _add(conn, "staff_drafts", token_hash="d" * 64, user_id=user, page="/staff/requests/LD-2026-000001",
         fields_enc="enc:fields", created_at=T0, expires_at=T1)
    _add(conn, "staff_case_notes", target_kind="request", target_id=ids["request"], note_enc="enc:note",
         status="open", written_by="wang", written_at=T1)
    _add(conn, "staff_staged_checklists", token_hash="u" * 64, user_id=user, source_name="baoan.yaml",
         yaml_text="id: example\n", created_at=T0, expires_at=T1)


def _rows_0005(conn, ids):
    conn.execute(insert(_table(conn, "rate_counters")).values(key_hash="k" * 64, window_start=1_800_000_000,
                                                               hits=7))
    _set(conn, "urgent_records", ids["urgent"], repeats=4, last_seen_at=T1)


def _rows_0006(conn, ids):
    conn.execute(insert(_table(conn, "retention_runs")).values(day=D1, started_at=T0, finished_at=T1,
                                                                worker="host-1", summary="{}"))
    conn.execute(insert(_table(conn, "data_key_check")).values(id=1, canary_enc="enc:canary", canary_hash="h" * 64,
                                                                created_at=T0, rotated_at=T1))
    _set(conn, "assistance_requests", ids["duplicate"], anonymised_at=T1, kept_reason="案件未结", kept_until=D2)


def _rows_0007(conn, ids):
    _set(conn, "urgent_records", ids["urgent"], stood_down_at=T1)


def _rows_0008(conn, ids):
    conn.execute(insert(_table(conn, "wechat_messages")).values(key_hash="m" * 64, processed_at=T0))
    conn.execute(insert(_table(conn, "wechat_tokens")).values(app_id="wx0123456789abcdef", token_enc="enc:token",
                                                               expires_at=T1, refreshed_at=T0))


def _rows_0009(conn, ids):
    conn.execute(insert(_table(conn, "wechat_qrcodes")).values(app_id="wx0123456789abcdef", scene="SZ-XX-01",
                                                                ticket="gQH47joAAAAAAAAAASxodHRw",
                                                                url="http://weixin.qq.com/q/kZgfwMTm72WWPkovabbI",
                                                                created_at=T0))
    _set(conn, "outbox", ids["outbox"], delivered_via="template")


def _rows_0010(conn, ids):
    user = ids["user"]
    _add(conn, "duty_shifts", area_code="440306", user_id=user, weekday=6, start_minute=0, end_minute=480, rank=1,
         created_by="admin", created_at=T0)
    _add(conn, "duty_exceptions", area_code="440306", user_id=user, starts_at=T0, ends_at=T1, on_duty=False, rank=1,
         note="年假", created_by="admin", created_at=T0)
    target = _add(conn, "alert_targets", user_id=user, area_code=None, channel="wecom_robot",
                  address_enc="enc:robot-key", address_hint="…c0de", position=1, active=True, last_ok_at=T0,
                  last_error="93000 invalid webhook url", last_error_at=T1, created_by="admin", created_at=T0)
    alert = _add(conn, "urgent_alerts", urgent_record_id=ids["urgent"], area_code="440306",
                 ladder='[{"recipients": ["user:1"], "label": "王工"}]', step=0, next_step_at=T1,
                 acknowledged_at=T1, acknowledged_by="wang", created_at=T0)
    _add(conn, "alert_deliveries", alert_id=alert, step=0, recipient=f"user:{user}", status="sent", attempts=1,
         next_attempt_at=T0, claimed_by=None, via_target_id=target, via="wecom_robot", last_error=None,
         created_at=T0, sent_at=T0)


ROWS = dict(zip([revision for revision, _ in REVISIONS],
                [_rows_0001, _rows_0002, _rows_0003, _rows_0004, _rows_0005, _rows_0006, _rows_0007, _rows_0008,
                 _rows_0009, _rows_0010]))


def test_every_revision_has_its_rows():
    assert list(ROWS) == [revision for revision, _ in REVISIONS], "a new migration needs its rows here"


# ------------------------------------------------------------------ what the database holds

def _contents(engine: Engine) -> dict[str, dict[tuple, dict]]:
    """Every row of every table (but alembic's), by primary key."""
    metadata = MetaData()
    with engine.connect() as conn:
        metadata.reflect(conn)
        out = {}
        for name, table in metadata.tables.items():
            if name == "alembic_version":
                continue
            key = [column.name for column in table.primary_key.columns]
            out[name] = {tuple(row[k] for k in key): dict(row) for row in conn.execute(select(table)).mappings()}
    return out


def _schema(engine: Engine) -> dict[str, dict]:
    found = inspect(engine)
    return {name: {"columns": {c["name"]: (str(c["type"]), c["nullable"]) for c in found.get_columns(name)},
                   "indexes": {i["name"]: (tuple(i["column_names"]), bool(i["unique"]))
                               for i in found.get_indexes(name)},
                   "foreign keys": sorted((tuple(f["constrained_columns"]), f["referred_table"])
                                          for f in found.get_foreign_keys(name))}
            for name in found.get_table_names() if name != "alembic_version"}


def _assert_kept(before: dict, after: dict) -> None:
    """Every row of ``before`` is in ``after`` with the same values in the columns both have; a column
    only ``after`` has holds what an upgrade gives existing rows; a table only ``after`` has is empty."""
    for name, rows in after.items():
        if name not in before:
            assert rows == {}, f"{name}: a new table with rows in it"
            continue
        assert rows.keys() == before[name].keys(), f"{name}: rows lost or gained"
        for key, row in rows.items():
            old = before[name][key]
            assert {c: row[c] for c in old.keys() & row.keys()} == {c: old[c] for c in old.keys() & row.keys()}, \
                f"{name} {key}"
            for column in row.keys() - old.keys():
                expected = FILLED_BY_UPGRADE.get((name, column), lambda _: None)(row)
                assert row[column] == expected, f"{name}.{column} of {key}: {row[column]!r}, not {expected!r}"


def _version(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]


def _matches_models(engine: Engine) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), METADATA)


# ------------------------------------------------------------------ the tests

def test_the_newest_revision_matches_the_models_and_drop_everything_removes_it(settings):
    url = settings.database_url
    engine = create_engine(url)
    try:
        upgrade(engine)
        upgrade(engine)  # again: nothing to do
        assert _version(engine) == [HEAD]
        tables = set(inspect(engine).get_table_names())
        assert STAFF_TABLES <= tables and set(METADATA.tables) <= tables
        indexes = {i["name"] for i in inspect(engine).get_indexes("assistance_requests")}
        assert {"ix_assistance_requests_status_created", "ix_assistance_requests_area_created"} <= indexes
        assert _matches_models(engine) == []
    finally:
        engine.dispose()
    drop_everything(url)
    engine = create_engine(url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_every_revision_downgrades_and_upgrades_with_its_data(settings):
    """Up one revision at a time, adding that revision's rows; then down one and up again: the rows of
    the tables the downgrade keeps are all there (less the columns it drops, which come back as an upgrade
    fills them), the revision's own tables come back empty, the schema is as it was."""
    url = settings.database_url
    config, engine, ids = alembic_config(url), create_engine(url), {}
    schemas = {None: _schema(engine)}
    try:
        for revision, previous in REVISIONS:
            command.upgrade(config, revision)
            with engine.begin() as conn:
                ROWS[revision](conn, ids)
            schemas[revision], before = _schema(engine), _contents(engine)

            command.downgrade(config, previous or "base")
            assert _version(engine) == ([previous] if previous else [])
            assert _schema(engine) == schemas[previous], f"down from {revision}"
            down = _contents(engine)
            _assert_kept(before, down)

            command.upgrade(config, revision)
            assert _schema(engine) == schemas[revision], f"down from {revision} and up again"
            _assert_kept(down, _contents(engine))
            assert _dangling(engine) == [], f"down from {revision} and up again"
            with engine.begin() as conn:  # its rows once more, for the revisions after it
                ROWS[revision](conn, ids)
        assert _version(engine) == [HEAD] and _matches_models(engine) == []
    finally:
        engine.dispose()


def _dangling(engine) -> list:
    """SQLite: rows whose foreign keys point nowhere (this engine does not enforce them, so a step that
    left some would go unseen); PostgreSQL enforces them always."""
    if engine.dialect.name != "sqlite":
        return []
    with engine.connect() as conn:
        return list(conn.exec_driver_sql("PRAGMA foreign_key_check"))


def _at(settings, revision: str) -> tuple[dict, dict]:
    """A database brought to ``revision`` one revision at a time, each revision's rows added on the way;
    (its contents, ids)."""
    url = settings.database_url
    config, engine, ids = alembic_config(url), create_engine(url), {}
    try:
        for each, _ in REVISIONS[:[r for r, _ in REVISIONS].index(revision) + 1]:
            command.upgrade(config, each)
            with engine.begin() as conn:
                ROWS[each](conn, ids)
        return _contents(engine), ids
    finally:
        engine.dispose()


@pytest.mark.parametrize("start", [revision for revision, _ in REVISIONS[:-1]])
def test_a_database_holding_data_is_upgraded_by_the_apps_start(settings, start):
    """A deployment at an older revision, with rows in every table it has, starts the new version: the app's
    own start-up (``Database(url)``: on SQLite with foreign keys enforced) migrates it to the newest
    revision, every row kept, the schema that of the models, and the app can write to it."""
    before, ids = _at(settings, start)
    db = Database(settings.database_url)
    try:
        assert _version(db.engine) == [HEAD]
        _assert_kept(before, _contents(db.engine))
        assert _matches_models(db.engine) == []
        if db.engine.dialect.name == "sqlite":  # enforced again once the migration is done
            with db.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        store = ConversationStore(db, data_cipher(settings))
        with store.open("telegram:8001", "telegram") as convo:  # a new row next to the old ones
            convo.state["after"] = "upgrade"
        assert convo.id not in (ids["conversation"], ids["web"])
        assert store.peek("telegram:8001") == {"after": "upgrade"}
    finally:
        db.dispose()


@pytest.mark.parametrize("start", [None, "0002"], ids=["new-database", "at-0002-with-data"])
def test_two_workers_starting_at_once_migrate_the_database_once(backend, settings, tmp_path, start):
    """Two worker processes start at the same moment on one database, each running the migrations from
    ``Database(url)``: both start, each revision is applied once (by one of them; the other finds
    the work done), the database ends at the newest revision with its rows.

    Guard: PostgreSQL, the advisory lock ``ledger.db.upgrade`` takes first (the migrating worker sees the
    other one wait for it); SQLite, the database's write lock (``BEGIN IMMEDIATE``)."""
    before, _ = _at(settings, start) if start else ({}, {})
    a, b = run_workers("upgrade", backend=backend, folder=tmp_path / "meet", specs=({}, {}))
    for worker in (a, b):
        assert worker["returncode"] == 0, worker["stderr"]
    names = [revision for revision, _ in REVISIONS]
    expected = names[names.index(start) + 1:] if start else names
    migrated, other = (a, b) if a["applied"] else (b, a)
    assert (migrated["applied"], other["applied"]) == (expected, []), (a, b)
    assert migrated["met"] == "excluded" and other["met"] is None, (a, b)
    engine = create_engine(settings.database_url)
    try:
        assert _version(engine) == [HEAD]
        _assert_kept(before, _contents(engine))
        assert _matches_models(engine) == []
    finally:
        engine.dispose()
