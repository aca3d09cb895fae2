"""The local keystore: one encrypted Web3 Secret Storage file per named participant.

Development accounts are *generated* (``Account.create()``), never taken from the well-known mnemonics
that ganache, hardhat and anvil print on start-up: those keys are public, so anything they sign or own
on a reachable chain belongs to whoever reads this comment. Importing such a key, deriving from such a
mnemonic, or unlocking a keystore file holding one is refused (``DevKeyRefused``) unless the
environment is ``development``.

Layout: ``<Settings.keystore_dir>/<name>.json`` (mode 0600, directory 0700), the standard version-3
JSON that geth, web3.py and MetaMask read. All files share one password, ``Settings.keystore_password``.
In development, when no password is configured, one is generated once into
``Settings.keystore_password_file`` (mode 0600): convenient for ``make run``, and no weaker than the
file-system permissions that already protect the keystore on a developer's machine.

Key derivation: outside development and test, eth-account's default scrypt parameters (n = 2**18,
r = 8, p = 1: ~0.5 s and 256 MiB per unlock) make an offline guess of the password expensive. Development
and test use n = 2**12 (a few ms) because their keys guard nothing of value and the suite creates
dozens of keystores; a file written that way and later unlocked in production is logged as a warning.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from eth_account import Account
from eth_utils.address import to_checksum_address
from pydantic import SecretStr

from passport.canonical import parse_json_strict
from passport.errors import ConfigError, DevKeyRefused, KeystoreError
from passport.settings import Environment, Settings

log = logging.getLogger(__name__)

#: Participants every development stack gets a key for: the deployer (who holds the ledger's admin
#: role), one holder per ledger role, and used-battery businesses without a role of their own.
PARTICIPANTS: Final[tuple[str, ...]] = (
    "admin",
    "issuer",
    "oracle",
    "inspector",
    "repurposer",
    "recycler",
    "auditor",
    "collector",
    "remanufacturer",
    "certifier",
)

#: The participant whose key deploys the registry and holds its admin role.
DEPLOYER: Final = "admin"

#: Public mnemonics of local development chains (hardhat/anvil/foundry; ganache ``--deterministic``).
WELL_KNOWN_MNEMONICS: Final[frozenset[str]] = frozenset(
    {
        "test test test test test test test test test test test junk",
        "myth like bonus scare over problem client lizard pioneer submit female collect",
    }
)

#: The first ten accounts (BIP-44 ``m/44'/60'/0'/0/i``) of each well-known mnemonic; the test suite
#: re-derives them, so the list cannot silently drift.
WELL_KNOWN_ADDRESSES: Final[frozenset[str]] = frozenset(
    {
        # test test ... junk (hardhat, anvil)
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
        "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
        "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
        "0x976EA74026E726554dB657fA54763abd0C3a0aa9",
        "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955",
        "0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f",
        "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
        # myth like bonus ... collect (ganache --deterministic)
        "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1",
        "0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0",
        "0x22d491Bde2303f2f43325b2108D26f1eAbA1e32b",
        "0xE11BA2b4D45Eaed5996Cd0823791E0C93114882d",
        "0xd03ea8624C8C5987235048901fB614fDcA89b117",
        "0x95cED938F7991cd0dFcb48F0a06a40FA1aF46EBC",
        "0x3E5e9111Ae8eB78Fe1CC3bb8915d5D461F3Ef9A9",
        "0x28a8746e75304c0780E011BEd21C72cD78cd535E",
        "0xACa94ef8bD5ffEE41947b4585a84BdA5a3d3DA6E",
        "0x1dF62f291b2E969fB0849d99D9Ce41e2F137006e",
    }
)

#: Keys below this are guessable by counting; eth-tester's default accounts are the keys 1..10.
_SMALLEST_SAFE_KEY: Final = 2**64

#: scrypt cost for development and test; see the module docstring for why it may be weak there.
FAST_SCRYPT_N: Final = 2**12
#: Below this scrypt n (eth-account's default is 2**18) a keystore file counts as development-grade.
STRONG_SCRYPT_N: Final = 2**18

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


# -- refusing public development keys ----------------------------------------------------------------


def _normalise_mnemonic(mnemonic: str) -> str:
    return " ".join(mnemonic.lower().split())


def _key_bytes(private_key: bytes | str) -> bytes:
    if isinstance(private_key, str):
        text = private_key.removeprefix("0x").removeprefix("0X")
        try:
            private_key = bytes.fromhex(text)
        except ValueError as exc:
            raise KeystoreError("private key is not hex") from exc
    if len(private_key) != 32:
        raise KeystoreError(f"private key must be 32 bytes, got {len(private_key)}")
    return private_key


def _address_of(private_key: bytes) -> str:
    try:
        return str(Account.from_key(private_key).address)
    except (ValueError, TypeError) as exc:  # zero, or not below the curve order
        raise KeystoreError("not a valid secp256k1 private key") from exc


def is_well_known_key(private_key: bytes | str) -> bool:
    """True if the key is public knowledge: a dev-chain mnemonic account or a tiny (countable) key."""
    key = _key_bytes(private_key)
    return int.from_bytes(key, "big") < _SMALLEST_SAFE_KEY or _address_of(key) in WELL_KNOWN_ADDRESSES


def refuse_dev_key(private_key: bytes | str, environment: Environment) -> None:
    """Raise ``DevKeyRefused`` if a well-known development key is used outside development."""
    if environment != "development" and is_well_known_key(private_key):
        raise DevKeyRefused(
            f"a well-known development key cannot be used when PASSPORT_ENVIRONMENT={environment}"
        )


def refuse_dev_address(address: str, environment: Environment) -> None:
    """Raise ``DevKeyRefused`` if ``address`` belongs to a well-known development key outside development."""
    if environment != "development" and to_checksum_address(address) in WELL_KNOWN_ADDRESSES:
        raise DevKeyRefused(
            f"{address} is a well-known development account; refused when PASSPORT_ENVIRONMENT={environment}"
        )


def refuse_dev_mnemonic(mnemonic: str, environment: Environment) -> None:
    """Raise ``DevKeyRefused`` if a well-known development mnemonic is used outside development."""
    if environment != "development" and _normalise_mnemonic(mnemonic) in WELL_KNOWN_MNEMONICS:
        raise DevKeyRefused(
            f"a well-known development mnemonic cannot be used when PASSPORT_ENVIRONMENT={environment}"
        )


# -- the password ----------------------------------------------------------------------------------


def keystore_password(settings: Settings) -> SecretStr:
    """The keystore password: ``Settings.keystore_password``, else (development only) the generated one.

    The generated password lives in ``Settings.keystore_password_file`` (mode 0600), created on first use
    with ``O_EXCL`` so that two processes starting together agree on one password.
    """
    if settings.keystore_password is not None:
        return settings.keystore_password
    if not settings.is_development:  # Settings already refuses this; kept for callers that bypass it
        raise ConfigError(
            f"PASSPORT_KEYSTORE_PASSWORD must be set when PASSPORT_ENVIRONMENT={settings.environment}"
        )
    path = settings.keystore_password_file
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32) + "\n")
        log.info("generated a development keystore password in %s", path)
    try:
        password = path.read_text().strip()
    except OSError as exc:
        raise KeystoreError(f"cannot read the development keystore password {path}: {exc}") from exc
    if not password:
        raise KeystoreError(f"{path} is empty; delete it (and the keystore it unlocked) to start afresh")
    return SecretStr(password)


# -- the keystore ----------------------------------------------------------------------------------


class Keystore:
    """Named accounts, each an encrypted Web3 Secret Storage file in ``directory``.

    Unlocked keys are cached for the life of the object, since a strong scrypt unlock costs ~0.5 s.
    """

    def __init__(
        self,
        directory: Path,
        password: SecretStr | str,
        *,
        environment: Environment = "development",
    ) -> None:
        self.directory = directory
        self.environment: Environment = environment
        self._password = password if isinstance(password, SecretStr) else SecretStr(password)
        self._keys: dict[str, bytes] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Keystore:
        """The keystore at ``Settings.keystore_dir``, unlocked with the configured (or dev) password."""
        return cls(settings.keystore_dir, keystore_password(settings), environment=settings.environment)

    @property
    def scrypt_n(self) -> int:
        """scrypt cost used for new files: fast in development and test, strong otherwise."""
        return FAST_SCRYPT_N if self.environment in ("development", "test") else STRONG_SCRYPT_N

    # -- reading ---------------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise KeystoreError(f"invalid participant name {name!r}: use lowercase letters, digits, - and _")
        return self.directory / f"{name}.json"

    def names(self) -> list[str]:
        """Participant names present, sorted."""
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.json") if _NAME.match(p.stem))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.path(name).is_file()

    def _read(self, name: str) -> dict[str, Any]:
        path = self.path(name)
        try:
            document = parse_json_strict(path.read_bytes())
        except FileNotFoundError as exc:
            raise KeystoreError(f"no key named {name!r} in {self.directory}") from exc
        except (OSError, ValueError) as exc:
            raise KeystoreError(f"cannot read keystore file {path}: {exc}") from exc
        if not isinstance(document, dict) or not isinstance(document.get("address"), str):
            raise KeystoreError(f"{path} is not a Web3 Secret Storage (version 3) file")
        return document

    def address(self, name: str) -> str:
        """Checksummed address of ``name``, read from the file without decrypting it."""
        document = self._read(name)
        try:
            address = to_checksum_address("0x" + document["address"].removeprefix("0x"))
        except ValueError as exc:
            raise KeystoreError(f"{self.path(name)} holds a malformed address") from exc
        refuse_dev_address(address, self.environment)
        return address

    def addresses(self, names: Iterable[str] | None = None) -> dict[str, str]:
        """``{name: checksummed address}`` for ``names`` (default: every participant present)."""
        return {name: self.address(name) for name in (self.names() if names is None else names)}

    def private_key(self, name: str) -> bytes:
        """Decrypt and return ``name``'s private key (refused outside development if it is public)."""
        if (cached := self._keys.get(name)) is not None:
            return cached
        document = self._read(name)
        try:
            key = bytes(Account.decrypt(document, self._password.get_secret_value()))
        except ValueError as exc:  # eth-account reports a wrong password as "MAC mismatch"
            raise KeystoreError(f"cannot unlock {self.path(name)}: wrong password or damaged file") from exc
        refuse_dev_key(key, self.environment)
        if self.environment == "production" and _scrypt_n(document) < STRONG_SCRYPT_N:
            log.warning("%s uses development-grade key derivation; re-create it for production", name)
        self._keys[name] = key
        return key

    # -- writing ---------------------------------------------------------------------------------
    def create(self, name: str) -> str:
        """Generate a fresh key for ``name``; its address. ``KeystoreError`` if ``name`` exists."""
        return self._store(name, bytes(Account.create().key))

    def import_key(self, name: str, private_key: bytes | str) -> str:
        """Store an existing key under ``name``; well-known dev keys only in development."""
        key = _key_bytes(private_key)
        _address_of(key)
        refuse_dev_key(key, self.environment)
        return self._store(name, key)

    def import_mnemonic(self, name: str, mnemonic: str, index: int = 0) -> str:
        """Store the BIP-44 account ``m/44'/60'/0'/0/index`` of ``mnemonic`` under ``name``."""
        refuse_dev_mnemonic(mnemonic, self.environment)
        # eth-account gates HD derivation behind this switch; it only enables the API for the process.
        Account.enable_unaudited_hdwallet_features()
        try:
            account = Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}")
        except Exception as exc:  # eth-account raises ValidationError/ValueError for a bad phrase
            raise KeystoreError(f"cannot derive a key from the mnemonic: {exc}") from exc
        return self.import_key(name, bytes(account.key))

    def ensure(self, names: Iterable[str] = PARTICIPANTS) -> dict[str, str]:
        """Create every missing participant's key; ``{name: address}`` for all of ``names``."""
        addresses: dict[str, str] = {}
        for name in names:
            if name not in self:
                try:
                    self.create(name)
                    log.info("generated key %r in %s", name, self.directory)
                except KeystoreError:
                    if name not in self:  # not a concurrent creator winning the race
                        raise
            addresses[name] = self.address(name)
        return addresses

    def _store(self, name: str, key: bytes) -> str:
        path = self.path(name)
        document = Account.encrypt(
            key, self._password.get_secret_value(), kdf="scrypt", iterations=self.scrypt_n
        )
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.directory / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump(document, out)
                out.flush()
                os.fsync(out.fileno())
            # link() fails if the name exists: create-if-absent without a window for a half-written file.
            os.link(temporary, path)
        except FileExistsError as exc:
            raise KeystoreError(f"a key named {name!r} already exists in {self.directory}") from exc
        except OSError as exc:
            raise KeystoreError(f"cannot write {path}: {exc}") from exc
        finally:
            temporary.unlink(missing_ok=True)
        self._keys[name] = key
        return to_checksum_address(Account.from_key(key).address)


def _scrypt_n(document: dict[str, Any]) -> int:
    crypto = document.get("crypto") or document.get("Crypto")
    if not isinstance(crypto, dict) or crypto.get("kdf") != "scrypt":
        return STRONG_SCRYPT_N  # pbkdf2 files come from other tools; their cost is theirs to pick
    params = crypto.get("kdfparams")
    n = params.get("n") if isinstance(params, dict) else None
    return n if isinstance(n, int) else 0
