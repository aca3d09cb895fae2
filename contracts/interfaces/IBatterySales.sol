// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title IBatterySales
 * @notice Used-battery sales tied to custody: the seller (custodian, an active business) records an
 * agreed sale with the digest of the signed terms document; that creates the custody offer to the buyer,
 * and only the buyer's `acceptCustody` completes the sale. Cancellations (before completion), disputes
 * (after) and the admin's dispute outcomes are recorded with the digests of their documents.
 */
interface IBatterySales {
    /// @notice Where a sale stands.
    enum SaleState {
        None,
        Agreed,
        Completed,
        Cancelled,
        Disputed,
        Resolved
    }

    /// @notice A sale as stored on-chain (prices and terms stay off-chain under `termsDigest`).
    struct Sale {
        bytes32 passportId;
        bytes32 termsDigest;
        address seller;
        uint48 agreedAt;
        address buyer;
        uint48 closedAt;
        SaleState state;
    }

    /// @notice The sale id or the terms digest was zero, or the buyer is the seller.
    error BatterySalesInvalidSale(bytes32 saleId);
    /// @notice A sale with this id was already recorded.
    error BatterySalesSaleExists(bytes32 saleId);
    /// @notice The sale is not in the state the call needs (`state` is where it stands).
    error BatterySalesWrongState(bytes32 saleId, SaleState state);
    /// @notice `account` is neither the seller nor the buyer of the sale.
    error BatterySalesNotParty(bytes32 saleId, address account);
    /// @notice The passport has an agreed sale, so custody moves only through that sale.
    error BatterySalesSaleAgreed(bytes32 passportId, bytes32 saleId);

    /**
     * @notice Emitted when the seller records an agreed sale (and offers custody to the buyer).
     * @param saleId The sale.
     * @param passportId The passport sold.
     * @param seller The custodian selling.
     * @param buyer The buying business.
     * @param termsDigest sha-256 of the signed terms document.
     */
    event SaleAgreed(
        bytes32 indexed saleId, bytes32 indexed passportId, address seller, address buyer, bytes32 termsDigest
    );
    /// @notice Emitted when the buyer's custody acceptance completes the sale.
    /// @param saleId The sale.
    /// @param passportId The passport sold.
    event SaleCompleted(bytes32 indexed saleId, bytes32 indexed passportId);
    /// @notice Emitted when a party cancels an agreed sale; `reasonDigest` names the reason document.
    /// @param saleId The sale.
    /// @param by The party that cancelled.
    /// @param reasonDigest Digest of the reason (e.g. a rejected delivery's inspection).
    event SaleCancelled(bytes32 indexed saleId, address by, bytes32 reasonDigest);
    /// @notice Emitted when a party disputes a completed sale.
    /// @param saleId The sale.
    /// @param by The party that disputes.
    /// @param claimDigest Digest of the claim document.
    event SaleDisputed(bytes32 indexed saleId, address by, bytes32 claimDigest);
    /// @notice Emitted when the admin records the outcome of a dispute.
    /// @param saleId The sale.
    /// @param outcomeDigest Digest of the outcome document.
    event SaleDisputeResolved(bytes32 indexed saleId, bytes32 outcomeDigest);

    /**
     * @notice Record an agreed sale and offer custody to the buyer (the custodian, an active business).
     * @param saleId A fresh id for the sale.
     * @param passportId The passport sold.
     * @param buyer The buyer (an active business); it completes the sale by accepting custody.
     * @param termsDigest sha-256 of the signed terms document; it cannot change afterwards.
     * @param expiresAt When the custody offer lapses (the sale may then be cancelled).
     */
    function agreeSale(bytes32 saleId, bytes32 passportId, address buyer, bytes32 termsDigest, uint64 expiresAt)
        external;

    /**
     * @notice Cancel an agreed sale before completion (seller or buyer); withdraws its custody offer.
     * @param saleId The sale.
     * @param reasonDigest Digest of the reason document.
     */
    function cancelSale(bytes32 saleId, bytes32 reasonDigest) external;

    /**
     * @notice Dispute a completed sale (seller or buyer).
     * @param saleId The sale.
     * @param claimDigest Digest of the claim document.
     */
    function disputeSale(bytes32 saleId, bytes32 claimDigest) external;

    /**
     * @notice Record the outcome of a disputed sale (admin only).
     * @param saleId The sale.
     * @param outcomeDigest Digest of the outcome document.
     */
    function resolveSaleDispute(bytes32 saleId, bytes32 outcomeDigest) external;

    /**
     * @notice A sale (all zero when unknown).
     * @param saleId The sale.
     * @return sale Its on-chain record.
     */
    function getSale(bytes32 saleId) external view returns (Sale memory sale);

    /**
     * @notice The passport's agreed (not yet completed or cancelled) sale, or zero.
     * @param passportId The passport.
     * @return saleId The open sale's id.
     */
    function openSale(bytes32 passportId) external view returns (bytes32 saleId);
}
