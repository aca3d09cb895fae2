// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title IOwnerConsent
 * @notice The one question the passport registry asks the battery-services contract: may the custodian
 * transfer, repurpose or recycle this battery? A battery whose legal owner (e.g. a leasing or subscription
 * company) is someone other than its custodian needs that owner's recorded consent first.
 */
interface IOwnerConsent {
    /// @notice What the legal owner consents to.
    enum ConsentAction {
        Transfer,
        Repurpose,
        Recycle
    }

    /**
     * @notice Reverts (`BatteryServicesOwnerConsentMissing`) unless the battery has no legal owner, its legal
     * owner is `custodian`, or the owner's consent to `action` is unexpired and names `counterparty` or anyone.
     * @param passportId The passport.
     * @param action What the custodian is about to do.
     * @param custodian The passport's current custodian.
     * @param counterparty The new custodian (transfer) or the repurposer / recycler.
     */
    function requireConsent(bytes32 passportId, ConsentAction action, address custodian, address counterparty)
        external
        view;
}
