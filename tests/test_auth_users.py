"""Managing users: admins add and list users of their own tenant only."""

from __future__ import annotations

import httpx

from tests.support import PASSWORD, add_user, error_code, fresh_email, log_in, sign_up


class TestUsers:
    async def test_without_a_token_is_401(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/users")).status_code == 401
        response = await client.post("/users", json={"email": fresh_email(), "password": PASSWORD})
        assert response.status_code == 401

    async def test_lists_only_the_callers_tenant(self, visitor: httpx.AsyncClient) -> None:
        a, b = await sign_up(visitor), await sign_up(visitor)
        a_member, b_member = await add_user(visitor, a), await add_user(visitor, b)
        listed = (await visitor.get("/users", headers=a.auth)).json()
        assert {u["email"] for u in listed} == {a.email, a_member}
        assert {u["tenant_id"] for u in listed} == {a.user["tenant_id"]}
        assert b_member not in {u["email"] for u in listed}

    async def test_members_are_forbidden(self, visitor: httpx.AsyncClient) -> None:
        admin = await sign_up(visitor)
        member = await log_in(visitor, await add_user(visitor, admin))
        assert member.user["role"] == "member"
        listing = await visitor.get("/users", headers=member.auth)
        assert listing.status_code == 403
        assert error_code(listing) == "forbidden"
        adding = await visitor.post(
            "/users", headers=member.auth, json={"email": fresh_email(), "password": PASSWORD}
        )
        assert adding.status_code == 403

    async def test_an_admin_adds_users_who_can_log_in_to_the_same_tenant(
        self, visitor: httpx.AsyncClient
    ) -> None:
        admin = await sign_up(visitor)
        email = await add_user(visitor, admin, role="admin")
        second_admin = await log_in(visitor, email)
        assert second_admin.user["tenant_id"] == admin.user["tenant_id"]
        assert second_admin.user["role"] == "admin"
        assert (await visitor.get("/users", headers=second_admin.auth)).status_code == 200

    async def test_a_taken_email_is_409_even_in_another_tenant(
        self, visitor: httpx.AsyncClient
    ) -> None:
        a, b = await sign_up(visitor), await sign_up(visitor)
        response = await visitor.post(
            "/users", headers=b.auth, json={"email": a.email.upper(), "password": PASSWORD}
        )
        assert response.status_code == 409

    async def test_a_short_password_is_422(self, visitor: httpx.AsyncClient) -> None:
        admin = await sign_up(visitor)
        response = await visitor.post(
            "/users", headers=admin.auth, json={"email": fresh_email(), "password": "short"}
        )
        assert response.status_code == 422
        assert error_code(response) == "weak_password"
