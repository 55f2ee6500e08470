"""The loyalty service's internal HTTP API: request and response models (the gateway imports only this)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IdentityEvent(Model):
    event_id: UUID
    type: str = Field(max_length=100)
    occurred_at: datetime
    payload: dict[str, Any]


class EventBatch(Model):
    events: list[IdentityEvent] = Field(max_length=1000)


class EventReceipt(Model):
    received: int
    duplicates: int


class MemberExport(Model):
    member_id: UUID
    events_received: list[IdentityEvent]
