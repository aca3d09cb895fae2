// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IBusinessRegistry} from "./interfaces/IBusinessRegistry.sol";

/**
 * @title BusinessRegistry
 * @notice Admin-maintained register of used-battery businesses; custody may only pass to an active one.
 * @dev The deriving contract decides who administers the register in `_authorizeBusinessAdmin`.
 */
abstract contract BusinessRegistry is IBusinessRegistry {
    /// @dev Collector | reuser | repurposer | remanufacturer | recycler.
    uint8 private constant _ALL_KINDS = 0x1f;

    mapping(address account => Business) private _businesses;

    /// @inheritdoc IBusinessRegistry
    function registerBusiness(address account, uint8 kinds, bytes32 registrationHash) external {
        _authorizeBusinessAdmin();
        if (account == address(0) || registrationHash == bytes32(0)) {
            revert BusinessRegistryInvalidBusiness(account, registrationHash);
        }
        if (kinds == 0 || kinds & ~_ALL_KINDS != 0) revert BusinessRegistryInvalidKinds(kinds);
        if (_businesses[account].registeredAt != 0) revert BusinessRegistryAlreadyRegistered(account);
        _businesses[account] = Business(registrationHash, kinds, true, uint48(block.timestamp));
        emit BusinessRegistered(account, kinds, registrationHash);
    }

    /// @inheritdoc IBusinessRegistry
    function suspendBusiness(address account) external {
        _authorizeBusinessAdmin();
        _requireActiveBusiness(account);
        _businesses[account].active = false;
        emit BusinessSuspended(account);
    }

    /// @inheritdoc IBusinessRegistry
    function reinstateBusiness(address account) external {
        _authorizeBusinessAdmin();
        Business storage business = _businesses[account];
        if (business.registeredAt == 0) revert BusinessRegistryUnknownBusiness(account);
        if (business.active) revert BusinessRegistryNotSuspended(account);
        business.active = true;
        emit BusinessReinstated(account);
    }

    /// @inheritdoc IBusinessRegistry
    function getBusiness(address account) external view returns (Business memory) {
        return _businesses[account];
    }

    /// @inheritdoc IBusinessRegistry
    function isActiveBusiness(address account) external view returns (bool) {
        return _businesses[account].active;
    }

    /// @dev Reverts unless the sender may register, suspend and reinstate businesses.
    function _authorizeBusinessAdmin() internal view virtual;

    /// @dev Whether `account` is an active business registered for any activity in `kinds`.
    function _hasBusinessKind(address account, uint8 kinds) internal view returns (bool) {
        Business storage business = _businesses[account];
        return business.active && business.kinds & kinds != 0;
    }

    /// @dev Reverts unless `account` is registered and not suspended.
    function _requireActiveBusiness(address account) internal view {
        Business storage business = _businesses[account];
        if (business.registeredAt == 0) revert BusinessRegistryUnknownBusiness(account);
        if (!business.active) revert BusinessRegistrySuspendedBusiness(account);
    }
}
