"""What each verification check means, in words a buyer reads (translated on the page).

The names are ``passport.verify``'s (and ``index.custody`` from ``passport.audit``); the page shows the
description and keeps the name beside it, since that is what the bundle and the CLI report.
"""

from __future__ import annotations

from api.web.i18n import N_

CHECK_LABELS: dict[str, str] = {
    "bundle.readable": N_("The verification bundle can be read"),
    "bundle.format": N_("The bundle is in a format this verifier reads"),
    "manifest.schema": N_("The manifest is well formed"),
    "manifest.digest": N_("The manifest matches its signed fingerprint"),
    "manifest.cid": N_("The manifest matches its content address"),
    "manifest.consistency": N_("The manifest agrees with what was signed"),
    "public_section.digest": N_("The public data matches its fingerprint"),
    "public_section.cid": N_("The public data matches its content address"),
    "public_section.document": N_("The public data is a well-formed passport section"),
    "signature.recover": N_("The issuer's signature is valid"),
    "signature.trusted_issuer": N_("The issuer is trusted"),
    "anchor.header": N_("The anchoring block is proven"),
    "anchor.transaction": N_("The anchoring transaction is in that block"),
    "anchor.receipt": N_("The ledger recorded exactly this version"),
    "anchor.writer": N_("The ledger entry was written by the signer"),
    "chain.network": N_("The ledger is the expected network"),
    "chain.record_exists": N_("The passport is registered on the ledger"),
    "chain.digest_matches": N_("The ledger holds this version's fingerprint"),
    "chain.current_version": N_("This is the current version"),
    "chain.lifecycle": N_("The passport's life cycle on the ledger"),
    "chain.status_matches": N_("The status agrees with the ledger"),
    "chain.identity": N_("The battery identity agrees with the ledger"),
    "chain.custody": N_("The custodian on the ledger"),
    "chain.signature_onchain": N_("The signature recorded on the ledger matches"),
    "chain.anchor": N_("The anchoring block is on the ledger's chain"),
    "chain.writer": N_("The ledger's writer is the signer"),
    "store.content": N_("The stored documents are intact"),
    "store.sections": N_("The stored sections match the passport"),
    "index.custody": N_("The custody history agrees with the ledger"),
}


def check_label(name: str) -> str | None:
    """The catalogue message describing check ``name``, or ``None`` for a check this page does not know."""
    return CHECK_LABELS.get(name)
