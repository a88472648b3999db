"""Security issue 13 at the HTTP edge, through the real Serve proxy: its uvicorn no longer
believes ``X-Forwarded-*`` from this machine, the headers reach clients (the event stream still
streams), no redirect names the caller's ``Host``, and no Ray port listens beyond loopback.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import uuid
from typing import Any

import httpx
import psycopg
import pytest

from tests.platform import Platform
from tests.support import FIXTURES, fresh_email, fresh_ip, signup, upload

pytestmark = pytest.mark.slow


def rate_limit_hits(conninfo: str, address: str) -> int:
    """Hits logged under keys that name ``address`` (per address, per account and address)."""
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(
            "SELECT count(*) FROM rate_limit_hits WHERE position(%s in key) > 0", (address,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return (mapped or ip).is_loopback


class TestForwardedHeadersThroughServe:
    async def test_x_forwarded_for_from_this_machine_does_not_name_the_client(
        self, api: httpx.AsyncClient, superuser_conninfo: str
    ) -> None:
        """Each login would otherwise count against an address of the caller's choosing."""
        spoofed = fresh_ip()
        before = rate_limit_hits(superuser_conninfo, "127.0.0.1")
        response = await api.post(
            "/auth/login",
            json={"email": fresh_email(), "password": "wrong horse battery"},
            headers={"X-Forwarded-For": spoofed},
        )
        assert response.status_code == 401
        assert rate_limit_hits(superuser_conninfo, spoofed) == 0
        assert rate_limit_hits(superuser_conninfo, "127.0.0.1") > before

    async def test_x_forwarded_proto_does_not_make_a_request_https(
        self, api: httpx.AsyncClient
    ) -> None:
        https = {"X-Forwarded-Proto": "https"}
        health = await api.get("/healthz", headers=https)
        assert health.headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in health.headers
        slash = await api.get("/audio_recordings/", headers=https)
        assert slash.status_code == 404 and "location" not in slash.headers


class TestHostThroughServe:
    async def test_no_redirect_names_the_callers_host(self, api: httpx.AsyncClient) -> None:
        headers = {**await signup(api), "Host": "evil.example"}
        response = await api.get(f"/audio_recordings/{uuid.uuid4()}/", headers=headers)
        assert response.status_code == 404
        assert "location" not in response.headers


class TestBodyLimitThroughServe:
    async def test_a_huge_declared_body_is_refused_before_it_is_sent(
        self, platform: Platform
    ) -> None:
        """300 MB declared to a route that takes JSON, before any sign-in: the answer comes
        after the first 64 KiB, with the usual error body and headers, and nothing more is
        read (``serve_app.body_limit``)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", platform.port)
        head = (
            "POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: 300000000\r\n\r\n"
        )
        writer.write(head.encode() + b'{"email": "a@b.example", "password": "' + b"x" * 65536)
        await writer.drain()
        async with asyncio.timeout(30):
            head_bytes = await reader.readuntil(b"\r\n\r\n")
            status_line, _, header_block = head_bytes.partition(b"\r\n")
            assert status_line.split()[1] == b"413", head_bytes[:500]
            headers = dict(
                (name.strip().lower(), value.strip())
                for name, _, value in (
                    line.partition(b":") for line in header_block.split(b"\r\n") if line
                )
            )
            # The body may come in a later TCP segment than the head: read exactly its length.
            body = await reader.readexactly(int(headers[b"content-length"]))
        writer.close()
        assert b"x-request-id" in headers and b"x-content-type-options" in headers
        assert json.loads(body)["error"]["code"] == "body_too_large"


class TestSecurityHeadersThroughServe:
    async def test_the_event_stream_carries_them_and_still_streams(
        self, api: httpx.AsyncClient
    ) -> None:
        """The first event arrives while the stream is open: deleting the recording after it
        ends the stream with ``deleted``, which a buffered stream would never have sent."""
        headers = await signup(api)
        recording = (await upload(api, headers, FIXTURES / "jfk.ogg")).json()["recording_id"]
        events: list[dict[str, Any]] = []
        path = f"/audio_recordings/{recording}/events"
        async with api.stream("GET", path, headers=headers) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert stream.headers["x-content-type-options"] == "nosniff"
            assert stream.headers["cache-control"] == "no-store"
            assert "frame-ancestors 'none'" in stream.headers["content-security-policy"]
            lines = stream.aiter_lines()
            async with asyncio.timeout(60):
                async for line in lines:
                    if line.startswith("event:"):
                        events.append({"event": line[6:].strip()})
                    elif line.startswith("data:"):
                        events[-1]["data"] = json.loads(line[5:])
                        if len(events) == 1:
                            deleted = await api.delete(
                                f"/audio_recordings/{recording}", headers=headers
                            )
                            assert deleted.status_code == 204
        assert events[0]["event"] == "status"
        assert events[-1]["event"] == "deleted", events


class TestHeadThroughServe:
    async def test_head_answers_with_get_s_headers_and_an_event_stream_ends(
        self, api: httpx.AsyncClient
    ) -> None:
        """Serve's proxy and the Ingress answer ``HEAD`` as ``GET`` without the content, and an
        event stream's answer ends after its headers (``HeadAsGetMiddleware``)."""
        got, head = await api.get("/healthz"), await api.head("/healthz")
        assert head.status_code == 200 and not head.content
        assert head.headers["content-length"] == got.headers["content-length"]
        headers = await signup(api)
        recording = (await upload(api, headers, FIXTURES / "jfk.ogg")).json()["recording_id"]
        path = f"/audio_recordings/{recording}/events"
        stream = await asyncio.wait_for(api.head(path, headers=headers), timeout=30)
        assert stream.status_code == 200 and not stream.content
        assert stream.headers["content-type"].startswith("text/event-stream")


class TestRayPorts:
    def test_no_port_of_the_platform_listens_beyond_this_machine(self, platform: Platform) -> None:
        sockets = platform.listening_sockets()
        names = {name for _, _, name in sockets}
        assert {"gcs_server", "raylet"} <= names, names
        assert any(name.startswith("ray::ServeReplica") for name in names), names
        assert [s for s in sockets if not is_loopback(s[0])] == []
