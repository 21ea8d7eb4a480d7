"""The sent log (ledger/sentlog.py): rows a sender handed to the channel, readable after a kill."""

from __future__ import annotations

import os
import stat
import time

from ledger import sentlog


def test_a_killed_senders_log_names_the_rows_it_handed_over(tmp_path):
    log = sentlog.SentLog(tmp_path / "sent", "host:123:abcd")
    log.append([7])
    log.append([8, 9])
    # no close: a killed process leaves what it wrote; a write cut short leaves a partial last line
    with open(log.path, "ab") as raw:
        raw.write(b"1")
    assert sentlog.handed_over(tmp_path / "sent", "host:123:abcd") == {7, 8, 9}
    assert sentlog.handed_over(tmp_path / "sent", "other:1:ffff") == set()
    assert sentlog.handed_over(tmp_path / "missing", "host:123:abcd") == set()
    assert stat.S_IMODE(os.stat(log.path).st_mode) == 0o600


def test_a_sender_name_from_the_database_cannot_leave_the_folder(tmp_path):
    folder = tmp_path / "sent"
    (tmp_path / "secret.ids").write_text("1\n")
    log = sentlog.SentLog(folder, "../secret")
    assert log.path.parent == folder
    assert sentlog.handed_over(folder, "../secret") == set()


def test_the_log_holds_only_rows_not_yet_recorded(tmp_path, monkeypatch):
    log = sentlog.SentLog(tmp_path, "w")
    log.append([1, 2])
    log.recorded([])  # the database knows them all
    assert log.path.read_bytes() == b""
    log.append([3])
    assert sentlog.handed_over(tmp_path, "w") == {3}
    monkeypatch.setattr(sentlog, "REWRITE_AT", 10)
    log.append(range(100, 120))
    log.recorded([119])  # large: rewritten with only what the database lacks
    assert sentlog.handed_over(tmp_path, "w") == {119}
    log.append([120])  # written to the new file
    assert sentlog.handed_over(tmp_path, "w") == {119, 120}
    log.close(remove=True)
    assert not log.path.exists()


def test_prune_removes_only_long_gone_senders_logs_and_a_live_sender_writes_again(tmp_path):
    mine = sentlog.SentLog(tmp_path, "mine")
    mine.append([1])
    gone = sentlog.SentLog(tmp_path, "gone")
    gone.append([2])
    gone.close(remove=False)
    recent = sentlog.SentLog(tmp_path, "recent")
    recent.append([3])
    recent.close(remove=False)
    old = time.time() - sentlog.KEEP_SECONDS - 60
    os.utime(gone.path, (old, old))
    os.utime(mine.path, (old, old))
    assert sentlog.prune(tmp_path, keep=mine.path) == 1
    assert not gone.path.exists() and recent.path.exists() and mine.path.exists()
    sentlog.prune(tmp_path)  # this time without keep: the live sender's file goes too
    assert not mine.path.exists()
    mine.append([4])  # reopened, not written into the removed file
    assert sentlog.handed_over(tmp_path, "mine") == {4}
