// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title IBatteryPassportRegistry
 * @notice Battery passports (EU 2023/1542 Annex XIII): per passport only hashes and public lifecycle
 * facts live on-chain — the hashed battery id, issuer, custodian, status, and the manifest digest of every
 * version, each signed (EIP-712) by the account that wrote it. Custody moves in two steps, and
 * repurposing or remanufacturing issues a successor passport that closes its predecessor.
 */
interface IBatteryPassportRegistry {
    /// @notice Battery status per Annex XIII / DIN DKE SPEC 99100.
    enum LifecycleStatus {
        Original,
        Repurposed,
        ReUsed,
        Remanufactured,
        Waste,
        Recycled
    }

    /// @notice A passport's current on-chain state.
    struct Passport {
        bytes32 batteryIdHash;
        bytes32 manifestDigest;
        bytes32 predecessor;
        bytes32 successor;
        address issuer;
        uint32 version;
        LifecycleStatus status;
        uint48 createdAt;
        address custodian;
        uint48 updatedAt;
    }

    /// @notice A pending custody transfer of a passport to `to`, valid until `expiresAt`.
    struct CustodyOffer {
        address to;
        uint64 expiresAt;
    }

    /// @notice One passport of an `issuePassports` batch: what `issuePassport` takes, as a struct.
    struct PassportIssue {
        bytes32 passportId;
        bytes32 batteryIdHash;
        bytes32 manifestDigest;
        bytes signature;
    }

    /// @notice The passport id (or battery id hash, manifest digest) was zero.
    error BatteryPassportRegistryInvalidValue(bytes32 passportId);
    /// @notice No passport `passportId` exists.
    error BatteryPassportRegistryUnknownPassport(bytes32 passportId);
    /// @notice A passport `passportId` already exists.
    error BatteryPassportRegistryPassportExists(bytes32 passportId);
    /// @notice The passport is superseded or recycled and accepts no further writes.
    error BatteryPassportRegistryPassportClosed(bytes32 passportId);
    /// @notice An `issuePassports` batch held no passport.
    error BatteryPassportRegistryEmptyBatch();
    /// @notice Version `version` of the passport was never recorded.
    error BatteryPassportRegistryUnknownVersion(bytes32 passportId, uint32 version);
    /// @notice `account` is not the passport's custodian.
    error BatteryPassportRegistryNotCustodian(bytes32 passportId, address account);
    /// @notice `account` is neither the passport's issuer, its custodian, nor an inspector.
    error BatteryPassportRegistryUnauthorizedWriter(bytes32 passportId, address account);
    /// @notice The lifecycle does not allow moving from `from` to `to`.
    error BatteryPassportRegistryInvalidTransition(bytes32 passportId, LifecycleStatus from, LifecycleStatus to);
    /// @notice The version's EIP-712 signature recovers to `recovered`, not to the sender `expected`.
    error BatteryPassportRegistryInvalidSignature(address expected, address recovered);
    /// @notice The passport already has a pending custody offer to `to`.
    error BatteryPassportRegistryCustodyOfferPending(bytes32 passportId, address to);
    /// @notice The passport has no pending custody offer.
    error BatteryPassportRegistryNoCustodyOffer(bytes32 passportId);
    /// @notice `account` is not the recipient of the passport's pending custody offer.
    error BatteryPassportRegistryNotOfferee(bytes32 passportId, address account);
    /// @notice The custody offer expired at `expiresAt`.
    error BatteryPassportRegistryCustodyOfferExpired(bytes32 passportId, uint64 expiresAt);
    /// @notice A custody offer needs a recipient other than the custodian and an expiry in the future.
    error BatteryPassportRegistryInvalidCustodyOffer(bytes32 passportId, address to, uint64 expiresAt);

    /**
     * @notice Emitted when a passport is issued (version 1); `predecessor` is set for a successor passport.
     * @param passportId The new passport.
     * @param batteryIdHash Hash of the battery's identifier.
     * @param issuer Issuer and first custodian.
     * @param status Its initial status.
     * @param manifestDigest Digest of the version-1 manifest.
     * @param predecessor The passport it succeeds, or zero.
     */
    event PassportIssued(
        bytes32 indexed passportId,
        bytes32 indexed batteryIdHash,
        address indexed issuer,
        LifecycleStatus status,
        bytes32 manifestDigest,
        bytes32 predecessor
    );

    /**
     * @notice Emitted when a passport gets a new version with the same status.
     * @param passportId The passport.
     * @param writer Issuer, custodian or inspector who wrote it.
     * @param version The new version number.
     * @param manifestDigest Digest of the new manifest.
     */
    event PassportUpdated(bytes32 indexed passportId, address indexed writer, uint32 version, bytes32 manifestDigest);

    /**
     * @notice Emitted when a passport's status changes (reuse, or declared waste) in a new version.
     * @param passportId The passport.
     * @param custodian Who changed it.
     * @param from The previous status.
     * @param to The new status.
     * @param version The new version number.
     * @param manifestDigest Digest of the new manifest.
     */
    event PassportStatusChanged(
        bytes32 indexed passportId,
        address indexed custodian,
        LifecycleStatus from,
        LifecycleStatus to,
        uint32 version,
        bytes32 manifestDigest
    );

    /**
     * @notice Emitted when a passport is closed by a repurposed or remanufactured successor.
     * @param passportId The closed predecessor.
     * @param successorId The successor passport.
     * @param custodian The repurposer who issued the successor.
     */
    event PassportSuperseded(bytes32 indexed passportId, bytes32 indexed successorId, address indexed custodian);

    /**
     * @notice Emitted when a waste battery's passport ends as recycled (its last version).
     * @param passportId The passport.
     * @param recycler Who recycled it.
     * @param version The final version number.
     * @param manifestDigest Digest of the final manifest.
     */
    event PassportRecycled(bytes32 indexed passportId, address indexed recycler, uint32 version, bytes32 manifestDigest);

    /**
     * @notice Emitted when the custodian offers custody to `to` until `expiresAt`.
     * @param passportId The passport.
     * @param from The current custodian.
     * @param to The offered business.
     * @param expiresAt Unix time after which the offer cannot be accepted.
     */
    event CustodyOffered(bytes32 indexed passportId, address indexed from, address indexed to, uint64 expiresAt);

    /**
     * @notice Emitted when a pending custody offer is withdrawn (by the custodian, or as the passport closes).
     * @param passportId The passport.
     * @param from The custodian.
     * @param to The business that had been offered custody.
     */
    event CustodyOfferCancelled(bytes32 indexed passportId, address indexed from, address indexed to);

    /**
     * @notice Emitted when custody passes from `from` to `to` (an accepted offer).
     * @param passportId The passport.
     * @param from The previous custodian.
     * @param to The new custodian.
     */
    event CustodyTransferred(bytes32 indexed passportId, address indexed from, address indexed to);

    /**
     * @notice Issue a passport (ISSUER_ROLE); the sender becomes its issuer and custodian, version 1, Original.
     * @param passportId New passport id (non-zero, unused).
     * @param batteryIdHash Hash of the battery id.
     * @param manifestDigest Digest of the version-1 manifest.
     * @param signature Sender's EIP-712 signature of the PassportVersion being written.
     */
    function issuePassport(bytes32 passportId, bytes32 batteryIdHash, bytes32 manifestDigest, bytes calldata signature)
        external;

    /**
     * @notice Issue several passports in one transaction (ISSUER_ROLE), each exactly as `issuePassport`
     * would: its own EIP-712 signature by the sender and its own `PassportIssued` event, in order.
     * @dev All or nothing: the first invalid entry reverts the whole batch with that entry's error.
     * @param passports The passports to issue (at least one).
     */
    function issuePassports(PassportIssue[] calldata passports) external;

    /**
     * @notice Record a new version with the same status (issuer, custodian, or INSPECTOR_ROLE).
     * @param passportId The passport.
     * @param manifestDigest Digest of the new manifest.
     * @param signature Sender's EIP-712 signature of the new PassportVersion.
     */
    function updatePassport(bytes32 passportId, bytes32 manifestDigest, bytes calldata signature) external;

    /**
     * @notice Change status (custodian): Original to ReUsed (not while flagged by a serious incident), or
     * Original/ReUsed/Repurposed/Remanufactured to Waste.
     * @param passportId The passport.
     * @param newStatus ReUsed or Waste.
     * @param manifestDigest Digest of the new manifest.
     * @param signature Sender's EIP-712 signature of the new PassportVersion.
     */
    function changeStatus(
        bytes32 passportId,
        LifecycleStatus newStatus,
        bytes32 manifestDigest,
        bytes calldata signature
    ) external;

    /**
     * @notice Issue a Repurposed or Remanufactured successor (REPURPOSER_ROLE and predecessor's custodian,
     * not while the predecessor is flagged by a serious incident); the predecessor is closed.
     * @param predecessorId The passport being succeeded.
     * @param passportId The new passport id.
     * @param batteryIdHash Hash of the (re)built battery's id.
     * @param status Repurposed or Remanufactured.
     * @param manifestDigest Digest of the successor's version-1 manifest.
     * @param signature Sender's EIP-712 signature of the successor's version 1 (with `predecessor` set).
     */
    function issueSuccessor(
        bytes32 predecessorId,
        bytes32 passportId,
        bytes32 batteryIdHash,
        LifecycleStatus status,
        bytes32 manifestDigest,
        bytes calldata signature
    ) external;

    /**
     * @notice Record a Waste battery as Recycled (RECYCLER_ROLE and custodian); no further writes.
     * @param passportId The passport.
     * @param manifestDigest Digest of the final manifest.
     * @param signature Sender's EIP-712 signature of the final PassportVersion.
     */
    function recycle(bytes32 passportId, bytes32 manifestDigest, bytes calldata signature) external;

    /**
     * @notice Offer custody to a registered active business (custodian only); see ISafetyRecords for when
     * a used or flagged battery may be offered.
     * @param passportId The passport.
     * @param to The business.
     * @param expiresAt Unix time after which the offer lapses.
     */
    function offerCustody(bytes32 passportId, address to, uint64 expiresAt) external;

    /**
     * @notice Accept a pending custody offer (its recipient, while registered, active and before expiry,
     * and while the ISafetyRecords distribution rules still hold).
     * @param passportId The passport.
     */
    function acceptCustody(bytes32 passportId) external;

    /**
     * @notice Withdraw the pending custody offer (custodian only).
     * @param passportId The passport.
     */
    function cancelCustodyOffer(bytes32 passportId) external;

    /**
     * @notice Emitted when the admin sets (or clears, with zero) the battery-services contract.
     * @param services The contract asked for the legal owner's consent, or zero.
     */
    event ServicesSet(address indexed services);

    /**
     * @notice Set the battery-services contract (default admin only): from then on custody offers and
     * acceptances, successor issues and recycling ask it for the legal owner's consent; zero turns it off.
     * @param services_ The `IOwnerConsent` contract, or zero.
     */
    function setServices(address services_) external;

    /**
     * @notice The battery-services contract asked for owner consent (zero when none is set).
     * @return The contract's address.
     */
    function services() external view returns (address);

    /**
     * @notice A passport's current state (reverts for unknown passports).
     * @param passportId The passport.
     * @return passport Its state.
     */
    function getPassport(bytes32 passportId) external view returns (Passport memory passport);

    /**
     * @notice Whether `passportId` exists.
     * @param passportId The passport.
     * @return True when issued.
     */
    function passportExists(bytes32 passportId) external view returns (bool);

    /**
     * @notice The manifest digest recorded for a version (1-based).
     * @param passportId The passport.
     * @param version The version number.
     * @return The manifest digest of that version.
     */
    function versionDigest(bytes32 passportId, uint32 version) external view returns (bytes32);

    /**
     * @notice The pending custody offer (zero `to` when none).
     * @param passportId The passport.
     * @return offer The offer.
     */
    function getCustodyOffer(bytes32 passportId) external view returns (CustodyOffer memory offer);

    /**
     * @notice The EIP-712 digest of a PassportVersion under this registry's domain.
     * @param passportId The passport.
     * @param batteryIdHash Hash of the battery id.
     * @param version Version number.
     * @param status Status of that version.
     * @param manifestDigest Manifest digest of that version.
     * @param predecessor Predecessor passport, or zero.
     * @return The typed-data digest that is signed.
     */
    function hashPassportVersion(
        bytes32 passportId,
        bytes32 batteryIdHash,
        uint32 version,
        LifecycleStatus status,
        bytes32 manifestDigest,
        bytes32 predecessor
    ) external view returns (bytes32);

    /**
     * @notice Recover the signer of a PassportVersion signature (reverts on malformed signatures).
     * @param passportId The passport.
     * @param batteryIdHash Hash of the battery id.
     * @param version Version number.
     * @param status Status of that version.
     * @param manifestDigest Manifest digest of that version.
     * @param predecessor Predecessor passport, or zero.
     * @param signature 65-byte r || s || v signature.
     * @return The recovered signer.
     */
    function recoverVersionSigner(
        bytes32 passportId,
        bytes32 batteryIdHash,
        uint32 version,
        LifecycleStatus status,
        bytes32 manifestDigest,
        bytes32 predecessor,
        bytes calldata signature
    ) external view returns (address);
}
