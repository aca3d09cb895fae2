"""The ready-made demo that ``make run`` prints: one issued passport and the participants to try it with.

Usage: ``python -m scripts.demo upload`` signs one diagnostics reading with the demo device's key and
sends it to the running stack (``make run``); the anchoring worker anchors it within seconds.

The first run (``ensure_demo``) issues a sample passport as the keystore's ``issuer``, registers the
keystore's ``collector`` as a used-battery business on-chain, registers a collection device for the
demo battery in the oracle journal, and creates API-key participants: the issuer, an owner of the demo
battery, an auditor, the business and the device. Later runs find ``data_dir/demo.json`` and reuse it.

Secrets never go in ``demo.json``: API keys exist in clear text only at creation (the key store keeps
their hashes), so they are saved in ``data_dir/demo/api-keys.env`` and never printed (output ends up in
terminals' scrollback and logs): the banner names the file and each key's public id. The device's
private key is in ``data_dir/demo/device-key.json``. Both are 0600 files in a 0700 directory, like the
keystore.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import secrets
import sys
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import httpx
from pydantic import BaseModel, ConfigDict

from api.auth import ApiKeyStore, ApiRole
from devtools.samples import sample_passport
from oracle.devices import DeviceKey, SignedUpload, sign_upload
from oracle.journal import Journal
from oracle.readings import DiagnosticSnapshot, reading_json
from passport.chain.keystore import Keystore
from passport.errors import PassportError
from passport.ids import passport_id_bytes32
from passport.ledger import open_ledger
from passport.model import BusinessKind
from passport.service import PassportService
from passport.settings import Settings
from scripts._console import configure_logging

log = logging.getLogger("scripts.demo")

#: Keystore participants the demo acts as or hands out: they exist in every development keystore.
ISSUER: Final = "issuer"
AUDITOR: Final = "auditor"
BUSINESS: Final = "collector"  # has no ledger role of its own: registered as a used-battery business
ADMIN: Final = "admin"  # registers the business
OWNER: Final = "demo-owner"  # an EV owner: no on-chain account, reads its own battery's restricted tier

#: The API-key holders, in the order they are printed, and the shell variable each key is saved as.
KEY_VARIABLES: Final[dict[str, str]] = {
    "issuer": "DEMO_ISSUER_KEY",
    "owner": "DEMO_OWNER_KEY",
    "auditor": "DEMO_AUDITOR_KEY",
    "business": "DEMO_BUSINESS_KEY",
    "device": "DEMO_DEVICE_KEY",
}


def api_keys_env_path(settings: Settings) -> Path:
    return settings.demo_secrets_dir / "api-keys.env"


def device_key_path(settings: Settings) -> Path:
    return settings.demo_secrets_dir / "device-key.json"


class DemoInfo(BaseModel):
    """What ``demo.json`` holds: ids and public addresses only (no secrets)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    passport_id: str
    battery_id: str
    created_at: str
    # API-key participant names by what they stand for (keys of ``KEY_VARIABLES``).
    participants: dict[str, str]
    issuer_account: str
    business_account: str
    device_id: str
    device_address: str


@dataclass(frozen=True)
class Demo:
    """The demo as this run found or made it; ``api_keys`` only when this run created them."""

    info: DemoInfo
    api_keys: dict[str, str] | None
    settings: Settings

    def summary(self, base_url: str, rpc_url: str, registry: str) -> list[str]:
        """The banner lines: the passport, who may use it, and the tour's variables as ``export`` lines
        and commands, ready to paste.

        API keys never appear here, not even on the run that made them: the banner goes to terminals
        and logs. They are in the 0600 file alone; the banner names each by its key id.
        """
        info = self.info
        keys_file = api_keys_env_path(self.settings)
        lines = [
            f"demo:      passport {info.passport_id} (battery {info.battery_id})",
            f"           page: {base_url}/p/{info.passport_id}",
            f"           API keys in {keys_file} (mode 0600; `source` it for "
            + ", ".join(f"${name}" for name in KEY_VARIABLES.values())
            + ")",
        ]
        if self.api_keys is not None:
            width = max(len(name) for name in info.participants.values())
            lines += [
                f"             {role:<8}  {info.participants[role]:<{width}}  {key_id(self.api_keys[role])}"
                for role in KEY_VARIABLES
            ]
        lines += [
            f"           device {info.device_id} ({info.device_address}): signing key in "
            f"{device_key_path(self.settings)} (mode 0600)",
            "tour:      paste these into another terminal (README: a 5-minute tour):",
            f"  source {keys_file}",
            f"  export API={base_url}/api/v1",
            f"  export PID={info.passport_id}",
            f"  export BATTERY={info.battery_id}",
            f"  export ISSUER={info.issuer_account}",
            f"  export BUSINESS={info.business_account}",
            f"  export RPC={rpc_url}",
            f"  export REGISTRY={registry}",
            "try it:",
            "  # the public tier (anonymous), then with the owner's key (+ legitimate interest)",
            "  curl $API/passports/$PID",
            '  curl -H "Authorization: Bearer $DEMO_OWNER_KEY" $API/passports/$PID',
            "  # every verification check by name; the bundle, verified offline and against the ledger",
            "  curl $API/passports/$PID/verification",
            "  curl -o demo.bundle.json $API/passports/$PID/bundle",
            "  uv run passport verify demo.bundle.json --trust $ISSUER --rpc $RPC --registry $REGISTRY",
            "  # a signed reading from the demo device (anchored within seconds), then the audit trail",
            "  uv run python -m scripts.demo upload",
            '  curl -H "Authorization: Bearer $DEMO_AUDITOR_KEY" "$API/audit/events?battery_id=$BATTERY"',
        ]
        return lines


def key_id(api_key: str) -> str:
    """What may be shown of an API key: ``bpl_<key id>_…``, its public id without the secret."""
    prefix, _, _secret = api_key.rpartition("_")
    return f"{prefix}_…"


# -- files ------------------------------------------------------------------------------------------


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as a 0600 file in a 0700 directory, atomically (temp file + rename)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)  # mkdir's mode is masked by the umask and ignored for an existing directory
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def load_demo(settings: Settings) -> DemoInfo | None:
    """The demo recorded under ``data_dir``, or None if there is none (or it is unreadable)."""
    path = settings.demo_path
    try:
        return DemoInfo.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except ValueError as exc:  # pydantic's ValidationError is one
        log.warning("ignoring unreadable %s: %s", path, exc)
        return None


def load_device_key(settings: Settings) -> tuple[str, str, DeviceKey]:
    """``(device id, battery id, key)`` of the demo device, from its 0600 key file."""
    document: dict[str, Any] = json.loads(device_key_path(settings).read_text(encoding="utf-8"))
    key = DeviceKey.from_private_key(bytes.fromhex(document["private_key"].removeprefix("0x")))
    return document["device_id"], document["battery_id"], key


# -- making the demo ----------------------------------------------------------------------------------


def ensure_demo(settings: Settings) -> Demo:
    """The demo of this data dir: reused if its passport is on the chain, else created (see module doc)."""
    issuer = open_ledger(settings).passports(ISSUER)
    try:
        existing = load_demo(settings)
        if existing is not None:
            on_chain = issuer.chain.get_passport(passport_id_bytes32(uuid.UUID(existing.passport_id)))
            if on_chain is not None:
                return Demo(existing, None, settings)
            # A fresh chain under an old data dir (its state deleted): the old demo points at nothing.
            log.warning("demo passport %s is not on this chain: making a new demo", existing.passport_id)
        return _create(settings, issuer)
    finally:
        issuer.version_log.close()


def _create(settings: Settings, issuer: PassportService) -> Demo:
    # Random, so a re-created demo never collides with an earlier battery still on the chain.
    battery_id = f"DEMO-{secrets.token_hex(4).upper()}"
    issued = issuer.issue(sample_passport(battery_id, passport_id=uuid.uuid4()))
    log.info("issued demo passport %s for battery %s", issued.passport_id, battery_id)

    keystore = Keystore.from_settings(settings)
    business_account = keystore.address(BUSINESS)
    admin = issuer.chain.as_account(keystore.private_key(ADMIN))
    if admin.get_business(business_account) is None:
        certificate = hashlib.sha256(f"demo registration certificate of {business_account}".encode())
        admin.register_business(business_account, BusinessKind.COLLECTOR, certificate.digest())
        log.info("registered %s (%s) as a used-battery collector", BUSINESS, business_account)

    device_key = DeviceKey.generate()
    device_id = f"demo-device-{battery_id.lower()}"
    with Journal(settings.journal_path) as journal:
        journal.register_device(device_id, device_key.address, battery_id)

    participants = {
        "issuer": ISSUER,
        "owner": OWNER,
        "auditor": AUDITOR,
        "business": BUSINESS,
        "device": device_id,
    }
    store = ApiKeyStore.from_settings(settings)
    try:
        store.upsert_participant(ISSUER, [ApiRole.ISSUER], account=issuer.account)
        store.upsert_participant(OWNER, [ApiRole.OWNER], battery_ids=[battery_id])
        store.upsert_participant(AUDITOR, [ApiRole.AUDITOR], account=keystore.address(AUDITOR))
        store.upsert_participant(BUSINESS, [ApiRole.BUSINESS], account=business_account)
        store.upsert_participant(device_id, [ApiRole.DEVICE], device_id=device_id, battery_ids=[battery_id])
        api_keys = {role: store.issue_key(name) for role, name in participants.items()}
    finally:
        store.close()

    _write_private(
        api_keys_env_path(settings),
        "# API keys of the demo participants (make run); `source` this file.\n"
        + "".join(f"export {KEY_VARIABLES[role]}={key}\n" for role, key in api_keys.items()),
    )
    _write_private(
        device_key_path(settings),
        json.dumps(
            {
                "device_id": device_id,
                "battery_id": battery_id,
                "address": device_key.address,
                "private_key": "0x" + device_key.private_key.hex(),
            },
            indent=2,
        )
        + "\n",
    )
    info = DemoInfo(
        passport_id=str(issued.passport_id),
        battery_id=battery_id,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        participants=participants,
        issuer_account=issuer.account,
        business_account=business_account,
        device_id=device_id,
        device_address=device_key.address,
    )
    # Written last: its presence means every step above is done, so a crash mid-way redoes the demo.
    path = settings.demo_path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(info.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return Demo(info, api_keys, settings)


# -- sending a reading --------------------------------------------------------------------------------


def diagnostics_reading(measured_at: datetime | None = None) -> dict[str, object]:
    """One plausible diagnostics reading of the demo pack, as the device sends it."""
    reading = DiagnosticSnapshot(
        measured_at=(measured_at or datetime.now(UTC)).replace(microsecond=0),
        capacity_ah=180.0,
        soce_pct=93.5,
        internal_resistance_mohm=95.0,
        cell_voltage_spread_mv=18,
        cycle_count=640,
        energy_throughput_kwh=41_000,
        capacity_throughput_ah=115_000,
        cell_soh_spread_pct=1.8,
    )
    return reading_json(reading)


def signed_demo_upload(settings: Settings, readings: list[dict[str, object]] | None = None) -> SignedUpload:
    """An upload from the demo device, signed with its key, numbered after the journal's last one."""
    device_id, battery_id, key = load_device_key(settings)
    with Journal(settings.journal_path) as journal:
        device = journal.device(device_id)
    seq = 1 if device is None else device.last_seq + 1
    return sign_upload(key, device_id, battery_id, seq, readings or [diagnostics_reading()])


def _upload_command(settings: Settings) -> int:
    upload = signed_demo_upload(settings)
    device_key_file = json.loads(device_key_path(settings).read_text(encoding="utf-8"))
    env_keys = api_keys_env_path(settings).read_text(encoding="utf-8")
    variable = f"export {KEY_VARIABLES['device']}="
    api_key = next(line[len(variable) :] for line in env_keys.splitlines() if line.startswith(variable))
    url = f"{settings.public_base_url}/api/v1/telemetry/uploads"
    response = httpx.post(
        url, json=upload.model_dump(), headers={"Authorization": f"Bearer {api_key}"}, timeout=30
    )
    print(f"POST {url} ({device_key_file['device_id']} #{upload.seq}): {response.status_code}")
    print(json.dumps(response.json(), indent=2))
    if response.status_code != 200:
        return 1
    digest = response.json()["accepted"][0]["digest"]
    print(
        "\nanchored within seconds; its proof:\n"
        f'  curl -H "Authorization: Bearer $DEMO_AUDITOR_KEY" '
        f"{settings.public_base_url}/api/v1/audit/records/{digest}/proof"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.demo", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["upload"], help="upload: send one signed demo reading")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    try:
        settings = Settings.load()
        if load_demo(settings) is None:
            print(f"error: no demo under {settings.data_dir}: start the stack (make run)", file=sys.stderr)
            return 1
        return _upload_command(settings)
    except (PassportError, OSError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
