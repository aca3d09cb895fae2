// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IBatteryPassportRegistry} from "./interfaces/IBatteryPassportRegistry.sol";
import {IBatteryServices} from "./interfaces/IBatteryServices.sol";
import {IOwnerConsent} from "./interfaces/IOwnerConsent.sol";

/**
 * @title BatteryServices
 * @notice Service models on the battery life cycle (subscription / leasing, swapping, second life in
 * storage, energy and avoided-emission claims), beside the passport registry it reads passports from.
 * @dev A contract of its own because the registry has ~3.5 KB of EIP-170 headroom left. The registry asks
 * `requireConsent` (a view) before a custody offer or acceptance, a successor issue and recycling, so the
 * legal owner's consent is enforced where the custodian acts, not merely recorded here. Consents are not
 * consumed (a view cannot write): they last until their expiry, their revocation or an ownership transfer.
 * Vehicles are identified by keccak256 of the VIN only; the chain is public forever.
 */
contract BatteryServices is IBatteryServices, AccessControlDefaultAdminRules {
    /// @notice Role of fleet and swap-station operators, who may bind any open pack and record swaps.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    uint16 private constant _FULL_BPS = 10_000;

    IBatteryPassportRegistry private immutable _registry;

    mapping(bytes32 passportId => address owner) private _owners;
    mapping(bytes32 passportId => mapping(ConsentAction action => Consent)) private _consents;
    mapping(bytes32 leaseId => Lease) private _leases;
    mapping(bytes32 passportId => Binding) private _bindings;
    mapping(bytes32 passportId => StorageInstallation) private _storage;
    mapping(bytes32 passportId => mapping(ClaimKind kind => mapping(uint32 period => Claim))) private _claims;

    /**
     * @param registry_ The passport registry whose passports these services concern.
     * @param initialDelay Delay (seconds) before a default-admin transfer can be accepted.
     * @param initialAdmin The first default admin.
     */
    constructor(IBatteryPassportRegistry registry_, uint48 initialDelay, address initialAdmin)
        AccessControlDefaultAdminRules(initialDelay, initialAdmin)
    {
        _registry = registry_;
    }

    // -- ownership and consent -----------------------------------------------------------------------

    /// @inheritdoc IBatteryServices
    function recordOwner(bytes32 passportId, address owner) external {
        IBatteryPassportRegistry.Passport memory passport = _open(passportId);
        if (msg.sender != passport.issuer && msg.sender != passport.custodian) {
            revert BatteryServicesUnauthorized(passportId, msg.sender);
        }
        if (owner == address(0)) revert BatteryServicesInvalidValue(passportId);
        address recorded = _owners[passportId];
        if (recorded != address(0)) revert BatteryServicesOwnerAlreadyRecorded(passportId, recorded);
        _owners[passportId] = owner;
        emit LegalOwnerRecorded(passportId, owner, msg.sender);
    }

    /// @inheritdoc IBatteryServices
    function transferOwnership(bytes32 passportId, address newOwner) external {
        _requireOwner(passportId);
        if (newOwner == address(0)) revert BatteryServicesInvalidValue(passportId);
        _owners[passportId] = newOwner;
        // The old owner's consents are not the new owner's.
        delete _consents[passportId][ConsentAction.Transfer];
        delete _consents[passportId][ConsentAction.Repurpose];
        delete _consents[passportId][ConsentAction.Recycle];
        emit LegalOwnerTransferred(passportId, msg.sender, newOwner);
    }

    /// @inheritdoc IBatteryServices
    function grantConsent(bytes32 passportId, ConsentAction action, address counterparty, uint64 expiresAt)
        external
    {
        _requireOwner(passportId);
        if (expiresAt <= block.timestamp) revert BatteryServicesInvalidTerm(passportId, 0, expiresAt);
        _consents[passportId][action] = Consent(counterparty, expiresAt);
        emit ConsentGranted(passportId, action, msg.sender, counterparty, expiresAt);
    }

    /// @inheritdoc IBatteryServices
    function revokeConsent(bytes32 passportId, ConsentAction action) external {
        _requireOwner(passportId);
        delete _consents[passportId][action];
        emit ConsentRevoked(passportId, action, msg.sender);
    }

    /// @inheritdoc IOwnerConsent
    function requireConsent(bytes32 passportId, ConsentAction action, address custodian, address counterparty)
        external
        view
    {
        address owner = _owners[passportId];
        if (owner == address(0) || owner == custodian) return;
        Consent memory consent = _consents[passportId][action];
        if (
            consent.expiresAt < block.timestamp
                || (consent.counterparty != address(0) && consent.counterparty != counterparty)
        ) revert BatteryServicesOwnerConsentMissing(passportId, action, owner);
    }

    // -- subscription / lease contracts ------------------------------------------------------------

    /// @inheritdoc IBatteryServices
    function recordLease(
        bytes32 leaseId,
        bytes32 passportId,
        address lessee,
        bytes32 documentDigest,
        uint64 startsAt,
        uint64 endsAt
    ) external {
        _requireOwner(passportId);
        if (leaseId == bytes32(0) || documentDigest == bytes32(0) || lessee == address(0)) {
            revert BatteryServicesInvalidValue(passportId);
        }
        if (endsAt <= startsAt || endsAt <= block.timestamp) {
            revert BatteryServicesInvalidTerm(passportId, startsAt, endsAt);
        }
        if (_leases[leaseId].passportId != bytes32(0)) revert BatteryServicesLeaseExists(leaseId);
        _leases[leaseId] = Lease(passportId, documentDigest, msg.sender, startsAt, lessee, endsAt, 0);
        emit LeaseRecorded(leaseId, passportId, msg.sender, lessee, startsAt, endsAt, documentDigest);
    }

    /// @inheritdoc IBatteryServices
    function endLease(bytes32 leaseId) external {
        Lease storage lease = _leases[leaseId];
        if (lease.passportId == bytes32(0) || lease.endedAt != 0) revert BatteryServicesNoOpenLease(leaseId);
        if (lease.lessor != msg.sender) revert BatteryServicesNotOwner(lease.passportId, msg.sender);
        uint64 endedAt = uint64(block.timestamp);
        lease.endedAt = endedAt;
        emit LeaseEnded(leaseId, lease.passportId, endedAt);
    }

    // -- vehicle and station bindings ----------------------------------------------------------------

    /// @inheritdoc IBatteryServices
    function installPack(bytes32 passportId, HolderKind kind, bytes32 holder, HandOver calldata reading) external {
        _requireBinder(passportId);
        _install(passportId, kind, holder, reading);
    }

    /// @inheritdoc IBatteryServices
    function removePack(bytes32 passportId, HandOver calldata reading) external {
        _requireBinder(passportId);
        Binding memory binding = _bindings[passportId];
        if (binding.kind == HolderKind.None) revert BatteryServicesPackNotAt(passportId, HolderKind.None, 0);
        _remove(passportId, binding.kind, binding.holder, reading);
    }

    /// @inheritdoc IBatteryServices
    function swap(
        bytes32 vehicle,
        bytes32 station,
        bytes32 outgoing,
        bytes32 incoming,
        HandOver calldata outgoingReading,
        HandOver calldata incomingReading
    ) external {
        if (outgoing == incoming) revert BatteryServicesInvalidValue(outgoing);
        _requireBinder(outgoing);
        _requireBinder(incoming);
        _remove(outgoing, HolderKind.Vehicle, vehicle, outgoingReading);
        _remove(incoming, HolderKind.Station, station, incomingReading);
        _install(outgoing, HolderKind.Station, station, outgoingReading);
        _install(incoming, HolderKind.Vehicle, vehicle, incomingReading);
        emit PacksSwapped(vehicle, station, outgoing, incoming, msg.sender);
    }

    // -- second life ---------------------------------------------------------------------------------

    /// @inheritdoc IBatteryServices
    function recordStorageInstallation(bytes32 passportId, bytes32 siteHash, uint64 ratedEnergyWh, StorageRole role)
        external
    {
        IBatteryPassportRegistry.Passport memory passport = _open(passportId);
        _requireCustodianOrOwner(passportId, passport);
        if (passport.status != IBatteryPassportRegistry.LifecycleStatus.Repurposed) {
            revert BatteryServicesNotRepurposed(passportId, passport.status);
        }
        if (siteHash == bytes32(0) || ratedEnergyWh == 0) revert BatteryServicesInvalidValue(passportId);
        _storage[passportId] = StorageInstallation(siteHash, ratedEnergyWh, role, uint64(block.timestamp), msg.sender);
        emit StorageInstalled(passportId, siteHash, ratedEnergyWh, role, msg.sender);
    }

    // -- claims --------------------------------------------------------------------------------------

    /// @inheritdoc IBatteryServices
    function recordClaim(bytes32 passportId, ClaimKind kind, uint32 period, uint128 quantity, bytes32 evidenceDigest)
        external
    {
        // A closed passport's past months may still be claimed: only existence is required.
        _requireCustodianOrOwner(passportId, _registry.getPassport(passportId));
        uint32 month = period % 100;
        if (month == 0 || month > 12 || period < 200_001 || period > 999_912) {
            revert BatteryServicesInvalidPeriod(period);
        }
        if (quantity == 0 || evidenceDigest == bytes32(0)) revert BatteryServicesInvalidValue(passportId);
        Claim storage claim = _claims[passportId][kind][period];
        if (claim.claimant != address(0)) {
            revert BatteryServicesClaimExists(passportId, kind, period, claim.claimant);
        }
        claim.claimant = msg.sender;
        claim.recordedAt = uint64(block.timestamp);
        claim.quantity = quantity;
        claim.evidenceDigest = evidenceDigest;
        emit ClaimRecorded(passportId, kind, period, quantity, evidenceDigest, msg.sender);
    }

    // -- views ---------------------------------------------------------------------------------------

    /// @notice The passport registry these services read.
    /// @return The registry's address.
    function registry() external view returns (address) {
        return address(_registry);
    }

    /// @inheritdoc IBatteryServices
    function legalOwner(bytes32 passportId) external view returns (address) {
        return _owners[passportId];
    }

    /// @inheritdoc IBatteryServices
    function getConsent(bytes32 passportId, ConsentAction action) external view returns (Consent memory) {
        return _consents[passportId][action];
    }

    /// @inheritdoc IBatteryServices
    function getLease(bytes32 leaseId) external view returns (Lease memory) {
        return _leases[leaseId];
    }

    /// @inheritdoc IBatteryServices
    function getBinding(bytes32 passportId) external view returns (Binding memory) {
        return _bindings[passportId];
    }

    /// @inheritdoc IBatteryServices
    function getStorageInstallation(bytes32 passportId) external view returns (StorageInstallation memory) {
        return _storage[passportId];
    }

    /// @inheritdoc IBatteryServices
    function getClaim(bytes32 passportId, ClaimKind kind, uint32 period) external view returns (Claim memory) {
        return _claims[passportId][kind][period];
    }

    // -- internals -----------------------------------------------------------------------------------

    /// @dev The passport (the registry reverts for unknown ids) if it is neither superseded nor recycled.
    function _open(bytes32 passportId) private view returns (IBatteryPassportRegistry.Passport memory passport) {
        passport = _registry.getPassport(passportId);
        if (
            passport.successor != bytes32(0)
                || passport.status == IBatteryPassportRegistry.LifecycleStatus.Recycled
        ) revert BatteryServicesPassportClosed(passportId);
    }

    function _requireOwner(bytes32 passportId) private view {
        if (_owners[passportId] != msg.sender) revert BatteryServicesNotOwner(passportId, msg.sender);
    }

    function _requireCustodianOrOwner(bytes32 passportId, IBatteryPassportRegistry.Passport memory passport)
        private
        view
    {
        if (msg.sender != passport.custodian && msg.sender != _owners[passportId]) {
            revert BatteryServicesUnauthorized(passportId, msg.sender);
        }
    }

    /// @dev Bindings are written by the pack's custodian, its legal owner or an operator, on open passports.
    function _requireBinder(bytes32 passportId) private view {
        IBatteryPassportRegistry.Passport memory passport = _open(passportId);
        if (!hasRole(OPERATOR_ROLE, msg.sender)) _requireCustodianOrOwner(passportId, passport);
    }

    function _install(bytes32 passportId, HolderKind kind, bytes32 holder, HandOver calldata reading) private {
        if (kind == HolderKind.None || holder == bytes32(0)) revert BatteryServicesInvalidValue(passportId);
        _requireReading(passportId, reading);
        Binding memory current = _bindings[passportId];
        if (current.kind != HolderKind.None) revert BatteryServicesPackBound(passportId, current.kind, current.holder);
        _bindings[passportId] = Binding(kind, holder, uint64(block.timestamp), reading.socBps, reading.sohBps);
        emit PackInstalled(passportId, kind, holder, msg.sender, reading.socBps, reading.sohBps);
    }

    function _remove(bytes32 passportId, HolderKind kind, bytes32 holder, HandOver calldata reading) private {
        _requireReading(passportId, reading);
        Binding memory current = _bindings[passportId];
        if (current.kind != kind || current.holder != holder || kind == HolderKind.None) {
            revert BatteryServicesPackNotAt(passportId, kind, holder);
        }
        delete _bindings[passportId];
        emit PackRemoved(passportId, kind, holder, msg.sender, reading.socBps, reading.sohBps);
    }

    function _requireReading(bytes32 passportId, HandOver calldata reading) private pure {
        if (reading.socBps > _FULL_BPS || reading.sohBps > _FULL_BPS) revert BatteryServicesInvalidValue(passportId);
    }
}
