"""FastAPI dependencies as ``Annotated`` aliases, so route signatures read like sentences."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from db.session import Sessions
from fluently.settings import Settings
from serve_app.state import AppState


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.fluently
    return state


def get_settings(state: Annotated[AppState, Depends(get_state)]) -> Settings:
    return state.settings


def get_sessions(state: Annotated[AppState, Depends(get_state)]) -> Sessions:
    return state.sessions


StateDep = Annotated[AppState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionsDep = Annotated[Sessions, Depends(get_sessions)]
