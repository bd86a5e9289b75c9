"""Meetings of the caller's tenant."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Store, Tenant
from api.models import MeetingList

router = APIRouter(tags=["meetings"])


@router.get("/meetings", response_model=MeetingList)
async def list_meetings(
    store: Store, tenant: Tenant, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> MeetingList:
    return MeetingList(meetings=await store.meetings(tenant, limit))
