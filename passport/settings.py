"""The one settings object, read once from the environment (``PASSPORT_*``) and passed down."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from passport.errors import ConfigError

Environment = Literal["development", "test", "production"]


class Settings(BaseSettings):
    """Every tunable of the ledger, typed. Build it once at the edge (CLI, API, script) and pass it in."""

    model_config = SettingsConfigDict(env_prefix="PASSPORT_", env_file=None, frozen=True)

    environment: Environment = "development"
    data_dir: Path = Field(default=Path(".data"), description="Where chain DB, store, keys live.")

    # -- shared state -----------------------------------------------------------------------------
    # None: every store is its own SQLite file under data_dir (one machine, what `make run` uses).
    # A postgresql:// URL: every store is a schema of that database, shared by all API and oracle
    # processes (README "Running beyond one machine").
    database_url: str | None = Field(
        default=None,
        pattern=r"^postgres(ql)?://",
        description="PostgreSQL URL for shared state; None means embedded SQLite files.",
    )
    database_pool_size: int = Field(default=8, ge=1, le=100, description="Connections per store per process.")

    # -- chain ------------------------------------------------------------------------------------
    rpc_url: str | None = Field(default=None, description="JSON-RPC URL; None means the managed node.")
    local_chain: Literal["ganache", "anvil"] = "ganache"
    local_chain_host: str = "127.0.0.1"
    local_chain_port: int = Field(default=8545, ge=1, le=65535)
    # web3's default 0.1 s receipt poll costs ~4x on a local node that mines instantly.
    poll_latency: float = Field(default=0.01, gt=0, le=5)
    tx_timeout: float = Field(default=60.0, gt=0)
    confirmations: int = Field(default=0, ge=0, le=1000)
    # The anchoring worker's longest wait between retries: a local chain that comes back (restarted
    # by its supervisor) is used again within this many seconds, not after minutes of backoff.
    anchor_retry_max_s: float = Field(default=5.0, gt=0, le=3600)
    keystore_password: SecretStr | None = Field(
        default=None, description="Unlocks the keystore; required outside development."
    )

    # -- content store ----------------------------------------------------------------------------
    # mirrored: every put to the embedded directory and the node (content survives either; reads fall back).
    store_backend: Literal["embedded", "ipfs", "mirrored"] = "embedded"
    ipfs_api_url: str = "http://127.0.0.1:5001"
    ipfs_timeout: float = Field(default=10.0, gt=0)

    # -- documents and verification -----------------------------------------------------------------
    trusted_issuers: tuple[str, ...] = Field(
        default=(), description="Issuer addresses whose passport signatures are accepted."
    )

    # -- oracle -------------------------------------------------------------------------------------
    grading_policy: str | None = Field(
        default=None,
        description="The grading policy version evaluations are graded under (e.g. kr-2026-1); unset, "
        "the oracle's current version. Checked against the oracle's registry at startup.",
    )
    health_policy: str | None = Field(
        default=None,
        description="The device-health policy version health refreshes compute under (e.g. "
        "kr-health-2026-1); unset, the oracle's current version. It embeds the grading thresholds.",
    )

    # -- market -------------------------------------------------------------------------------------
    market_min_group_size: int = Field(
        default=3, ge=1, le=1000, description="Smallest price-index group shown (smaller ones are hidden)."
    )

    # -- API ----------------------------------------------------------------------------------------
    incident_relay: str = Field(
        default="inspector",
        pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
        description="The custodial participant (holding INSPECTOR_ROLE) that writes incidents owners and "
        "workshops report through the API (they hold no on-chain key of their own).",
    )
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    public_base_url: str = Field(
        default="",
        description="Base of page and QR URLs; unset, it follows api_host and api_port.",
    )

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Read the environment (plus ``overrides``) once; bad or unsafe values raise ``ConfigError``.

        Pydantic wraps errors raised inside validators in its ``ValidationError``; the edges (CLI,
        scripts, API startup) call this so they only ever see our own exception, naming each field.
        """
        try:
            return cls(**overrides)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigError(f"invalid settings: {problems}") from None

    @model_validator(mode="after")
    def _public_base_url_follows_the_api(self) -> Settings:
        # A default string would name port 8000 whatever PASSPORT_API_PORT says, so printed and QR
        # URLs would point nowhere; derived here, every edge (CLI, API, scripts) gets the same URL.
        if not self.public_base_url:
            host = f"[{self.api_host}]" if ":" in self.api_host else self.api_host
            object.__setattr__(self, "public_base_url", f"http://{host}:{self.api_port}")
        else:
            object.__setattr__(self, "public_base_url", self.public_base_url.rstrip("/"))
        return self

    @model_validator(mode="after")
    def _password_required_outside_development(self) -> Settings:
        if self.environment != "development" and self.keystore_password is None:
            raise ConfigError(
                f"PASSPORT_KEYSTORE_PASSWORD must be set when PASSPORT_ENVIRONMENT={self.environment}"
            )
        return self

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @cached_property
    def chain_dir(self) -> Path:
        return self.data_dir / "chain"

    @cached_property
    def keystore_dir(self) -> Path:
        return self.data_dir / "keystore"

    @cached_property
    def keystore_password_file(self) -> Path:
        """The generated development keystore password (used only when none is configured)."""
        return self.data_dir / "keystore-password"

    @cached_property
    def store_dir(self) -> Path:
        return self.data_dir / "store"

    @cached_property
    def journal_path(self) -> Path:
        """The oracle's journal (SQLite): the API, the CLI and the anchoring worker share it."""
        return self.data_dir / "oracle" / "journal.sqlite3"

    @cached_property
    def warnings_path(self) -> Path:
        """The oracle's early-warning alert journal (SQLite): alerts raised over the device stream."""
        return self.data_dir / "oracle" / "warnings.sqlite3"

    @cached_property
    def keys_dir(self) -> Path:
        """Envelope keys for restricted passport sections (never leave this service)."""
        return self.data_dir / "keys"

    @cached_property
    def deployment_manifest(self) -> Path:
        return self.data_dir / "deployment.json"

    @cached_property
    def version_log_path(self) -> Path:
        """The passport version log (which transaction anchored each version)."""
        return self.data_dir / "versions.sqlite3"

    @cached_property
    def audit_index_path(self) -> Path:
        """The audit index (derived data: deleting it only costs a rebuild)."""
        return self.data_dir / "audit" / "index.sqlite"

    @cached_property
    def api_keys_path(self) -> Path:
        """The API's key store (participants, roles, hashed keys)."""
        return self.data_dir / "api" / "keys.sqlite3"

    @cached_property
    def ownership_path(self) -> Path:
        """Owners' claim codes and links, phone sessions, share grants and the restricted-data access log."""
        return self.data_dir / "api" / "ownership.sqlite3"

    @cached_property
    def credential_keys_dir(self) -> Path:
        """The JOSE keys (P-256 JWKs) each custodial participant signs verifiable credentials with."""
        return self.data_dir / "credentials" / "keys"

    @cached_property
    def credential_status_path(self) -> Path:
        """Which status-list index each issuer gave each passport (Bitstring Status List)."""
        return self.data_dir / "credentials" / "status.sqlite3"

    @cached_property
    def market_db_path(self) -> Path:
        """The market's listings, offers and sales (prices stay off-chain)."""
        return self.data_dir / "market" / "market.sqlite3"

    @cached_property
    def demo_path(self) -> Path:
        """The local stack's demo record (which passport, battery and device it made)."""
        return self.data_dir / "demo.json"

    @cached_property
    def demo_secrets_dir(self) -> Path:
        """The demo participants' API keys, as shell files (mode 0700)."""
        return self.data_dir / "demo"

    @cached_property
    def local_rpc_url(self) -> str:
        return f"http://{self.local_chain_host}:{self.local_chain_port}"

    @property
    def effective_rpc_url(self) -> str:
        return self.rpc_url or self.local_rpc_url
