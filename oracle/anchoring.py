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
from oracle.ports import AnchorChain, PipelinedAnchorChain
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
    roots_per_tx: int = Field(
        default=16, ge=1, le=64, description="Roots per anchoring transaction, when the ledger takes several."
    )
    max_in_flight: int = Field(
        default=4, ge=1, le=64, description="Anchoring transactions sent and not yet mined, at most."
    )
    receipt_wait_s: float = Field(
        default=5.0, gt=0, description="How long one run waits for the receipts of what it sent."
    )
    receipt_poll_s: float = Field(default=0.005, gt=0, description="Receipt polling interval.")
    in_flight_timeout_s: float = Field(
        default=300.0, gt=0, description="A sent transaction still unmined after this is looked up again."
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


@dataclass(slots=True)
class _Progress:
    """What a run has done so far, and the batch it is working on (to note a failure on)."""

    sealed: int
    advanced: int = 0
    confirmed: int = 0
    dropped: int = 0
    current: BatchHead | None = None

    def report(self, error: str | None = None, retry_in: float | None = None) -> RunReport:
        return RunReport(self.sealed, self.advanced, self.confirmed, self.dropped, error, retry_in)


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
        # Pipelined anchoring (``PipelinedAnchorChain``), in memory only: what a crash loses here is
        # rebuilt from the journal and the chain (see ``_run_pipelined``).
        self._checked: set[int] = set()  # stored batches this process knows no earlier send anchored
        self._in_flight: dict[bytes, list[BatchHead]] = {}  # tx hash -> the batches it anchors
        self._sent_at: dict[bytes, float] = {}  # tx hash -> when it was sent (monotonic)
        # The chain's head (height, hash) at the last full re-check of recent anchors, cleared whenever
        # this anchorer confirms a batch (see ``_recheck_recent_grouped``).
        self._rechecked_head: tuple[int, bytes | None] | None = None

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
        progress = _Progress(sealed)
        try:
            if isinstance(self.chain, PipelinedAnchorChain):
                self._run_pipelined(self.chain, progress)
            else:
                self._run_serial(progress)
            progress.current = None
        except TRANSIENT_ERRORS as exc:
            delay = self._backoff.fail(self._clock())
            if progress.current is not None:
                self.journal.record_failure(progress.current.id, f"{type(exc).__name__}: {exc}")
            log.warning("anchoring paused for %.1f s: %s: %s", delay, type(exc).__name__, exc)
            return progress.report(f"{type(exc).__name__}: {exc}", delay)
        except ContractRevert as exc:
            # Not transient in principle (e.g. the oracle account lost ORACLE_ROLE), but an operator can
            # fix it without restarting us: note it, back off, retry.
            delay = self._backoff.fail(self._clock())
            if progress.current is not None:
                self.journal.record_failure(progress.current.id, f"ContractRevert: {exc}")
            log.error("anchoring reverted, retrying in %.1f s: %s", delay, exc)
            return progress.report(f"ContractRevert: {exc}", delay)
        self._backoff.succeed()
        return progress.report()

    def _run_serial(self, progress: _Progress) -> None:
        """One root per transaction, each step its own committed transition (any ``AnchorChain``)."""
        # Re-check confirmed anchors first, so a batch a reorg dropped is re-anchored in this run.
        progress.dropped += self._recheck_recent()
        # Without documents: only the open → stored step needs one, and it reads it itself.
        for batch in self.journal.batch_heads(("open", "stored", "sent", "anchored")):
            current = progress.current = batch
            # Bounded: a chain that keeps dropping the anchor must not pin this loop forever.
            for _ in range(2 * len(BATCH_STATES)):
                if current.state == "confirmed":
                    break
                moved = self.step(current)
                if moved.state == current.state and moved.reorgs == current.reorgs:
                    break  # waiting for confirmations
                progress.advanced += 1
                progress.dropped += moved.reorgs - current.reorgs
                progress.confirmed += moved.state == "confirmed"
                current = progress.current = moved

    # -- pipelined anchoring ---------------------------------------------------------------------------

    def _run_pipelined(self, chain: PipelinedAnchorChain, progress: _Progress) -> None:
        """Several roots per transaction, several transactions in flight, receipts collected as they come.

        Per run: re-check recent confirmed anchors (one block hash per block, not per batch); store the
        open batches; read back adopted (``sent``) ones; send the ``stored`` ones ``roots_per_tx`` at a
        time with at most ``max_in_flight`` transactions unmined, and mark each mined transaction's
        batches ``anchored`` from its receipt (its ``BatchAnchored`` events are the read-back) in one
        journal commit; then confirm deep-enough batches by their block's hash.

        Never twice on the chain: a ``stored`` batch this process did not store itself (a restart, a
        revert) is first looked up with ``get_anchor`` and adopted if an earlier send made it; a root
        anchored between that check and the send makes the whole transaction revert (the registry's
        all-or-none rule) and its batches are looked up again. The nonce manager starts from the node's
        pending nonce, so a restart continues after whatever its predecessor left in the pool.
        """
        progress.dropped += self._recheck_recent_grouped()
        for batch in self.journal.batch_heads(("open",)):
            progress.current = batch
            self._store(batch)
            self._checked.add(batch.id)
            progress.advanced += 1
        for batch in self.journal.batch_heads(("sent",)):
            progress.current = batch
            moved = self._read_back(batch)
            progress.advanced += 1
            progress.dropped += moved.reorgs - batch.reorgs
        progress.current = None
        self._send_and_collect(chain, progress)
        self._confirm_grouped(progress)

    def _send_and_collect(self, chain: PipelinedAnchorChain, progress: _Progress) -> None:
        flying = {b.id for batches in self._in_flight.values() for b in batches}
        waiting = [b for b in self.journal.batch_heads(("stored",)) if b.id not in flying]
        deadline = time.monotonic() + self.policy.receipt_wait_s
        while waiting or self._in_flight:
            while waiting and len(self._in_flight) < self.policy.max_in_flight:
                chunk: list[BatchHead] = []
                while waiting and len(chunk) < self.policy.roots_per_tx:
                    batch = progress.current = waiting.pop(0)
                    if batch.id not in self._checked:
                        existing = self.chain.get_anchor(batch.root)
                        if existing is not None:
                            self._adopt(batch, existing)
                            progress.advanced += 1
                            continue
                        self._checked.add(batch.id)
                    chunk.append(batch)
                if not chunk:
                    break
                progress.current = chunk[0]
                items = [(b.root, b.cid_digest or b"", b.record_count, b.kind) for b in chunk]
                tx_hash = chain.send_anchor_batches(items)
                log.info("sent %d root(s) in tx 0x%s", len(chunk), tx_hash.hex())
                self._in_flight[tx_hash] = chunk
                self._sent_at[tx_hash] = time.monotonic()
            progress.current = None
            collected = self._collect(chain, waiting, progress)
            if self._in_flight and not collected:
                if time.monotonic() >= deadline:
                    return  # still unmined: the next run collects them
                time.sleep(self.policy.receipt_poll_s)

    def _collect(self, chain: PipelinedAnchorChain, waiting: list[BatchHead], progress: _Progress) -> int:
        """Read the receipts of in-flight transactions; how many were mined (or reverted)."""
        collected = 0
        for tx_hash, batches in list(self._in_flight.items()):
            try:
                receipt = chain.anchor_receipt(tx_hash)
            except ContractRevert as exc:
                self._forget(tx_hash)
                if not _is_already_anchored(exc):
                    raise
                # A root in it was anchored meanwhile (a send from before a restart, mined late):
                # look every one of them up again before anything is resent.
                collected += 1
                log.info("tx 0x%s reverted (%s); looking its %d root(s) up", tx_hash.hex(), exc, len(batches))
                for batch in batches:
                    self._checked.discard(batch.id)
                waiting[:0] = batches
                continue
            if receipt is None:
                if time.monotonic() - self._sent_at.get(tx_hash, 0.0) < self.policy.in_flight_timeout_s:
                    continue
                # Dropped from the pool (or stuck): free its slot, and look its roots up before any
                # resend, so a late mining of it is adopted; if both are mined, the registry reverts one.
                log.warning(
                    "tx 0x%s not mined in time; looking its %d root(s) up", tx_hash.hex(), len(batches)
                )
                self._forget(tx_hash)
                chain.forget_nonces()  # its nonce may be free again: take the node's pending count
                collected += 1
                for batch in batches:
                    self._checked.discard(batch.id)
                waiting[:0] = batches
                continue
            self._forget(tx_hash)
            collected += 1
            anchored = {e.args.get("root") for e in receipt.events if e.name == "BatchAnchored"}
            mined = [b for b in batches if b.root in anchored]
            for batch in batches:
                if batch.root not in anchored:  # cannot happen with an all-or-none registry: re-check it
                    self._checked.discard(batch.id)
                    waiting.insert(0, batch)
            if mined:
                self.journal.mark_anchored_many(
                    [b.id for b in mined], receipt.tx_hash, receipt.block_number, receipt.block_hash
                )
                progress.advanced += len(mined)
                for batch in mined:
                    self._checked.discard(batch.id)
                log.info(
                    "%d batch(es) anchored in block %d (tx 0x%s)",
                    len(mined), receipt.block_number, receipt.tx_hash.hex(),
                )  # fmt: skip
        return collected

    def _forget(self, tx_hash: bytes) -> None:
        self._in_flight.pop(tx_hash, None)
        self._sent_at.pop(tx_hash, None)

    def _confirm_grouped(self, progress: _Progress) -> None:
        """anchored → confirmed for every batch deep enough whose block is still the one recorded.

        The block hash at the recorded height, unchanged, means the block holding the (successful)
        anchoring transaction is still canonical, so the anchor stands: one ``block_hash`` per block,
        not a ``get_anchor`` per batch. A changed hash takes the per-batch path (``_confirm``).
        """
        anchored = self.journal.batch_heads(("anchored",))
        if not anchored:
            return
        head = self.chain.block_number()
        hashes: dict[int, bytes | None] = {}
        ready: list[int] = []
        for batch in anchored:
            assert batch.block_number is not None  # set from sent onwards
            if head - batch.block_number < self.policy.confirmations:
                continue
            if batch.block_number not in hashes:
                hashes[batch.block_number] = self.chain.block_hash(batch.block_number)
            if hashes[batch.block_number] == batch.block_hash:
                ready.append(batch.id)
                continue
            progress.current = batch
            self._rechecked_head = None
            moved = self._confirm(batch)
            progress.advanced += 1
            progress.dropped += moved.reorgs - batch.reorgs
            progress.confirmed += moved.state == "confirmed"
        progress.current = None
        if ready:
            self._rechecked_head = None  # newly confirmed anchors: the next run re-checks in full
            self.journal.mark_confirmed_many(ready)
            progress.advanced += len(ready)
            progress.confirmed += len(ready)

    def _recheck_recent_grouped(self) -> int:
        """``_recheck_recent`` with one block hash per block; a changed one re-checks its batches fully."""
        if not self.journal.has_batches(("confirmed",)):
            return 0
        head = self.chain.block_number()
        last = self._rechecked_head
        if last is not None and last[0] == head and self.chain.block_hash(head) == last[1]:
            # The same head block as at the last full re-check, and nothing confirmed since: a block's
            # hash commits to all its ancestors, so the chain below is the one every confirmed anchor
            # was re-checked against. One block hash instead of one per recent block on every run
            # (the loop runs every poll while ingestion is slow: at one reading per upload this was
            # most of the anchoring process's CPU and RPCs). Any confirmation clears ``last``.
            return 0
        recent = self.journal.batch_heads(("confirmed",), min_block=head - self.policy.recheck_blocks)
        hashes: dict[int, bytes | None] = {}
        dropped = 0
        for batch in recent:
            assert batch.block_number is not None
            if batch.block_number not in hashes:
                hashes[batch.block_number] = self.chain.block_hash(batch.block_number)
            if hashes[batch.block_number] != batch.block_hash:
                dropped += self._recheck(batch).state != "confirmed"
        self._rechecked_head = None if dropped else (head, hashes.get(head) or self.chain.block_hash(head))
        return dropped

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
