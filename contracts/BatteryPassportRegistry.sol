// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {BatterySales} from "./BatterySales.sol";
import {BusinessRegistry} from "./BusinessRegistry.sol";
import {DataAnchors} from "./DataAnchors.sol";
import {IBatteryPassportRegistry} from "./interfaces/IBatteryPassportRegistry.sol";
import {IOwnerConsent} from "./interfaces/IOwnerConsent.sol";
import {SafetyRecords} from "./SafetyRecords.sol";

/**
 * @title BatteryPassportRegistry
 * @notice The battery passport ledger: passports and their signed versions, two-step custody,
 * registered businesses, anchored telemetry roots, and safety inspections and incidents. Only digests, roots and public lifecycle facts
 * are stored; documents live off-chain under the recorded digests.
 * @dev Every passport write carries an EIP-712 `PassportVersion` signature that must recover to the
 * sender, so a version's digest is attributable offline (with the same typed data) as well as on-chain.
 */
contract BatteryPassportRegistry is
    IBatteryPassportRegistry,
    BusinessRegistry,
    BatterySales,
    DataAnchors,
    SafetyRecords,
    AccessControlDefaultAdminRules,
    EIP712
{
    /// @notice Role allowed to anchor telemetry batch roots (the data oracle).
    bytes32 public constant ORACLE_ROLE = keccak256("ORACLE_ROLE");
    /// @notice Role allowed to issue passports (battery manufacturers / placers on the market).
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");
    /// @notice Role allowed to write performance-evaluation, inspection and incident versions of any passport.
    bytes32 public constant INSPECTOR_ROLE = keccak256("INSPECTOR_ROLE");
    /// @notice Role allowed to issue repurposed or remanufactured successor passports.
    bytes32 public constant REPURPOSER_ROLE = keccak256("REPURPOSER_ROLE");
    /// @notice Role allowed to record recycling.
    bytes32 public constant RECYCLER_ROLE = keccak256("RECYCLER_ROLE");
    /// @notice Role of market-surveillance auditors (read access off-chain; no on-chain writes).
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");

    /// @notice The EIP-712 type hash of the signed passport version.
    bytes32 public constant PASSPORT_VERSION_TYPEHASH = keccak256(
        "PassportVersion(bytes32 passportId,bytes32 batteryIdHash,uint32 version,uint8 status,"
        "bytes32 manifestDigest,bytes32 predecessor)"
    );

    mapping(bytes32 passportId => Passport) private _passports;
    mapping(bytes32 passportId => mapping(uint32 version => bytes32 manifestDigest)) private _versionDigests;
    mapping(bytes32 passportId => CustodyOffer) private _offers;
    /// @dev The battery-services contract asked for the legal owner's consent (zero: no owners recorded).
    IOwnerConsent private _services;

    /**
     * @param initialDelay Delay (seconds) before a default-admin transfer can be accepted.
     * @param initialAdmin The first default admin.
     */
    constructor(uint48 initialDelay, address initialAdmin)
        AccessControlDefaultAdminRules(initialDelay, initialAdmin)
        EIP712("BatteryPassportRegistry", "1")
    {}

    // -- passports ---------------------------------------------------------------------------------

    /// @inheritdoc IBatteryPassportRegistry
    function issuePassport(bytes32 passportId, bytes32 batteryIdHash, bytes32 manifestDigest, bytes calldata signature)
        external
        onlyRole(ISSUER_ROLE)
    {
        _create(passportId, batteryIdHash, LifecycleStatus.Original, manifestDigest, bytes32(0), signature);
    }

    /// @inheritdoc IBatteryPassportRegistry
    function issuePassports(PassportIssue[] calldata passports) external onlyRole(ISSUER_ROLE) {
        uint256 count = passports.length;
        if (count == 0) revert BatteryPassportRegistryEmptyBatch();
        for (uint256 i; i < count; ++i) {
            PassportIssue calldata entry = passports[i];
            _create(
                entry.passportId,
                entry.batteryIdHash,
                LifecycleStatus.Original,
                entry.manifestDigest,
                bytes32(0),
                entry.signature
            );
        }
    }

    /// @inheritdoc IBatteryPassportRegistry
    function updatePassport(bytes32 passportId, bytes32 manifestDigest, bytes calldata signature) external {
        Passport storage passport = _writable(passportId);
        if (
            msg.sender != passport.custodian && msg.sender != passport.issuer
                && !hasRole(INSPECTOR_ROLE, msg.sender)
        ) revert BatteryPassportRegistryUnauthorizedWriter(passportId, msg.sender);
        uint32 version = _recordVersion(passportId, passport, passport.status, manifestDigest, signature);
        emit PassportUpdated(passportId, msg.sender, version, manifestDigest);
    }

    /// @inheritdoc IBatteryPassportRegistry
    function changeStatus(
        bytes32 passportId,
        LifecycleStatus newStatus,
        bytes32 manifestDigest,
        bytes calldata signature
    ) external {
        Passport storage passport = _writableByCustodian(passportId);
        LifecycleStatus from = passport.status;
        bool allowed = (newStatus == LifecycleStatus.ReUsed && from == LifecycleStatus.Original)
            || (newStatus == LifecycleStatus.Waste && from != LifecycleStatus.Waste);
        if (!allowed) revert BatteryPassportRegistryInvalidTransition(passportId, from, newStatus);
        if (newStatus == LifecycleStatus.ReUsed) _requireNotFlagged(passportId);
        uint32 version = _recordVersion(passportId, passport, newStatus, manifestDigest, signature);
        emit PassportStatusChanged(passportId, msg.sender, from, newStatus, version, manifestDigest);
    }

    /// @inheritdoc IBatteryPassportRegistry
    function issueSuccessor(
        bytes32 predecessorId,
        bytes32 passportId,
        bytes32 batteryIdHash,
        LifecycleStatus status,
        bytes32 manifestDigest,
        bytes calldata signature
    ) external onlyRole(REPURPOSER_ROLE) {
        Passport storage predecessor = _writableByCustodian(predecessorId);
        if (status != LifecycleStatus.Repurposed && status != LifecycleStatus.Remanufactured) {
            revert BatteryPassportRegistryInvalidTransition(predecessorId, predecessor.status, status);
        }
        _requireNotFlagged(predecessorId);
        _requireConsent(predecessorId, IOwnerConsent.ConsentAction.Repurpose, msg.sender);
        _create(passportId, batteryIdHash, status, manifestDigest, predecessorId, signature);
        predecessor.successor = passportId;
        predecessor.updatedAt = uint48(block.timestamp);
        emit PassportSuperseded(predecessorId, passportId, msg.sender);
        _dropOffer(predecessorId);
    }

    /// @inheritdoc IBatteryPassportRegistry
    function recycle(bytes32 passportId, bytes32 manifestDigest, bytes calldata signature)
        external
        onlyRole(RECYCLER_ROLE)
    {
        Passport storage passport = _writableByCustodian(passportId);
        if (passport.status != LifecycleStatus.Waste) {
            revert BatteryPassportRegistryInvalidTransition(passportId, passport.status, LifecycleStatus.Recycled);
        }
        _requireConsent(passportId, IOwnerConsent.ConsentAction.Recycle, msg.sender);
        uint32 version = _recordVersion(passportId, passport, LifecycleStatus.Recycled, manifestDigest, signature);
        emit PassportRecycled(passportId, msg.sender, version, manifestDigest);
        _dropOffer(passportId);
    }

    // -- custody -------------------------------------------------------------------------------------

    /// @inheritdoc IBatteryPassportRegistry
    function offerCustody(bytes32 passportId, address to, uint64 expiresAt) external {
        _requireNoOpenSale(passportId);
        _offer(passportId, to, expiresAt);
    }

    /// @dev Offer custody from the sender (the custodian) to `to`, an active business.
    function _offer(bytes32 passportId, address to, uint64 expiresAt) private {
        _writableByCustodian(passportId);
        if (to == address(0) || to == msg.sender || expiresAt <= block.timestamp) {
            revert BatteryPassportRegistryInvalidCustodyOffer(passportId, to, expiresAt);
        }
        address pending = _offers[passportId].to;
        if (pending != address(0)) revert BatteryPassportRegistryCustodyOfferPending(passportId, pending);
        _requireActiveBusiness(to);
        _requireDistributionInspection(passportId, to);
        _requireConsent(passportId, IOwnerConsent.ConsentAction.Transfer, to);
        _offers[passportId] = CustodyOffer(to, expiresAt);
        emit CustodyOffered(passportId, msg.sender, to, expiresAt);
    }

    /// @inheritdoc IBatteryPassportRegistry
    function acceptCustody(bytes32 passportId) external {
        Passport storage passport = _writable(passportId);
        CustodyOffer memory offer = _offers[passportId];
        if (offer.to == address(0)) revert BatteryPassportRegistryNoCustodyOffer(passportId);
        if (offer.to != msg.sender) revert BatteryPassportRegistryNotOfferee(passportId, msg.sender);
        if (block.timestamp > offer.expiresAt) {
            revert BatteryPassportRegistryCustodyOfferExpired(passportId, offer.expiresAt);
        }
        _requireActiveBusiness(msg.sender);
        _requireDistributionInspection(passportId, msg.sender);
        _requireConsent(passportId, IOwnerConsent.ConsentAction.Transfer, msg.sender);
        address from = passport.custodian;
        passport.custodian = msg.sender;
        passport.updatedAt = uint48(block.timestamp);
        delete _offers[passportId];
        emit CustodyTransferred(passportId, from, msg.sender);
        _completeSale(passportId);
    }

    /// @inheritdoc IBatteryPassportRegistry
    function cancelCustodyOffer(bytes32 passportId) external {
        _writableByCustodian(passportId);
        if (_offers[passportId].to == address(0)) revert BatteryPassportRegistryNoCustodyOffer(passportId);
        _dropOffer(passportId);
    }

    // -- battery services ----------------------------------------------------------------------------

    /// @inheritdoc IBatteryPassportRegistry
    function setServices(address services_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _services = IOwnerConsent(services_);
        emit ServicesSet(services_);
    }

    /// @inheritdoc IBatteryPassportRegistry
    function services() external view returns (address) {
        return address(_services);
    }

    // -- views ---------------------------------------------------------------------------------------

    /// @inheritdoc IBatteryPassportRegistry
    function getPassport(bytes32 passportId) external view returns (Passport memory) {
        return _existing(passportId);
    }

    /// @inheritdoc IBatteryPassportRegistry
    function passportExists(bytes32 passportId) external view returns (bool) {
        return _passports[passportId].version != 0;
    }

    /// @inheritdoc IBatteryPassportRegistry
    function versionDigest(bytes32 passportId, uint32 version) external view returns (bytes32) {
        Passport storage passport = _existing(passportId);
        if (version == 0 || version > passport.version) {
            revert BatteryPassportRegistryUnknownVersion(passportId, version);
        }
        return _versionDigests[passportId][version];
    }

    /// @inheritdoc IBatteryPassportRegistry
    function getCustodyOffer(bytes32 passportId) external view returns (CustodyOffer memory) {
        return _offers[passportId];
    }

    /// @inheritdoc IBatteryPassportRegistry
    function hashPassportVersion(
        bytes32 passportId,
        bytes32 batteryIdHash,
        uint32 version,
        LifecycleStatus status,
        bytes32 manifestDigest,
        bytes32 predecessor
    ) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    PASSPORT_VERSION_TYPEHASH, passportId, batteryIdHash, version, status, manifestDigest, predecessor
                )
            )
        );
    }

    /// @inheritdoc IBatteryPassportRegistry
    function recoverVersionSigner(
        bytes32 passportId,
        bytes32 batteryIdHash,
        uint32 version,
        LifecycleStatus status,
        bytes32 manifestDigest,
        bytes32 predecessor,
        bytes calldata signature
    ) external view returns (address) {
        return ECDSA.recover(
            hashPassportVersion(passportId, batteryIdHash, version, status, manifestDigest, predecessor), signature
        );
    }

    // -- internals -----------------------------------------------------------------------------------

    /// @dev Store a new passport at version 1 with the sender as issuer and custodian.
    function _create(
        bytes32 passportId,
        bytes32 batteryIdHash,
        LifecycleStatus status,
        bytes32 manifestDigest,
        bytes32 predecessorId,
        bytes calldata signature
    ) private {
        if (passportId == bytes32(0) || batteryIdHash == bytes32(0) || manifestDigest == bytes32(0)) {
            revert BatteryPassportRegistryInvalidValue(passportId);
        }
        Passport storage passport = _passports[passportId];
        if (passport.version != 0) revert BatteryPassportRegistryPassportExists(passportId);
        _requireSigner(
            hashPassportVersion(passportId, batteryIdHash, 1, status, manifestDigest, predecessorId), signature
        );
        passport.batteryIdHash = batteryIdHash;
        passport.manifestDigest = manifestDigest;
        passport.predecessor = predecessorId;
        passport.issuer = msg.sender;
        passport.version = 1;
        passport.status = status;
        passport.createdAt = uint48(block.timestamp);
        passport.custodian = msg.sender;
        passport.updatedAt = uint48(block.timestamp);
        _versionDigests[passportId][1] = manifestDigest;
        emit PassportIssued(passportId, batteryIdHash, msg.sender, status, manifestDigest, predecessorId);
    }

    /// @dev Append the next version (signed by the sender) with `status` and `manifestDigest`.
    function _recordVersion(
        bytes32 passportId,
        Passport storage passport,
        LifecycleStatus status,
        bytes32 manifestDigest,
        bytes calldata signature
    ) private returns (uint32 version) {
        if (manifestDigest == bytes32(0)) revert BatteryPassportRegistryInvalidValue(passportId);
        version = passport.version + 1;
        _requireSigner(
            hashPassportVersion(
                passportId, passport.batteryIdHash, version, status, manifestDigest, passport.predecessor
            ),
            signature
        );
        passport.manifestDigest = manifestDigest;
        passport.version = version;
        passport.status = status;
        passport.updatedAt = uint48(block.timestamp);
        _versionDigests[passportId][version] = manifestDigest;
    }

    /// @dev Ask the services contract (if set) whether the legal owner lets the custodian do `action`.
    function _requireConsent(bytes32 passportId, IOwnerConsent.ConsentAction action, address counterparty)
        private
        view
    {
        IOwnerConsent services_ = _services;
        if (address(services_) != address(0)) {
            services_.requireConsent(passportId, action, _passports[passportId].custodian, counterparty);
        }
    }

    /// @dev Reverts unless `signature` over `digest` recovers to the sender.
    function _requireSigner(bytes32 digest, bytes calldata signature) private view {
        // The third value (the bad length or `s` that failed) only details `error`, which is checked
        // below and answered with our own error, so it is dropped on purpose.
        // slither-disable-next-line unused-return
        (address recovered, ECDSA.RecoverError error,) = ECDSA.tryRecover(digest, signature);
        if (error != ECDSA.RecoverError.NoError || recovered != msg.sender) {
            revert BatteryPassportRegistryInvalidSignature(msg.sender, recovered);
        }
    }

    /// @dev Withdraw a pending custody offer, if any (the custodian cancels, or the passport closes).
    function _dropOffer(bytes32 passportId) private {
        _requireNoOpenSale(passportId);
        address to = _offers[passportId].to;
        if (to == address(0)) return;
        delete _offers[passportId];
        emit CustodyOfferCancelled(passportId, _passports[passportId].custodian, to);
    }

    function _existing(bytes32 passportId) private view returns (Passport storage passport) {
        passport = _passports[passportId];
        if (passport.version == 0) revert BatteryPassportRegistryUnknownPassport(passportId);
    }

    /// @dev An existing passport that is neither superseded nor recycled.
    function _writable(bytes32 passportId) private view returns (Passport storage passport) {
        passport = _existing(passportId);
        if (passport.successor != bytes32(0) || passport.status == LifecycleStatus.Recycled) {
            revert BatteryPassportRegistryPassportClosed(passportId);
        }
    }

    function _writableByCustodian(bytes32 passportId) private view returns (Passport storage passport) {
        passport = _writable(passportId);
        if (passport.custodian != msg.sender) revert BatteryPassportRegistryNotCustodian(passportId, msg.sender);
    }

    /// @dev Inspection and incident versions keep the status; see SafetyRecords for who may write them.
    function _writeSafetyVersion(
        bytes32 passportId,
        bool custodianMayWrite,
        bytes32 manifestDigest,
        bytes calldata signature
    ) internal override returns (uint32 version) {
        Passport storage passport = _writable(passportId);
        if (!custodianMayWrite) _checkRole(INSPECTOR_ROLE);
        else if (msg.sender != passport.custodian && !hasRole(INSPECTOR_ROLE, msg.sender)) {
            revert BatteryPassportRegistryUnauthorizedWriter(passportId, msg.sender);
        }
        version = _recordVersion(passportId, passport, passport.status, manifestDigest, signature);
        emit PassportUpdated(passportId, msg.sender, version, manifestDigest);
    }

    /// @dev Any status but Original is a used battery.
    function _isUsedBattery(bytes32 passportId) internal view override returns (bool) {
        return _passports[passportId].status != LifecycleStatus.Original;
    }

    /// @dev The default admin administers the business register.
    function _authorizeBusinessAdmin() internal view override {
        _checkRole(DEFAULT_ADMIN_ROLE);
    }

    /// @dev A sale's custody offer: the seller must itself be an active business.
    function _offerSaleCustody(bytes32 passportId, address buyer, uint64 expiresAt) internal override {
        _requireActiveBusiness(msg.sender);
        _offer(passportId, buyer, expiresAt);
    }

    /// @dev Called by `cancelSale` once the sale is closed, so `_dropOffer` lets the offer go.
    function _withdrawSaleCustody(bytes32 passportId) internal override {
        _dropOffer(passportId);
    }

    /// @dev The default admin records dispute outcomes.
    function _authorizeSaleAdmin() internal view override {
        _checkRole(DEFAULT_ADMIN_ROLE);
    }

    /// @dev Oracles anchor batches.
    function _authorizeAnchor() internal view override {
        _checkRole(ORACLE_ROLE);
    }
}
