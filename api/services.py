"""Everything the routes use, built once at startup from ``Settings`` and closed at shutdown.

**The custodial model.** The API acts on-chain on behalf of its callers: every participant that writes
to the ledger through the API (issuer, inspector, repurposer, recycler, registered businesses, the
ledger admin) has its key in the service's encrypted keystore (``data_dir/keystore``), and an API key
(``ApiKeyStore``) whose participant name is the keystore name. A request authenticated as ``issuer``
is signed (EIP-712) and sent by the ``issuer`` key; the contract then checks roles and custody against
that account exactly as it would for the party itself. Callers never send keys, and the API never
signs for a participant whose key it does not hold (``Forbidden``). Parties that keep their own keys use
the chain directly; the ledger cannot tell the difference.

Participants without an on-chain account (EV owners, auditors, authorities, collection devices) only
read, or write off-chain (device telemetry goes to the oracle's journal and is anchored by the oracle's
own key).

State and threads held here:

* a read-only chain client and, per keystore participant, a client acting as it (all sharing one
  connection and nonce book, so concurrent requests for one account never reuse a nonce);
* the content store, the key ring, the passport version log, one ``PassportService`` per participant;
* the read model (``PassportReadModel``): passport records and what is derived from them, kept
  current by the follower's events, reorgs and the receipts of this process's own writes;
* the audit index and its ``IndexFollower``, run by a background thread that ``start()`` launches and
  ``close()`` stops; ``sync_index()`` lets a request read its own writes without waiting for a tick.
  With several API processes on one index (``uvicorn --workers N``, or hosts sharing PostgreSQL) only
  the holder of the ``audit-follower`` lease (``follower_lease``) polls the chain into it on every
  tick; the others read what it writes, catch the index up themselves only when a request needs its
  own write indexed (processes take turns to sync), and take the lease over when its holder dies;
* the oracle journal, its ``Ingestor`` and ``RecordProofs`` (read-only proofs of anchored records:
  anchoring is the oracle worker's job, with its own key, never the API's);
* the API key store, and ``names`` (display names of ledger addresses, for custody timelines and pages);
* optionally the keystore, from which custodial keys created after startup (``passport admin participant
  create --custodial``, ``POST /participants``) are loaded on first use;
* the API key store, and the ownership store (claim codes, owner links, sessions, shares, access log);
* the device registry and battery histories (``oracle.device_registry``, ``oracle.battery_history``);
* the grading policy version evaluations are graded under (``Settings.grading_policy``).
"""

from __future__ import annotations

import logging
import secrets
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

from api.auth import ApiKeyStore, Caller
from api.errors import ApiError, Forbidden
from api.ownership import OwnershipStore
from oracle.battery_history import BatteryHistory
from oracle.device_health import HealthPolicy, health_policy
from oracle.device_registry import DeviceRegistry
from oracle.early_warnings import AlertStore
from oracle.errors import UnknownGradingPolicy, UnknownHealthPolicy
from oracle.group_commit import GroupCommitter
from oracle.health import GradingPolicy, grading_policy
from oracle.health_refresh import HealthRefresher
from oracle.ingestion import Ingestor
from oracle.journal import Journal
from oracle.proofs import RecordProofs
from passport.audit import (
    AuditEvent,
    CustodyCrossCheck,
    EventQuery,
    FollowerConfig,
    IndexFollower,
    SqliteAuditIndex,
    chain_custody_events,
    cross_check_custody,
)
from passport.audit.records import BlockRef
from passport.chain.devfunding import fund_in_development
from passport.chain.keystore import Keystore
from passport.chain.protocol import ChainClient
from passport.chain.records import PassportRecord, TxReceipt
from passport.credentials import CredentialKeys, PassportCredentials, StatusIndex
from passport.db import LeaderLease
from passport.directory import BusinessNames
from passport.envelope import KeyRing
from passport.errors import ConfigError, PassportError
from passport.ledger import ParticipantClients, open_ledger
from passport.market import CustodyStep, Market
from passport.market.wiring import build_market, custody_steps
from passport.materials import MaterialsService
from passport.model import AccessTier, BatteryPassport
from passport.sections import Manifest
from passport.service import (
    SECTIONS_CHECK,
    STORE_CHECK,
    PassportReadModel,
    PassportService,
    VersionLog,
    passports_named,
)
from passport.servicemodels import ServiceModels
from passport.settings import Settings
from passport.signing import address_of
from passport.store import open_store
from passport.store.protocol import ContentStore
from passport.verify import Check, VerificationReport

log = logging.getLogger(__name__)


class ServiceUnavailable(ApiError):
    """Raised when a route needs a service this server was started without."""

    status = 503
    title = "Service unavailable"


@dataclass
class Services:
    """The pieces the routes use; build with ``from_settings`` or inject them (tests).

    ``reader`` reads the ledger; ``keys`` maps each custodial participant's name (the name its API key
    is issued to) to its private key, from which its chain client and passport service are derived.
    """

    settings: Settings
    reader: ChainClient
    keys: Mapping[str, bytes]
    store: ContentStore
    keyring: KeyRing
    versions: VersionLog
    audit: SqliteAuditIndex
    api_keys: ApiKeyStore
    journal: Journal | None = None
    trusted_issuers: frozenset[str] = frozenset()
    start_block: int = 0
    index_interval: float = 1.0
    # Several processes on one audit index: which one polls the chain into it on every tick (None: this
    # one, always). The others only catch it up on demand (``sync_index``).
    follower_lease: Callable[[], LeaderLease | None] | None = None
    keystore: Keystore | None = None
    funder: Callable[[str], bool] | None = None
    names: BusinessNames = field(init=False)

    # The recycled-material ledger beside the registry (None: not deployed; its routes answer 503) and
    # the certification bodies whose certificates the offline verifier trusts.
    material_ledger_address: str | None = None
    trusted_certifiers: frozenset[str] = frozenset()
    # The battery-services contract (issue #19; None: not deployed, its routes answer 503).
    services_address: str | None = None
    ingestor: Ingestor | None = field(init=False, default=None)
    devices: DeviceRegistry | None = field(init=False, default=None)
    history: BatteryHistory | None = field(init=False, default=None)
    ownership: OwnershipStore = field(init=False)

    # Concurrent upload requests share journal commits (one fsync per group, each acked after it).
    uploads: GroupCommitter | None = field(init=False, default=None)
    proofs: RecordProofs | None = field(init=False, default=None)
    grading: GradingPolicy = field(init=False)
    health_policy: HealthPolicy = field(init=False)
    alerts: AlertStore | None = field(init=False, default=None)
    credentials: PassportCredentials = field(init=False)
    _clients: ParticipantClients = field(init=False)
    _passports: dict[str, PassportService] = field(init=False, default_factory=dict)
    _follower: IndexFollower = field(init=False)
    read_model: PassportReadModel = field(init=False)
    _canonical: dict[int, bytes] = field(init=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _sync_lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _stop: threading.Event = field(init=False, default_factory=threading.Event)
    _thread: threading.Thread | None = field(init=False, default=None)
    _lease: LeaderLease | None = field(init=False, default=None)
    _leading: bool = field(init=False, default=True)
    # The index cursor this process's read model has caught up with (what it last applied).
    _seen: BlockRef | None = field(init=False, default=None)
    _market: Market | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        try:
            # Evaluations are graded under this one registered version, whatever a caller sends.
            self.grading = grading_policy(self.settings.grading_policy)
        except UnknownGradingPolicy as exc:
            raise ConfigError(f"PASSPORT_GRADING_POLICY: {exc}") from None
        # Mutable: custodial participants onboarded after startup are added by ``holds_key``.
        self.keys = dict(self.keys)
        try:
            # Health refreshes compute under this one registered version; it embeds the grading
            # thresholds, so a refresh and an evaluation grade alike.
            self.health_policy = health_policy(self.settings.health_policy)
        except UnknownHealthPolicy as exc:
            raise ConfigError(f"PASSPORT_HEALTH_POLICY: {exc}") from None
        if self.health_policy.grading != self.grading:
            raise ConfigError(
                f"PASSPORT_HEALTH_POLICY {self.health_policy.id} grades under "
                f"{self.health_policy.grading.id}, not PASSPORT_GRADING_POLICY {self.grading.id}"
            )
        self._clients = ParticipantClients(self.reader, self.keys.__getitem__)
        self.names = BusinessNames(self.reader, self.store, participant_name=self._participant_display_name)
        self.read_model = PassportReadModel(self.reader)
        self.reader.on_receipt(self._receipt_mined)
        self._follower = IndexFollower(
            self.audit,
            FollowerConfig(confirmations=self.settings.confirmations, start_block=self.start_block),
        )
        self._reader_service = PassportService(
            self.reader,
            self.store,
            self.keyring,
            versions=self.versions,
            trusted_issuers=sorted(self.trusted_issuers),
        )
        # did:web documents, credentials and status lists for every custodial participant.
        self.credentials = PassportCredentials(
            base_url=self.settings.public_base_url,
            chain=self.reader,
            store=self.store,
            passports=self._reader_service,
            keys=CredentialKeys.from_settings(self.settings),
            status=StatusIndex.from_settings(self.settings),
            participants={address_of(key): name for name, key in self.keys.items()},
        )
        # Owners, sessions, shares and the access log: always under this server's data directory.
        self.ownership = OwnershipStore.from_settings(self.settings)
        if self.journal is not None:
            self.ingestor = Ingestor(self.journal)
            self.devices = DeviceRegistry(self.journal)
            self.history = BatteryHistory(self.journal)

            self.uploads = GroupCommitter(self.ingestor)
            # Anchoring is the oracle worker's job (its own key, ORACLE_ROLE); proofs only read.
            self.proofs = RecordProofs(self.journal, self.store, keyring=self.keyring)
            self.alerts = AlertStore.from_settings(self.settings)

    # -- building ---------------------------------------------------------------------------------

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        """Everything from ``settings``: the deployed ledger's manifest, the keystore's participants, the
        content store, key ring, version log, audit index, oracle journal and API keys under ``data_dir``.
        """
        ledger = open_ledger(settings)
        keys = {name: ledger.key(name) for name in ledger.keystore.names()}
        api_keys = ApiKeyStore.from_settings(settings)
        return cls(
            settings=settings,
            reader=ledger.reader,
            keys=keys,
            store=open_store(settings),
            keyring=KeyRing.from_settings(settings),
            versions=VersionLog.from_settings(settings),
            audit=SqliteAuditIndex.open(settings),
            api_keys=api_keys,
            # One lease for every API process sharing the key store (its SQLite file's host, or the
            # PostgreSQL database): a flock beside the file, or a session advisory lock.
            follower_lease=partial(api_keys.database.leader, "audit-follower"),
            journal=Journal.open(settings),
            trusted_issuers=frozenset(ledger.trusted_issuers),
            start_block=ledger.deployment.deploy_block_number,
            keystore=ledger.keystore,
            funder=partial(fund_in_development, settings),
            material_ledger_address=ledger.deployment.material_ledger_address,
            services_address=ledger.deployment.services_address,
            trusted_certifiers=frozenset(
                g.account for g in ledger.deployment.material_role_grants if g.role == "CERTIFIER"
            ),
        )

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        """Catch the audit index up, then keep following the chain in a background thread."""
        self._claim_lease()
        self.sync_index()
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, name="audit-index-follower", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        while not self._stop.wait(self.index_interval):
            try:
                self._claim_lease()
                if self._leading:
                    self.sync_index()
                else:
                    self._refresh_from_index()
            except Exception:  # the thread must outlive a bad tick; the next one retries
                log.exception("audit index sync failed")

    def _claim_lease(self) -> None:
        """Check our follower lease, or try to take it (its holder stopped or died): once per tick.

        Only ``start`` (before the thread runs), the thread and ``stop`` (after joining it) touch the
        lease, so no lock is held while the lease's connection is opened."""
        if self.follower_lease is None:
            return
        if self._lease is not None and not self._lease.held():
            log.warning("lost the audit-follower lease")
            self._lease = None
        if self._lease is None:
            self._lease = self.follower_lease()
            if self._lease is not None:
                log.info("this process now follows the chain into the audit index")
        self._leading = self._lease is not None

    @property
    def follows_index(self) -> bool:
        """Whether this process polls the chain into the audit index every tick (the lease is ours)."""
        return self._leading

    def stop(self) -> None:
        """Stop the follower thread (the files stay open) and hand the follower lease back."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            if self._thread.is_alive():
                log.warning("audit index follower did not stop within 10 s")
            self._thread = None
        if self._lease is not None:
            self._lease.release()
            self._lease = None

    def close(self) -> None:
        """Stop the follower thread and close every file this object holds."""
        self.stop()
        self.audit.close()
        self.versions.close()
        self.api_keys.close()
        self.ownership.close()
        self.credentials.status.close()
        if self._market is not None:
            self._market.book.close()

        if self.uploads is not None:
            self.uploads.close()  # commits what is queued first
        if self.journal is not None:
            self.journal.close()
        if self.alerts is not None:
            self.alerts.close()

    def sync_index(self) -> None:
        """Bring the audit index up to the chain's confirmed head now (serialised with the thread), so
        a request reads its own writes without waiting for the next tick; the read model then drops
        every passport the index's new events name (everything after a reorg) and its provisional
        entries. Processes sharing the index take turns to sync (``IndexFollower.sync``), so any of them
        may catch it up on demand; only the follower-lease holder also does so on every tick."""
        with self._sync_lock:
            result = self._follower.sync(self.reader)
            self._apply_index(result.cursor, reorged=bool(result.reorgs))

    def _refresh_from_index(self) -> None:
        """Without syncing: apply to the read model what others (the lease holder) wrote to the index."""
        with self._sync_lock:
            self._apply_index(self.audit.cursor(), reorged=False)

    def _apply_index(self, cursor: BlockRef | None, *, reorged: bool) -> None:
        """Drop from the read model what the index gained since this process last looked, whoever wrote
        it (this process, another API process, an oracle-side follower)."""
        seen = self._seen
        if cursor == seen and not reorged:
            return
        # The index was rolled back past what we saw (a reorg) unless the block we saw is still stored
        # as it was. Unsure (it may have been pruned as an old checkpoint), or on the first look: forget
        # everything, which only costs re-reads.
        reorged = (
            reorged
            or seen is None
            or cursor is None
            or cursor.number < seen.number
            or self.audit.recent_blocks(seen.number, 1) != [seen]
        )
        touched: list[bytes] = []
        if cursor is not None and seen is not None and not reorged:
            query = EventQuery(from_block=seen.number + 1, to_block=cursor.number, limit=1000)
            for event in self.audit.iter_events(query):
                touched.extend(passports_named(event.args))
        if reorged:
            with self._lock:
                self._canonical.clear()
        self._seen = cursor
        self.read_model.apply_sync(-1 if cursor is None else cursor.number, touched, reorged=reorged)

    def _receipt_mined(self, receipt: TxReceipt) -> None:
        # Any write through this process (any participant's client): read-your-writes at once.
        self.read_model.invalidate(pid for event in receipt.events for pid in passports_named(event.args))

    # -- reads ----------------------------------------------------------------------------------------

    def custody_check(self, pid: uuid.UUID, record: PassportRecord) -> CustodyCrossCheck:
        """The index's custody timeline of the passport checked against the chain, on every call.

        The index's side is read every time (it is a local file anyone with access could edit). The
        chain's side, the passport's custody events up to the index's cursor, is remembered with the
        record: any later event naming the passport makes the follower drop the record and with it this
        memo, so the events up to an older cursor are still the events up to a newer one. When the memo
        is missing the index is caught up first, so a transfer just written here is in the timeline.
        """
        if self.read_model.cached(record, "custody-chain") is None:
            self.sync_index()

        def chain_events(upto: int) -> list[AuditEvent]:
            found = self.read_model.cached(record, "custody-chain")
            if found is not None and found[0] <= upto:
                events: list[AuditEvent] = found[1]
                return events
            events = chain_custody_events(self.reader, pid, self.start_block, upto)
            self.read_model.remember(record, "custody-chain", (upto, events))
            return events

        return cross_check_custody(
            self.audit,
            self.reader,
            pid,
            start_block=self.start_block,
            chain_events=chain_events,
            canonical_hash=self._canonical_hash,
        )

    def _canonical_hash(self, number: int) -> bytes | None:
        # A block's hash, asked once: a reorg is what changes it, and ``sync_index`` forgets them all
        # when the follower finds one (so for at most one follower tick an old hash may be answered).
        with self._lock:
            found = self._canonical.get(number)
        if found is None:
            found = self.reader.block_hash(number)
            if found is not None:
                with self._lock:
                    if len(self._canonical) > 4096:
                        self._canonical.clear()
                    self._canonical[number] = found
        return found

    def verification(self, pid: uuid.UUID, record: PassportRecord) -> VerificationReport:
        """``PassportService.verify`` plus ``index.custody``, for the ledger state ``record`` reflects.

        The chain's answers (signature, anchor inclusion, on-chain record) are facts about that ledger
        state and are memoised with it (only while every check passes); the stored content is checked
        against the record's digest (``store.content``, ``store.sections``) and the index's custody
        timeline against the chain (``index.custody``) on every call, so a rewritten document or an
        edited index row fails at once.
        """
        reader = self._reader_service

        report = self.read_model.derived(
            record, "verification", lambda: reader.verify(pid, record=record), keep=lambda r: r.ok
        )
        try:
            manifest: Manifest | None = self.read_model.derived(
                record, "manifest", lambda: reader.manifest_of(record)
            )
        except PassportError:
            manifest = None  # store_checks reads it again and reports why it cannot
        fresh = reader.store_checks(record, manifest=manifest)
        checks: list[Check] = []
        for check in report.checks:
            if check.name == SECTIONS_CHECK:
                checks.extend(fresh)
            elif check.name != STORE_CHECK:
                checks.append(check)
        if not any(c.name in (SECTIONS_CHECK, STORE_CHECK) for c in report.checks):
            checks.extend(fresh)
        checks.append(self.custody_check(pid, record).check)
        return report.model_copy(update={"checks": checks})

    # -- per-caller access --------------------------------------------------------------------------

    def client(self, name: str) -> ChainClient:
        """The chain client acting as custodial participant ``name``."""
        return self._clients.get(name)

    def _participant_display_name(self, address: str) -> str | None:
        found = self.api_keys.participant_by_account(address)
        return None if found is None else (found.display_name or found.name)

    def fund(self, account: str) -> bool:
        """Give a newly created custodial account gas where this server can (the development node)."""
        return self.funder is not None and self.funder(account)

    def holds_key(self, name: str) -> bool:
        """Whether this service signs for ``name``: a key loaded at startup, or one the keystore has
        gained since (a custodial participant onboarded while the server runs)."""
        if name in self.keys:
            return True
        if self.keystore is None or name not in self.keystore:
            return False
        key = self.keystore.private_key(name)
        with self._lock:
            assert isinstance(self.keys, dict)
            self.keys.setdefault(name, key)
        return True

    def client_for(self, caller: Caller) -> ChainClient:
        """The chain client that signs for ``caller``; ``Forbidden`` if the service holds no key for it."""
        if not self.holds_key(caller.name):
            raise Forbidden(f"this service holds no on-chain key for {caller.name!r}")
        return self.client(caller.name)

    def account_of(self, caller: Caller) -> str | None:
        """The caller's on-chain address: its custodial key's, else the account its API key names."""
        return self.client(caller.name).account if self.holds_key(caller.name) else caller.account

    def passports_for(self, caller: Caller | None) -> PassportService:
        """The passport service: writing as ``caller`` (their custodial key), or read-only for None."""
        if caller is None:
            return self._reader_service
        self.client_for(caller)
        with self._lock:
            service = self._passports.get(caller.name)
        if service is None:
            # acting_as would open a second connection; build on the shared client instead.
            service = PassportService(
                self.client(caller.name),
                self.store,
                self.keyring,
                versions=self.versions,
                trusted_issuers=sorted(self.trusted_issuers),
                signer_key=self.keys[caller.name],
            )
            with self._lock:
                service = self._passports.setdefault(caller.name, service)
        return service

    def materials_for(self, caller: Caller | None) -> MaterialsService:
        """The recycled-material service signing as ``caller`` (their custodial key), or read-only."""
        from passport.chain.material_web3 import Web3MaterialLedger
        from passport.chain.web3_client import Web3ChainClient

        if self.material_ledger_address is None:
            raise ServiceUnavailable("no recycled-material ledger is deployed beside this registry")
        client = self.reader if caller is None else self.client_for(caller)
        if not isinstance(client, Web3ChainClient):
            raise ServiceUnavailable("the recycled-material ledger needs a web3 chain client")
        key = secrets.token_bytes(32) if caller is None else self.keys[caller.name]
        ledger = Web3MaterialLedger.for_client(client, self.material_ledger_address, key)
        return MaterialsService(
            ledger, self.store, chain=client, signer_key=None if caller is None else self.keys[caller.name]
        )

    def service_models_for(self, caller: Caller | None) -> ServiceModels:
        """The battery service models acting (and signing leases) as ``caller``, or read-only."""
        from passport.chain.services_web3 import Web3BatteryServices
        from passport.chain.web3_client import Web3ChainClient

        if self.services_address is None:
            raise ServiceUnavailable("no battery-services contract is deployed beside this registry")
        client = self.reader if caller is None else self.client_for(caller)
        if not isinstance(client, Web3ChainClient):
            raise ServiceUnavailable("the battery-services contract needs a web3 chain client")
        key = secrets.token_bytes(32) if caller is None else self.keys[caller.name]
        ledger = Web3BatteryServices.for_client(client, self.services_address, key)
        return ServiceModels(
            ledger,
            self.store,
            chain=client,
            signer_key=None if caller is None else self.keys[caller.name],
            from_block=self.start_block,
        )

    def current_document(self, pid: uuid.UUID) -> BatteryPassport:
        """The passport's current version as a whole document (every tier: the service holds the keys)."""
        return self.passports_for(None).fetch(pid, frozenset(AccessTier)).passport()

    def health(self) -> HealthRefresher:
        """Health refreshes and evidence under the server's policy; 503 without the oracle journal."""
        _, _, proofs = self.oracle()
        return HealthRefresher(proofs, self.health_policy, alerts=self.alerts, chain=self.reader)

    def market(self) -> Market:
        """The market (listings, offers, sales), built on first use over this service's ledger and store."""
        with self._lock:
            if self._market is None:
                self._market = build_market(
                    self.settings,
                    reader=self.reader,
                    store=self.store,
                    passports=self._reader_service,
                    custody=self._custody_steps,
                )
            return self._market

    def market_custody(self, pid: uuid.UUID) -> list[CustodyStep]:
        """A passport's custody transfers from the audit index (synced first), with participant names."""
        return self._custody_steps(pid)

    def _custody_steps(self, pid: uuid.UUID) -> list[CustodyStep]:
        self.sync_index()
        # Keystore participants first, then the business directory (on-chain details documents).
        hosted = self.credentials.participants
        return custody_steps(
            self.audit.custody_timeline(pid), lambda a: hosted.get(a.lower()) or self.names.name_of(a)
        )

    def device_registry(self) -> tuple[DeviceRegistry, BatteryHistory]:
        """The device registry and battery histories on the oracle's journal; 503 without a journal."""
        if self.devices is None or self.history is None:
            raise ServiceUnavailable("the oracle journal is not configured on this server")
        return self.devices, self.history

    def oracle(self) -> tuple[Journal, Ingestor, RecordProofs]:
        """The oracle's journal, ingestor and proofs; 503 when this server runs without them."""
        if self.journal is None or self.ingestor is None or self.proofs is None:
            raise ServiceUnavailable("the oracle journal is not configured on this server")
        return self.journal, self.ingestor, self.proofs
