"""The keystore: encrypted per-participant keys; public development keys refused outside development."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from eth_account import Account

from passport.chain.keystore import (
    FAST_SCRYPT_N,
    PARTICIPANTS,
    STRONG_SCRYPT_N,
    WELL_KNOWN_ADDRESSES,
    WELL_KNOWN_MNEMONICS,
    Keystore,
    is_well_known_key,
    keystore_password,
    refuse_dev_address,
    refuse_dev_key,
    refuse_dev_mnemonic,
)
from passport.errors import DevKeyRefused, KeystoreError
from passport.settings import Environment, Settings

HARDHAT_MNEMONIC = "test test test test test test test test test test test junk"
GANACHE_MNEMONIC = "myth like bonus scare over problem client lizard pioneer submit female collect"
HARDHAT_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
GANACHE_KEY_0 = "0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d"
ETH_TESTER_KEY_1 = "0x" + "00" * 31 + "01"


@pytest.fixture
def keystore(tmp_path: Path) -> Keystore:
    return Keystore(tmp_path / "keystore", "correct horse", environment="test")


def test_well_known_addresses_are_the_mnemonics_first_ten_accounts() -> None:
    Account.enable_unaudited_hdwallet_features()
    derived = {
        Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}").address
        for mnemonic in WELL_KNOWN_MNEMONICS
        for i in range(10)
    }
    assert derived == WELL_KNOWN_ADDRESSES
    assert Account.from_key(HARDHAT_KEY_0).address in WELL_KNOWN_ADDRESSES
    assert Account.from_key(GANACHE_KEY_0).address in WELL_KNOWN_ADDRESSES


def test_create_writes_an_encrypted_v3_file_only_the_owner_can_read(keystore: Keystore) -> None:
    address = keystore.create("issuer")
    path = keystore.path("issuer")
    document = json.loads(path.read_text())
    assert document["version"] == 3
    assert document["crypto"]["kdf"] == "scrypt"
    assert document["crypto"]["kdfparams"]["n"] == FAST_SCRYPT_N
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keystore.directory.stat().st_mode) == 0o700
    # Any Web3 Secret Storage reader opens it with the password.
    key = Account.decrypt(document, "correct horse")
    assert Account.from_key(key).address == address == keystore.address("issuer")
    assert keystore.names() == ["issuer"]
    assert not list(keystore.directory.glob(".*.tmp"))


def test_a_fresh_keystore_object_decrypts_with_the_password(keystore: Keystore) -> None:
    address = keystore.create("oracle")
    reopened = Keystore(keystore.directory, "correct horse", environment="test")
    assert Account.from_key(reopened.private_key("oracle")).address == address


def test_wrong_password_is_a_keystore_error(keystore: Keystore) -> None:
    keystore.create("oracle")
    with pytest.raises(KeystoreError, match="wrong password"):
        Keystore(keystore.directory, "wrong", environment="test").private_key("oracle")


@pytest.mark.parametrize(
    ("action", "match"),
    [
        (lambda ks: ks.address("missing"), "no key named"),
        (lambda ks: ks.create("Not A Name"), "invalid participant name"),
        (lambda ks: ks.create("../escape"), "invalid participant name"),
        (lambda ks: ks.import_key("x", "0x1234"), "32 bytes"),
        (lambda ks: ks.import_key("x", "zz" * 32), "not hex"),
        (lambda ks: ks.import_key("x", b"\x00" * 32), "not a valid secp256k1"),
        (lambda ks: ks.import_key("x", b"\xff" * 32), "not a valid secp256k1"),
        (lambda ks: ks.import_mnemonic("x", "not a mnemonic at all"), "cannot derive"),
    ],
    ids=[
        "missing",
        "bad-name",
        "path-escape",
        "short-key",
        "non-hex",
        "zero-key",
        "key-over-order",
        "bad-mnemonic",
    ],
)
def test_invalid_requests_are_keystore_errors(keystore: Keystore, action: object, match: str) -> None:
    with pytest.raises(KeystoreError, match=match):
        action(keystore)  # type: ignore[operator]


def test_create_does_not_overwrite(keystore: Keystore) -> None:
    first = keystore.create("admin")
    with pytest.raises(KeystoreError, match="already exists"):
        keystore.create("admin")
    assert keystore.address("admin") == first


def test_damaged_file_is_a_keystore_error(keystore: Keystore) -> None:
    keystore.directory.mkdir(parents=True)
    keystore.path("admin").write_text("{not json")
    with pytest.raises(KeystoreError, match="cannot read"):
        keystore.address("admin")
    keystore.path("admin").write_text("[]")
    with pytest.raises(KeystoreError, match="not a Web3 Secret Storage"):
        keystore.address("admin")


def test_ensure_generates_every_participant_once(keystore: Keystore) -> None:
    first = keystore.ensure()
    assert list(first) == list(PARTICIPANTS)
    assert len(set(first.values())) == len(PARTICIPANTS)
    assert not WELL_KNOWN_ADDRESSES & set(first.values())
    assert keystore.ensure() == first
    assert keystore.addresses() == first


def test_import_key_round_trips(keystore: Keystore) -> None:
    account = Account.create()
    assert keystore.import_key("auditor", account.key.hex()) == account.address
    assert keystore.private_key("auditor") == bytes(account.key)


def test_production_uses_strong_key_derivation(tmp_path: Path) -> None:
    production = Keystore(tmp_path, "a long production passphrase", environment="production")
    production.create("admin")
    document = json.loads(production.path("admin").read_text())
    assert document["crypto"]["kdfparams"]["n"] == STRONG_SCRYPT_N


def test_development_grade_file_unlocked_in_production_is_logged(
    keystore: Keystore, caplog: pytest.LogCaptureFixture
) -> None:
    keystore.create("admin")
    Keystore(keystore.directory, "correct horse", environment="production").private_key("admin")
    assert "development-grade key derivation" in caplog.text


# -- well-known development keys ---------------------------------------------------------------------

REFUSALS = [
    ("hardhat-key", lambda env: refuse_dev_key(HARDHAT_KEY_0, env)),
    ("ganache-key", lambda env: refuse_dev_key(bytes.fromhex(GANACHE_KEY_0[2:]), env)),
    ("eth-tester-key", lambda env: refuse_dev_key(ETH_TESTER_KEY_1, env)),
    ("hardhat-mnemonic", lambda env: refuse_dev_mnemonic(HARDHAT_MNEMONIC, env)),
    ("ganache-mnemonic", lambda env: refuse_dev_mnemonic(GANACHE_MNEMONIC, env)),
    (
        "mnemonic-spacing-and-case",
        lambda env: refuse_dev_mnemonic("  Test test TEST " + "test " * 8 + "junk", env),
    ),
    ("address", lambda env: refuse_dev_address("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", env)),
    (
        "import-key",
        lambda env: Keystore(Path("/nonexistent"), "pw", environment=env).import_key("a", HARDHAT_KEY_0),
    ),
    (
        "import-mnemonic",
        lambda env: Keystore(Path("/nonexistent"), "pw", environment=env).import_mnemonic(
            "a", GANACHE_MNEMONIC, 3
        ),
    ),
]


@pytest.mark.parametrize("environment", ["test", "production"])
@pytest.mark.parametrize(("name", "use"), REFUSALS, ids=[name for name, _ in REFUSALS])
def test_well_known_keys_are_refused_outside_development(
    environment: Environment, name: str, use: object
) -> None:
    with pytest.raises(DevKeyRefused, match=environment):
        use(environment)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("name", "use"),
    [r for r in REFUSALS if not r[0].startswith("import")],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_well_known_keys_are_accepted_in_development(name: str, use: object) -> None:
    use("development")  # type: ignore[operator]


def test_generated_and_random_keys_are_not_well_known() -> None:
    assert not is_well_known_key(Account.create().key)
    assert is_well_known_key(ETH_TESTER_KEY_1)
    refuse_dev_mnemonic(
        "legal winner thank year wave sausage worth useful legal winner thank yellow", "production"
    )


def test_dev_key_imported_in_development_cannot_be_unlocked_elsewhere(tmp_path: Path) -> None:
    development = Keystore(tmp_path, "pw", environment="development")
    Account.enable_unaudited_hdwallet_features()
    assert (
        development.import_mnemonic("admin", HARDHAT_MNEMONIC) == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    )
    assert development.private_key("admin") == bytes.fromhex(HARDHAT_KEY_0[2:])
    test_env = Keystore(tmp_path, "pw", environment="test")
    with pytest.raises(DevKeyRefused):
        test_env.address("admin")
    with pytest.raises(DevKeyRefused):
        test_env.private_key("admin")


# -- the password ----------------------------------------------------------------------------------


def test_development_generates_a_private_password_file_once(tmp_path: Path) -> None:
    settings = Settings(environment="development", data_dir=tmp_path, keystore_password=None)
    first = keystore_password(settings)
    path = tmp_path / "keystore-password"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.get_secret_value()) >= 32
    assert keystore_password(settings) == first
    ks = Keystore.from_settings(settings)
    ks.create("admin")
    assert Keystore.from_settings(Settings(environment="development", data_dir=tmp_path)).private_key("admin")


def test_configured_password_wins_and_no_file_is_written(tmp_path: Path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path, keystore_password="configured")
    assert keystore_password(settings).get_secret_value() == "configured"
    assert not (tmp_path / "keystore-password").exists()
    assert Keystore.from_settings(settings).environment == "test"


def test_empty_password_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "keystore-password").write_text("\n")
    with pytest.raises(KeystoreError, match="empty"):
        keystore_password(Settings(environment="development", data_dir=tmp_path, keystore_password=None))


def test_password_is_required_outside_development(tmp_path: Path) -> None:
    # pydantic wraps the validator's ConfigError in a ValidationError (both are ValueErrors).
    with pytest.raises(ValueError, match="PASSPORT_KEYSTORE_PASSWORD must be set"):
        Settings(environment="production", data_dir=tmp_path, keystore_password=None)
