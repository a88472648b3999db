"""Auth limits hold across Serve replicas: the state lives in Postgres, not in a replica."""

from __future__ import annotations

import httpx
import pytest

from tests.platform import Platform
from tests.support import error_code, sign_up

pytestmark = pytest.mark.slow


class TestLoginLimitAcrossReplicas:
    async def test_twenty_wrong_passwords_are_stopped_before_the_twentieth(
        self, api: httpx.AsyncClient, platform: Platform
    ) -> None:
        assert platform.overrides["Ingress"]["num_replicas"] == 2
        account = await sign_up(api)
        statuses = []
        for _ in range(20):
            response = await api.post(
                "/auth/login", json={"email": account.email, "password": "wrong horse battery"}
            )
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert int(response.headers["retry-after"]) > 0
                assert error_code(response) == "rate_limited"
                break
        assert statuses[-1] == 429 and len(statuses) < 20, statuses
        assert set(statuses[:-1]) == {401}
