"""Typed dependencies (FastAPI template style) and the hot path's direct accessor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings
from app.service import Runtime


def runtime_of(request: Request) -> Runtime:
    """The runtime without a dependency node: the predict handlers call this directly, since
    FastAPI re-solves every dependency per request (~15 % of the event loop under load)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


# ``async def``: FastAPI runs a plain ``def`` dependency in the thread pool (a thread hand-off per
# request for code that never blocks; ~18 % of the loop's time under load in py-spy).
async def get_runtime(request: Request) -> Runtime:
    return runtime_of(request)


async def get_settings(request: Request) -> Settings:
    return runtime_of(request).settings


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
