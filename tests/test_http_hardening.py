"""Security issue 13 at the HTTP edge, in-process: whose address counts (``TRUSTED_PROXIES``),
security headers on every answer, no redirect built from ``Host``, and ``ALLOWED_HOSTS``.

Through the real Serve proxy: ``tests/test_http_hardening_platform.py``. Every client comes from
an address of its own, so the per-address limits, which live in Postgres, never leak between tests.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from fluently.settings import Settings
from tests.support import (
    PASSWORD,
    client_of,
    error_code,
    fresh_email,
    fresh_ip,
    running,
    signup,
)

PROXIES = "10.0.0.0/8"
"""Where the load balancer of these tests lives."""
WRONG = "wrong horse battery"
LIMIT = 3
"""Login attempts per client address in these tests' apps."""


def proxy_ip() -> str:
    return str(ipaddress.IPv4Address((10 << 24) | random.getrandbits(24)))


@asynccontextmanager
async def app_with(
    settings: Settings, *, trusted: tuple[str, ...] = (), allowed_hosts: tuple[str, ...] = ()
) -> AsyncIterator[FastAPI]:
    """An app with ``LIMIT`` logins per address, these trusted proxies and allowed hosts."""
    update: dict[str, Any] = {
        "auth": settings.auth.model_copy(update={"login_limit_per_ip": LIMIT}),
        "trusted_proxies": [ipaddress.ip_network(net) for net in trusted],
        "allowed_hosts": list(allowed_hosts),
    }
    async with running(settings.model_copy(update=update)) as app:
        yield app


async def failed_login(client: httpx.AsyncClient, **headers: str) -> int:
    """A wrong password for an unknown email: only the per-address limit can refuse it."""
    body = {"email": fresh_email(), "password": WRONG}
    return (await client.post("/auth/login", json=body, headers=headers)).status_code


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def request_log() -> Iterator[list[logging.LogRecord]]:
    """The request log lines written meanwhile (one per request, with its ``client``)."""
    handler = _Records()
    logger = logging.getLogger("fluently.http")
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


def logged_clients(records: list[logging.LogRecord]) -> list[str | None]:
    return [getattr(r, "client", None) for r in records if r.getMessage() == "request"]


def check_security_headers(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert headers["cache-control"] == "no-store"
    policy = {d.strip() for d in headers["content-security-policy"].split(";")}
    assert {"default-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} <= policy
    assert "base-uri 'none'" in policy


class TestClientAddress:
    async def test_forwarded_headers_from_an_untrusted_peer_are_ignored(
        self, settings: Settings
    ) -> None:
        peer = fresh_ip()
        async with app_with(settings) as app, client_of(app, ip=peer) as client:
            with request_log() as records:
                statuses = [
                    await failed_login(client, **{"X-Forwarded-For": fresh_ip()})
                    for _ in range(LIMIT + 1)
                ]
        assert statuses == [401] * LIMIT + [429]
        assert logged_clients(records) == [peer] * (LIMIT + 1)

    async def test_a_trusted_proxy_names_the_client_and_a_spoofed_hop_does_not_count(
        self, settings: Settings
    ) -> None:
        """The proxy appends the address it saw; what the client wrote before it is ignored."""
        mallory, alice = fresh_ip(), fresh_ip()
        async with (
            app_with(settings, trusted=(PROXIES,)) as app,
            client_of(app, ip=proxy_ip()) as via_proxy,
        ):
            with request_log() as records:
                statuses = [
                    await failed_login(via_proxy, **{"X-Forwarded-For": f"{fresh_ip()}, {mallory}"})
                    for _ in range(LIMIT + 1)
                ]
                others = await failed_login(via_proxy, **{"X-Forwarded-For": alice})
        assert statuses == [401] * LIMIT + [429]
        assert others == 401
        assert logged_clients(records) == [mallory] * (LIMIT + 1) + [alice]

    async def test_a_chain_of_trusted_proxies_is_skipped(self, settings: Settings) -> None:
        client = fresh_ip()
        async with (
            app_with(settings, trusted=(PROXIES,)) as app,
            client_of(app, ip=proxy_ip()) as via_proxy,
        ):
            with request_log() as records:
                chain = f"{client}, {proxy_ip()}, {proxy_ip()}"
                await via_proxy.get("/healthz", headers={"X-Forwarded-For": chain})
        assert logged_clients(records) == [client]

    async def test_only_a_trusted_proxy_can_say_the_request_came_over_https(
        self, settings: Settings
    ) -> None:
        https = {"X-Forwarded-Proto": "https"}
        async with app_with(settings, trusted=(PROXIES,)) as app:
            async with client_of(app, base_url="http://testserver") as direct:
                untrusted = await direct.get("/healthz", headers=https)
            async with client_of(app, ip=proxy_ip(), base_url="http://testserver") as via_proxy:
                plain = await via_proxy.get("/healthz")
                trusted = await via_proxy.get("/healthz", headers=https)
        assert "strict-transport-security" not in untrusted.headers
        assert "strict-transport-security" not in plain.headers
        assert trusted.headers["strict-transport-security"].startswith("max-age=")


class TestSecurityHeaders:
    async def test_every_kind_of_answer_carries_them(self, visitor: httpx.AsyncClient) -> None:
        body = {"tenant_name": "Clinic", "email": fresh_email(), "password": PASSWORD}
        created = await visitor.post("/auth/signup", json=body)
        headers = {"Authorization": f"Bearer {created.json()['access_token']}"}
        answers = {
            "signup": created,
            "healthz": await visitor.get("/healthz"),
            "openapi": await visitor.get("/openapi.json"),
            "me": await visitor.get("/auth/me", headers=headers),
            "recordings": await visitor.get("/audio_recordings", headers=headers),
            "no token": await visitor.get("/audio_recordings"),
            "not found": await visitor.get(f"/audio_recordings/{uuid.uuid4()}", headers=headers),
            "invalid": await visitor.get("/audio_recordings?limit=oops", headers=headers),
            "no route": await visitor.get("/nowhere"),
            "login": await visitor.post("/auth/login", json={"email": "x@y.example"}),
        }
        assert {name: r.status_code for name, r in answers.items()} == {
            "signup": 201,
            "healthz": 200,
            "openapi": 200,
            "me": 200,
            "recordings": 200,
            "no token": 401,
            "not found": 404,
            "invalid": 422,
            "no route": 404,
            "login": 422,
        }
        for name, response in answers.items():
            try:
                check_security_headers(response)
            except (AssertionError, KeyError) as e:
                raise AssertionError(f"{name}: {dict(response.headers)}") from e
            policy = response.headers["content-security-policy"]
            assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
            # client_of speaks https, so the connection itself is https.
            assert response.headers["strict-transport-security"].startswith("max-age=")

    async def test_an_unhandled_error_is_a_500_with_the_headers_and_the_request_id(
        self, settings: Settings
    ) -> None:
        """A bug's 500 is answered inside the middleware: the usual body, the security
        headers, the request id, and a log line with status 500."""
        async with app_with(settings) as app:

            @app.get("/broken")
            async def broken() -> None:
                raise RuntimeError("a bug")

            with request_log() as records:
                async with client_of(app) as client:
                    response = await client.get("/broken", headers={"X-Request-ID": "bug-1"})
        assert response.status_code == 500
        assert error_code(response) == "internal_error"
        assert response.headers["x-request-id"] == "bug-1"
        check_security_headers(response)
        assert [getattr(r, "status", None) for r in records if r.getMessage() == "request"] == [500]

    async def test_the_docs_pages_may_load_swagger_ui_and_nothing_else_relaxes(
        self, visitor: httpx.AsyncClient
    ) -> None:
        docs = await visitor.get("/docs")
        assert docs.status_code == 200
        check_security_headers(docs)
        policy = docs.headers["content-security-policy"]
        assert "https://cdn.jsdelivr.net" in policy and "frame-ancestors 'none'" in policy
        schema = await visitor.get("/openapi.json")
        assert "cdn.jsdelivr.net" not in schema.headers["content-security-policy"]


class TestHostHeader:
    async def test_a_trailing_slash_is_not_redirected_to_the_callers_host(
        self, visitor: httpx.AsyncClient
    ) -> None:
        headers = {**await signup(visitor), "Host": "evil.example"}
        for path in (f"/audio_recordings/{uuid.uuid4()}/", "/audio_recordings/", "/users/"):
            response = await visitor.get(path, headers=headers)
            assert response.status_code == 404, (path, response.status_code)
            assert "location" not in response.headers
            assert error_code(response) == "not_found"

    async def test_allowed_hosts_answer_their_names_and_refuse_others(
        self, settings: Settings
    ) -> None:
        allowed = ("api.clinic.example", "*.fluently.example")
        async with app_with(settings, allowed_hosts=allowed) as app, client_of(app) as client:
            answers = {
                host: await client.get("/healthz", headers={"Host": host})
                for host in (
                    "api.clinic.example",
                    "API.Clinic.Example:8443",
                    "eu.fluently.example",
                    "evil.example",
                    "fluently.example",
                    "api.clinic.example.evil.example",
                    "",
                )
            }
        assert {host: r.status_code for host, r in answers.items()} == {
            "api.clinic.example": 200,
            "API.Clinic.Example:8443": 200,
            "eu.fluently.example": 200,
            "evil.example": 400,
            "fluently.example": 400,
            "api.clinic.example.evil.example": 400,
            "": 400,
        }
        refused = answers["evil.example"]
        assert error_code(refused) == "invalid_host"
        check_security_headers(refused)
