// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/**
 * @title IDataAnchors
 * @notice Merkle roots of batches of collection-device records (charging, safety, parking,
 * diagnostics, second-life storage energy meters), anchored once each by an oracle. Records stay off-chain; any one of them can be proven
 * against its anchored root with OpenZeppelin's sorted-pair Merkle proofs.
 */
interface IDataAnchors {
    /// @notice What a batch of records holds.
    enum AnchorKind {
        Charging,
        Safety,
        Parking,
        Diagnostics,
        Energy
    }

    /// @notice An anchored batch, packed into one storage slot.
    struct Anchor {
        uint32 recordCount;
        AnchorKind kind;
        uint64 anchoredAt;
        uint64 blockNumber;
    }

    /// @notice One batch to anchor with `anchorBatches`.
    struct BatchInput {
        bytes32 root;
        bytes32 cidDigest;
        uint32 recordCount;
        AnchorKind kind;
    }

    /// @notice `root` was anchored before; a root is anchored only once.
    error DataAnchorsRootAlreadyAnchored(bytes32 root);
    /// @notice The root or the batch document digest was zero.
    error DataAnchorsInvalidRoot(bytes32 root, bytes32 cidDigest);
    /// @notice A batch must hold at least one record.
    error DataAnchorsEmptyBatch(bytes32 root);
    /// @notice `anchorBatches` was given no batch.
    error DataAnchorsNoBatches();

    /**
     * @notice Emitted when a batch root is anchored.
     * @param root Merkle root of the batch's record leaves.
     * @param cidDigest sha2-256 digest inside the batch document's CID multihash (only in this event).
     * @param kind What the batch holds (not indexed: a topic costs more than the data word).
     * @param recordCount How many records the batch holds.
     */
    event BatchAnchored(bytes32 indexed root, bytes32 indexed cidDigest, AnchorKind kind, uint32 recordCount);

    /**
     * @notice Anchor a batch root (ORACLE_ROLE only).
     * @param root Merkle root of `keccak256(abi.encodePacked(recordDigest))` leaves.
     * @param cidDigest sha2-256 digest of the batch document (the digest in its CID).
     * @param recordCount Records in the batch.
     * @param kind What the batch holds.
     */
    function anchorBatch(bytes32 root, bytes32 cidDigest, uint32 recordCount, AnchorKind kind) external;

    /**
     * @notice Anchor several batch roots in one transaction (ORACLE_ROLE only), all or none.
     * @dev Each root is checked and anchored exactly as by `anchorBatch`, with its own `BatchAnchored`;
     * any failure (including a root already anchored, or the same root twice) reverts the whole call.
     * @param batches The batches, anchored (and their events emitted) in order.
     */
    function anchorBatches(BatchInput[] calldata batches) external;

    /**
     * @notice The anchor of `root` (all zero when not anchored).
     * @param root A batch root.
     * @return anchor Its record count, kind, timestamp and block number.
     */
    function getAnchor(bytes32 root) external view returns (Anchor memory anchor);

    /**
     * @notice Whether `recordDigest` is a record of the anchored batch `root`.
     * @param root An anchored batch root.
     * @param recordDigest keccak256 of the record's canonical bytes.
     * @param proof Sibling hashes from the leaf up to the root.
     * @return True when `root` is anchored and the proof links the record's leaf to it.
     */
    function verifyRecord(bytes32 root, bytes32 recordDigest, bytes32[] calldata proof) external view returns (bool);
}
