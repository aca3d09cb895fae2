"""Each participant's JOSE keys for credentials: P-256 JWKs, newest last, one file per account.

Why P-256 (ES256) and not ES256K over the Ethereum key: ES256 is the algorithm every VC-JOSE-COSE
verifier implements (ES256K is optional in most), and a separate key can be rotated without moving the
participant's on-chain account and roles. The Ethereum account is still listed in the DID document.

Layout: ``<Settings.credential_keys_dir>/<account>.json`` = ``{"keys": [private JWK, …]}``, file mode
0600 in a 0700 directory, like the envelope keys under ``Settings.keys_dir``. A key is created on first
use; ``rotate`` appends one. Old keys stay: credentials signed with them must keep verifying.
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

from joserfc.jwk import ECKey

from passport.errors import CredentialError, CredentialInvalid
from passport.settings import Settings

_ACCOUNT = re.compile(r"^0x[0-9a-f]{40}$")


class CredentialKeys:
    """The credential signing keys of the accounts this installation holds keys for."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> CredentialKeys:
        return cls(settings.credential_keys_dir)

    def _path(self, account: str) -> Path:
        name = account.lower()
        if not _ACCOUNT.fullmatch(name):
            raise CredentialInvalid(f"{account!r} is not an Ethereum address")
        return self._dir / f"{name}.json"

    def _read(self, path: Path) -> list[ECKey]:
        try:
            document = json.loads(path.read_text())
            return [ECKey.import_key(jwk) for jwk in document["keys"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CredentialError(f"credential keys {path} unreadable: {exc}") from None

    def _write(self, path: Path, keys: list[ECKey]) -> None:
        self._dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"keys": [key.as_dict(private=True) for key in keys]}, out)
        tmp.replace(path)

    def keys(self, account: str) -> list[ECKey]:
        """Every key of ``account``, oldest first (empty when it never signed a credential)."""
        return self._read(self._path(account))

    def current(self, account: str) -> ECKey:
        """The key ``account`` signs with now, created on first use."""
        path = self._path(account)
        with self._lock:
            keys = self._read(path)
            if not keys:
                keys = [ECKey.generate_key("P-256", private=True)]
                self._write(path, keys)
            return keys[-1]

    def rotate(self, account: str) -> ECKey:
        """Add a new key for ``account`` and sign with it from now on; the old ones stay listed."""
        path = self._path(account)
        with self._lock:
            keys = [*self._read(path), ECKey.generate_key("P-256", private=True)]
            self._write(path, keys)
            return keys[-1]
