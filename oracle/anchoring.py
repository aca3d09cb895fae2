"""The anchoring pipeline: journaled records → batch document in the store → Merkle root on the ledger.

The batch document's format is ``oracle.batch_document``; proofs of anchored records are
``oracle.proofs`` (read-only, no key); the worker that runs this loop is ``oracle.worker``.

Per batch, each step is one committed journal transition (``oracle.journal``)::

    open      records sealed into the batch; Merkle root and the *encrypted* batch document fixed in
              the journal (``oracle.batch_document``: envelope under the key ring's telemetry KEK)
    stored    sealed document put in the ContentStore (CID recorded)
    sent      ``anchor_batch(root, cid_digest, count, kind)`` mined (tx hash, block recorded)
    anchored  ``get_anchor(root)`` read back from the registry and matching the batch
    confirmed the anchor's block is ``confirmations`` deep and still on the canonical chain

Restartability: the worker can die between any two steps and a restart finishes the work.

* open → stored: ``put`` is idempotent (same bytes, same CID), and the document bytes come from the
  journal, so a second ``put`` after a crash yields the same CID. Encryption is randomised (fresh data
  key and nonces), which is why it happens at sealing, inside the journal transaction that fixes the
  batch: the ciphertext is journaled once and never recomputed.
* stored → sent: before sending, ``get_anchor(root)`` is asked; if the root is already on-chain (the
  previous worker's transaction was mined but its receipt never recorded) the anchor is adopted, not
  resent. If a resend races and the registry reverts with its "already anchored" custom error, that is
  success too. A root is therefore never anchored twice.
* sent → anchored → confirmed: read-only checks, safe to repeat.

The chain or the store being down (``ChainUnavailable``, ``StoreUnavailable``, ``TransactionFailed``)
never touches ingestion: readings keep being journaled, and anchoring retries with exponential backoff,
draining the backlog once the dependency answers again.

Reorgs: a batch at ``sent``/``anchored``/``confirmed`` whose block hash at the recorded height changed,
or whose root the registry no longer knows, goes back to ``stored`` (``mark_dropped``); the ``stored``
step then adopts the anchor if the transaction was re-included elsewhere, or sends it again.
Confirmed batches within ``recheck_blocks`` of the head are re-checked on every run.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, overload

from pydantic import BaseModel, ConfigDict, Field

from oracle.batch_document import build_sealed_batch_document, is_sealed, seal_batch_document
from oracle.errors import AnchorMismatch
from oracle.journal import BATCH_STATES, BatchHead, BatchRow, Journal
from oracle.ports import AnchorChain
from passport.chain.records import AnchorRecord
from passport.envelope import KeyRing
from passport.errors import (
    ChainUnavailable,
    ContractRevert,
    StoreUnavailable,
    TransactionFailed,
)
from passport.settings import Settings
from passport.store.cid import cid_digest
from passport.store.protocol import ContentStore

log = logging.getLogger(__name__)

# Errors that mean "a dependency is down or slow": back off and retry, never give up on the batch.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (ChainUnavailable, StoreUnavailable, TransactionFailed)


class AnchoringPolicy(BaseModel):
    """When batches are sealed, how deep an anchor must be, and how failures are retried."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    batch_size: int = Field(default=1000, ge=1, le=100_000, description="Seal a batch at this many records.")
    max_batch_age_s: float = Field(
        default=60.0, gt=0, description="…or when its oldest pending record has waited this long."
    )
    confirmations: int = Field(default=0, ge=0, le=1000, description="Blocks on top of the anchor's block.")
    recheck_blocks: int = Field(
        default=256, ge=0, description="Re-check confirmed anchors this close to the head for reorgs."
    )
    retry_initial_s: float = Field(default=1.0, gt=0)
    retry_max_s: float = Field(default=300.0, gt=0)
    retry_factor: float = Field(default=2.0, ge=1)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> AnchoringPolicy:
        """The policy with the confirmation depth and the longest retry wait from the one settings object."""
        return cls(
            **{
                "confirmations": settings.confirmations,
                "retry_max_s": settings.anchor_retry_max_s,
                **overrides,
            }
        )


# -- the pipeline -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Backoff:
    """Exponential backoff shared by all batches: when a dependency is down, it is down for all of them."""

    initial: float
    factor: float
    maximum: float
    failures: int = 0
    not_before: float = 0.0

    def fail(self, now: float) -> float:
        delay = min(self.maximum, self.initial * self.factor**self.failures)
        self.failures += 1
        self.not_before = now + delay
        return delay

    def succeed(self) -> None:
        self.failures = 0
        self.not_before = 0.0


@dataclass(frozen=True, slots=True)
class RunReport:
    """What one ``run_once`` did."""

    sealed: int = 0
    advanced: int = 0
    confirmed: int = 0
    dropped: int = 0
    error: str | None = None
    retry_in: float | None = None

    @property
    def idle(self) -> bool:
        return not (self.sealed or self.advanced or self.dropped or self.error)


def _is_already_anchored(exc: ContractRevert) -> bool:
    # The registry's custom error is named <Contract><Problem>, e.g. "...RootAlreadyAnchored(bytes32)".
    return "alreadyanchored" in exc.error.lower()


class Anchorer:
    """Drives batches through the anchoring state machine (see the module docstring).

    ``keyring`` seals batch documents (its ``telemetry`` KEK): nothing is stored in clear.
    """

    def __init__(
        self,
        journal: Journal,
        store: ContentStore,
        chain: AnchorChain,
        policy: AnchoringPolicy | None = None,
        *,
        keyring: KeyRing,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.journal = journal
        self.store = store
        self.chain = chain
        self.keyring = keyring
        self.policy = policy or AnchoringPolicy()
        self._clock = clock
        self._backoff = _Backoff(
            self.policy.retry_initial_s, self.policy.retry_factor, self.policy.retry_max_s
        )

    # -- sealing ---------------------------------------------------------------------------------

    def seal(self, *, force: bool = False) -> list[BatchRow]:
        """Seal pending records into batches: every full batch, plus an underfull one that is old enough.

        ``force`` seals whatever is pending regardless of age (shutdown, tests).
        """
        sealed: list[BatchRow] = []
        now = self._clock()
        for kind, (count, oldest) in sorted(self.journal.pending().items()):
            remaining = count
            while remaining >= self.policy.batch_size or (
                remaining > 0 and (force or now - oldest >= self.policy.max_batch_age_s)
            ):
                batch = self.journal.open_batch(
                    kind,
                    self.policy.batch_size,
                    functools.partial(build_sealed_batch_document, kind, keyring=self.keyring),
                )
                if batch is None:
                    break
                log.info("sealed batch %d: %d %s records", batch.id, batch.record_count, kind.name.lower())
                sealed.append(batch)
                remaining -= batch.record_count
        return sealed

    # -- one step ----------------------------------------------------------------------------------

    @overload
    def step(self, batch: BatchRow) -> BatchRow: ...
    @overload
    def step(self, batch: BatchHead) -> BatchHead: ...
    def step(self, batch: BatchHead) -> BatchHead:
        """Advance ``batch`` by at most one state (committed); return it as it now stands.

        A transition returns the full row; a batch that stays where it is comes back as it was given.
        """
        if batch.state == "open":
            return self._store(batch)
        if batch.state == "stored":
            return self._send(batch)
        if batch.state == "sent":
            return self._read_back(batch)
        if batch.state == "anchored":
            return self._confirm(batch)
        return self._recheck(batch)

    def _store(self, batch: BatchHead) -> BatchRow:
        # Only this step needs the document: the run loop reads batches without it.
        document = batch.document if isinstance(batch, BatchRow) else self.journal.batch_document(batch.id)
        if not is_sealed(document):
            # Journaled in clear by a version that did not seal documents: seal it (journaled first).
            log.warning("batch %d: its document was journaled in clear; sealing it before storing", batch.id)
            sealed = seal_batch_document(batch.kind, batch.root, batch.record_count, document, self.keyring)
            document = self.journal.reseal_open_batch(batch.id, sealed).document
        cid = self.store.put(document)
        return self.journal.mark_stored(batch.id, cid, cid_digest(cid))

    def _check_anchor(self, batch: BatchHead, anchor: AnchorRecord) -> None:
        if anchor.record_count != batch.record_count or anchor.kind != batch.kind:
            raise AnchorMismatch(
                f"root 0x{batch.root.hex()} is anchored with {anchor.record_count} {anchor.kind.name} "
                f"records, batch {batch.id} has {batch.record_count} {batch.kind.name}"
            )

    def _find_tx(self, root: bytes, block_number: int) -> bytes | None:
        # Recover the hash of an anchoring transaction whose receipt a crashed worker never recorded:
        # the registry's anchoring event in that block carries the root among its arguments.
        try:
            events = self.chain.events(block_number, block_number)
        except (ChainUnavailable, ContractRevert):
            return None
        for event in events:
            if root in event.args.values():
                return event.tx_hash
        return None

    def _adopt(self, batch: BatchHead, anchor: AnchorRecord) -> BatchRow:
        self._check_anchor(batch, anchor)
        block_hash = self.chain.block_hash(anchor.block_number)
        if block_hash is None:
            raise ChainUnavailable(f"node does not know block {anchor.block_number} it reports the anchor in")
        log.info("batch %d: root already anchored in block %d, adopting it", batch.id, anchor.block_number)
        return self.journal.mark_sent(
            batch.id, self._find_tx(batch.root, anchor.block_number), anchor.block_number, block_hash
        )

    def _send(self, batch: BatchHead) -> BatchRow:
        assert batch.cid_digest is not None  # the stored state always has it
        existing = self.chain.get_anchor(batch.root)
        if existing is not None:
            return self._adopt(batch, existing)
        try:
            receipt = self.chain.anchor_batch(batch.root, batch.cid_digest, batch.record_count, batch.kind)
        except ContractRevert as exc:
            if not _is_already_anchored(exc):
                raise
            anchor = self.chain.get_anchor(batch.root)
            if anchor is None:
                raise
            return self._adopt(batch, anchor)
        log.info(
            "batch %d anchored in block %d (tx 0x%s)", batch.id, receipt.block_number, receipt.tx_hash.hex()
        )
        return self.journal.mark_sent(batch.id, receipt.tx_hash, receipt.block_number, receipt.block_hash)

    def _dropped(self, batch: BatchHead, why: str) -> BatchRow:
        log.warning("batch %d: anchor dropped (%s); it will be anchored again", batch.id, why)
        return self.journal.mark_dropped(batch.id)

    def _still_there(self, batch: BatchHead) -> tuple[AnchorRecord | None, str | None]:
        """The registry's anchor for the batch, or None and why it no longer counts."""
        anchor = self.chain.get_anchor(batch.root)
        if anchor is None:
            return None, "the registry no longer knows the root"
        self._check_anchor(batch, anchor)
        if anchor.block_number != batch.block_number:
            return None, f"anchor moved from block {batch.block_number} to {anchor.block_number}"
        assert batch.block_number is not None  # set from sent onwards
        if self.chain.block_hash(batch.block_number) != batch.block_hash:
            return None, f"block {batch.block_number} was replaced"
        return anchor, None

    def _read_back(self, batch: BatchHead) -> BatchRow:
        anchor, why = self._still_there(batch)
        if anchor is None:
            return self._dropped(batch, why or "")
        assert batch.block_hash is not None
        return self.journal.mark_anchored(batch.id, anchor.block_number, batch.block_hash, None)

    def _confirm(self, batch: BatchHead) -> BatchHead:
        assert batch.block_number is not None
        if self.chain.block_number() - batch.block_number < self.policy.confirmations:
            return batch
        anchor, why = self._still_there(batch)
        if anchor is None:
            return self._dropped(batch, why or "")
        return self.journal.mark_confirmed(batch.id)

    def _recheck(self, batch: BatchHead) -> BatchHead:
        anchor, why = self._still_there(batch)
        return batch if anchor is not None else self._dropped(batch, why or "")

    # -- the loop --------------------------------------------------------------------------------------

    def run_once(self) -> RunReport:
        """Seal due batches and push every unfinished batch as far as it will go right now.

        A transient failure (chain or store down) stops the run, is noted on the batch, and arms the
        backoff; ``run_once`` does nothing until the backoff expires. Ingestion is unaffected.
        """
        now = self._clock()
        if now < self._backoff.not_before:
            return RunReport(retry_in=self._backoff.not_before - now)
        sealed = len(self.seal())
        advanced = confirmed = dropped = 0
        current: BatchHead | None = None
        try:
            # Re-check confirmed anchors first, so a batch a reorg dropped is re-anchored in this run.
            dropped += self._recheck_recent()
            # Without documents: only the open → stored step needs one, and it reads it itself.
            for batch in self.journal.batch_heads(("open", "stored", "sent", "anchored")):
                current = batch
                # Bounded: a chain that keeps dropping the anchor must not pin this loop forever.
                for _ in range(2 * len(BATCH_STATES)):
                    if current.state == "confirmed":
                        break
                    moved = self.step(current)
                    if moved.state == current.state and moved.reorgs == current.reorgs:
                        break  # waiting for confirmations
                    advanced += 1
                    dropped += moved.reorgs - current.reorgs
                    confirmed += moved.state == "confirmed"
                    current = moved
            current = None
        except TRANSIENT_ERRORS as exc:
            delay = self._backoff.fail(self._clock())
            if current is not None:
                self.journal.record_failure(current.id, f"{type(exc).__name__}: {exc}")
            log.warning("anchoring paused for %.1f s: %s: %s", delay, type(exc).__name__, exc)
            return RunReport(sealed, advanced, confirmed, dropped, f"{type(exc).__name__}: {exc}", delay)
        except ContractRevert as exc:
            # Not transient in principle (e.g. the oracle account lost ORACLE_ROLE), but an operator can
            # fix it without restarting us: note it, back off, retry.
            delay = self._backoff.fail(self._clock())
            if current is not None:
                self.journal.record_failure(current.id, f"ContractRevert: {exc}")
            log.error("anchoring reverted, retrying in %.1f s: %s", delay, exc)
            return RunReport(sealed, advanced, confirmed, dropped, f"ContractRevert: {exc}", delay)
        self._backoff.succeed()
        return RunReport(sealed, advanced, confirmed, dropped)

    def _recheck_recent(self) -> int:
        # Only confirmed batches within ``recheck_blocks`` of the head, read through the (state,
        # block_number) index and without documents: this runs every few seconds for the life of the
        # journal, so it must not read the whole history (which made a long run quadratic).
        if not self.journal.has_batches(("confirmed",)):
            return 0  # and the chain is not asked for its head
        head = self.chain.block_number()
        recent = self.journal.batch_heads(("confirmed",), min_block=head - self.policy.recheck_blocks)
        return sum(self._recheck(batch).state != "confirmed" for batch in recent)

    def drain(self, *, max_rounds: int = 1000) -> RunReport:
        """Seal everything pending and run until nothing is left to do (tests, shutdown, scripts)."""
        self.seal(force=True)
        report = RunReport()
        for _ in range(max_rounds):
            report = self.run_once()
            if report.error is not None or report.idle:
                break
        return report
