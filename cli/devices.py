"""``passport device``: collection devices in the oracle's journal (the API's ``/devices``).

Register a device bound to a battery (optionally with its API key, written to a 0600 file: keys are
never printed), bind/unbind it when a pack moves, suspend/reinstate it, list them and show a device's or
a battery's binding history. The journal is the API's own (``Settings.journal_path``).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.output import EXIT_INVALID, JsonOption, die, echo_json, emit, reported
from cli.session import Session

if TYPE_CHECKING:
    from oracle.device_registry import DeviceEvent, DeviceInfo, DeviceRegistry

app = typer.Typer(
    help="Collection devices: register, bind/unbind, suspend/reinstate, list, history.", no_args_is_help=True
)

DeviceArg = Annotated[str, typer.Argument(help="The device id (3-64 letters, digits, ._:-).")]
ActorOption = Annotated[str, typer.Option("--by", help="Who does this (kept in the device's history).")]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why (kept in the device's history).")]


def _when(value: float | None) -> str | None:
    return None if value is None else datetime.fromtimestamp(value, UTC).isoformat()


def _info(info: DeviceInfo) -> dict[str, Any]:
    return {
        "device_id": info.device_id,
        "address": info.address,
        "status": info.status,
        "battery_id": info.battery_id,
        "vehicle_id": info.vehicle_id,
        "model": info.model,
        "firmware": info.firmware,
        "registered_at": _when(info.registered_at),
        "suspended_at": _when(info.suspended_at),
        "suspend_reason": info.suspend_reason,
        "last_seq": info.last_seq,
    }


def _event(event: DeviceEvent) -> dict[str, Any]:
    return {
        "at": _when(event.at),
        "device_id": event.device_id,
        "action": event.action,
        "battery_id": event.battery_id,
        "vehicle_id": event.vehicle_id,
        "actor": event.actor,
        "reason": event.reason,
    }


def _registry(ctx: typer.Context) -> tuple[Any, DeviceRegistry]:
    from oracle.device_registry import DeviceRegistry

    journal = Session.of(ctx).journal()
    with reported("cannot open the device registry"):
        return journal, DeviceRegistry(journal)


def _relink(ctx: typer.Context, device_id: str, old: str | None, new: str | None) -> None:
    """Keep the device's API-key participant pointed at its battery (as the API does)."""
    from api.auth import ApiKeyStore

    store = ApiKeyStore.from_settings(Session.of(ctx).settings)
    try:
        for name in store.device_participants(device_id):
            if old is not None:
                store.unlink_battery(name, old)
            if new is not None:
                store.link_battery(name, new)
    finally:
        store.close()


def _write_secret(path: Path, text: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        die(f"cannot create {path}: {exc.strerror or exc} (it must not exist yet)", EXIT_INVALID)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")


@app.command("keygen")
def device_keygen_command(
    out: Annotated[
        Path, typer.Option("--out", help="Where to write the private key (0600, must not exist).")
    ],
    json_output: JsonOption = False,
) -> None:
    """Make a device signing key (for a simulator or a test unit): writes the key, prints its address."""
    from oracle.devices import DeviceKey

    key = DeviceKey.generate()
    _write_secret(out, "0x" + key.private_key.hex())
    emit({"address": key.address, "private_key_file": str(out)}, json_output)


@app.command("register")
def device_register_command(
    ctx: typer.Context,
    device_id: DeviceArg,
    battery: Annotated[str, typer.Option("--battery", help="The battery id it reports on.")],
    model: Annotated[str, typer.Option("--model", help="Hardware model.")],
    firmware: Annotated[str, typer.Option("--firmware", help="Firmware version.")],
    address: Annotated[str | None, typer.Option("--address", help="Its signing address (0x-hex).")] = None,
    public_key: Annotated[
        str | None, typer.Option("--public-key", help="Or its public key (0x-hex).")
    ] = None,
    vehicle: Annotated[str | None, typer.Option("--vehicle", help="The vehicle it sits in.")] = None,
    key_file: Annotated[
        Path | None,
        typer.Option("--api-key-file", help="Also create its API participant; write the key here (0600)."),
    ] = None,
    actor: ActorOption = "admin",
    json_output: JsonOption = False,
) -> None:
    """Register a device bound to a battery (idempotent for the same key and battery)."""
    journal, registry = _registry(ctx)
    with journal, reported("cannot register the device"):
        info = registry.register(
            device_id,
            address=address,
            public_key=public_key,
            model=model,
            firmware=firmware,
            battery_id=battery,
            vehicle_id=vehicle,
            actor=actor,
        )
    result = _info(info)
    if key_file is not None:
        from api.auth import ApiKeyStore, ApiRole

        store = ApiKeyStore.from_settings(Session.of(ctx).settings)
        try:
            store.upsert_participant(device_id, [ApiRole.DEVICE], device_id=device_id, battery_ids=[battery])
            _write_secret(key_file, store.issue_key(device_id))
        finally:
            store.close()
        result["api_key_file"] = str(key_file)
    emit(result, json_output)


@app.command("bind")
def device_bind_command(
    ctx: typer.Context,
    device_id: DeviceArg,
    battery: Annotated[str, typer.Option("--battery", help="The battery it reports on from now.")],
    vehicle: Annotated[str | None, typer.Option("--vehicle", help="The vehicle it sits in.")] = None,
    actor: ActorOption = "admin",
    json_output: JsonOption = False,
) -> None:
    """Bind an unbound device to a battery (a pack moved: swap, repurpose)."""
    journal, registry = _registry(ctx)
    with journal, reported("cannot bind the device"):
        info = registry.bind(device_id, battery, vehicle_id=vehicle, actor=actor)
    _relink(ctx, device_id, None, battery)
    emit(_info(info), json_output)


@app.command("unbind")
def device_unbind_command(
    ctx: typer.Context,
    device_id: DeviceArg,
    reason: ReasonOption = None,
    actor: ActorOption = "admin",
    json_output: JsonOption = False,
) -> None:
    """Unbind a device from its battery: its uploads are refused until it is bound again."""
    journal, registry = _registry(ctx)
    with journal, reported("cannot unbind the device"):
        old = registry.info(device_id).battery_id
        info = registry.unbind(device_id, actor=actor, reason=reason)
    _relink(ctx, device_id, old, None)
    emit(_info(info), json_output)


@app.command("suspend")
def device_suspend_command(
    ctx: typer.Context,
    device_id: DeviceArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (e.g. 'key leaked'); shown in refusals.")],
    actor: ActorOption = "admin",
    json_output: JsonOption = False,
) -> None:
    """Suspend a device: its later uploads are refused (device_suspended); what it sent stays provable."""
    journal, registry = _registry(ctx)
    with journal, reported("cannot suspend the device"):
        info = registry.suspend(device_id, actor=actor, reason=reason)
    emit(_info(info), json_output)


@app.command("reinstate")
def device_reinstate_command(
    ctx: typer.Context,
    device_id: DeviceArg,
    reason: ReasonOption = None,
    actor: ActorOption = "admin",
    json_output: JsonOption = False,
) -> None:
    """Accept a suspended device's uploads again."""
    journal, registry = _registry(ctx)
    with journal, reported("cannot reinstate the device"):
        info = registry.reinstate(device_id, actor=actor, reason=reason)
    emit(_info(info), json_output)


@app.command("list")
def device_list_command(
    ctx: typer.Context,
    battery: Annotated[
        str | None, typer.Option("--battery", help="Only those bound to this battery.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Every registered device (or those bound to one battery)."""
    journal, registry = _registry(ctx)
    with journal, reported():
        infos = [_info(info) for info in registry.devices(battery_id=battery)]
    if json_output:
        echo_json(infos)
        return
    for info in infos:
        typer.echo(
            f"{info['device_id']:<20} {info['status']:<10} {info['battery_id'] or '-':<24} {info['address']}"
        )


@app.command("history")
def device_history_command(
    ctx: typer.Context,
    device_id: Annotated[str | None, typer.Argument(help="A device id (or --battery).")] = None,
    battery: Annotated[str | None, typer.Option("--battery", help="A battery's binding history.")] = None,
    json_output: JsonOption = False,
) -> None:
    """A device's lifecycle, or a battery's binding history (which devices reported on it, when)."""
    if (device_id is None) == (battery is None):
        die("give a device id or --battery, not both", EXIT_INVALID)
    journal, registry = _registry(ctx)
    with journal, reported():
        if device_id is not None:
            registry.info(device_id)
        events = [_event(e) for e in registry.history(battery_id=battery, device_id=device_id)]
    if json_output:
        echo_json(events)
        return
    for e in events:
        typer.echo(
            f"{e['at']}  {e['action']:<10} {e['device_id']:<20} {e['battery_id'] or '-':<24} {e['actor']}"
        )
