// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IDataAnchors} from "./interfaces/IDataAnchors.sol";

/**
 * @title DataAnchors
 * @notice Oracle-anchored Merkle roots of collection-device record batches.
 * @dev One storage slot per anchor (count, kind, timestamp, block packed) and the batch document's
 * digest only in the event: an anchor costs under 50k gas whatever the batch size. The deriving
 * contract decides who may anchor in `_authorizeAnchor`.
 */
abstract contract DataAnchors is IDataAnchors {
    /// @dev Anchor fields packed by hand into one word (count | kind << 32 | time << 40 | block << 104):
    /// writing a struct member by member costs a read-modify-write per field.
    mapping(bytes32 root => uint256 packed) private _anchors;

    /// @inheritdoc IDataAnchors
    function anchorBatch(bytes32 root, bytes32 cidDigest, uint32 recordCount, AnchorKind kind) external {
        _authorizeAnchor();
        _anchor(root, cidDigest, recordCount, kind);
    }

    /// @inheritdoc IDataAnchors
    function anchorBatches(BatchInput[] calldata batches) external {
        _authorizeAnchor();
        if (batches.length == 0) revert DataAnchorsNoBatches();
        for (uint256 i = 0; i < batches.length; ++i) {
            BatchInput calldata b = batches[i];
            _anchor(b.root, b.cidDigest, b.recordCount, b.kind);
        }
    }

    /// @dev Checks and records one anchor, then emits its event (callers authorise first).
    function _anchor(bytes32 root, bytes32 cidDigest, uint32 recordCount, AnchorKind kind) private {
        if (root == bytes32(0) || cidDigest == bytes32(0)) revert DataAnchorsInvalidRoot(root, cidDigest);
        if (recordCount == 0) revert DataAnchorsEmptyBatch(root);
        if (_anchors[root] != 0) revert DataAnchorsRootAlreadyAnchored(root);
        _anchors[root] = uint256(recordCount) | (uint256(uint8(kind)) << 32) | (uint256(uint64(block.timestamp)) << 40)
            | (uint256(uint64(block.number)) << 104);
        emit BatchAnchored(root, cidDigest, kind, recordCount);
    }

    /// @inheritdoc IDataAnchors
    function getAnchor(bytes32 root) external view returns (Anchor memory) {
        uint256 packed = _anchors[root];
        return Anchor(
            uint32(packed), AnchorKind(uint8(packed >> 32)), uint64(packed >> 40), uint64(packed >> 104)
        );
    }

    /// @inheritdoc IDataAnchors
    function verifyRecord(bytes32 root, bytes32 recordDigest, bytes32[] calldata proof) external view returns (bool) {
        // Anchored words are never zero: a transaction is never in block 0.
        return _anchors[root] != 0
            && MerkleProof.verifyCalldata(proof, root, keccak256(abi.encodePacked(recordDigest)));
    }

    /// @dev Reverts unless the sender may anchor batches.
    function _authorizeAnchor() internal view virtual;
}
