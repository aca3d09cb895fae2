// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {BusinessRegistry} from "./BusinessRegistry.sol";
import {ISafetyRecords} from "./interfaces/ISafetyRecords.sol";

/**
 * @title SafetyRecords
 * @notice Inspections and incidents of used batteries, and the rules they enforce on custody and reuse.
 * @dev The deriving contract writes the passport version (`_writeSafetyVersion`), says whether a
 * passport's battery is used (`_isUsedBattery`), and calls `_requireDistributionInspection` on every
 * custody offer and acceptance and `_requireNotFlagged` before reuse.
 */
abstract contract SafetyRecords is ISafetyRecords, BusinessRegistry {
    /// @dev The recycler bit of a business's kinds (see IBusinessRegistry).
    uint8 private constant _RECYCLER = 16;

    mapping(bytes32 passportId => SafetyState) private _safety;

    /// @inheritdoc ISafetyRecords
    function recordInspection(
        bytes32 passportId,
        InspectionKind kind,
        bool passed,
        uint48 validUntil,
        bytes32 manifestDigest,
        bytes calldata signature
    ) external {
        if (!passed) validUntil = 0;
        else if (validUntil <= block.timestamp) revert SafetyRecordsInvalidValidity(passportId, validUntil);
        uint32 version = _writeSafetyVersion(passportId, false, manifestDigest, signature);
        SafetyState storage state = _safety[passportId];
        if (kind == InspectionKind.PreDistribution) state.distributionValidUntil = validUntil;
        else if (kind == InspectionKind.Clearance && passed) state.flagged = false;
        emit InspectionRecorded(passportId, msg.sender, kind, passed, validUntil, version, manifestDigest);
    }

    /// @inheritdoc ISafetyRecords
    function recordIncident(bytes32 passportId, bool serious, bytes32 manifestDigest, bytes calldata signature)
        external
    {
        uint32 version = _writeSafetyVersion(passportId, true, manifestDigest, signature);
        if (serious) _safety[passportId] = SafetyState(0, true);
        emit IncidentRecorded(passportId, msg.sender, serious, version, manifestDigest);
    }

    /// @inheritdoc ISafetyRecords
    function getSafetyState(bytes32 passportId) external view returns (SafetyState memory) {
        return _safety[passportId];
    }

    /// @dev Reverts unless custody of the passport's battery may pass to `to` now: a recycler may
    /// always take it; anyone else only when it is not flagged and, for a used battery, when a passed
    /// pre-distribution inspection is still valid.
    function _requireDistributionInspection(bytes32 passportId, address to) internal view {
        if (_hasBusinessKind(to, _RECYCLER)) return;
        SafetyState memory state = _safety[passportId];
        if (state.flagged) revert SafetyRecordsPassportFlagged(passportId);
        if (_isUsedBattery(passportId) && state.distributionValidUntil < block.timestamp) {
            revert SafetyRecordsInspectionRequired(passportId, to);
        }
    }

    /// @dev Reverts while a serious incident's flag is open.
    function _requireNotFlagged(bytes32 passportId) internal view {
        if (_safety[passportId].flagged) revert SafetyRecordsPassportFlagged(passportId);
    }

    /// @dev Append the passport's next version (same status) signed by the sender and return its number;
    /// inspectors may always write, the custodian only when `custodianMayWrite`.
    function _writeSafetyVersion(
        bytes32 passportId,
        bool custodianMayWrite,
        bytes32 manifestDigest,
        bytes calldata signature
    ) internal virtual returns (uint32 version);

    /// @dev Whether the passport's battery is used (any status but Original).
    function _isUsedBattery(bytes32 passportId) internal view virtual returns (bool);
}
