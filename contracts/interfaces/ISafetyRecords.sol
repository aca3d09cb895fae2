// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title ISafetyRecords
 * @notice Safety inspections and incidents of used batteries (Korea's pre- and post-distribution
 * safety inspections; EU 2023/1542 Annex XIII negative events). Each inspection and incident is a new
 * signed passport version whose manifest holds the full document; on-chain only the facts that gate
 * custody and reuse are kept: until when a passed pre-distribution inspection is valid, and whether a
 * serious incident has flagged the battery.
 */
interface ISafetyRecords {
    /// @notice What an inspection is for.
    enum InspectionKind {
        PreDistribution,
        PostDistribution,
        Clearance
    }

    /// @notice A passport's safety state: a passed pre-distribution inspection's expiry, and the flag.
    struct SafetyState {
        uint48 distributionValidUntil;
        bool flagged;
    }

    /// @notice A used battery may pass to `to` (not a recycler) only with a valid passed pre-distribution inspection.
    error SafetyRecordsInspectionRequired(bytes32 passportId, address to);
    /// @notice A serious incident flagged the battery: no reuse or distribution until a passed clearance.
    error SafetyRecordsPassportFlagged(bytes32 passportId);
    /// @notice A passed inspection must be valid until a time after the current block.
    error SafetyRecordsInvalidValidity(bytes32 passportId, uint48 validUntil);

    /**
     * @notice Emitted when an inspector records an inspection as a new passport version.
     * @param passportId The passport.
     * @param inspector Who recorded it.
     * @param kind What the inspection was for.
     * @param passed Whether the battery passed.
     * @param validUntil Unix time the result is valid until (0 when failed).
     * @param version The new version number.
     * @param manifestDigest Digest of the new manifest (it holds the inspection document).
     */
    event InspectionRecorded(
        bytes32 indexed passportId,
        address indexed inspector,
        InspectionKind kind,
        bool passed,
        uint48 validUntil,
        uint32 version,
        bytes32 manifestDigest
    );

    /**
     * @notice Emitted when an incident (negative event) is recorded as a new passport version.
     * @param passportId The passport.
     * @param reporter The custodian or inspector who wrote it.
     * @param serious Whether it flagged the battery.
     * @param version The new version number.
     * @param manifestDigest Digest of the new manifest (it holds the negative event).
     */
    event IncidentRecorded(
        bytes32 indexed passportId, address indexed reporter, bool serious, uint32 version, bytes32 manifestDigest
    );

    /**
     * @notice Record a safety inspection as the passport's next version (INSPECTOR_ROLE). A passed
     * pre-distribution inspection clears the battery for distribution until `validUntil`, a failed one
     * withdraws any earlier clearance; a passed clearance inspection lifts the incident flag.
     * @param passportId The passport.
     * @param kind What the inspection was for.
     * @param passed Whether the battery passed.
     * @param validUntil Unix time a passed result is valid until (after the current block; ignored when failed).
     * @param manifestDigest Digest of the new manifest.
     * @param signature Sender's EIP-712 signature of the new PassportVersion.
     */
    function recordInspection(
        bytes32 passportId,
        InspectionKind kind,
        bool passed,
        uint48 validUntil,
        bytes32 manifestDigest,
        bytes calldata signature
    ) external;

    /**
     * @notice Record an incident as the passport's next version (custodian or INSPECTOR_ROLE); a serious
     * one flags the battery and withdraws its distribution clearance.
     * @param passportId The passport.
     * @param serious Whether the incident flags the battery.
     * @param manifestDigest Digest of the new manifest.
     * @param signature Sender's EIP-712 signature of the new PassportVersion.
     */
    function recordIncident(bytes32 passportId, bool serious, bytes32 manifestDigest, bytes calldata signature)
        external;

    /**
     * @notice A passport's safety state (all zero when nothing was recorded).
     * @param passportId The passport.
     * @return state Its distribution clearance and flag.
     */
    function getSafetyState(bytes32 passportId) external view returns (SafetyState memory state);
}
