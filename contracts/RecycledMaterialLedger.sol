// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IBatteryPassportRegistry} from "./interfaces/IBatteryPassportRegistry.sol";
import {IRecycledMaterialLedger} from "./interfaces/IRecycledMaterialLedger.sol";

/**
 * @title RecycledMaterialLedger
 * @notice Production and usage certification of recycled cobalt, lithium, nickel and lead on a
 * mass-balance ledger, beside the battery passport registry it reads feedstock from.
 * @dev What is enforced here, and why: a battery's metal feeds lots only once in total (the double use
 * the ledger exists to prevent); feedstock must be a waste or recycled battery in the recycler's custody
 * (the registry's own lifecycle facts); a lot's recovered metal is capped by the declared metal content of
 * its feedstock times a maximum recovery efficiency per metal. The declared content itself comes from the
 * feedstock passports' material composition, which is off-chain: the certifier checks it against the
 * passports before certifying, and the offline verifier re-checks it. Credits are minted only by a
 * certifier other than the recycler, move only within balances, and are retired exactly once by a usage
 * claim (returned unretired only if a certifier rejects the claim).
 */
contract RecycledMaterialLedger is IRecycledMaterialLedger, AccessControlDefaultAdminRules {
    /// @notice Role allowed to record lots (recycling companies).
    bytes32 public constant RECYCLER_ROLE = keccak256("RECYCLER_ROLE");
    /// @notice Role allowed to certify lots and usage claims (the certification bodies).
    bytes32 public constant CERTIFIER_ROLE = keccak256("CERTIFIER_ROLE");

    uint256 private constant _BPS = 10_000;

    IBatteryPassportRegistry private immutable _registry;

    mapping(bytes32 lotId => Lot) private _lots;
    mapping(bytes32 lotId => bytes32[]) private _feedstock;
    mapping(bytes32 passportId => bytes32 lotId) private _feedstockLot;
    mapping(bytes32 claimId => Claim) private _claims;
    /// @dev Credit class = metal index + 4 if post-consumer.
    mapping(address holder => mapping(uint256 class => uint256 grams)) private _balances;
    mapping(uint256 class => uint256 grams) private _certified;
    mapping(uint256 class => uint256 grams) private _retired;
    uint16[4] private _maxRecovery;

    /**
     * @param registry_ The battery passport registry feedstock passports live in.
     * @param maxRecoveryBps Maximum recovery efficiency per metal (cobalt, lithium, nickel, lead), basis points.
     * @param initialDelay Delay (seconds) before a default-admin transfer can be accepted.
     * @param initialAdmin The first default admin.
     */
    constructor(
        IBatteryPassportRegistry registry_,
        uint16[4] memory maxRecoveryBps,
        uint48 initialDelay,
        address initialAdmin
    ) AccessControlDefaultAdminRules(initialDelay, initialAdmin) {
        _registry = registry_;
        for (uint256 m = 0; m < 4; ++m) {
            _setMaxRecovery(Metal(m), maxRecoveryBps[m]);
        }
    }

    // -- lots ----------------------------------------------------------------------------------------

    /// @inheritdoc IRecycledMaterialLedger
    function recordLot(
        bytes32 lotId,
        bool postConsumer,
        bytes32[] calldata feedstock,
        uint64[4] calldata feedstockGrams,
        uint64[4] calldata recoveredGrams,
        bytes32 documentDigest
    ) external onlyRole(RECYCLER_ROLE) {
        if (lotId == bytes32(0)) revert RecycledMaterialLedgerInvalidValue(lotId);
        if (documentDigest == bytes32(0)) revert RecycledMaterialLedgerInvalidValue(documentDigest);
        if (_lots[lotId].status != LotStatus.None) revert RecycledMaterialLedgerLotExists(lotId);
        if (postConsumer != (feedstock.length > 0)) {
            revert RecycledMaterialLedgerFeedstockMismatch(lotId, postConsumer, feedstock.length);
        }
        bool any = false;
        for (uint256 m = 0; m < 4; ++m) {
            uint256 cap = uint256(feedstockGrams[m]) * _maxRecovery[m] / _BPS;
            if (recoveredGrams[m] > cap) {
                revert RecycledMaterialLedgerRecoveryExceeded(lotId, Metal(m), recoveredGrams[m], cap);
            }
            any = any || recoveredGrams[m] > 0;
        }
        if (!any) revert RecycledMaterialLedgerEmpty(lotId);
        for (uint256 i = 0; i < feedstock.length; ++i) {
            _consume(lotId, feedstock[i]);
        }
        _lots[lotId] = Lot({
            recycler: msg.sender,
            status: LotStatus.Recorded,
            postConsumer: postConsumer,
            recordedAt: uint48(block.timestamp),
            documentDigest: documentDigest,
            certificateDigest: bytes32(0),
            feedstockGrams: feedstockGrams,
            recoveredGrams: recoveredGrams
        });
        _feedstock[lotId] = feedstock;
        emit LotRecorded(lotId, msg.sender, postConsumer, documentDigest, recoveredGrams);
        for (uint256 i = 0; i < feedstock.length; ++i) {
            emit FeedstockConsumed(feedstock[i], lotId);
        }
    }

    /// @inheritdoc IRecycledMaterialLedger
    function certifyLot(bytes32 lotId, bytes32 certificateDigest) external onlyRole(CERTIFIER_ROLE) {
        if (certificateDigest == bytes32(0)) revert RecycledMaterialLedgerInvalidValue(certificateDigest);
        Lot storage lot = _lots[lotId];
        if (lot.status == LotStatus.None) revert RecycledMaterialLedgerUnknownLot(lotId);
        if (lot.status != LotStatus.Recorded) revert RecycledMaterialLedgerLotNotRecorded(lotId, lot.status);
        if (lot.recycler == msg.sender) revert RecycledMaterialLedgerSelfCertification(lotId, msg.sender);
        lot.status = LotStatus.Certified;
        lot.certificateDigest = certificateDigest;
        address recycler = lot.recycler;
        uint256 offset = lot.postConsumer ? 4 : 0;
        for (uint256 m = 0; m < 4; ++m) {
            uint256 grams = lot.recoveredGrams[m];
            if (grams > 0) {
                _balances[recycler][m + offset] += grams;
                _certified[m + offset] += grams;
            }
        }
        emit LotCertified(lotId, msg.sender, recycler, certificateDigest);
    }

    // -- credits -------------------------------------------------------------------------------------

    /// @inheritdoc IRecycledMaterialLedger
    function transferCredits(address to, Metal metal, bool postConsumer, uint256 grams) external {
        if (to == address(0) || to == msg.sender || grams == 0) revert RecycledMaterialLedgerInvalidTransfer(to, grams);
        uint256 class = _class(metal, postConsumer);
        _debit(msg.sender, metal, postConsumer, grams);
        _balances[to][class] += grams;
        emit CreditsTransferred(msg.sender, to, metal, postConsumer, grams);
    }

    // -- usage claims --------------------------------------------------------------------------------

    /// @inheritdoc IRecycledMaterialLedger
    function submitUsageClaim(
        bytes32 claimId,
        bytes32 claimDigest,
        uint64[4] calldata preConsumerGrams,
        uint64[4] calldata postConsumerGrams
    ) external {
        if (claimId == bytes32(0)) revert RecycledMaterialLedgerInvalidValue(claimId);
        if (claimDigest == bytes32(0)) revert RecycledMaterialLedgerInvalidValue(claimDigest);
        if (_claims[claimId].status != ClaimStatus.None) revert RecycledMaterialLedgerClaimExists(claimId);
        bool any = false;
        for (uint256 m = 0; m < 4; ++m) {
            if (preConsumerGrams[m] > 0) {
                _debit(msg.sender, Metal(m), false, preConsumerGrams[m]);
                _retired[m] += preConsumerGrams[m];
                any = true;
            }
            if (postConsumerGrams[m] > 0) {
                _debit(msg.sender, Metal(m), true, postConsumerGrams[m]);
                _retired[m + 4] += postConsumerGrams[m];
                any = true;
            }
        }
        if (!any) revert RecycledMaterialLedgerEmpty(claimId);
        _claims[claimId] = Claim({
            claimant: msg.sender,
            status: ClaimStatus.Submitted,
            submittedAt: uint48(block.timestamp),
            claimDigest: claimDigest,
            certificateDigest: bytes32(0),
            preConsumerGrams: preConsumerGrams,
            postConsumerGrams: postConsumerGrams
        });
        emit UsageClaimSubmitted(claimId, msg.sender, claimDigest, preConsumerGrams, postConsumerGrams);
    }

    /// @inheritdoc IRecycledMaterialLedger
    function certifyUsage(bytes32 claimId, bytes32 certificateDigest) external onlyRole(CERTIFIER_ROLE) {
        if (certificateDigest == bytes32(0)) revert RecycledMaterialLedgerInvalidValue(certificateDigest);
        Claim storage claim = _submitted(claimId);
        claim.status = ClaimStatus.Certified;
        claim.certificateDigest = certificateDigest;
        emit UsageCertified(claimId, msg.sender, certificateDigest);
    }

    /// @inheritdoc IRecycledMaterialLedger
    function rejectUsageClaim(bytes32 claimId, bytes32 reasonDigest) external onlyRole(CERTIFIER_ROLE) {
        if (reasonDigest == bytes32(0)) revert RecycledMaterialLedgerInvalidValue(reasonDigest);
        Claim storage claim = _submitted(claimId);
        claim.status = ClaimStatus.Rejected;
        claim.certificateDigest = reasonDigest;
        address claimant = claim.claimant;
        for (uint256 m = 0; m < 4; ++m) {
            uint256 pre = claim.preConsumerGrams[m];
            uint256 post = claim.postConsumerGrams[m];
            _balances[claimant][m] += pre;
            _retired[m] -= pre;
            _balances[claimant][m + 4] += post;
            _retired[m + 4] -= post;
        }
        emit UsageClaimRejected(claimId, msg.sender, reasonDigest);
    }

    // -- administration ------------------------------------------------------------------------------

    /// @inheritdoc IRecycledMaterialLedger
    function setMaxRecovery(Metal metal, uint16 basisPoints) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setMaxRecovery(metal, basisPoints);
    }

    // -- views ---------------------------------------------------------------------------------------

    /// @inheritdoc IRecycledMaterialLedger
    function registry() external view returns (IBatteryPassportRegistry) {
        return _registry;
    }

    /// @inheritdoc IRecycledMaterialLedger
    function getLot(bytes32 lotId) external view returns (Lot memory) {
        return _lots[lotId];
    }

    /// @inheritdoc IRecycledMaterialLedger
    function lotFeedstock(bytes32 lotId) external view returns (bytes32[] memory) {
        return _feedstock[lotId];
    }

    /// @inheritdoc IRecycledMaterialLedger
    function feedstockLot(bytes32 passportId) external view returns (bytes32) {
        return _feedstockLot[passportId];
    }

    /// @inheritdoc IRecycledMaterialLedger
    function getClaim(bytes32 claimId) external view returns (Claim memory) {
        return _claims[claimId];
    }

    /// @inheritdoc IRecycledMaterialLedger
    function creditBalance(address holder, Metal metal, bool postConsumer) external view returns (uint256) {
        return _balances[holder][_class(metal, postConsumer)];
    }

    /// @inheritdoc IRecycledMaterialLedger
    function creditTotals(Metal metal, bool postConsumer) external view returns (uint256 certified, uint256 retired) {
        uint256 class = _class(metal, postConsumer);
        return (_certified[class], _retired[class]);
    }

    /// @inheritdoc IRecycledMaterialLedger
    function maxRecovery(Metal metal) external view returns (uint16) {
        return _maxRecovery[uint256(metal)];
    }

    // -- internals -----------------------------------------------------------------------------------

    function _consume(bytes32 lotId, bytes32 passportId) private {
        bytes32 used = _feedstockLot[passportId];
        if (used != bytes32(0)) revert RecycledMaterialLedgerFeedstockUsed(passportId, used);
        if (!_registry.passportExists(passportId)) revert RecycledMaterialLedgerUnknownFeedstock(passportId);
        IBatteryPassportRegistry.Passport memory passport = _registry.getPassport(passportId);
        if (
            passport.status != IBatteryPassportRegistry.LifecycleStatus.Waste
                && passport.status != IBatteryPassportRegistry.LifecycleStatus.Recycled
        ) revert RecycledMaterialLedgerFeedstockNotWaste(passportId, passport.status);
        if (passport.custodian != msg.sender) revert RecycledMaterialLedgerNotFeedstockCustodian(passportId, msg.sender);
        _feedstockLot[passportId] = lotId;
    }

    function _submitted(bytes32 claimId) private view returns (Claim storage claim) {
        claim = _claims[claimId];
        if (claim.status == ClaimStatus.None) revert RecycledMaterialLedgerUnknownClaim(claimId);
        if (claim.status != ClaimStatus.Submitted) revert RecycledMaterialLedgerClaimNotSubmitted(claimId, claim.status);
        if (claim.claimant == msg.sender) revert RecycledMaterialLedgerSelfCertification(claimId, msg.sender);
    }

    function _debit(address holder, Metal metal, bool postConsumer, uint256 grams) private {
        uint256 class = _class(metal, postConsumer);
        uint256 balance = _balances[holder][class];
        if (balance < grams) {
            revert RecycledMaterialLedgerInsufficientCredits(holder, metal, postConsumer, balance, grams);
        }
        unchecked {
            _balances[holder][class] = balance - grams;
        }
    }

    function _setMaxRecovery(Metal metal, uint16 basisPoints) private {
        if (basisPoints == 0 || basisPoints > _BPS) revert RecycledMaterialLedgerInvalidRecovery(metal, basisPoints);
        _maxRecovery[uint256(metal)] = basisPoints;
        emit MaxRecoveryChanged(metal, basisPoints);
    }

    function _class(Metal metal, bool postConsumer) private pure returns (uint256) {
        return uint256(metal) + (postConsumer ? 4 : 0);
    }
}
