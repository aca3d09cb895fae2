// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IBatteryPassportRegistry} from "./IBatteryPassportRegistry.sol";
import {IOwnerConsent} from "./IOwnerConsent.sol";

/**
 * @title IBatteryServices
 * @notice Battery service models beside the passport registry (issue #19): a battery's legal owner apart
 * from its custodian and its vehicle's keeper, signed subscription / lease contracts (digest, parties,
 * term), the owner's consent to transfer, repurpose or recycle (enforced by the registry through
 * `IOwnerConsent`), a pack's binding to a vehicle (keccak256 of the VIN, never the VIN) or a swap
 * station with the state of charge and health at every hand-over, a repurposed pack's installation in a
 * stationary storage system, and per-battery, per-month energy / avoided-emission claims recorded once.
 */
interface IBatteryServices is IOwnerConsent {
    /// @notice Where a pack is bound: nowhere, in a vehicle, or in a swap station's rack.
    enum HolderKind {
        None,
        Vehicle,
        Station
    }

    /// @notice A second-life storage system's service.
    enum StorageRole {
        Backup,
        PeakShaving,
        FrequencyRegulation,
        RenewableFirming,
        ChargingBuffer
    }

    /// @notice What a claim counts: watt-hours delivered, or grams CO2e avoided.
    enum ClaimKind {
        EnergyDelivered,
        AvoidedEmission
    }

    /// @notice The owner's consent to one action: to `counterparty` (zero: anyone) until `expiresAt`.
    struct Consent {
        address counterparty;
        uint64 expiresAt;
    }

    /// @notice A subscription / lease contract: the signed document's digest, its parties and term.
    struct Lease {
        bytes32 passportId;
        bytes32 documentDigest;
        address lessor;
        uint64 startsAt;
        address lessee;
        uint64 endsAt;
        uint64 endedAt;
    }

    /// @notice State of charge and state of health at a hand-over, basis points (10,000 = 100 %).
    struct HandOver {
        uint16 socBps;
        uint16 sohBps;
    }

    /// @notice Where a pack is now: holder kind, holder hash, since when, the readings when installed.
    struct Binding {
        HolderKind kind;
        bytes32 holder;
        uint64 since;
        uint16 socBps;
        uint16 sohBps;
    }

    /// @notice A second-life pack's storage installation.
    struct StorageInstallation {
        bytes32 siteHash;
        uint64 ratedEnergyWh;
        StorageRole role;
        uint64 installedAt;
        address recordedBy;
    }

    /// @notice A claim as recorded: who, when, how much (Wh or g CO2e) and the evidence digest.
    struct Claim {
        address claimant;
        uint64 recordedAt;
        uint128 quantity;
        bytes32 evidenceDigest;
    }

    /// @notice The battery's legal owner is `owner`, who has not consented to `action` (for this counterparty).
    error BatteryServicesOwnerConsentMissing(bytes32 passportId, ConsentAction action, address owner);
    /// @notice A zero owner, digest, holder, site, quantity or id, or a reading above 10,000 bps.
    error BatteryServicesInvalidValue(bytes32 passportId);
    /// @notice The passport is superseded or recycled: nothing more can be bound or installed.
    error BatteryServicesPassportClosed(bytes32 passportId);
    /// @notice `account` may not record this passport's legal owner (only its issuer or custodian may).
    error BatteryServicesUnauthorized(bytes32 passportId, address account);
    /// @notice The passport's legal owner is already recorded as `owner`.
    error BatteryServicesOwnerAlreadyRecorded(bytes32 passportId, address owner);
    /// @notice `account` is not the passport's legal owner.
    error BatteryServicesNotOwner(bytes32 passportId, address account);
    /// @notice The expiry or term is not in the future / not after its start.
    error BatteryServicesInvalidTerm(bytes32 passportId, uint64 startsAt, uint64 endsAt);
    /// @notice A lease `leaseId` already exists.
    error BatteryServicesLeaseExists(bytes32 leaseId);
    /// @notice No open lease `leaseId` exists.
    error BatteryServicesNoOpenLease(bytes32 leaseId);
    /// @notice The pack is already bound to `holder` (a `kind`).
    error BatteryServicesPackBound(bytes32 passportId, HolderKind kind, bytes32 holder);
    /// @notice The pack is not bound to `holder` as a `kind` (so it cannot leave it).
    error BatteryServicesPackNotAt(bytes32 passportId, HolderKind kind, bytes32 holder);
    /// @notice Only a repurposed (second-life) passport is installed in stationary storage; this one is `status`.
    error BatteryServicesNotRepurposed(bytes32 passportId, IBatteryPassportRegistry.LifecycleStatus status);
    /// @notice `period` is not a month written yyyymm (e.g. 202611).
    error BatteryServicesInvalidPeriod(uint32 period);
    /// @notice A `kind` claim for this battery and month was already recorded by `claimant`.
    error BatteryServicesClaimExists(bytes32 passportId, ClaimKind kind, uint32 period, address claimant);

    /**
     * @notice Emitted when a passport's first legal owner is recorded.
     * @param passportId The passport.
     * @param owner The legal owner.
     * @param recordedBy The issuer or custodian who recorded it.
     */
    event LegalOwnerRecorded(bytes32 indexed passportId, address indexed owner, address indexed recordedBy);

    /**
     * @notice Emitted when the legal owner transfers ownership (its consents lapse).
     * @param passportId The passport.
     * @param from The previous owner.
     * @param to The new owner.
     */
    event LegalOwnerTransferred(bytes32 indexed passportId, address indexed from, address indexed to);

    /**
     * @notice Emitted when the owner consents to an action.
     * @param passportId The passport.
     * @param action Transfer, repurpose or recycle.
     * @param owner The legal owner.
     * @param counterparty Who may be the counterparty, zero for anyone.
     * @param expiresAt Unix time after which the consent no longer counts.
     */
    event ConsentGranted(
        bytes32 indexed passportId,
        ConsentAction indexed action,
        address indexed owner,
        address counterparty,
        uint64 expiresAt
    );

    /**
     * @notice Emitted when the owner withdraws a consent.
     * @param passportId The passport.
     * @param action The action no longer consented to.
     * @param owner The legal owner.
     */
    event ConsentRevoked(bytes32 indexed passportId, ConsentAction indexed action, address indexed owner);

    /**
     * @notice Emitted when the owner records a signed subscription / lease contract.
     * @param leaseId The contract's id.
     * @param passportId The leased battery.
     * @param lessor The legal owner.
     * @param lessee The subscriber / lessee.
     * @param startsAt Start of the term (unix time).
     * @param endsAt End of the term (unix time).
     * @param documentDigest Digest of the signed contract document in the content store.
     */
    event LeaseRecorded(
        bytes32 indexed leaseId,
        bytes32 indexed passportId,
        address indexed lessor,
        address lessee,
        uint64 startsAt,
        uint64 endsAt,
        bytes32 documentDigest
    );

    /**
     * @notice Emitted when the lessor ends a lease (at or before the end of its term).
     * @param leaseId The contract's id.
     * @param passportId The leased battery.
     * @param endedAt When it ended.
     */
    event LeaseEnded(bytes32 indexed leaseId, bytes32 indexed passportId, uint64 endedAt);

    /**
     * @notice Emitted when a pack is installed in a vehicle or a station.
     * @param passportId The pack's passport.
     * @param kind Vehicle or station.
     * @param holder keccak256 of the VIN, or the station's id hash.
     * @param by Who recorded it.
     * @param socBps State of charge at hand-over.
     * @param sohBps State of health at hand-over.
     */
    event PackInstalled(
        bytes32 indexed passportId, HolderKind kind, bytes32 indexed holder, address indexed by, uint16 socBps, uint16 sohBps
    );

    /**
     * @notice Emitted when a pack is removed from a vehicle or a station.
     * @param passportId The pack's passport.
     * @param kind Vehicle or station.
     * @param holder keccak256 of the VIN, or the station's id hash.
     * @param by Who recorded it.
     * @param socBps State of charge at hand-over.
     * @param sohBps State of health at hand-over.
     */
    event PackRemoved(
        bytes32 indexed passportId, HolderKind kind, bytes32 indexed holder, address indexed by, uint16 socBps, uint16 sohBps
    );

    /**
     * @notice Emitted once per swap, after the two packs' removal and installation events.
     * @param vehicle keccak256 of the VIN.
     * @param station The station's id hash.
     * @param outgoing The pack that left the vehicle for the station.
     * @param incoming The pack that left the station for the vehicle.
     * @param operator Who recorded the swap.
     */
    event PacksSwapped(
        bytes32 indexed vehicle, bytes32 indexed station, bytes32 outgoing, bytes32 incoming, address indexed operator
    );

    /**
     * @notice Emitted when a repurposed pack's storage installation is recorded.
     * @param passportId The successor passport.
     * @param siteHash Hash of the storage site's identifier.
     * @param ratedEnergyWh The system's rated energy share of this pack, watt-hours.
     * @param role What the storage system does.
     * @param recordedBy The custodian or legal owner.
     */
    event StorageInstalled(
        bytes32 indexed passportId, bytes32 indexed siteHash, uint64 ratedEnergyWh, StorageRole role, address indexed recordedBy
    );

    /**
     * @notice Emitted when a claim is recorded (once per battery, kind and month).
     * @param passportId The battery's passport.
     * @param kind Energy delivered (Wh) or avoided emission (g CO2e).
     * @param period The month, yyyymm.
     * @param quantity Watt-hours or grams CO2e.
     * @param evidenceDigest Digest of the evidence (e.g. the energy proof bundle or its Merkle root).
     * @param claimant Who claimed it.
     */
    event ClaimRecorded(
        bytes32 indexed passportId,
        ClaimKind indexed kind,
        uint32 period,
        uint128 quantity,
        bytes32 evidenceDigest,
        address indexed claimant
    );

    /**
     * @notice Record a passport's first legal owner (its issuer or custodian, once).
     * @param passportId The passport.
     * @param owner The legal owner (e.g. the leasing / subscription company).
     */
    function recordOwner(bytes32 passportId, address owner) external;

    /**
     * @notice Move legal ownership (the current legal owner only); earlier consents lapse.
     * @param passportId The passport.
     * @param newOwner The new legal owner.
     */
    function transferOwnership(bytes32 passportId, address newOwner) external;

    /**
     * @notice Consent, as legal owner, to the custodian transferring / repurposing / recycling the battery.
     * @param passportId The passport.
     * @param action The action.
     * @param counterparty The only counterparty allowed (new custodian, repurposer, recycler); zero: anyone.
     * @param expiresAt Unix time after which the consent no longer counts (must be in the future).
     */
    function grantConsent(bytes32 passportId, ConsentAction action, address counterparty, uint64 expiresAt)
        external;

    /**
     * @notice Withdraw a consent (the legal owner).
     * @param passportId The passport.
     * @param action The action.
     */
    function revokeConsent(bytes32 passportId, ConsentAction action) external;

    /**
     * @notice Record a signed subscription / lease contract (the legal owner, as lessor).
     * @param leaseId A fresh id for the contract.
     * @param passportId The leased battery.
     * @param lessee The subscriber / lessee.
     * @param documentDigest Digest of the signed contract document in the content store.
     * @param startsAt Start of the term.
     * @param endsAt End of the term (after its start and in the future).
     */
    function recordLease(
        bytes32 leaseId,
        bytes32 passportId,
        address lessee,
        bytes32 documentDigest,
        uint64 startsAt,
        uint64 endsAt
    ) external;

    /**
     * @notice End an open lease now (its lessor).
     * @param leaseId The contract's id.
     */
    function endLease(bytes32 leaseId) external;

    /**
     * @notice Install an unbound pack in a vehicle or station (custodian, legal owner or an operator).
     * @param passportId The pack's passport (neither superseded nor recycled).
     * @param kind Vehicle or Station.
     * @param holder keccak256 of the VIN, or the station's id hash.
     * @param reading State of charge and health at hand-over.
     */
    function installPack(bytes32 passportId, HolderKind kind, bytes32 holder, HandOver calldata reading) external;

    /**
     * @notice Remove a pack from where it is bound (custodian, legal owner or an operator).
     * @param passportId The pack's passport.
     * @param reading State of charge and health at hand-over.
     */
    function removePack(bytes32 passportId, HandOver calldata reading) external;

    /**
     * @notice Swap packs in one transaction: `outgoing` leaves `vehicle` for `station`, `incoming` leaves
     * `station` for `vehicle`; if either leg fails, nothing is recorded.
     * @param vehicle keccak256 of the VIN.
     * @param station The station's id hash.
     * @param outgoing The pack now in the vehicle.
     * @param incoming The pack now in the station.
     * @param outgoingReading The outgoing pack's state of charge and health at hand-over.
     * @param incomingReading The incoming pack's state of charge and health at hand-over.
     */
    function swap(
        bytes32 vehicle,
        bytes32 station,
        bytes32 outgoing,
        bytes32 incoming,
        HandOver calldata outgoingReading,
        HandOver calldata incomingReading
    ) external;

    /**
     * @notice Record a repurposed pack's installation in a stationary storage system (custodian or owner).
     * @param passportId The Repurposed (successor) passport.
     * @param siteHash Hash of the site's identifier.
     * @param ratedEnergyWh Rated energy of the pack in the system, watt-hours.
     * @param role What the system does.
     */
    function recordStorageInstallation(bytes32 passportId, bytes32 siteHash, uint64 ratedEnergyWh, StorageRole role)
        external;

    /**
     * @notice Record a claim once per battery, kind and month (custodian or legal owner).
     * @param passportId The battery's passport.
     * @param kind Energy delivered or avoided emission.
     * @param period The month, yyyymm.
     * @param quantity Watt-hours or grams CO2e (non-zero).
     * @param evidenceDigest Digest of the evidence, e.g. the offline energy proof bundle.
     */
    function recordClaim(bytes32 passportId, ClaimKind kind, uint32 period, uint128 quantity, bytes32 evidenceDigest)
        external;

    /**
     * @notice The passport's legal owner (zero when none was recorded).
     * @param passportId The passport.
     * @return The owner.
     */
    function legalOwner(bytes32 passportId) external view returns (address);

    /**
     * @notice The owner's consent to `action` (zero expiry when none).
     * @param passportId The passport.
     * @param action The action.
     * @return The consent.
     */
    function getConsent(bytes32 passportId, ConsentAction action) external view returns (Consent memory);

    /**
     * @notice A lease (zero passport id when unknown).
     * @param leaseId The contract's id.
     * @return The lease.
     */
    function getLease(bytes32 leaseId) external view returns (Lease memory);

    /**
     * @notice Where the pack is bound now (kind None when nowhere).
     * @param passportId The pack's passport.
     * @return The binding.
     */
    function getBinding(bytes32 passportId) external view returns (Binding memory);

    /**
     * @notice The pack's storage installation (zero site when none).
     * @param passportId The passport.
     * @return The installation.
     */
    function getStorageInstallation(bytes32 passportId) external view returns (StorageInstallation memory);

    /**
     * @notice The claim recorded for a battery, kind and month (zero claimant when none).
     * @param passportId The passport.
     * @param kind The kind.
     * @param period The month, yyyymm.
     * @return The claim.
     */
    function getClaim(bytes32 passportId, ClaimKind kind, uint32 period) external view returns (Claim memory);
}
