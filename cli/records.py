"""``passport record proof``: the inclusion proof of an anchored device record (the API's record proofs).

The proof is read from the oracle's journal (the sealed batch documents in the store open only with the
key ring's telemetry KEK), then checked twice:
offline (Merkle path to the root) and by the registry's ``verifyRecord``. ``_prove`` is the one place
that knows where proofs come from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cli import arguments
from cli.output import EXIT_INVALID, EXIT_OK, JsonOption, echo_json, emit, reported
from cli.session import Session

if TYPE_CHECKING:
    from oracle.proofs import RecordProof

app = typer.Typer(help="Anchored device records: inclusion proofs.", no_args_is_help=True)


def _prove(session: Session, record_digest: bytes) -> tuple[RecordProof, bool, bool]:
    """The record's proof, and whether it verifies offline and on-chain (oracle errors exit 1).

    Read-only: the journal, the store and the ledger's reader; never the oracle's key.
    """
    from oracle.proofs import RecordProofs
    from passport.envelope import KeyRing
    from passport.store import open_store

    reader = session.client(None)
    with session.journal() as journal, reported():
        proofs = RecordProofs(
            journal, open_store(session.settings), keyring=KeyRing.from_settings(session.settings)
        )
        proof = proofs.proof_for_digest(record_digest)
        return proof, proof.verify_offline(), proof.verify_on_chain(reader)


@app.command("proof")
def record_proof_command(
    ctx: typer.Context,
    digest: Annotated[str, typer.Argument(help="The record digest (0x-hex, from an acknowledgement).")],
    json_output: JsonOption = False,
) -> None:
    """The Merkle proof of an anchored record, checked offline and with the registry's verifyRecord.

    Exits 0 only if both checks pass; 1 if the record is unknown, not anchored yet, or a check fails.
    """
    record_digest = arguments.bytes32(digest, "record digest")
    proof, offline, on_chain = _prove(Session.of(ctx), record_digest)
    if json_output:
        echo_json(
            {
                "proof": proof.model_dump(mode="json"),
                "verified_offline": offline,
                "verified_on_chain": on_chain,
            }
        )
    else:
        rows: dict[str, object] = {
            "record_digest": proof.record_digest,
            "root": proof.root,
            "kind": proof.kind.name,
            "cid": proof.cid,
            "block_number": proof.block_number,
            "tx_hash": proof.tx_hash,
            "confirmed": proof.confirmed,
            "proof": list(proof.proof),
            "offline": "PASS" if offline else "FAIL",
            "on_chain": "PASS" if on_chain else "FAIL",
        }
        emit(rows, json_output=False)
    raise typer.Exit(EXIT_OK if offline and on_chain else EXIT_INVALID)
