"""Opening the deployed ledger for a participant: the one wiring place every edge calls.

The API, the CLI, the local stack and the oracle worker all need the same five things before they can
act: the deployment manifest, the participant's key, a chain client, proof that the node serves the
chain the manifest was written for, and the list of signers whose passport versions are trusted.
``open_ledger`` does that once; what it returns hands out clients and passport services per
participant, all sharing one connection and nonce book.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from passport.chain.protocol import ChainClient
from passport.chain.records import Role
from passport.errors import DeploymentError
from passport.settings import Settings

if TYPE_CHECKING:  # web3 loads in about a second; only ``open_ledger`` needs it, at call time
    from passport.chain.deployment import DeploymentManifest
    from passport.chain.keystore import Keystore
    from passport.chain.material_ledger import MaterialLedger
    from passport.chain.services import BatteryServicesLedger
    from passport.credentials import PassportCredentials
    from passport.envelope import KeyRing
    from passport.market import CustodyStep, Market
    from passport.materials import MaterialsService
    from passport.service import PassportService, VersionLog
    from passport.servicemodels import ServiceModels
    from passport.store.protocol import ContentStore

#: Roles whose holders the ledger trusts as signers of passport versions. Not only ISSUER: the registry
#: also takes versions signed by repurposers/remanufacturers (successor passports), inspectors
#: (evaluation results) and recyclers (the last version), and the admin vetted each of them by granting
#: the role. A plain custodian business is not trusted by default.
SIGNER_ROLES: Final = (Role.ISSUER, Role.REPURPOSER, Role.INSPECTOR, Role.RECYCLER)


def trusted_signers(holders: dict[Role, list[str]]) -> list[str]:
    """The addresses among role ``holders`` that are trusted to sign versions (see ``SIGNER_ROLES``)."""
    return sorted({address for role in SIGNER_ROLES for address in holders.get(role, [])})


class ParticipantClients:
    """Chain clients acting as each participant, built once each from one reader.

    ``as_account`` shares the reader's connection and nonce book, so concurrent requests for one
    account never reuse a nonce. ``key(name)`` gives a participant's private key (a ``KeyError``
    or the keystore's error for an unknown one); it is asked once per participant.
    """

    def __init__(self, reader: ChainClient, key: Callable[[str], bytes]) -> None:
        self._reader = reader
        self._key = key
        self._clients: dict[str, ChainClient] = {}
        self._lock = threading.Lock()

    def get(self, participant: str) -> ChainClient:
        """The client acting as ``participant``."""
        with self._lock:
            client = self._clients.get(participant)
            if client is None:
                client = self._reader.as_account(self._key(participant))
                self._clients[participant] = client
            return client


@dataclass
class Ledger:
    """The deployed ledger as one installation sees it: manifest, keystore, a reader, trusted signers.

    ``reader`` acts as a throwaway account with no ether and no role, so reading never touches a
    participant's nonces; ``client(name)`` acts as keystore participant ``name``.
    """

    settings: Settings
    deployment: DeploymentManifest
    keystore: Keystore
    reader: ChainClient
    trusted_issuers: tuple[str, ...]
    _clients: ParticipantClients = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._clients = ParticipantClients(self.reader, self.key)

    def key(self, participant: str) -> bytes:
        """Participant ``participant``'s private key, from the encrypted keystore."""
        return self.keystore.private_key(participant)

    def client(self, participant: str | None) -> ChainClient:
        """The chain client acting as ``participant`` (None: the reader)."""
        return self.reader if participant is None else self._clients.get(participant)

    def passports(
        self,
        participant: str | None,
        *,
        store: ContentStore | None = None,
        keyring: KeyRing | None = None,
        versions: VersionLog | None = None,
    ) -> PassportService:
        """A ``PassportService`` writing as ``participant`` (None: read-only).

        Store, key ring and version log default to the ones ``settings`` names; pass the ones you
        already hold so that several services share them.
        """
        from passport.envelope import KeyRing
        from passport.service import PassportService, VersionLog
        from passport.store import open_store

        return PassportService(
            self.client(participant),
            store if store is not None else open_store(self.settings),
            keyring if keyring is not None else KeyRing.from_settings(self.settings),
            versions=versions if versions is not None else VersionLog.from_settings(self.settings),
            trusted_issuers=list(self.trusted_issuers),
            signer_key=None if participant is None else self.key(participant),
        )

    def material_ledger(self, participant: str | None) -> MaterialLedger:
        """The ``RecycledMaterialLedger`` client acting as ``participant`` (None: read-only), sharing the
        registry client's connection and nonce book; ``DeploymentError`` if none is deployed."""
        from passport.chain.material_web3 import Web3MaterialLedger
        from passport.chain.web3_client import Web3ChainClient

        address = self.deployment.material_ledger_address
        if address is None:
            raise DeploymentError("no material ledger in the deployment manifest: run the deploy again")
        client = self.client(participant)
        if not isinstance(client, Web3ChainClient):  # pragma: no cover - open_ledger builds web3 clients
            raise DeploymentError("the material ledger needs a web3 chain client")
        key = secrets.token_bytes(32) if participant is None else self.key(participant)
        return Web3MaterialLedger.for_client(client, address, key)

    def materials(self, participant: str | None, *, store: ContentStore | None = None) -> MaterialsService:
        """A ``MaterialsService`` acting (and signing) as ``participant`` (None: read-only)."""
        from passport.materials import MaterialsService
        from passport.store import open_store

        return MaterialsService(
            self.material_ledger(participant),
            store if store is not None else open_store(self.settings),
            chain=self.client(participant),
            signer_key=None if participant is None else self.key(participant),
        )

    def services_ledger(self, participant: str | None) -> BatteryServicesLedger:
        """The ``BatteryServices`` client acting as ``participant`` (None: read-only), sharing the
        registry client's connection and nonce book; ``DeploymentError`` if none is deployed."""
        from passport.chain.services_web3 import Web3BatteryServices
        from passport.chain.web3_client import Web3ChainClient

        address = self.deployment.services_address
        if address is None:
            raise DeploymentError("no battery-services contract in the deployment manifest: deploy again")
        client = self.client(participant)
        if not isinstance(client, Web3ChainClient):  # pragma: no cover - open_ledger builds web3 clients
            raise DeploymentError("the services contract needs a web3 chain client")
        key = secrets.token_bytes(32) if participant is None else self.key(participant)
        return Web3BatteryServices.for_client(client, address, key)

    def service_models(self, participant: str | None, *, store: ContentStore | None = None) -> ServiceModels:
        """``ServiceModels`` acting (and signing leases) as ``participant`` (None: read-only)."""
        from passport.servicemodels import ServiceModels
        from passport.store import open_store

        return ServiceModels(
            self.services_ledger(participant),
            store if store is not None else open_store(self.settings),
            chain=self.client(participant),
            signer_key=None if participant is None else self.key(participant),
            from_block=self.deployment.deploy_block_number,
        )

    def credentials(
        self, *, store: ContentStore | None = None, passports: PassportService | None = None
    ) -> PassportCredentials:
        """Credentials, DID documents and status lists for the keystore's participants.

        Published under ``settings.public_base_url``; the keystore is read for addresses only (no key
        is unlocked: credentials are signed with each participant's JOSE key, not its Ethereum key).
        """
        from passport.credentials import CredentialKeys, PassportCredentials, StatusIndex
        from passport.store import open_store

        return PassportCredentials(
            base_url=self.settings.public_base_url,
            chain=self.reader,
            store=store if store is not None else open_store(self.settings),
            passports=passports if passports is not None else self.passports(None, store=store),
            keys=CredentialKeys.from_settings(self.settings),
            status=StatusIndex.from_settings(self.settings),
            participants={address: name for name, address in self.keystore.addresses().items()},
        )

    def custody_history(self) -> Callable[[uuid.UUID], list[CustodyStep]]:
        """A reader of a passport's custody transfers (registry events), naming keystore participants."""
        from passport.market.source import PassportEvents, custody_from_events

        names = {address.lower(): name for name, address in self.keystore.addresses().items()}
        if not isinstance(self.reader, PassportEvents):
            raise DeploymentError("this chain client cannot read a passport's events")
        return custody_from_events(
            self.reader, self.deployment.deploy_block_number, lambda a: names.get(a.lower())
        )

    def market(self, *, store: ContentStore | None = None) -> Market:
        """The market (``settings.market_db_path``) over this ledger; close ``market.book`` when done."""
        from passport.market.wiring import build_market
        from passport.store import open_store

        return build_market(
            self.settings,
            reader=self.reader,
            store=store if store is not None else open_store(self.settings),
            passports=self.passports(None, store=store),
            custody=self.custody_history(),
        )


def open_ledger(settings: Settings, *, extra_trusted: Sequence[str] = ()) -> Ledger:
    """The ledger ``settings`` point at, checked: the manifest's chain is the node's chain.

    Trusts ``settings.trusted_issuers``, ``extra_trusted`` and every holder of a ``SIGNER_ROLES`` role
    the manifest lists. Raises ``DeploymentError`` when nothing is deployed or the node serves another
    chain, ``ChainUnavailable`` when the node does not answer.
    """
    from passport.chain.deployment import load_deployment
    from passport.chain.keystore import Keystore
    from passport.chain.web3_client import Web3ChainClient

    deployment = load_deployment(settings)
    reader = Web3ChainClient.from_rpc(
        settings.effective_rpc_url, secrets.token_bytes(32), deployment.registry_address, settings=settings
    )
    if reader.chain_id != deployment.chain_id:
        raise DeploymentError(
            f"{settings.effective_rpc_url} is chain {reader.chain_id}; the deployment manifest is for "
            f"chain {deployment.chain_id}"
        )
    trusted = dict.fromkeys(
        [*settings.trusted_issuers, *extra_trusted, *trusted_signers(deployment.role_holders)]
    )
    return Ledger(
        settings=settings,
        deployment=deployment,
        keystore=Keystore.from_settings(settings),
        reader=reader,
        trusted_issuers=tuple(trusted),
    )
