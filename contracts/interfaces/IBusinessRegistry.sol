// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title IBusinessRegistry
 * @notice Used-battery businesses (collectors, reusers, repurposers, remanufacturers, recyclers) the
 * ledger admin has registered. Only an active registered business can take custody of a passport.
 */
interface IBusinessRegistry {
    /// @notice A registered business as stored on-chain.
    struct Business {
        bytes32 registrationHash;
        uint8 kinds;
        bool active;
        uint48 registeredAt;
    }

    /// @notice The business `account` is already registered.
    error BusinessRegistryAlreadyRegistered(address account);
    /// @notice No business is registered for `account`.
    error BusinessRegistryUnknownBusiness(address account);
    /// @notice The business `account` is suspended and may not take custody.
    error BusinessRegistrySuspendedBusiness(address account);
    /// @notice The business `account` is not suspended, so it cannot be reinstated.
    error BusinessRegistryNotSuspended(address account);
    /// @notice `kinds` is empty or sets bits outside the known activities.
    error BusinessRegistryInvalidKinds(uint8 kinds);
    /// @notice A business account or registration hash was zero.
    error BusinessRegistryInvalidBusiness(address account, bytes32 registrationHash);

    /// @notice Emitted when `account` is registered for the activities in `kinds`.
    event BusinessRegistered(address indexed account, uint8 kinds, bytes32 indexed registrationHash);
    /// @notice Emitted when `account` is suspended.
    event BusinessSuspended(address indexed account);
    /// @notice Emitted when a suspended `account` is reinstated.
    event BusinessReinstated(address indexed account);

    /**
     * @notice Register a used-battery business (admin only).
     * @param account The business's signing account.
     * @param kinds Bitmask of activities: 1 collector, 2 reuser, 4 repurposer, 8 remanufacturer, 16 recycler.
     * @param registrationHash Digest of the off-chain registration certificate.
     */
    function registerBusiness(address account, uint8 kinds, bytes32 registrationHash) external;

    /**
     * @notice Suspend a registered business (admin only); it can no longer accept custody.
     * @param account The business to suspend.
     */
    function suspendBusiness(address account) external;

    /**
     * @notice Reinstate a suspended business (admin only).
     * @param account The business to reinstate.
     */
    function reinstateBusiness(address account) external;

    /**
     * @notice The registration of `account` (all zero when unregistered).
     * @param account The business account.
     * @return business Its registration.
     */
    function getBusiness(address account) external view returns (Business memory business);

    /**
     * @notice Whether `account` is a registered business that is not suspended.
     * @param account The business account.
     * @return True when it may take custody.
     */
    function isActiveBusiness(address account) external view returns (bool);
}
