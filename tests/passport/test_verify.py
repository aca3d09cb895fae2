"""Offline verification of a bundle: every check by name, and every tampering caught by its check."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from passport.bundle import BUNDLE_FORMAT, VerificationBundle, build_bundle, load_bundle
from passport.errors import InvalidIdentifier, VerificationError
from passport.model import LifecycleStatus
from passport.signing import sign_passport_version
from passport.verify import CHAIN_CHECKS, CheckStatus, VerificationReport, verify_bundle
from tests.passport.bundle_samples import (
    BLOCK_NUMBER,
    DOMAIN,
    ISSUER,
    OFFLINE_CHECKS,
    OTHER,
    OTHER_KEY,
    commit_sample,
    make_bundle,
    synthetic_anchor,
    version_log,
)


@pytest.fixture
def bundle(tmp_path: Path) -> VerificationBundle:
    return make_bundle(tmp_path)


def statuses(report: VerificationReport) -> dict[str, CheckStatus]:
    return {check.name: check.status for check in report.checks}


def failed(report: VerificationReport) -> set[str]:
    return {check.name for check in report.failed()}


def test_a_good_bundle_passes_every_offline_check(bundle: VerificationBundle) -> None:
    report = verify_bundle(bundle, [ISSUER])
    assert report.ok
    assert [c.name for c in report.checks] == OFFLINE_CHECKS + list(CHAIN_CHECKS)
    assert all(statuses(report)[name] is CheckStatus.PASS for name in OFFLINE_CHECKS)
    assert all(statuses(report)[name] is CheckStatus.SKIPPED for name in CHAIN_CHECKS)
    assert report.signer == ISSUER
    assert report.version == 1
    assert report.status == "ORIGINAL"
    assert not report.chain_checked


def test_report_is_json_serialisable(bundle: VerificationBundle) -> None:
    document = json.loads(json.dumps(verify_bundle(bundle, [ISSUER]).model_dump(mode="json")))
    assert document["ok"] is True
    assert document["checks"][0] == {
        "name": "bundle.format",
        "status": "pass",
        "reason": f"format {BUNDLE_FORMAT}",
    }


def test_bundle_round_trips_through_its_json_file(bundle: VerificationBundle) -> None:
    again = load_bundle(bundle.to_json())
    assert again == bundle
    assert verify_bundle(bundle.to_json(), [ISSUER]).ok
    assert verify_bundle(json.loads(bundle.to_json()), [ISSUER.lower()]).ok


def test_bundle_carries_no_restricted_data(bundle: VerificationBundle) -> None:
    assert b"secret" not in bundle.to_json()
    assert b"secret" not in bundle.public_section_bytes


# -- tampering: each change is reported under the check that owns it --------------------------------


def _flip_hex(value: str, index: int = -1) -> str:
    """Change one hex digit, keeping the string well formed (so a check sees it, not the parser)."""
    chars = list(value)
    chars[index] = "1" if chars[index] != "1" else "2"
    return "".join(chars)


def _flip_byte_b64(value: str, index: int) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _set(document: dict[str, Any], path: str, change: Any) -> None:
    *parents, leaf = path.split(".")
    target: Any = document
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    key: Any = int(leaf) if isinstance(target, list) else leaf
    target[key] = change(target[key]) if callable(change) else change


SIG = {"signature.recover", "signature.trusted_issuer"}
# The anchor's receipt records the registry's event; a signed field it names no longer matches it.
EVENT = "anchor.receipt"
TAMPERING: list[tuple[str, Any, set[str]]] = [
    ("format", "battery-passport-ledger/bundle/v0", {"bundle.format"}),
    ("issuer", OTHER, {"signature.recover"}),
    # Another signer than the writer the registry recorded.
    ("signature", _flip_hex, {*SIG, "anchor.writer"}),
    # A changed signed field or domain recovers some other, untrusted, address.
    ("signed.passport_id", _flip_hex, {*SIG, "manifest.consistency", EVENT}),
    ("signed.battery_id_hash", _flip_hex, {*SIG, "manifest.consistency", EVENT}),
    ("signed.version", 2, {*SIG, "manifest.consistency", EVENT}),
    ("signed.status", 1, {*SIG, "manifest.consistency", EVENT}),
    ("signed.manifest_digest", _flip_hex, {*SIG, "manifest.digest", EVENT}),
    ("signed.predecessor", _flip_hex, {*SIG, "manifest.consistency", EVENT}),
    ("anchor.chain_id", 1, {*SIG, "anchor.writer"}),
    ("anchor.registry", "0x" + "33" * 20, {*SIG, EVENT}),
    # The anchor's location and proofs, judged offline against the shipped header.
    ("anchor.tx_hash", _flip_hex, {"anchor.transaction"}),
    ("anchor.block_number", 8, {"anchor.header"}),
    ("anchor.block_hash", _flip_hex, {"anchor.header"}),
    ("anchor.tx_index", 2, {"anchor.transaction", EVENT}),
    ("anchor.header.5", _flip_hex, {"anchor.header"}),
    ("anchor.header.8", "0x08", {"anchor.header"}),
    ("anchor.transaction_proof.0", lambda n: _flip_hex(n, 40), {"anchor.transaction"}),
    ("anchor.receipt_proof.0", lambda n: _flip_hex(n, 40), {EVENT}),
    ("manifest_cid", lambda c: c[:-1] + ("a" if c[-1] != "a" else "b"), {"manifest.cid"}),
    ("manifest.document_schema", "test-schema/2", {"manifest.digest", "manifest.cid"}),
    ("manifest.version", 2, {"manifest.digest", "manifest.cid", "manifest.consistency"}),
    ("manifest.sections.0.digest", _flip_hex, {"manifest.digest", "manifest.cid", "public_section.digest"}),
    (
        "manifest.sections.0.cid",
        lambda c: c[:-1] + ("a" if c[-1] != "a" else "b"),
        {"manifest.digest", "manifest.cid", "public_section.cid"},
    ),
    ("manifest.sections.1.encryption.nonce", _flip_hex, {"manifest.digest", "manifest.cid"}),
    ("public_section", lambda v: _flip_byte_b64(v, 40), {"public_section.digest", "public_section.cid"}),
    (
        "public_section",
        lambda v: _flip_byte_b64(v, 2),
        {"public_section.digest", "public_section.cid", "public_section.document"},
    ),
]


@pytest.mark.parametrize(
    ("path", "change", "expected"), TAMPERING, ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(TAMPERING)]
)
def test_every_tampered_field_is_reported_by_name(
    bundle: VerificationBundle, path: str, change: Any, expected: set[str]
) -> None:
    document = json.loads(bundle.to_json())
    _set(document, path, change)
    report = verify_bundle(document, [ISSUER])
    assert not report.ok
    assert failed(report) == expected


def test_every_single_byte_change_in_the_file_is_unreadable_or_fails(bundle: VerificationBundle) -> None:
    """Brute force over the whole file, anchor and proofs included: no change may verify offline."""
    raw = bundle.to_json()
    caught = 0
    for index in range(0, len(raw), 7):  # every 7th byte keeps the test under a few seconds
        if raw[index : index + 1] in b" \n":
            continue
        tampered = raw[:index] + bytes([raw[index] ^ 0x01]) + raw[index + 1 :]
        try:
            report = verify_bundle(tampered, [ISSUER])
        except VerificationError:
            caught += 1
            continue
        assert not report.ok, f"byte {index} ({raw[max(0, index - 20) : index + 20]!r}) changed but verified"
        caught += 1
    assert caught > 100


def test_offline_report_says_what_it_cannot_know(bundle: VerificationBundle) -> None:
    report = verify_bundle(bundle, [ISSUER])
    assert report.anchored_block == BLOCK_NUMBER
    assert report.summary.startswith(f"VALID as of version 1, block {BLOCK_NUMBER}; freshness not checked")
    assert report.model_dump(mode="json")["summary"] == report.summary


def test_an_anchor_recording_another_passport_is_caught(tmp_path: Path) -> None:
    ours = make_bundle(tmp_path / "a")
    theirs = make_bundle(tmp_path / "b", version=2, status=LifecycleStatus.REUSED)
    report = verify_bundle(ours.model_copy(update={"anchor": theirs.anchor}), [ISSUER])
    assert failed(report) == {"anchor.receipt"}
    assert "version 2" in report.check("anchor.receipt").reason
    assert report.summary.startswith("INVALID")


def test_a_version_recorded_by_another_writer_is_caught(tmp_path: Path) -> None:
    """Re-signed by another trusted key, with ``issuer`` set to it: the anchor names the real writer."""
    committed = commit_sample(tmp_path)
    forged_signature = sign_passport_version(OTHER_KEY, DOMAIN, committed.version_struct())
    anchor = synthetic_anchor([version_log(committed, ISSUER)])
    forged = build_bundle(committed, issuer=OTHER, signature=forged_signature, anchor=anchor)
    report = verify_bundle(forged, [ISSUER, OTHER])
    assert failed(report) == {"anchor.writer"}
    assert ISSUER in report.check("anchor.writer").reason


def test_a_signature_by_another_key_is_caught(tmp_path: Path) -> None:
    forged = make_bundle(tmp_path, key=OTHER_KEY)
    mislabelled = forged.model_copy(update={"issuer": ISSUER})
    report = verify_bundle(mislabelled, [ISSUER])
    assert failed(report) == {"signature.recover", "signature.trusted_issuer"}
    assert OTHER in report.check("signature.recover").reason


def test_an_untrusted_issuer_is_caught(tmp_path: Path) -> None:
    report = verify_bundle(make_bundle(tmp_path, key=OTHER_KEY), [ISSUER])
    assert failed(report) == {"signature.trusted_issuer"}
    assert report.signer == OTHER


def test_no_trusted_issuers_means_not_trusted(bundle: VerificationBundle) -> None:
    report = verify_bundle(bundle, [])
    assert failed(report) == {"signature.trusted_issuer"}
    assert "no issuer is trusted" in report.check("signature.trusted_issuer").reason


def test_a_malformed_manifest_skips_what_depends_on_it(bundle: VerificationBundle) -> None:
    document = json.loads(bundle.to_json())
    document["manifest"]["sections"] = []
    report = verify_bundle(document, [ISSUER])
    assert {"manifest.schema", "manifest.digest", "manifest.cid"} <= failed(report)
    for name in (
        "manifest.consistency",
        "public_section.digest",
        "public_section.cid",
        "public_section.document",
    ):
        assert statuses(report)[name] is CheckStatus.SKIPPED


def test_a_manifest_that_cannot_be_canonicalised_fails(bundle: VerificationBundle) -> None:
    document = json.loads(bundle.to_json())
    document["manifest"]["version"] = 2**60
    report = verify_bundle(document, [ISSUER])
    assert {"manifest.schema", "manifest.digest"} <= failed(report)
    assert statuses(report)["manifest.cid"] is CheckStatus.SKIPPED


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: b"not json", "not strict JSON"),
        (lambda d: b"[]", "not a JSON object"),
        (lambda d: json.dumps({k: v for k, v in d.items() if k != "signature"}).encode(), "signature"),
        (lambda d: json.dumps(d | {"extra": 1}).encode(), "extra"),
        (lambda d: json.dumps(d | {"signature": d["signature"][:-2]}).encode(), "signature"),
        (lambda d: json.dumps(d | {"issuer": "0x" + d["issuer"][2:].swapcase()}).encode(), "checksum"),
        (lambda d: json.dumps(d | {"issuer": "0X" + d["issuer"][2:]}).encode(), "issuer"),
        (lambda d: json.dumps(d | {"public_section": d["public_section"] + "!"}).encode(), "public_section"),
        (lambda d: json.dumps(d | {"public_section": "QR=="}).encode(), "canonical form"),
        (lambda d: json.dumps(d | {"signed": d["signed"] | {"status": 6}}).encode(), "signed.status"),
        (lambda d: json.dumps(d | {"format": "x/v9", "signed": 1}).encode(), "this verifier reads"),
        (lambda d: json.dumps(d).encode().replace(b'"format"', b'"format": "x", "format"', 1), "duplicate"),
    ],
    ids=[
        "not-json",
        "array",
        "missing",
        "extra",
        "short-signature",
        "bad-checksum",
        "0X-prefix",
        "bad-base64",
        "non-canonical-base64",
        "bad-status",
        "unknown-format",
        "duplicate-key",
    ],
)
def test_unreadable_bundles_raise(bundle: VerificationBundle, mutate: Any, fragment: str) -> None:
    with pytest.raises(VerificationError, match=fragment):
        verify_bundle(mutate(json.loads(bundle.to_json())), [ISSUER])


def test_bad_trusted_issuer_addresses_are_refused(bundle: VerificationBundle) -> None:
    with pytest.raises(InvalidIdentifier, match="trusted issuer"):
        verify_bundle(bundle, ["0x1234"])


def test_bundle_of_a_later_version_and_status(tmp_path: Path) -> None:
    report = verify_bundle(make_bundle(tmp_path, version=3, status=LifecycleStatus.WASTE), [ISSUER])
    assert report.ok
    assert report.version == 3
    assert report.status == "WASTE"


def test_check_lookup(bundle: VerificationBundle) -> None:
    report = verify_bundle(bundle, [ISSUER])
    with pytest.raises(KeyError):
        report.check("nope")
    assert copy.deepcopy(report) == report
