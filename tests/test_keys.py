"""The data key (issue 12, "Keys"): required in production; the key file is an absolute path, private,
created once even by processes racing for it; a process with another key than the database's
refuses to start; ``tongban security rotate-key`` re-encrypts everything and recomputes the lookup
hashes so conversations and duplicate detection keep working. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import stat
import threading
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text

from ledger.crypto import DataCipher, DataKeyError, key_file_path, load_or_create_key
from ledger.keys import encrypted_columns, verify_data_key
from ledger.models import AssistanceRequest, Conversation, DataKeyCheck
from tongban.storage import data_cipher
from tongban.settings import Settings

ANSWERS = ["王小明", "八岁", "河南周口郸城", "深圳宝安西乡街道", "两年", "李芳", "妈妈", "138 0013 8000", "1 3",
           "孩子爸爸受伤干不了活，下学期学费交不上"]


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    """Run ``tongban`` in-process with settings from the environment (fresh each time)."""
    from tongban.settings import get_settings

    monkeypatch.chdir(tmp_path)  # no .env of the repository
    for name in list(os.environ):
        if name.startswith("TONGBAN_") and name != "TONGBAN_TEST_PG_URL":
            monkeypatch.delenv(name)

    def run(argv, **env):
        from tongban.cli import main

        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        try:
            return main(argv)
        finally:
            get_settings.cache_clear()
    return run


def _settings(backend, data_dir: Path | None = None, key: str = "") -> Settings:
    database = backend["database"]
    if not database["url"]:  # one SQLite file shared by every data_dir of the test
        database = {"url": f"sqlite:///{backend['data_dir'] / 'shared.db'}"}
    return Settings(env="test", data_dir=data_dir or backend["data_dir"], database=database,
                    knowledge={"watch_interval": 0}, security={"data_key": key})


def _runtime(settings, kb, interpreter):
    from tongban.runtime import Runtime

    return Runtime.build(settings, knowledge=kb, interpreter=interpreter, housekeeping=False)


# --- production, the key file ---------------------------------------------------------------
def test_production_requires_the_data_key(tmp_path, cli_env, capsys):
    with pytest.raises(DataKeyError, match="TONGBAN_SECURITY__DATA_KEY"):
        data_cipher(Settings(env="production", data_dir=tmp_path / "var"))
    assert not (tmp_path / "var" / "secret.key").exists()  # no key file made in production
    code = cli_env(["ledger", "outbox"], TONGBAN_ENV="production", TONGBAN_DATA_DIR=str(tmp_path / "var"))
    assert code == 2 and "TONGBAN_SECURITY__DATA_KEY" in capsys.readouterr().err
    code = cli_env(["serve", "--port", "1"], TONGBAN_ENV="production", TONGBAN_DATA_DIR=str(tmp_path / "var"))
    assert code == 2 and "TONGBAN_SECURITY__DATA_KEY" in capsys.readouterr().err  # refused before serving
    key = Fernet.generate_key().decode()
    cipher = data_cipher(Settings(env="production", data_dir=tmp_path, security={"data_key": key}))
    assert cipher.decrypt(cipher.encrypt("x")) == "x"


def test_key_file_is_absolute_private_and_refused_when_others_can_read_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings(env="development")  # data_dir is the relative "var"
    path = key_file_path(settings.data_dir)
    assert path.is_absolute() and path == tmp_path.resolve() / "var" / "secret.key"
    cipher = data_cipher(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert str(path) in cipher.source
    path.chmod(0o644)
    with pytest.raises(DataKeyError, match="chmod 600"):
        data_cipher(settings)
    path.chmod(0o600)
    path.write_text("not a key\n")
    with pytest.raises(DataKeyError, match="Fernet"):
        data_cipher(settings)


def test_processes_racing_to_create_the_key_file_all_get_the_same_key(tmp_path):
    path = tmp_path / "data" / "secret.key"
    start = threading.Barrier(12)
    keys, errors = [], []

    def create():
        start.wait()
        try:
            keys.append(load_or_create_key(path))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
    threads = [threading.Thread(target=create) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(keys) == 12 and len(set(keys)) == 1
    assert path.read_bytes().strip() == keys[0]
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"]  # no temporary files left


# --- the database's key ---------------------------------------------------------------------
def test_a_process_with_another_key_refuses_to_start(backend, kb, interpreter, tmp_path):
    """Two processes started from different folders each made their own key file: the second one
    must not write into the first one's database."""
    first = _runtime(_settings(backend, tmp_path / "folder-a"), kb, interpreter)
    try:
        first.engine.handle("parent-keys", "你好", {}, "rest")
    finally:
        first.close(stop_knowledge=False)
    with pytest.raises(DataKeyError, match="不是写入这个数据库时用的密钥"):
        _runtime(_settings(backend, tmp_path / "folder-b"), kb, interpreter)
    again = _runtime(_settings(backend, tmp_path / "folder-a"), kb, interpreter)  # the right key still works
    again.close(stop_knowledge=False)


def test_a_database_from_before_the_check_refuses_a_key_that_cannot_read_it(backend, kb, interpreter, tmp_path):
    first = _runtime(_settings(backend, tmp_path / "a"), kb, interpreter)
    try:
        first.engine.handle("parent-old", "你好", {}, "rest")
        with first.db.session() as session:
            session.execute(text("DELETE FROM data_key_check"))
    finally:
        first.close(stop_knowledge=False)
    with pytest.raises(DataKeyError, match="解不开数据库里已有的数据"):
        _runtime(_settings(backend, tmp_path / "b"), kb, interpreter)


# --- rotation -------------------------------------------------------------------------------
def _say(runtime, sender):
    def say(message):
        return "\n".join(r.text for r in runtime.engine.handle(sender, message, {}, "rest"))
    return say


def test_rotate_key_reencrypts_everything_and_lookups_keep_working(backend, kb, interpreter, cli_env, capsys):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sender = f"parent-{uuid.uuid4().hex[:6]}"
    before = _runtime(_settings(backend, key=old), kb, interpreter)
    try:
        say = _say(before, sender)
        say("我要申请帮扶")
        say("同意")
        for answer in ANSWERS:
            say(answer)
        reference = re.search(r"LD-\d{4}-\d{6}", say("确认提交")).group(0)
        say("我要找人工")
        say("深圳宝安")
        url = before.db.engine.url.render_as_string(hide_password=False)
    finally:
        before.close(stop_knowledge=False)

    # the new key first, the old one after it: refused until the rotation is done
    with pytest.raises(DataKeyError, match="rotate-key"):
        _runtime(_settings(backend, key=f"{new},{old}"), kb, interpreter)
    env = dict(TONGBAN_ENV="test", TONGBAN_DATA_DIR=str(backend["data_dir"]), TONGBAN_DATABASE__URL=url)
    assert cli_env(["security", "rotate-key"], TONGBAN_SECURITY__DATA_KEY=new, **env) == 2  # one key: nothing to do
    assert cli_env(["security", "rotate-key", "--batch-size", "2"],
                   TONGBAN_SECURITY__DATA_KEY=f"{new},{old}", **env) == 0
    out = capsys.readouterr().out
    assert "conversations.sender_hash" in out and "assistance_requests.child_key_hash" in out
    assert "conversation_messages.text_enc" in out and "handoff_requests.reason_enc" in out
    # a second run finds nothing left under the old key
    assert cli_env(["security", "rotate-key"], TONGBAN_SECURITY__DATA_KEY=f"{new},{old}", **env) == 0
    assert "re-encrypted" not in capsys.readouterr().out

    after = _runtime(_settings(backend, key=new), kb, interpreter)  # the old key is gone
    try:
        only_new = DataCipher(new.encode())
        with after.db.session() as session:
            for table, columns in encrypted_columns():
                for row in session.execute(select(*[table.c[c] for c in columns])):
                    for token in row:
                        if token is not None:
                            only_new.decrypt(token)  # raises if anything is still under the old key
            assert session.get(DataKeyCheck, 1).rotated_at is not None
            (request,) = session.scalars(select(AssistanceRequest)).all()
            assert after.cipher.decrypt(request.child_name_enc) == "王小明"
            count = session.scalar(select(Conversation.id).where(
                Conversation.sender_hash == after.engine.store.sender_hash(sender)))
            assert count == request.conversation_id
        say = _say(after, sender)
        assert reference in say("我提交的申请现在什么状态")  # the same conversation, found by its hash
        # the same child filed again (from another conversation) is matched by the rotated hash
        other = _say(after, f"other-{uuid.uuid4().hex[:6]}")
        other("我要申请帮扶")
        other("同意")
        for answer in ANSWERS:
            other(answer)
        other("确认提交")
        with after.db.session() as session:
            rows = session.scalars(select(AssistanceRequest).order_by(AssistanceRequest.id)).all()
            assert len(rows) == 1 or rows[-1].duplicate_of_id == rows[0].id  # matched, not a new child
    finally:
        after.close(stop_knowledge=False)
    from ledger.db import Database

    db = Database(_settings(backend, key=old).database_url)
    try:
        with pytest.raises(DataKeyError):  # the retired key no longer opens the database
            verify_data_key(db, DataCipher(old.encode()))
    finally:
        db.dispose()


def test_the_standalone_action_server_files_nothing_under_another_key(backend, monkeypatch):
    """``python -m tongban.action_server`` opens the ledger as every entry point does
    (``tongban.storage.open_ledger``): a key that is not the database's is refused before a request
    is written with it."""
    from tongban import action_server
    from tongban.storage import open_ledger

    db, _ = open_ledger(_settings(backend, key=Fernet.generate_key().decode()))  # the database's key, recorded
    db.dispose()
    other = _settings(backend, key=Fernet.generate_key().decode())
    monkeypatch.setattr("tongban.settings.get_settings", lambda: other)
    with pytest.raises(DataKeyError):
        action_server.DeploymentStore().file(None, conversation_id=None, channel="rest", referral=None)
