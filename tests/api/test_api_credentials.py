"""Passports as verifiable credentials and the resolver, end to end over real HTTP (uvicorn on a free
loopback port).

The ledger is the in-process chain (eth-tester) to keep the suite fast; the API, its did:web documents
and status lists are served by uvicorn, and resolved by URL exactly as an outside verifier would.
The independent verifier is ``jwcrypto`` (the API signs with ``joserfc``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import zxingcpp
from jwcrypto import jwk, jws
from PIL import Image
from typer.testing import CliRunner

from api.auth import ApiKeyStore
from cli.main import app as cli_app
from devtools.samples import sample_passport
from passport.credentials import (
    MEDIA_TYPE,
    UNTP_DPP_CONTEXT,
    VC_CONTEXT,
    HttpDocumentSource,
    document_url,
    open_envelope,
    validate_did_document,
    verify_credential,
)
from passport.credentials.links import LINKSET_MEDIA_TYPE as LINKSET
from passport.model import BatteryPassport
from passport.model.general import ProductCode
from tests.api.api_stack import PARTICIPANTS, ApiStack, build_services, new_battery_id, serve
from tests.chain_backends import running_backend

UNTP_DPP_SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "passport/fixtures/untp/dpp-0.5.0.schema.json").read_text()
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiStack]:
    run_dir = tmp_path_factory.mktemp("api-credentials")
    with running_backend("eth-tester", run_dir) as backend:
        services = build_services(backend, run_dir / "data")
        try:
            with serve(services) as base_url:
                running = ApiStack(backend, services, base_url)
                keys: ApiKeyStore = services.api_keys
                for name in PARTICIPANTS:
                    running.keys[name] = keys.issue_key(name)
                yield running
                running.http.close()
        finally:
            services.close()


@pytest.fixture(scope="module")
def source() -> Iterator[HttpDocumentSource]:
    documents = HttpDocumentSource()
    yield documents
    documents.close()


def credential_of(stack: ApiStack, pid: str, version: int | None = None) -> str:
    params = {} if version is None else {"version": version}
    response = stack.call("GET", f"/passports/{pid}/credential", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(MEDIA_TYPE)
    return response.text


def did_document_over_http(did: str) -> dict[str, Any]:
    response = httpx.get(document_url(did), timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/did+json")
    document: dict[str, Any] = response.json()
    return document


def test_did_web_document_is_served_and_valid(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    envelope = open_envelope(credential_of(stack, pid))
    port = stack.base_url.rsplit(":", 1)[1]
    issuer = stack.address("issuer").lower()
    assert envelope.issuer == f"did:web:127.0.0.1%3A{port}:participants:{issuer}"
    document = did_document_over_http(envelope.issuer)
    validate_did_document(document)
    assert document["id"] == envelope.issuer
    methods = {m["id"]: m for m in document["verificationMethod"]}
    assert methods[envelope.kid]["publicKeyJwk"]["crv"] == "P-256"
    assert "d" not in methods[envelope.kid]["publicKeyJwk"]
    ethereum = methods[f"{envelope.issuer}#ethereum"]
    assert ethereum["type"] == "EcdsaSecp256k1RecoveryMethod2020"
    assert ethereum["blockchainAccountId"] == f"eip155:{stack.services.reader.chain_id}:{issuer}"
    assert envelope.kid in document["assertionMethod"]


def test_credential_verifies_with_an_independent_jose_implementation(stack: ApiStack) -> None:
    passport = stack.issue()
    token = credential_of(stack, str(passport.passport_id))
    header = json.loads(jws.base64url_decode(token.split(".")[0]))
    issuer_did = header["kid"].split("#")[0]
    document = did_document_over_http(issuer_did)
    (method,) = [m for m in document["verificationMethod"] if m["id"] == header["kid"]]
    verifier = jws.JWS()
    verifier.deserialize(token)
    verifier.verify(jwk.JWK(**method["publicKeyJwk"]), alg="ES256")
    assert header["typ"] == "vc+jwt"
    credential = json.loads(verifier.payload)

    assert credential["@context"] == [VC_CONTEXT, UNTP_DPP_CONTEXT]
    jsonschema.validate(credential, UNTP_DPP_SCHEMA, cls=jsonschema.Draft202012Validator)
    assert credential["type"] == ["VerifiableCredential", "DigitalProductPassport"]
    assert credential["issuer"]["id"] == issuer_did
    subject = credential["credentialSubject"]
    assert subject["serialNumber"] == passport.battery_id
    assert subject["id"] == f"{stack.base_url}/id/{passport.passport_id}"
    assert subject["passportId"] == f"urn:uuid:{passport.passport_id}"
    # The public tier only: use data (legitimate interest) and authority data stay out.
    public = subject["batteryPassport"]
    assert public["general"]["battery_id"] == passport.battery_id
    assert "put_into_service" not in public["general"]
    assert passport.general.put_into_service is not None
    # ...and are linked by the digest of their sealed bytes, as the manifest commits them.
    names = {r["name"] for r in credential["relatedResource"]}
    assert names == {"manifest", "legitimate_interest section", "authority section"}
    assert all(r["digestSRI"].startswith("sha256-") for r in credential["relatedResource"])
    anchor = subject["ledgerAnchor"]
    assert anchor["chainId"] == f"eip155:{stack.services.reader.chain_id}"
    assert anchor["registry"] == stack.services.reader.registry_address
    assert anchor["version"] == 1
    record = stack.call("GET", f"/passports/{passport.passport_id}").json()
    assert anchor["manifestDigest"] in json.dumps(record)


def test_recycling_flips_the_status_bit(stack: ApiStack, source: HttpDocumentSource) -> None:
    pid = str(stack.issue().passport_id)
    token = credential_of(stack, pid)
    before = verify_credential(token, source, chain=stack.services.reader)
    assert before.ok, before.checks
    assert before.revoked is False
    assert [c.name for c in before.checks] == [
        "credential.proof",
        "credential.valid_period",
        "credential.status",
        "credential.anchor",
    ]

    stack.transfer(pid, "issuer", "business")
    waste = stack.call("POST", f"/passports/{pid}/status", "business", json={"status": "WASTE"})
    assert waste.status_code == 200, waste.text
    stack.transfer(pid, "business", "recycler")
    recycled = stack.call("POST", f"/passports/{pid}/recycle", "recycler", json={})
    assert recycled.status_code == 200, recycled.text

    after = verify_credential(token, source, chain=stack.services.reader)
    assert after.revoked is True
    assert not after.ok
    (status,) = [c for c in after.checks if c.name == "credential.status"]
    assert status.status == "fail"
    assert "revoked" in status.reason
    # The anchor still holds: the credential is a true, historical statement.
    (anchor,) = [c for c in after.checks if c.name == "credential.anchor"]
    assert anchor.status == "pass"
    assert "superseded by version 3" in anchor.reason

    # The last version's credential is issued by the recycler, who signed it.
    last = open_envelope(credential_of(stack, pid, version=3))
    assert last.issuer.endswith(stack.address("recycler").lower())


def verify_on_server(stack: ApiStack, token: str) -> httpx.Response:
    return stack.http.post("/api/v1/credentials/verify", content=token, headers={"Content-Type": MEDIA_TYPE})


def test_server_side_verification_and_tampering(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    token = credential_of(stack, pid)
    report = verify_on_server(stack, token)
    assert report.status_code == 200, report.text
    assert report.json()["ok"] is True

    head, payload, signature = token.split(".")
    forged = jws.base64url_decode(payload).replace(b'"version":1', b'"version":2')
    tampered = ".".join([head, jws.base64url_encode(forged), signature])
    bad = verify_on_server(stack, tampered)
    assert bad.status_code == 200
    assert bad.json()["ok"] is False
    (proof,) = [c for c in bad.json()["checks"] if c["name"] == "credential.proof"]
    assert proof["status"] == "fail"

    junk = verify_on_server(stack, "not a jws")
    assert junk.status_code == 422
    assert junk.headers["content-type"].startswith("application/problem+json")


def test_key_rotation_keeps_old_credentials_verifiable(stack: ApiStack, source: HttpDocumentSource) -> None:
    pid = str(stack.issue().passport_id)
    old = credential_of(stack, pid)
    stack.services.credentials.keys.rotate(stack.address("issuer"))
    new = credential_of(stack, pid)
    assert open_envelope(old).kid != open_envelope(new).kid
    for token in (old, new):
        report = verify_credential(token, source)
        assert report.ok, report.checks


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/passports/not-a-uuid/credential", 400),
        ("/passports/00000000-0000-4000-8000-000000000000/credential", 404),
        ("/status-lists/0x1234", 400),
        ("/status-lists/0x0000000000000000000000000000000000000001", 409),
    ],
)
def test_bad_requests_are_problems(stack: ApiStack, path: str, status: int) -> None:
    response = stack.call("GET", path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_unknown_version_and_participant_are_problems(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    assert stack.call("GET", f"/passports/{pid}/credential", params={"version": 2}).status_code == 404
    assert stack.call("GET", f"/passports/{pid}/credential", params={"version": 0}).status_code == 422
    stranger = "0x0000000000000000000000000000000000000001"
    response = stack.http.get(f"/participants/{stranger}/did.json")
    assert response.status_code == 409
    assert stack.http.get("/participants/nope/did.json").status_code == 400


def test_cli_verifies_a_credential_against_the_served_did_document(stack: ApiStack, tmp_path: Path) -> None:
    pid = str(stack.issue().passport_id)
    token = tmp_path / "passport.jwt"
    token.write_text(credential_of(stack, pid))
    result = CliRunner().invoke(cli_app, ["vc", "verify", str(token), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["revoked"] is False


# -- the resolver -------------------------------------------------------------------------------------

GTIN = "4006381333931"


def recycle(stack: ApiStack, pid: str) -> None:
    stack.transfer(pid, "issuer", "business")
    waste = stack.call("POST", f"/passports/{pid}/status", "business", json={"status": "WASTE"})
    assert waste.status_code == 200, waste.text
    stack.transfer(pid, "business", "recycler")
    recycled = stack.call("POST", f"/passports/{pid}/recycle", "recycler", json={})
    assert recycled.status_code == 200, recycled.text


def issue_with_gtin(stack: ApiStack) -> BatteryPassport:
    passport = sample_passport(new_battery_id())
    general = passport.general.model_copy(
        update={"product_codes": [*passport.general.product_codes, ProductCode(key="GTIN", value=GTIN)]}
    )
    passport = passport.model_copy(update={"general": general})
    response = stack.call("POST", "/passports", "issuer", json={"passport": passport.model_dump(mode="json")})
    assert response.status_code == 201, response.text
    return passport


def relations(body: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    (context,) = body["linkset"]
    return {rel: targets for rel, targets in context.items() if rel != "anchor"}


def test_identification_link_redirects_to_the_page(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    response = stack.http.get(f"/id/{pid}")
    assert response.status_code == 303
    assert response.headers["location"] == f"{stack.base_url}/p/{pid}"
    assert 'rel="linkset"' in response.headers["link"]
    page = stack.http.get(response.headers["location"])
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("ask", [{"params": {"linkType": "linkset"}}, {"headers": {"Accept": LINKSET}}])
def test_identification_link_linkset_round_trip(stack: ApiStack, ask: dict[str, Any]) -> None:
    pid = str(stack.issue().passport_id)
    response = stack.http.get(f"/id/{pid}", **ask)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(LINKSET)
    body = response.json()
    assert body["linkset"][0]["anchor"] == f"{stack.base_url}/id/{pid}"
    links = relations(body)
    assert set(links) >= {
        "https://gs1.org/voc/defaultLink", "https://gs1.org/voc/pip", "describedby", "latest-version",
        "version-history", "alternate", "status",
    }  # fmt: skip
    # Every target resolves, with the media type the linkset announces.
    for rel in ("describedby", "latest-version", "status", "https://gs1.org/voc/pip", "version-history"):
        (target,) = links[rel]
        fetched = httpx.get(target["href"], timeout=10)
        assert fetched.status_code == 200, (rel, fetched.text)
        assert fetched.headers["content-type"].startswith(target["type"]), rel
    credential = open_envelope(httpx.get(links["describedby"][0]["href"], timeout=10).text)
    assert credential.credential["credentialSubject"]["id"] == f"{stack.base_url}/id/{pid}"


def test_link_type_selects_a_relation(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    latest = stack.http.get(f"/id/{pid}", params={"linkType": "latest-version"})
    assert latest.status_code == 303
    assert latest.headers["location"] == f"{stack.base_url}/api/v1/passports/{pid}/credential"
    pip = stack.http.get(f"/id/{pid}", params={"linkType": "gs1:pip"})
    assert pip.headers["location"] == f"{stack.base_url}/p/{pid}"
    # A link type the passport does not have falls back to the default link (GS1 resolver behaviour).
    other = stack.http.get(f"/id/{pid}", params={"linkType": "gs1:recipeInfo"})
    assert other.headers["location"] == f"{stack.base_url}/p/{pid}"


def test_unknown_bad_and_ended_identifiers(stack: ApiStack) -> None:
    unknown = stack.http.get("/id/00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert stack.http.get("/id/not-a-uuid").status_code == 400
    pid = str(stack.issue().passport_id)
    recycle(stack, pid)
    for ask in ({}, {"headers": {"Accept": LINKSET}}):
        ended = stack.http.get(f"/id/{pid}", **ask)
        assert ended.status_code == 410
        assert ended.headers["content-type"].startswith("application/problem+json")


def test_gs1_digital_link(stack: ApiStack) -> None:
    passport = issue_with_gtin(stack)
    link = f"/01/{GTIN}/21/{passport.battery_id}"
    response = stack.http.get(link)
    assert response.status_code == 303
    assert response.headers["location"] == f"{stack.base_url}/p/{passport.passport_id}"
    body = stack.http.get(link, headers={"Accept": LINKSET}).json()
    assert body["linkset"][0]["anchor"] == f"{stack.base_url}/01/0{GTIN}/21/{passport.battery_id}"
    # GTIN-13 and its GTIN-14 form name the same item.
    assert stack.http.get(f"/01/0{GTIN}/21/{passport.battery_id}").status_code == 303

    assert stack.http.get(f"/01/4006381333932/21/{passport.battery_id}").status_code == 400  # check digit
    assert stack.http.get(f"/01/{GTIN}/21/no%20spaces").status_code == 400
    assert stack.http.get(f"/01/{GTIN}/21/UNKNOWN-BATTERY-1").status_code == 404
    plain = stack.issue()  # no GTIN among its product codes
    assert stack.http.get(f"/01/{GTIN}/21/{plain.battery_id}").status_code == 404


# -- reads by product and by date ---------------------------------------------------------------------


def test_reads_by_product_and_by_date(stack: ApiStack) -> None:
    passport = stack.issue()
    pid = str(passport.passport_id)
    issued_at = stack.backend.now()
    stack.backend.advance_time(86_400)
    stack.transfer(pid, "issuer", "business")
    reused = stack.call("POST", f"/passports/{pid}/status", "business", json={"status": "REUSED"})
    assert reused.status_code == 200, reused.text

    now = stack.call("GET", f"/passports/{pid}/as-of")
    assert now.status_code == 200, now.text
    assert (now.json()["version"], now.json()["status"]) == (2, "REUSED")
    assert now.json()["verification"]["ok"] is True

    then = datetime.fromtimestamp(issued_at + 3600, UTC).isoformat()
    earlier = stack.call("GET", f"/passports/{pid}/as-of", params={"date": then})
    assert earlier.status_code == 200, earlier.text
    reading = earlier.json()
    assert (reading["version"], reading["status"]) == (1, "ORIGINAL")
    assert reading["data"]["general"]["battery_id"] == passport.battery_id
    assert reading["verification"]["ok"] is True
    assert reading["verification"]["version"] == 1
    assert reading["credential"].endswith("/credential?version=1")

    by_product = stack.call("GET", f"/products/{passport.battery_id}/passport", params={"date": then})
    assert by_product.status_code == 200, by_product.text
    assert (by_product.json()["passport_id"], by_product.json()["version"]) == (pid, 1)
    assert stack.call("GET", f"/products/{passport.battery_id}/passport").json()["version"] == 2

    before = datetime.fromtimestamp(issued_at - 86_400, UTC).date().isoformat()
    assert stack.call("GET", f"/passports/{pid}/as-of", params={"date": before}).status_code == 404
    assert (
        stack.call("GET", f"/products/{passport.battery_id}/passport", params={"date": before}).status_code
        == 404
    )
    assert stack.call("GET", f"/passports/{pid}/as-of", params={"date": "yesterday"}).status_code == 400
    assert stack.call("GET", "/products/UNKNOWN-BAT-1/passport").status_code == 404
    assert stack.call("GET", "/products/bad%20id/passport").status_code == 400


def test_qr_decodes_to_the_identification_link_which_resolves(stack: ApiStack) -> None:
    pid = str(stack.issue().passport_id)
    png = stack.call("GET", f"/passports/{pid}/qr.png")
    assert png.status_code == 200
    (link,) = [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))]
    assert link == f"{stack.base_url}/id/{pid}"
    page = httpx.get(link, follow_redirects=True, timeout=10)
    assert page.status_code == 200
    assert str(page.url) == f"{stack.base_url}/p/{pid}"
    credential = httpx.get(link, params={"linkType": "describedby"}, follow_redirects=True, timeout=10)
    assert credential.headers["content-type"].startswith(MEDIA_TYPE)
    assert open_envelope(credential.text).credential["credentialSubject"]["passportId"] == f"urn:uuid:{pid}"


def test_readme_verifies_with_jwcrypto(
    stack: ApiStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("<!-- verify-with-jwcrypto -->", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    pid = str(stack.issue().passport_id)
    (tmp_path / "passport.jwt").write_text(credential_of(stack, pid))
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102  # our own README's example
    assert namespace["credential"]["credentialSubject"]["passportId"] == f"urn:uuid:{pid}"


def test_issuer_revokes_its_credentials_of_an_open_passport(
    stack: ApiStack, source: HttpDocumentSource
) -> None:
    pid = str(stack.issue().passport_id)
    token = credential_of(stack, pid)
    assert stack.call("POST", f"/passports/{pid}/credential/revocation").status_code == 401
    assert stack.call("POST", f"/passports/{pid}/credential/revocation", "auditor").status_code == 403
    revoked = stack.call("POST", f"/passports/{pid}/credential/revocation", "issuer")
    assert revoked.status_code == 201, revoked.text
    assert revoked.json()["status_list"].endswith(stack.address("issuer").lower())
    report = verify_credential(token, source, chain=stack.services.reader)
    assert report.revoked is True
    assert not report.ok
    # The ledger is untouched: the passport is open, and its anchor still verifies.
    (anchor,) = [c for c in report.checks if c.name == "credential.anchor"]
    assert anchor.status == "pass"
    other = stack.call(
        "POST", "/passports/00000000-0000-4000-8000-000000000000/credential/revocation", "issuer"
    )
    assert other.status_code == 404


def test_superseding_sets_the_bit_and_links_the_successor(
    stack: ApiStack, source: HttpDocumentSource
) -> None:
    pid = str(stack.issue().passport_id)
    token = credential_of(stack, pid)
    stack.transfer(pid, "issuer", "repurposer")
    successor = sample_passport(new_battery_id())
    response = stack.call(
        "POST", f"/passports/{pid}/successor", "repurposer",
        json={"status": "REPURPOSED", "passport": successor.model_dump(mode="json")},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    report = verify_credential(token, source)
    assert report.revoked is True
    # The superseded passport's link still resolves, and leads on to its successor (and back).
    links = relations(stack.http.get(f"/id/{pid}", headers={"Accept": LINKSET}).json())
    assert links["successor-version"][0]["href"] == f"{stack.base_url}/id/{successor.passport_id}"
    back = relations(stack.http.get(f"/id/{successor.passport_id}", headers={"Accept": LINKSET}).json())
    assert back["predecessor-version"][0]["href"] == f"{stack.base_url}/id/{pid}"
    # The successor's own credential is issued by the repurposer, and is not revoked.
    fresh = verify_credential(credential_of(stack, str(successor.passport_id)), source)
    assert fresh.ok, fresh.checks
    assert fresh.issuer is not None
    assert fresh.issuer.endswith(stack.address("repurposer").lower())
