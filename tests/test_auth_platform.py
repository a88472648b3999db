"""Auth limits hold across Serve replicas: the state lives in Postgres, not in a replica."""

from __future__ import annotations

import uuid

import httpx

from tests.platform import Platform


class TestLoginLimitAcrossReplicas:
    async def test_twenty_wrong_passwords_are_stopped_before_the_twentieth(
        self, api: httpx.AsyncClient, platform: Platform
    ) -> None:
        assert platform.overrides["Ingress"]["num_replicas"] == 2
        email = f"{uuid.uuid4().hex[:12]}@clinic.example"
        created = await api.post(
            "/auth/signup",
            json={"tenant_name": "Clinic", "email": email, "password": "right horse battery"},
        )
        assert created.status_code == 201
        statuses = []
        for _ in range(20):
            response = await api.post(
                "/auth/login", json={"email": email, "password": "wrong horse battery"}
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert int(response.headers["retry-after"]) > 0
                assert response.json()["error"]["code"] == "rate_limited"
                break
        assert statuses[-1] == 429 and len(statuses) < 20, statuses
        assert set(statuses[:-1]) == {401}
