"""Liveness of the API process."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(tags=["health"])


class HealthPublic(BaseModel):
    status: str


@router.get("/health", operation_id="get_health")
async def get_health() -> HealthPublic:
    return HealthPublic(status="ok")
