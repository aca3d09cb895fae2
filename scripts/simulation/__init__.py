"""Pilot simulation: a fleet of EVs, their packs' ageing, and the readings their devices report."""

from scripts.simulation.fleet import PACKS, Fleet, FleetConfig, PackSpec, battery_id, build_fleet, device_id
from scripts.simulation.generator import (
    DayBatch,
    DeviceUpload,
    EndOfFirstLife,
    FleetSimulation,
    PackInstalled,
    simulate_fleet,
)
from scripts.simulation.report import FleetReport

__all__ = [
    "PACKS",
    "DayBatch",
    "DeviceUpload",
    "EndOfFirstLife",
    "Fleet",
    "FleetConfig",
    "FleetReport",
    "FleetSimulation",
    "PackInstalled",
    "PackSpec",
    "battery_id",
    "build_fleet",
    "device_id",
    "simulate_fleet",
]
