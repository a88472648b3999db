"""What the tests share: where the audio lives, in-process app clients, and the calls a client
makes (sign up, log in, add a user, upload, wait for processing).

Test modules import from here, never from one another.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import psycopg
from fastapi import FastAPI
from packaging.utils import canonicalize_name

from fluently.settings import Settings
from pipelines.syllables import count_syllables
from serve_app.app import create_app

SHARED_AUDIO = Path(__file__).resolve().parents[2] / "shared" / "audio"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONSTRAINTS = Path(__file__).resolve().parents[1] / "constraints.txt"
JFK_TEXT = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)
"""What is said in ``FIXTURES / "jfk.*"``."""
STEREO_SPEAKERS = {
    "left": "He began a confused complaint against the wizard, who had vanished behind the "
    "curtain on the left.",
    "right": "The horizon seems extremely distant.",
}
"""What each channel of ``SHARED_AUDIO / "stereo_diarization.wav"`` says: one speaker a channel,
talking over each other."""
PASSWORD = "correct horse battery staple"


# What a fluent recording's report must say, through the platform or its path in-process


def assert_rate_matches_word_times(words: list[dict[str, Any]], metrics: dict[str, Any]) -> None:
    """The report's speaking rate is within 15 % of the words over their own span, and its
    syllables are the words' (``words``: the transcript's, ``word``, ``start``, ``end``)."""
    by_hand = len(words) / (words[-1]["end"] - words[0]["start"]) * 60
    rate = metrics["words_per_minute"]
    assert abs(rate - by_hand) / by_hand <= 0.15, (rate, by_hand)
    assert metrics["syllable_count"] == sum(count_syllables(w["word"]) for w in words)


def assert_phrase_pauses_listed_not_counted(
    words: list[dict[str, Any]], metrics: dict[str, Any]
) -> None:
    """A speaker who pauses about a second between phrases ("my fellow Americans | ask not |
    what your country"), whisper writing no comma at some, paces fluently as often as they
    block: each such silence inside a sentence is listed to review, and no block is counted."""
    silences = [
        (a["end"], b["start"])
        for a, b in pairwise(words)
        if b["start"] - a["end"] >= 1.0 and not a["word"].strip().endswith((".", "?", "!"))
    ]
    assert silences, words  # the recording's pauses, whatever whisper wrote around them
    assert metrics["counts_by_type"]["block"] == 0
    listed = [(e["start"], e["end"]) for e in metrics["to_review"] if e["type"] == "block"]
    assert all(
        any(abs(s - a) < 0.05 and abs(e - b) < 0.05 for a, b in listed) for s, e in silences
    ), (silences, listed)


# In-process apps


@asynccontextmanager
async def running(app_settings: Settings) -> AsyncIterator[FastAPI]:
    """An app instance with its own engine and pool, like one Serve replica."""
    app = create_app(app_settings)
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def app_client(app_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the real app, in-process, with the app's lifespan (engine, pool) running."""
    async with running(app_settings) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


def fresh_ip() -> str:
    """A random address in 2001:db8::/32, the range reserved for documentation."""
    return str(ipaddress.IPv6Address((0x20010DB8 << 96) | random.getrandbits(64)))


def client_of(
    app: FastAPI, *, ip: str | None = None, base_url: str = "https://testserver"
) -> httpx.AsyncClient:
    """A client of ``app`` from ``ip``, or from an address no other client uses."""
    transport = httpx.ASGITransport(app=app, client=(ip or fresh_ip(), 40_000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


# Accounts


def fresh_email() -> str:
    return f"{uuid.uuid4().hex[:12]}@clinic.example"


@dataclass
class Account:
    email: str
    access_token: str
    refresh_token: str
    user: dict[str, Any]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def _account(response: httpx.Response, email: str) -> Account:
    body = response.json()
    return Account(
        email=email,
        access_token=body["access_token"],
        refresh_token=response.cookies["refresh_token"],
        user=body["user"],
    )


async def sign_up(client: httpx.AsyncClient, *, tenant_name: str = "Clinic") -> Account:
    """A new tenant and its admin."""
    email = fresh_email()
    response = await client.post(
        "/auth/signup", json={"tenant_name": tenant_name, "email": email, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    return _account(response, email)


async def signup(client: httpx.AsyncClient) -> dict[str, str]:
    """A new tenant's admin, as the Authorization header: for tests about recordings."""
    return (await sign_up(client, tenant_name=f"clinic-{uuid.uuid4().hex[:8]}")).auth


async def log_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> Account:
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return _account(response, email)


async def add_user(client: httpx.AsyncClient, admin: Account, *, role: str = "member") -> str:
    """A new user in ``admin``'s tenant; returns the email, to log in with ``PASSWORD``."""
    email = fresh_email()
    response = await client.post(
        "/users", headers=admin.auth, json={"email": email, "password": PASSWORD, "role": role}
    )
    assert response.status_code == 201, response.text
    return email


async def with_cookie(client: httpx.AsyncClient, path: str, refresh_token: str) -> httpx.Response:
    """POST presenting exactly this refresh token (an explicit header beats the cookie jar)."""
    return await client.post(path, headers={"Cookie": f"refresh_token={refresh_token}"})


def set_cookie_attributes(response: httpx.Response) -> set[str]:
    header = response.headers["set-cookie"]
    return {part.strip().lower() for part in header.split(";")[1:]}


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


# Recordings


async def upload(
    client: httpx.AsyncClient, headers: dict[str, str], path: Path, **fields: str
) -> httpx.Response:
    with path.open("rb") as f:
        return await client.post(
            "/audio_recordings",
            headers=headers,
            files={"file": (path.name, f, "application/octet-stream")},
            data=fields,
        )


async def wait_processed(
    client: httpx.AsyncClient, headers: dict[str, str], recording_id: str, timeout_s: float = 300
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body: dict[str, Any] = (
            await client.get(f"/audio_recordings/{recording_id}", headers=headers)
        ).json()
        if body["status"] in ("processed", "failed"):
            return body
        await asyncio.sleep(1)
    raise AssertionError(f"recording {recording_id} not done in {timeout_s}s: {body}")


def stored_state(superuser_conninfo: str, settings: Settings) -> tuple[int, int]:
    """(recording rows in the whole database, audio files on disk): what a refused upload must
    leave as it was."""
    with psycopg.connect(superuser_conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM audio_recordings").fetchone()
    files = [p for p in (settings.data_dir / "audio").rglob("*") if p.is_file()]
    assert row is not None
    return int(row[0]), len(files)


def pinned_versions() -> dict[str, str]:
    """``constraints.txt``'s pins: each package's normalised name and its version."""
    found = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)$", CONSTRAINTS.read_text(), re.MULTILINE)
    return {canonicalize_name(name): version for name, version in found}
