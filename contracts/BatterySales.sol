// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IBatterySales} from "./interfaces/IBatterySales.sol";

/**
 * @title BatterySales
 * @notice Sales tied to custody: an agreed sale offers custody to its buyer, the buyer's custody
 * acceptance is the only way to complete it, and while it is agreed no other custody offer can be made.
 * @dev The deriving registry supplies the custody side through `_offerSaleCustody` and
 * `_withdrawSaleCustody`, the admin check through `_authorizeSaleAdmin`, and calls `_completeSale` from
 * `acceptCustody` and `_requireNoOpenSale` wherever a custody offer is made or withdrawn.
 */
abstract contract BatterySales is IBatterySales {
    mapping(bytes32 saleId => Sale) private _sales;
    mapping(bytes32 passportId => bytes32 saleId) private _openSales;

    /// @inheritdoc IBatterySales
    function agreeSale(bytes32 saleId, bytes32 passportId, address buyer, bytes32 termsDigest, uint64 expiresAt)
        external
    {
        if (saleId == bytes32(0) || termsDigest == bytes32(0)) revert BatterySalesInvalidSale(saleId);
        if (_sales[saleId].state != SaleState.None) revert BatterySalesSaleExists(saleId);
        _requireNoOpenSale(passportId);
        _offerSaleCustody(passportId, buyer, expiresAt);
        _sales[saleId] = Sale(
            passportId, termsDigest, msg.sender, uint48(block.timestamp), buyer, 0, SaleState.Agreed
        );
        _openSales[passportId] = saleId;
        emit SaleAgreed(saleId, passportId, msg.sender, buyer, termsDigest);
    }

    /// @inheritdoc IBatterySales
    function cancelSale(bytes32 saleId, bytes32 reasonDigest) external {
        Sale storage sale = _partyOf(saleId, SaleState.Agreed);
        _close(sale, SaleState.Cancelled);
        delete _openSales[sale.passportId];
        emit SaleCancelled(saleId, msg.sender, reasonDigest);
        _withdrawSaleCustody(sale.passportId);
    }

    /// @inheritdoc IBatterySales
    function disputeSale(bytes32 saleId, bytes32 claimDigest) external {
        _partyOf(saleId, SaleState.Completed).state = SaleState.Disputed;
        emit SaleDisputed(saleId, msg.sender, claimDigest);
    }

    /// @inheritdoc IBatterySales
    function resolveSaleDispute(bytes32 saleId, bytes32 outcomeDigest) external {
        _authorizeSaleAdmin();
        Sale storage sale = _inState(saleId, SaleState.Disputed);
        _close(sale, SaleState.Resolved);
        emit SaleDisputeResolved(saleId, outcomeDigest);
    }

    /// @inheritdoc IBatterySales
    function getSale(bytes32 saleId) external view returns (Sale memory) {
        return _sales[saleId];
    }

    /// @inheritdoc IBatterySales
    function openSale(bytes32 passportId) external view returns (bytes32) {
        return _openSales[passportId];
    }

    /// @dev Complete the passport's agreed sale, if any: called once custody has passed to its buyer.
    function _completeSale(bytes32 passportId) internal {
        bytes32 saleId = _openSales[passportId];
        if (saleId == bytes32(0)) return;
        _close(_sales[saleId], SaleState.Completed);
        delete _openSales[passportId];
        emit SaleCompleted(saleId, passportId);
    }

    /// @dev Reverts while the passport has an agreed sale (custody then moves only through it).
    function _requireNoOpenSale(bytes32 passportId) internal view {
        bytes32 saleId = _openSales[passportId];
        if (saleId != bytes32(0)) revert BatterySalesSaleAgreed(passportId, saleId);
    }

    /// @dev Offer custody of `passportId` from the sender (its custodian, an active business) to `buyer`.
    function _offerSaleCustody(bytes32 passportId, address buyer, uint64 expiresAt) internal virtual;

    /// @dev Withdraw the passport's pending custody offer.
    function _withdrawSaleCustody(bytes32 passportId) internal virtual;

    /// @dev Reverts unless the sender may record dispute outcomes.
    function _authorizeSaleAdmin() internal view virtual;

    function _close(Sale storage sale, SaleState state) private {
        sale.state = state;
        sale.closedAt = uint48(block.timestamp);
    }

    function _inState(bytes32 saleId, SaleState state) private view returns (Sale storage sale) {
        sale = _sales[saleId];
        if (sale.state != state) revert BatterySalesWrongState(saleId, sale.state);
    }

    function _partyOf(bytes32 saleId, SaleState state) private view returns (Sale storage sale) {
        sale = _inState(saleId, state);
        if (msg.sender != sale.seller && msg.sender != sale.buyer) {
            revert BatterySalesNotParty(saleId, msg.sender);
        }
    }
}
