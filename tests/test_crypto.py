import stat

import pytest

from ledger.crypto import load_or_create_key
from tests.conftest import make_settings
from tongban.storage import data_cipher


def test_key_file_is_created_private_and_reused(tmp_path):
    settings = make_settings(tmp_path)
    first = data_cipher(settings)
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    token = first.encrypt("王小明")
    assert "王小明" not in token
    assert data_cipher(settings).decrypt(token) == "王小明"
    assert load_or_create_key(key_file) == key_file.read_bytes().strip()


def test_configured_key_wins_and_wrong_key_cannot_decrypt(tmp_path):
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    settings = make_settings(tmp_path, security={"data_key": key})
    cipher = data_cipher(settings)
    assert not (tmp_path / "secret.key").exists()
    token = cipher.encrypt("13800138000")
    with pytest.raises(ValueError):
        data_cipher(make_settings(tmp_path / "other")).decrypt(token)


def test_lookup_hash_is_keyed_and_stable(tmp_path):
    a = data_cipher(make_settings(tmp_path / "a"))
    b = data_cipher(make_settings(tmp_path / "b"))
    assert a.lookup_hash("王小明 138") == a.lookup_hash("王小明138")
    assert a.lookup_hash("王小明") != b.lookup_hash("王小明")


def test_no_key_is_committed():
    import subprocess

    from tests.conftest import REPO

    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()
    assert not [f for f in tracked if f.endswith("secret.key") or f.startswith("var/")]
