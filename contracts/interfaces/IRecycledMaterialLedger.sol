// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IBatteryPassportRegistry} from "./IBatteryPassportRegistry.sol";

/**
 * @title IRecycledMaterialLedger
 * @notice Recycled-material certification on an ISO 22095 mass-balance ledger (EU 2023/1542 Art. 8):
 * recyclers record lots of recovered cobalt, lithium, nickel and lead with the passports of the batteries
 * they came from, a certifier issues production certificates that mint per-metal credits, credits move
 * between holders, and a cell or battery maker retires them against a usage claim that a certifier then
 * certifies. Amounts are grams of metal; pre-consumer (manufacturing waste) and post-consumer credits are
 * kept apart, as Art. 8 reports them separately. Documents live off-chain under the recorded digests.
 */
interface IRecycledMaterialLedger {
    /// @notice The metals whose recycled share Art. 8 requires (index order is fixed: arrays are indexed by it).
    enum Metal {
        Cobalt,
        Lithium,
        Nickel,
        Lead
    }

    /// @notice Where a lot is in certification.
    enum LotStatus {
        None,
        Recorded,
        Certified
    }

    /// @notice Where a usage claim is in certification.
    enum ClaimStatus {
        None,
        Submitted,
        Certified,
        Rejected
    }

    /// @notice A recorded lot of recovered metal.
    struct Lot {
        address recycler;
        LotStatus status;
        bool postConsumer;
        uint48 recordedAt;
        bytes32 documentDigest;
        bytes32 certificateDigest;
        uint64[4] feedstockGrams;
        uint64[4] recoveredGrams;
    }

    /// @notice A usage claim and the credits retired against it.
    struct Claim {
        address claimant;
        ClaimStatus status;
        uint48 submittedAt;
        bytes32 claimDigest;
        bytes32 certificateDigest;
        uint64[4] preConsumerGrams;
        uint64[4] postConsumerGrams;
    }

    /// @notice An id or digest was zero.
    error RecycledMaterialLedgerInvalidValue(bytes32 id);
    /// @notice A lot `lotId` already exists.
    error RecycledMaterialLedgerLotExists(bytes32 lotId);
    /// @notice No lot `lotId` exists.
    error RecycledMaterialLedgerUnknownLot(bytes32 lotId);
    /// @notice The lot is not awaiting certification (it is `status`).
    error RecycledMaterialLedgerLotNotRecorded(bytes32 lotId, LotStatus status);
    /// @notice A post-consumer lot needs feedstock passports; a pre-consumer (manufacturing waste) lot has none.
    error RecycledMaterialLedgerFeedstockMismatch(bytes32 lotId, bool postConsumer, uint256 feedstockCount);
    /// @notice Passport `passportId` is not in the battery passport registry.
    error RecycledMaterialLedgerUnknownFeedstock(bytes32 passportId);
    /// @notice Passport `passportId` is `status`, neither waste nor recycled.
    error RecycledMaterialLedgerFeedstockNotWaste(bytes32 passportId, IBatteryPassportRegistry.LifecycleStatus status);
    /// @notice `account` is not the custodian of feedstock passport `passportId`.
    error RecycledMaterialLedgerNotFeedstockCustodian(bytes32 passportId, address account);
    /// @notice Passport `passportId` already fed lot `lotId`: a battery's metal feeds lots only once.
    error RecycledMaterialLedgerFeedstockUsed(bytes32 passportId, bytes32 lotId);
    /// @notice The lot claims `recovered` grams of `metal`, more than its feedstock times the maximum recovery allows (`cap`).
    error RecycledMaterialLedgerRecoveryExceeded(bytes32 lotId, Metal metal, uint256 recovered, uint256 cap);
    /// @notice The lot or claim moves no metal at all.
    error RecycledMaterialLedgerEmpty(bytes32 id);
    /// @notice `account` recorded the lot (or submitted the claim) and may not certify it too.
    error RecycledMaterialLedgerSelfCertification(bytes32 id, address account);
    /// @notice `holder` holds `balance` grams of `metal` credits of that origin, less than `needed`.
    error RecycledMaterialLedgerInsufficientCredits(
        address holder, Metal metal, bool postConsumer, uint256 balance, uint256 needed
    );
    /// @notice A transfer needs a recipient other than zero and the sender, and a positive amount.
    error RecycledMaterialLedgerInvalidTransfer(address to, uint256 grams);
    /// @notice A claim `claimId` already exists.
    error RecycledMaterialLedgerClaimExists(bytes32 claimId);
    /// @notice No claim `claimId` exists.
    error RecycledMaterialLedgerUnknownClaim(bytes32 claimId);
    /// @notice The claim is not awaiting certification (it is `status`).
    error RecycledMaterialLedgerClaimNotSubmitted(bytes32 claimId, ClaimStatus status);
    /// @notice A maximum recovery efficiency must be 1..10000 basis points.
    error RecycledMaterialLedgerInvalidRecovery(Metal metal, uint256 basisPoints);

    /**
     * @notice Emitted when a recycler records a lot.
     * @param lotId The lot.
     * @param recycler Who recorded it (and receives its credits).
     * @param postConsumer True for battery waste (feedstock passports), false for manufacturing waste.
     * @param documentDigest SHA-256 of the lot document.
     * @param recoveredGrams Grams of cobalt, lithium, nickel, lead recovered.
     */
    event LotRecorded(
        bytes32 indexed lotId, address indexed recycler, bool postConsumer, bytes32 documentDigest, uint64[4] recoveredGrams
    );

    /**
     * @notice Emitted for each feedstock passport a lot consumes.
     * @param passportId The recycled battery's passport.
     * @param lotId The lot it fed.
     */
    event FeedstockConsumed(bytes32 indexed passportId, bytes32 indexed lotId);

    /**
     * @notice Emitted when a certifier issues a lot's production certificate and its credits are minted.
     * @param lotId The lot.
     * @param certifier The certifier.
     * @param recycler The credits' recipient.
     * @param certificateDigest SHA-256 of the production certificate.
     */
    event LotCertified(
        bytes32 indexed lotId, address indexed certifier, address indexed recycler, bytes32 certificateDigest
    );

    /**
     * @notice Emitted when credits move between holders.
     * @param from Sender.
     * @param to Recipient.
     * @param metal The metal.
     * @param postConsumer The credits' origin.
     * @param grams Amount.
     */
    event CreditsTransferred(address indexed from, address indexed to, Metal metal, bool postConsumer, uint256 grams);

    /**
     * @notice Emitted when a holder submits a usage claim, retiring the credits it lists.
     * @param claimId The claim.
     * @param claimant Holder whose credits were retired.
     * @param claimDigest SHA-256 of the usage-claim document.
     * @param preConsumerGrams Pre-consumer grams retired per metal.
     * @param postConsumerGrams Post-consumer grams retired per metal.
     */
    event UsageClaimSubmitted(
        bytes32 indexed claimId,
        address indexed claimant,
        bytes32 claimDigest,
        uint64[4] preConsumerGrams,
        uint64[4] postConsumerGrams
    );

    /**
     * @notice Emitted when a certifier issues the usage certificate of a claim.
     * @param claimId The claim.
     * @param certifier The certifier.
     * @param certificateDigest SHA-256 of the usage certificate.
     */
    event UsageCertified(bytes32 indexed claimId, address indexed certifier, bytes32 certificateDigest);

    /**
     * @notice Emitted when a certifier rejects a claim; its credits return to the claimant unretired.
     * @param claimId The claim.
     * @param certifier The certifier.
     * @param reasonDigest SHA-256 of the rejection's reasons.
     */
    event UsageClaimRejected(bytes32 indexed claimId, address indexed certifier, bytes32 reasonDigest);

    /**
     * @notice Emitted when the admin sets a metal's maximum recovery efficiency.
     * @param metal The metal.
     * @param basisPoints The new maximum (10000 = 100 %).
     */
    event MaxRecoveryChanged(Metal metal, uint16 basisPoints);

    /**
     * @notice Record a lot (RECYCLER_ROLE). Each post-consumer feedstock passport must be waste or recycled in
     * the registry, in the sender's custody, and never used by a lot before.
     * @param lotId New lot id.
     * @param postConsumer True for battery waste with passports, false for manufacturing waste (none).
     * @param feedstock The passports of the batteries recycled into this lot.
     * @param feedstockGrams Grams of each metal the feedstock contained (per the passports' composition).
     * @param recoveredGrams Grams of each metal recovered; at most feedstock times the maximum recovery.
     * @param documentDigest SHA-256 of the lot document.
     */
    function recordLot(
        bytes32 lotId,
        bool postConsumer,
        bytes32[] calldata feedstock,
        uint64[4] calldata feedstockGrams,
        uint64[4] calldata recoveredGrams,
        bytes32 documentDigest
    ) external;

    /**
     * @notice Certify a recorded lot (CERTIFIER_ROLE, not its recycler) and mint its credits to the recycler.
     * @param lotId The lot.
     * @param certificateDigest SHA-256 of the production certificate.
     */
    function certifyLot(bytes32 lotId, bytes32 certificateDigest) external;

    /**
     * @notice Move credits of one metal and origin to another holder.
     * @param to Recipient.
     * @param metal The metal.
     * @param postConsumer The credits' origin.
     * @param grams Amount (positive, at most the sender's balance).
     */
    function transferCredits(address to, Metal metal, bool postConsumer, uint256 grams) external;

    /**
     * @notice Submit a usage claim and retire the listed credits from the sender's balances, once.
     * @param claimId New claim id.
     * @param claimDigest SHA-256 of the usage-claim document.
     * @param preConsumerGrams Pre-consumer grams to retire per metal.
     * @param postConsumerGrams Post-consumer grams to retire per metal.
     */
    function submitUsageClaim(
        bytes32 claimId,
        bytes32 claimDigest,
        uint64[4] calldata preConsumerGrams,
        uint64[4] calldata postConsumerGrams
    ) external;

    /**
     * @notice Certify a submitted claim (CERTIFIER_ROLE, not its claimant); its credits stay retired.
     * @param claimId The claim.
     * @param certificateDigest SHA-256 of the usage certificate.
     */
    function certifyUsage(bytes32 claimId, bytes32 certificateDigest) external;

    /**
     * @notice Reject a submitted claim (CERTIFIER_ROLE); its credits return to the claimant.
     * @param claimId The claim.
     * @param reasonDigest SHA-256 of the reasons.
     */
    function rejectUsageClaim(bytes32 claimId, bytes32 reasonDigest) external;

    /**
     * @notice Set a metal's maximum recovery efficiency (DEFAULT_ADMIN_ROLE).
     * @param metal The metal.
     * @param basisPoints 1..10000.
     */
    function setMaxRecovery(Metal metal, uint16 basisPoints) external;

    /**
     * @notice The battery passport registry feedstock is checked against.
     * @return The registry.
     */
    function registry() external view returns (IBatteryPassportRegistry);

    /**
     * @notice A lot (status None when unknown).
     * @param lotId The lot.
     * @return lot Its state.
     */
    function getLot(bytes32 lotId) external view returns (Lot memory lot);

    /**
     * @notice The feedstock passports of a lot.
     * @param lotId The lot.
     * @return The passport ids.
     */
    function lotFeedstock(bytes32 lotId) external view returns (bytes32[] memory);

    /**
     * @notice The lot a passport fed (zero when none).
     * @param passportId The passport.
     * @return The lot id.
     */
    function feedstockLot(bytes32 passportId) external view returns (bytes32);

    /**
     * @notice A usage claim (status None when unknown).
     * @param claimId The claim.
     * @return claim Its state.
     */
    function getClaim(bytes32 claimId) external view returns (Claim memory claim);

    /**
     * @notice A holder's credit balance.
     * @param holder The holder.
     * @param metal The metal.
     * @param postConsumer The origin.
     * @return Grams held.
     */
    function creditBalance(address holder, Metal metal, bool postConsumer) external view returns (uint256);

    /**
     * @notice Grams of credits certified (minted) and retired so far for a metal and origin.
     * @param metal The metal.
     * @param postConsumer The origin.
     * @return certified Grams minted by production certificates.
     * @return retired Grams retired by submitted or certified claims.
     */
    function creditTotals(Metal metal, bool postConsumer) external view returns (uint256 certified, uint256 retired);

    /**
     * @notice A metal's maximum recovery efficiency in basis points.
     * @param metal The metal.
     * @return Basis points (10000 = 100 %).
     */
    function maxRecovery(Metal metal) external view returns (uint16);
}
