"""The data key and the database: the start-up check and key rotation.

``verify_data_key`` runs when a process starts (``Runtime.build``, the ledger commands). The
``data_key_check`` row holds a known value encrypted with the key and its keyed hash:

- the first process on a new database writes it (if the database already holds encrypted data,
  only after checking that the key decrypts it);
- a process whose keys cannot decrypt it was given a different key than the one the database was
  written with (another ``TONGBAN_SECURITY__DATA_KEY``, or a key file made in another folder):
  it refuses to start, instead of writing data nobody else can read;
- a process whose primary key decrypts it but gives another lookup hash is in the middle of a key
  rotation: it refuses to start until ``tongban security rotate-key`` has finished (lookups by
  hash — a parent's conversation, duplicate requests — would otherwise miss).

``rotate`` (``tongban security rotate-key``): with ``TONGBAN_SECURITY__DATA_KEY=NEW,OLD`` it
re-encrypts every ``_enc`` column of every table under NEW, in batches (each its own
transaction), recomputes the keyed lookup hashes (conversation senders, the child key and the
guardian phone of requests) and finally the check row. Running it again after an interruption
continues where it stopped: values already under NEW are left alone. Stop ``tongban serve`` first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Table, select, update
from sqlalchemy.exc import IntegrityError

from ledger.clock import utcnow
from ledger.crypto import DataCipher, DataKeyError
from ledger.db import Database
from ledger.models import AssistanceRequest, Conversation, DataKeyCheck
from ledger.schema import METADATA

CANARY = "tongban data key check"
CHECK_ID = 1
ERASED_HASH_PREFIX = "erased:"  # lookup hashes of anonymised requests: not derived from any key


def verify_data_key(db: Database, cipher: DataCipher) -> None:
    """Refuse (``DataKeyError``) a key that is not the database's; record it on a new database."""
    with db.session() as session:
        row = session.get(DataKeyCheck, CHECK_ID)
        if row is None:
            _check_existing_data(session, cipher)
            try:
                with session.begin_nested():
                    session.add(DataKeyCheck(id=CHECK_ID, canary_enc=cipher.encrypt(CANARY),
                                             canary_hash=cipher.lookup_hash(CANARY), created_at=utcnow()))
            except IntegrityError:  # another process recorded its key at the same moment
                row = session.get(DataKeyCheck, CHECK_ID)
            else:
                return
        try:
            readable = cipher.decrypt(row.canary_enc) == CANARY
        except ValueError:
            readable = False
        if not readable:
            raise DataKeyError(
                f"数据密钥（{cipher.source}）不是写入这个数据库时用的密钥：拒绝启动，以免写入别人解不开的数据。"
                "请使用原来的 TONGBAN_SECURITY__DATA_KEY 或原来的密钥文件。"
                f" The data key ({cipher.source}) is not the key this database was written with; refusing to "
                "start. Use the original key (a key file made by a process started in another folder is a "
                "different key).")
        if row.canary_hash != cipher.lookup_hash(CANARY):
            raise DataKeyError(
                "密钥轮换还没有完成：请先运行 tongban security rotate-key，完成后再启动。"
                " A key rotation is not finished (the primary key is new but the lookup hashes are not yet "
                "recomputed): run `tongban security rotate-key` first.")


def _check_existing_data(session, cipher: DataCipher) -> None:
    """A database written before the check row existed: the key must decrypt what is there."""
    token = session.scalar(select(Conversation.sender_enc).order_by(Conversation.id).limit(1))
    if token is None:
        token = session.scalar(select(AssistanceRequest.child_name_enc).order_by(AssistanceRequest.id).limit(1))
    if token is None:
        return
    try:
        cipher.decrypt(token)
    except ValueError:
        raise DataKeyError(
            f"数据密钥（{cipher.source}）解不开数据库里已有的数据：拒绝启动。"
            f" The data key ({cipher.source}) cannot decrypt the data already in this database; refusing "
            "to start.") from None


@dataclass
class RotationReport:
    reencrypted: dict[str, int] = field(default_factory=dict)  # "table.column" → values
    rehashed: dict[str, int] = field(default_factory=dict)  # "table.column" → rows

    def lines(self) -> list[str]:
        out = [f"re-encrypted\t{name}\t{n}" for name, n in sorted(self.reencrypted.items())]
        out += [f"rehashed\t{name}\t{n}" for name, n in sorted(self.rehashed.items())]
        return out


def encrypted_columns() -> list[tuple[Table, list[str]]]:
    """Every table with ``_enc`` columns (single-column primary key), and those columns."""
    found = []
    for table in METADATA.sorted_tables:
        columns = [c.name for c in table.columns if c.name.endswith("_enc")]
        if not columns:
            continue
        if len(table.primary_key.columns) != 1:
            raise RuntimeError(f"{table.name}: encrypted columns need a single-column primary key to rotate")
        found.append((table, columns))
    return found


def rotate(db: Database, cipher: DataCipher, *, batch_size: int = 500) -> RotationReport:
    """Re-encrypt everything under the primary key and recompute the lookup hashes (see above)."""
    report = RotationReport()
    with db.session() as session:
        row = session.get(DataKeyCheck, CHECK_ID)
        if row is not None:
            try:
                cipher.decrypt(row.canary_enc)
            except ValueError:
                raise DataKeyError("这些密钥都解不开数据库：轮换时请把新密钥放在最前、旧密钥放在后面 "
                                   "(TONGBAN_SECURITY__DATA_KEY=NEW,OLD). None of the keys decrypts this "
                                   "database; list the new key first and the old one after it.") from None
    for table, columns in encrypted_columns():
        _reencrypt_table(db, cipher, table, columns, batch_size, report)
    _rehash(db, cipher, batch_size, report)
    with db.session() as session:
        row = session.get(DataKeyCheck, CHECK_ID)
        values = dict(canary_enc=cipher.encrypt(CANARY), canary_hash=cipher.lookup_hash(CANARY))
        if row is None:
            session.add(DataKeyCheck(id=CHECK_ID, created_at=utcnow(), rotated_at=utcnow(), **values))
        else:
            row.canary_enc, row.canary_hash, row.rotated_at = values["canary_enc"], values["canary_hash"], utcnow()
    return report


def _batches(db: Database, table: Table, columns: list, batch_size: int):
    """(session, rows) per batch, in primary-key order; each batch is one transaction."""
    key = next(iter(table.primary_key.columns))
    last = None
    while True:
        with db.session() as session:
            query = select(key, *columns).order_by(key).limit(batch_size)
            if last is not None:
                query = query.where(key > last)
            rows = session.execute(query).all()
            if not rows:
                return
            yield session, key, rows
            last = rows[-1][0]


def _reencrypt_table(db: Database, cipher: DataCipher, table: Table, names: list[str], batch_size: int,
                     report: RotationReport) -> None:
    columns = [table.c[name] for name in names]
    for session, key, rows in _batches(db, table, columns, batch_size):
        for row in rows:
            changes = {}
            for name, token in zip(names, row[1:]):
                if token is not None and not cipher.is_primary(token):
                    changes[name] = cipher.rotate(token)
                    report.reencrypted[f"{table.name}.{name}"] = report.reencrypted.get(f"{table.name}.{name}", 0) + 1
            if changes:
                session.execute(update(table).where(key == row[0]).values(**changes))


def _rehash(db: Database, cipher: DataCipher, batch_size: int, report: RotationReport) -> None:
    from ledger.conversations import ConversationStore
    from ledger.requests import child_key_of, phone_hash

    store = ConversationStore(db, cipher)  # its sender_hash is the one turns look up
    conversations = Conversation.__table__
    for session, key, rows in _batches(db, conversations, [conversations.c.sender_enc, conversations.c.sender_hash],
                                       batch_size):
        for row_id, sender_enc, old in rows:
            new = store.sender_hash(cipher.decrypt(sender_enc))
            if new != old:
                session.execute(update(conversations).where(key == row_id).values(sender_hash=new))
                report.rehashed["conversations.sender_hash"] = report.rehashed.get("conversations.sender_hash", 0) + 1
    requests = AssistanceRequest.__table__
    c = requests.c
    for session, key, rows in _batches(db, requests, [c.child_name_enc, c.guardian_phone_enc, c.child_key_hash,
                                                      c.guardian_phone_hash], batch_size):
        for row_id, name_enc, phone_enc, old_child, old_phone in rows:
            if old_child.startswith(ERASED_HASH_PREFIX):
                continue  # anonymised: nothing to find it by
            name, phone = cipher.decrypt(name_enc), cipher.decrypt(phone_enc)
            values = {}
            if (new := child_key_of(cipher, name, phone)) != old_child:
                values["child_key_hash"] = new
            if not old_phone.startswith(ERASED_HASH_PREFIX) and (new := phone_hash(cipher, phone)) != old_phone:
                values["guardian_phone_hash"] = new
            if values:
                session.execute(update(requests).where(key == row_id).values(**values))
                for name_ in values:
                    label = f"assistance_requests.{name_}"
                    report.rehashed[label] = report.rehashed.get(label, 0) + 1
